"""NAdam (Dozat 2016): Adam with Nesterov momentum and PyTorch's momentum-decay schedule."""
from __future__ import annotations

import numpy as np

from engine.kernels.optim_updates import UpdateRule, chunk, kernel, one, prange, view

from .adam import adam_moments
from .optimizer import Optimizer, _check, _decayed_grad, _check_betas


def nadam_reference(param, grad, exp_avg, exp_avg_sq, grad_coef, avg_coef, bias_correction2, beta1, beta2,
                    eps, weight_decay, decay, maximize):
    """One tensor, in place:

        w ← decay·w (decoupled: decay = 1 − ηλ);  g ← −g (maximize);  g ← g + λw (coupled L2);
        m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²;  d = √(v / (1 − β₂ᵗ)) + ε;
        w ← w + grad_coef·g/d + avg_coef·m/d,
    with ``grad_coef = −η(1 − μₜ)/(1 − Πμ)`` and ``avg_coef = −ημₜ₊₁/(1 − Πμ·μₜ₊₁)``.
    """
    if decay != 1:
        param *= decay
    g = _decayed_grad(param, grad, weight_decay, maximize)
    adam_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
    den = np.sqrt(exp_avg_sq / bias_correction2) + eps
    param += grad_coef * (g / den)
    param += avg_coef * (exp_avg / den)


@kernel
def nadam_kernel(sizes, cum, like, param, grad, exp_avg, exp_avg_sq, grad_coef, avg_coef, bias_correction2,
                 beta1, beta2, eps, weight_decay, decay, maximize):
    """:func:`nadam_reference` per element, over every tensor of a group (see optim_updates; its
    divisions follow NumPy's error model, FLAGS)."""
    rest1, rest2 = one(like) - beta1, one(like) - beta2
    for c in prange(cum[-1]):
        t, lo, hi = chunk(c, cum, sizes)
        w = view(param, t, lo, hi, sizes, like)
        gr = view(grad, t, lo, hi, sizes, like)
        m = view(exp_avg, t, lo, hi, sizes, like)
        v = view(exp_avg_sq, t, lo, hi, sizes, like)
        cg, ca, bc2 = grad_coef[t], avg_coef[t], bias_correction2[t]
        for i in range(w.shape[0]):
            wi = w[i] * decay
            g = -gr[i] if maximize else gr[i]
            if weight_decay != 0:
                g = g + weight_decay * wi
            mi = m[i] + rest1 * (g - m[i])
            vi = beta2 * v[i] + rest2 * (g * g)
            m[i] = mi
            v[i] = vi
            den = np.sqrt(vi / bc2) + eps
            w[i] = (wi + cg * (g / den)) + ca * (mi / den)


NADAM_RULE = UpdateRule("nadam", nadam_kernel, nadam_reference, state=("exp_avg", "exp_avg_sq"),
                        per_tensor=("grad_coef", "avg_coef", "bias_correction2"))


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
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        beta1, beta2 = group["betas"]
        lr, wd, psi = group["lr"], group["weight_decay"], group["momentum_decay"]
        decoupled = group["decoupled_weight_decay"]
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            ms, vs, cg, ca, bc2 = [], [], [], [], []
            for p, a in zip(params, arrays):
                st = self._lazy_state(p, a, ("exp_avg", "exp_avg_sq"), step=0.0, mu_product=1.0)
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
            NADAM_RULE.update(param=arrays, grad=grads, exp_avg=ms, exp_avg_sq=vs, grad_coef=cg, avg_coef=ca,
                              bias_correction2=bc2, beta1=beta1, beta2=beta2, eps=group["eps"],
                              weight_decay=0.0 if decoupled else wd, decay=1 - lr * wd if decoupled else 1.0,
                              maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
