"""Adam (Kingma & Ba 2015) with bias correction, AMSGrad and coupled (L2) or decoupled weight decay."""
from __future__ import annotations

import math

import numpy as np

from engine.kernels.optim_updates import UpdateRule, chunk, kernel, one, prange, view

from .optimizer import Optimizer, _check, _decayed_grad, _check_betas


def adam_moments(exp_avg, exp_avg_sq, g, beta1, beta2):
    """Adam's moment estimates, in place: m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²."""
    exp_avg += (1 - beta1) * (g - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (g * g)


def adam_reference(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, bias_correction2_sqrt,
                   beta1, beta2, eps, weight_decay, decay, amsgrad, maximize):
    """One tensor, in place (``max_exp_avg_sq`` is None unless amsgrad):

        w ← decay·w  (AdamW: decay = 1 − ηλ, else 1);  g ← −g (maximize);  g ← g + λw (Adam's L2);
        m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²;  v̂ ← max(v̂, v) (amsgrad) else v̂ = v;
        w ← w − step_size · m / (√v̂ / √(1 − β₂ᵗ) + ε),   step_size = η / (1 − β₁ᵗ).
    """
    if decay != 1:
        param *= decay
    g = _decayed_grad(param, grad, weight_decay, maximize)
    adam_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    param -= step_size * (exp_avg / (np.sqrt(v) / bias_correction2_sqrt + eps))


@kernel
def adam_kernel(sizes, cum, like, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size,
                bias_correction2_sqrt, beta1, beta2, eps, weight_decay, decay, amsgrad, maximize):
    """:func:`adam_reference` per element, over every tensor of a group (see optim_updates; its
    divisions follow NumPy's error model, FLAGS)."""
    rest1, rest2 = one(like) - beta1, one(like) - beta2
    for c in prange(cum[-1]):
        t, lo, hi = chunk(c, cum, sizes)
        w = view(param, t, lo, hi, sizes, like)
        gr = view(grad, t, lo, hi, sizes, like)
        m = view(exp_avg, t, lo, hi, sizes, like)
        v = view(exp_avg_sq, t, lo, hi, sizes, like)
        vmax = view(max_exp_avg_sq, t, lo, hi, sizes, like)
        ss, bc2 = step_size[t], bias_correction2_sqrt[t]
        for i in range(w.shape[0]):
            wi = w[i] * decay
            g = -gr[i] if maximize else gr[i]
            if weight_decay != 0:
                g = g + weight_decay * wi
            mi = m[i] + rest1 * (g - m[i])
            vi = beta2 * v[i] + rest2 * (g * g)
            m[i] = mi
            v[i] = vi
            if amsgrad:
                vi = np.maximum(vmax[i], vi)
                vmax[i] = vi
            w[i] = wi - ss * (mi / (np.sqrt(vi) / bc2 + eps))


ADAM_RULE = UpdateRule("adam", adam_kernel, adam_reference, state=("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
                       per_tensor=("step_size", "bias_correction2_sqrt"), exact=True)


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
        beta1, beta2 = group["betas"]
        lr, wd, amsgrad = group["lr"], group["weight_decay"], group["amsgrad"]
        decoupled = group.get("decoupled_weight_decay", False)
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            ms, vs, vmax, step_sizes, bc2s = [], [], [], [], []
            for p, a in zip(params, arrays):
                st = self._lazy_state(p, a, ("exp_avg", "exp_avg_sq"), step=0.0)
                if amsgrad and "max_exp_avg_sq" not in st:
                    st["max_exp_avg_sq"] = np.zeros_like(a, order="C")
                st["step"] += 1
                step = st["step"]
                step_sizes.append(lr / (1 - beta1 ** step))
                bc2s.append(math.sqrt(1 - beta2 ** step))
                ms.append(st["exp_avg"])
                vs.append(st["exp_avg_sq"])
                vmax.append(st.get("max_exp_avg_sq"))
            ADAM_RULE.update(param=arrays, grad=grads, exp_avg=ms, exp_avg_sq=vs,
                             max_exp_avg_sq=vmax if amsgrad else None, step_size=step_sizes,
                             bias_correction2_sqrt=bc2s, beta1=beta1, beta2=beta2, eps=group["eps"],
                             weight_decay=0.0 if decoupled else wd, decay=1 - lr * wd if decoupled else 1.0,
                             amsgrad=amsgrad, maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
