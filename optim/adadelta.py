"""Adadelta (Zeiler 2012) with PyTorch's update rule and defaults, in plain NumPy."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check


class Adadelta(Optimizer):
    r"""PyTorch's Adadelta. Per step, for each parameter w with gradient g:

    g ← g + λw;  v ← ρv + (1 − ρ)g²;  Δ = √(u + ε) / √(v + ε) · g;  u ← ρu + (1 − ρ)Δ²;
    w ← w − lr·Δ   (v = ``square_avg``, u = ``acc_delta``, both start at 0).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check(lr, "learning rate")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check(eps, "epsilon value")
        _check(weight_decay, "weight_decay value")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for w, g, st in self._numpy_steps(group, ("square_avg", "acc_delta")):
            v, u = st["square_avg"], st["acc_delta"]
            v *= rho
            v += (1 - rho) * g * g
            delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            u *= rho
            u += (1 - rho) * delta * delta
            w -= (lr * delta).astype(w.dtype, copy=False)
