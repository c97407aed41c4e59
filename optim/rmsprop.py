"""RMSprop (Hinton's lecture 6e) with PyTorch's centered and momentum variants."""
from __future__ import annotations

import numpy as np

from engine.kernels.optim_updates import UpdateRule, chunk, kernel, one, prange, view

from .optimizer import Optimizer, _check, _decayed_grad


def rmsprop_reference(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
                      momentum, centered, maximize):
    """One tensor, in place (``grad_avg`` is None unless centered, ``momentum_buffer`` None unless μ > 0):

        g ← −g (maximize);  g ← g + λw;  v ← αv + (1 − α)g²;
        centered: ḡ ← ḡ + (1 − α)(g − ḡ), a = √(v − ḡ²) + ε;  else a = √v + ε;
        μ > 0: b ← μb + g/a, w ← w − ηb;  else w ← w − ηg/a.
    """
    g = _decayed_grad(param, grad, weight_decay, maximize)
    square_avg *= alpha
    square_avg += (1 - alpha) * (g * g)
    if centered:
        grad_avg += (1 - alpha) * (g - grad_avg)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * (g / avg)


@kernel
def rmsprop_kernel(sizes, cum, like, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """:func:`rmsprop_reference` per element, over every tensor of a group (see optim_updates; its
    divisions follow NumPy's error model, FLAGS)."""
    rest = one(like) - alpha
    for c in prange(cum[-1]):
        t, lo, hi = chunk(c, cum, sizes)
        w = view(param, t, lo, hi, sizes, like)
        gr = view(grad, t, lo, hi, sizes, like)
        v = view(square_avg, t, lo, hi, sizes, like)
        ga = view(grad_avg, t, lo, hi, sizes, like)
        b = view(momentum_buffer, t, lo, hi, sizes, like)
        for i in range(w.shape[0]):
            g = -gr[i] if maximize else gr[i]
            if weight_decay != 0:
                g = g + weight_decay * w[i]
            vi = alpha * v[i] + rest * (g * g)
            v[i] = vi
            if centered:
                gai = ga[i] + rest * (g - ga[i])
                ga[i] = gai
                avg = np.sqrt(vi - gai * gai) + eps
            else:
                avg = np.sqrt(vi) + eps
            if momentum > 0:
                bi = momentum * b[i] + g / avg
                b[i] = bi
                w[i] = w[i] - lr * bi
            else:
                w[i] = w[i] - lr * (g / avg)


RMSPROP_RULE = UpdateRule("rmsprop", rmsprop_kernel, rmsprop_reference,
                          state=("square_avg", "grad_avg", "momentum_buffer"))


class RMSprop(Optimizer):
    r"""PyTorch's RMSprop.  Per step, for each parameter w with gradient g:

    g ← g + λw;  v ← αv + (1 − α)g²;  centered: ḡ ← αḡ + (1 − α)g, ṽ = v − ḡ², else ṽ = v;
    momentum μ > 0: b ← μb + g/(√ṽ + ε), w ← w − ηb;  else w ← w − ηg/(√ṽ + ε).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False, differentiable=False):
        _check(lr, "learning rate")
        _check(eps, "epsilon value")
        _check(momentum, "momentum value")
        _check(weight_decay, "weight_decay value")
        _check(alpha, "alpha value")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        momentum, centered = group["momentum"], group["centered"]
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            sq, ga, bufs = [], [], []
            for p, a in zip(params, arrays):
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = 0.0
                    st["square_avg"] = np.zeros_like(a, order="C")
                if momentum > 0 and "momentum_buffer" not in st:
                    st["momentum_buffer"] = np.zeros_like(a, order="C")
                if centered and "grad_avg" not in st:
                    st["grad_avg"] = np.zeros_like(a, order="C")
                st["step"] += 1
                sq.append(st["square_avg"])
                ga.append(st.get("grad_avg"))
                bufs.append(st.get("momentum_buffer"))
            RMSPROP_RULE.update(param=arrays, grad=grads, square_avg=sq, grad_avg=ga if centered else None,
                                momentum_buffer=bufs if momentum > 0 else None, lr=group["lr"],
                                alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                                momentum=momentum, centered=centered, maximize=group["maximize"],
                                backend=self.backend, cache=cache)
            write_back()
