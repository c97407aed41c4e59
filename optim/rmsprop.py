"""RMSprop (Hinton's lecture 6e) with PyTorch's centered and momentum variants."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check


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
        from engine.kernels.optim_updates import rmsprop_update
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            sq, ga, bufs = [], [], []
            for p, a in zip(params, arrays):
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = 0.0
                    st["square_avg"] = np.zeros_like(a, order="C")
                if group["momentum"] > 0 and "momentum_buffer" not in st:
                    st["momentum_buffer"] = np.zeros_like(a, order="C")
                if group["centered"] and "grad_avg" not in st:
                    st["grad_avg"] = np.zeros_like(a, order="C")
                st["step"] += 1
                sq.append(st["square_avg"])
                ga.append(st.get("grad_avg"))
                bufs.append(st.get("momentum_buffer"))
            rmsprop_update(arrays, grads, sq, ga, bufs, lr=group["lr"], alpha=group["alpha"],
                           eps=group["eps"], weight_decay=group["weight_decay"],
                           momentum=group["momentum"], centered=group["centered"],
                           maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
