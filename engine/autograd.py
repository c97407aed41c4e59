"""``engine.autograd``: the public autograd namespace, as PyTorch's ``torch.autograd``.

``Function`` (the brick), ``grad`` and ``backward`` (several roots at once), ``gradcheck`` and
``gradgradcheck`` (finite differences), ``detect_anomaly``. The backward walk itself is internal
(``engine._backward``).
"""
from __future__ import annotations

from .differentiate import grad
from .variable import backward
from .function import Function
from .grad_mode import detect_anomaly, enable_grad, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["Function", "backward", "detect_anomaly", "enable_grad", "grad", "gradcheck",
           "gradgradcheck", "no_grad", "set_grad_enabled"]
