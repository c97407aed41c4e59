"""Stochastic gradient descent with momentum, dampening, Nesterov and coupled L2 weight decay."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check


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
        from engine.kernels.optim_updates import sgd_update
        momentum = group["momentum"]
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            bufs, first = [], []
            for p, a in zip(params, arrays):
                if momentum == 0:
                    first.append(0)
                    continue
                st = self.state[p]
                buf = st.get("momentum_buffer")
                first.append(buf is None)
                if buf is None:
                    buf = st["momentum_buffer"] = np.zeros_like(a, order="C")
                bufs.append(buf)
            sgd_update(arrays, grads, bufs, first, lr=group["lr"], momentum=momentum,
                       dampening=group["dampening"], weight_decay=group["weight_decay"],
                       nesterov=group["nesterov"], maximize=group["maximize"],
                       backend=self.backend, cache=cache)
            write_back()
