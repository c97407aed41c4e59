"""Stochastic gradient descent with momentum, dampening, Nesterov and coupled L2 weight decay."""
from __future__ import annotations

import numpy as np

from engine.kernels.optim_updates import UpdateRule, chunk, kernel, one, prange, view

from .optimizer import Optimizer, _check, _decayed_grad


def sgd_reference(param, grad, momentum_buffer, first, lr, momentum, dampening, weight_decay, nesterov,
                  maximize):
    """One tensor, in place (``first``: the buffer is not initialised yet; it is None without momentum):

        g ← −g (maximize);  g ← g + λw;
        b ← g (first step) or b ← μb + (1 − τ)g;  g ← g + μb (nesterov) or g ← b   (when μ ≠ 0);
        w ← w − ηg.
    """
    g = _decayed_grad(param, grad, weight_decay, maximize)
    if momentum != 0:
        if first:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


@kernel
def sgd_kernel(sizes, cum, like, param, grad, momentum_buffer, first, lr, momentum, dampening, weight_decay,
               nesterov, maximize):
    """:func:`sgd_reference` per element, over every tensor of a group (see optim_updates)."""
    keep = one(like) - dampening
    for c in prange(cum[-1]):
        t, lo, hi = chunk(c, cum, sizes)
        w = view(param, t, lo, hi, sizes, like)
        gr = view(grad, t, lo, hi, sizes, like)
        b = view(momentum_buffer, t, lo, hi, sizes, like)
        is_first = first[t] != 0
        for i in range(w.shape[0]):
            g = -gr[i] if maximize else gr[i]
            if weight_decay != 0:
                g = g + weight_decay * w[i]
            if momentum != 0:
                bi = g if is_first else momentum * b[i] + keep * g
                b[i] = bi
                g = g + momentum * bi if nesterov else bi
            w[i] = w[i] - lr * g


SGD_RULE = UpdateRule("sgd", sgd_kernel, sgd_reference, state=("momentum_buffer",), per_tensor=("first",))


class SGD(Optimizer):
    r"""PyTorch's SGD.  Per step, for each parameter w with gradient g:

    g ← g + λw (weight_decay λ);  b ← g on the first step, else b ← μb + (1 − τ)g;
    g ← g + μb (nesterov) or g ← b (when μ ≠ 0);  w ← w − ηg   (maximize: g ← −g first).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check(lr, "learning rate")
        _check(momentum, "momentum value")
        _check(weight_decay, "weight_decay value")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _step_group(self, gi, group):
        momentum = group["momentum"]
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            bufs, first = [], []
            for p, a in zip(params, arrays):
                if momentum == 0:
                    first.append(False)
                    continue
                st = self.state[p]
                buf = st.get("momentum_buffer")
                first.append(buf is None)
                if buf is None:
                    buf = st["momentum_buffer"] = np.zeros_like(a, order="C")
                bufs.append(buf)
            SGD_RULE.update(param=arrays, grad=grads, momentum_buffer=bufs if momentum != 0 else None,
                            first=first, lr=group["lr"], momentum=momentum, dampening=group["dampening"],
                            weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                            maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
