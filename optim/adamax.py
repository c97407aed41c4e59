"""Adamax (Kingma & Ba 2015, the ∞-norm variant of Adam) with PyTorch's update rule and defaults."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _check_betas


class Adamax(Optimizer):
    r"""PyTorch's Adamax. Per step t, for each parameter w with gradient g:

    g ← g + λw;  m ← β₁m + (1 − β₁)g;  u ← max(β₂u, |g| + ε);  w ← w − lr/(1 − β₁ᵗ) · m/u
    (m = ``exp_avg``, u = ``exp_inf``, both start at 0).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check(lr, "learning rate")
        _check(eps, "epsilon value")
        _check_betas(betas)
        _check(weight_decay, "weight_decay value")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        (b1, b2), eps, lr = group["betas"], group["eps"], group["lr"]
        for w, g, st in self._numpy_steps(group, ("exp_avg", "exp_inf")):
            m, u = st["exp_avg"], st["exp_inf"]
            m += (1 - b1) * (g - m)
            np.maximum(u * b2, np.abs(g) + eps, out=u)
            clr = lr / (1 - b1 ** st["step"])
            w -= (clr * m / u).astype(w.dtype, copy=False)
