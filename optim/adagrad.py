"""Adagrad (Duchi et al. 2011) with PyTorch's lr_decay, initial_accumulator_value and eps."""
from __future__ import annotations

import numpy as np

from engine.kernels.optim_updates import UpdateRule, chunk, kernel, prange, view

from .optimizer import Optimizer, _check, _decayed_grad


def adagrad_reference(param, grad, sum, clr, weight_decay, eps, maximize):  # noqa: A002  (PyTorch's state name)
    """One tensor, in place:  g ← −g (maximize);  g ← g + λw;  s ← s + g²;  w ← w − clr·g/(√s + ε),
    with the per-tensor ``clr = η / (1 + (t − 1)·lr_decay)``."""
    g = _decayed_grad(param, grad, weight_decay, maximize)
    sum += g * g
    param -= clr * (g / (np.sqrt(sum) + eps))


@kernel
def adagrad_kernel(sizes, cum, like, param, grad, sum, clr, weight_decay, eps, maximize):  # noqa: A002
    """:func:`adagrad_reference` per element, over every tensor of a group (see optim_updates; its
    divisions follow NumPy's error model, FLAGS)."""
    for c in prange(cum[-1]):
        t, lo, hi = chunk(c, cum, sizes)
        w = view(param, t, lo, hi, sizes, like)
        gr = view(grad, t, lo, hi, sizes, like)
        s = view(sum, t, lo, hi, sizes, like)
        rate = clr[t]
        for i in range(w.shape[0]):
            g = -gr[i] if maximize else gr[i]
            if weight_decay != 0:
                g = g + weight_decay * w[i]
            si = s[i] + g * g
            s[i] = si
            w[i] = w[i] - rate * (g / (np.sqrt(si) + eps))


ADAGRAD_RULE = UpdateRule("adagrad", adagrad_kernel, adagrad_reference, state=("sum",), per_tensor=("clr",))


class Adagrad(Optimizer):
    r"""PyTorch's Adagrad.  Per step t, for each parameter w with gradient g:

    g ← g + λw;  clr = η / (1 + (t − 1)·lr_decay);  s ← s + g²;  w ← w − clr·g / (√s + ε),
    with s initialised to ``initial_accumulator_value``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check(lr, "learning rate")
        _check(lr_decay, "lr_decay value")
        _check(weight_decay, "weight_decay value")
        _check(initial_accumulator_value, "initial_accumulator_value value")
        _check(eps, "epsilon value")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:   # torch fills every group's sums with the argument's value,
            for p in group["params"]:     # whatever a group's own initial_accumulator_value says
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p, initial):
        """``p``'s state, created (step 0, sum filled with ``initial``) if it has none yet."""
        st = self.state[p]
        if "sum" not in st:
            st["step"] = 0.0
            st["sum"] = np.full(p._data.shape, initial, dtype=p._data.dtype)
        return st

    def _step_group(self, gi, group):
        for params, grads, cache in self._buckets(gi, self._with_grad(group)):
            arrays, write_back = self._arrays(params)
            sums, clrs = [], []
            for p in params:
                st = self._init_state(p, group["initial_accumulator_value"])  # added by add_param_group
                st["step"] += 1
                clrs.append(group["lr"] / (1 + (st["step"] - 1) * group["lr_decay"]))
                sums.append(st["sum"])
            ADAGRAD_RULE.update(param=arrays, grad=grads, sum=sums, clr=clrs, weight_decay=group["weight_decay"],
                                eps=group["eps"], maximize=group["maximize"], backend=self.backend, cache=cache)
            write_back()
