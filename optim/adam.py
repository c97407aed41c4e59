"""Adam (Kingma & Ba 2015) with bias correction, AMSGrad and coupled (L2) weight decay."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check, _check_betas


class Adam(Optimizer):
    r"""PyTorch's Adam.  Per step t, for each parameter w with gradient g:

    g ← g + λw (or, decoupled: w ← w − ηλw);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    v̂ ← max(v̂, v) if amsgrad else v;  w ← w − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check(lr, "learning rate")
        _check(eps, "epsilon value")
        _check_betas(betas)
        _check(weight_decay, "weight_decay value")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        from engine.kernels.optim_updates import adam_update
        beta1, beta2 = group["betas"]
        lr, wd, amsgrad = group["lr"], group["weight_decay"], group["amsgrad"]
        decoupled = group.get("decoupled_weight_decay", False)
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            ms, vs, vmax, step_sizes, bc2s = [], [], [], [], []
            for p, a in zip(params, arrays):
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = 0.0
                    st["exp_avg"] = np.zeros_like(a, order="C")
                    st["exp_avg_sq"] = np.zeros_like(a, order="C")
                if amsgrad and "max_exp_avg_sq" not in st:
                    st["max_exp_avg_sq"] = np.zeros_like(a, order="C")
                st["step"] += 1
                step = st["step"]
                step_sizes.append(lr / (1 - beta1 ** step))
                bc2s.append(math.sqrt(1 - beta2 ** step))
                ms.append(st["exp_avg"])
                vs.append(st["exp_avg_sq"])
                vmax.append(st.get("max_exp_avg_sq"))
            adam_update(arrays, grads, ms, vs, vmax, step_sizes, bc2s, beta1=beta1, beta2=beta2,
                        eps=group["eps"], weight_decay=0.0 if decoupled else wd,
                        decay=1 - lr * wd if decoupled else 1.0, amsgrad=amsgrad,
                        maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
