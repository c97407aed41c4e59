"""Ops that pick between values: ``clamp maximum minimum where``; gradient flows to the picked one."""
from __future__ import annotations

import numpy as np

from ..dtypes import promote_pair, result_type
from ..function import Function
from ._util import broadcast_error, shape_of, unbroadcast


class Clamp(Function):
    """out = min(max(a, lo), hi);  da = g · [lo <= a <= hi]."""

    raw = True

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a)
        ctx.meta = (lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.meta
        mask = np.ones(shape_of(a), dtype=bool) if lo is None else (_data(a) >= lo)
        if hi is not None:
            mask = mask & (_data(a) <= hi)
        return g * mask, None, None


def _data(x):
    """The payload of a Tensor; ndarrays and numbers as they are (``ndarray.data`` is a buffer)."""
    from ..function import Variable

    return x._data if isinstance(x, Variable) else x


class Maximum(Function):
    """out = max(a, b) elementwise;  the larger input gets g, ties split it half and half."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote_pair(a, b)
        try:
            out = np.maximum(a, b)
        except ValueError:
            raise broadcast_error("maximum", a, b) from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split(ctx, g, _data(a), _data(b), np.greater)


class Minimum(Function):
    """out = min(a, b) elementwise;  the smaller input gets g, ties split it half and half."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote_pair(a, b)
        try:
            out = np.minimum(a, b)
        except ValueError:
            raise broadcast_error("minimum", a, b) from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split(ctx, g, _data(a), _data(b), np.less)


def _split(ctx, g, a, b, wins):
    """Gradient of a binary max/min: weight 1 to the winner, 1/2 each on a tie."""
    wa = wins(a, b) + 0.5 * (a == b)
    na, nb = ctx.needs_input_grad
    dtype = result_type(a, b)
    wa = np.asarray(wa, dtype=dtype)
    return (unbroadcast(g * wa, shape_of(a)) if na else None,
            unbroadcast(g * (1 - wa), shape_of(b)) if nb else None)


class Where(Function):
    """out = a where cond else b;  da = g · cond, db = g · ¬cond."""

    raw = True

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        a, b = promote_pair(a, b)
        try:
            out = np.where(cond, a, b)
        except ValueError:
            raise broadcast_error("where", a, b) from None
        ctx.meta = (cond, shape_of(a), shape_of(b))
        return out

    @staticmethod
    def backward(ctx, g):
        cond, sa, sb = ctx.meta
        _, na, nb = ctx.needs_input_grad
        return (None,
                unbroadcast(g * cond, sa) if na else None,
                unbroadcast(g * ~cond, sb) if nb else None)
