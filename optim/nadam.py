"""NAdam (Dozat 2016): Adam with Nesterov momentum and PyTorch's momentum-decay schedule."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check, _check_betas


class NAdam(Optimizer):
    r"""PyTorch's NAdam.  Per step t, for each parameter w with gradient g:

    μₜ = β₁(1 − ½·0.96^(tψ)),  μₜ₊₁ = β₁(1 − ½·0.96^((t+1)ψ)),  Πₜ = Πₜ₋₁·μₜ   (ψ = momentum_decay);
    g ← g + λw (or decoupled: w ← w − ηλw);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    d = √(v / (1 − β₂ᵗ)) + ε;  w ← w − η(1 − μₜ)/(1 − Πₜ) · g/d − ημₜ₊₁/(1 − Πₜμₜ₊₁) · m/d.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check(lr, "learning rate")
        _check(eps, "epsilon value")
        _check_betas(betas)
        _check(weight_decay, "weight_decay value")
        _check(momentum_decay, "momentum_decay value")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        from engine.kernels.optim_updates import nadam_update
        beta1, beta2 = group["betas"]
        lr, wd, psi = group["lr"], group["weight_decay"], group["momentum_decay"]
        decoupled = group["decoupled_weight_decay"]
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            ms, vs, cg, ca, bc2 = [], [], [], [], []
            for p, a in zip(params, arrays):
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = 0.0
                    st["mu_product"] = 1.0
                    st["exp_avg"] = np.zeros_like(a, order="C")
                    st["exp_avg_sq"] = np.zeros_like(a, order="C")
                st["step"] += 1
                step = st["step"]
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
                st["mu_product"] *= mu
                cg.append(-lr * (1.0 - mu) / (1.0 - st["mu_product"]))
                ca.append(-lr * mu_next / (1.0 - st["mu_product"] * mu_next))
                bc2.append(1 - beta2 ** step)
                ms.append(st["exp_avg"])
                vs.append(st["exp_avg_sq"])
            nadam_update(arrays, grads, ms, vs, cg, ca, bc2, beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=0.0 if decoupled else wd, decay=1 - lr * wd if decoupled else 1.0,
                         maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
