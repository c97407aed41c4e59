"""RAdam (Liu et al. 2020, rectified Adam) with PyTorch's update rule and defaults."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check, _check_betas


class RAdam(Optimizer):
    r"""PyTorch's RAdam. Per step t, for each parameter w with gradient g:

    g ← g + λw (or w ← w(1 − lr·λ) when ``decoupled_weight_decay``);
    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m / (1 − β₁ᵗ);
    ρ∞ = 2/(1 − β₂) − 1;  ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);
    if ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ)),
                w ← w − lr · m̂ · r · √(1 − β₂ᵗ) / (√v + ε)
    else:       w ← w − lr · m̂   (the variance is not yet tractable: SGD with momentum).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check(lr, "learning rate")
        _check(eps, "epsilon value")
        _check_betas(betas)
        _check(weight_decay, "weight_decay value")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, foreach=foreach,
                        maximize=maximize, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        (b1, b2), eps, lr = group["betas"], group["eps"], group["lr"]
        rho_inf = 2 / (1 - b2) - 1
        steps = self._numpy_steps(group, ("exp_avg", "exp_avg_sq"), group["decoupled_weight_decay"])
        for w, g, st in steps:
            t = st["step"]
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * g * g
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            m_hat = m / bc1
            rho_t = rho_inf - 2 * t * b2 ** t / bc2
            if rho_t > 5:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                update = m_hat * lr * (math.sqrt(bc2) / (np.sqrt(v) + eps)) * rect
            else:
                update = m_hat * lr
            w -= update.astype(w.dtype, copy=False)
