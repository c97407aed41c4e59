"""Ops that pick between values: ``clamp maximum minimum where``; gradient flows to the picked one."""
from __future__ import annotations

import numpy as np

from ..dtypes import promote_pair, result_type
from ..function import Function
from ._util import broadcast_error, payload, shape_of, unbroadcast, where_kept
from .elementwise import BinaryOp


class Clamp(Function):
    """out = min(max(a, lo), hi), PyTorch's gradients (``clamp_backward_min_max``):
    da = g · [lo ≤ a ≤ hi];  dlo = g · [a < lo ∧ lo < hi];  dhi = g · [a > hi ∨ hi < lo]
    (a missing bound's condition is dropped; each summed to its input's shape; "g · [c]" is a
    select, so an infinite g where c is false gives 0, as in PyTorch)."""

    raw = True

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        a, lo, hi = (payload(v) for v in ctx.saved_tensors)
        na, nlo, nhi = ctx.needs_input_grad
        keep = True if lo is None else a >= lo
        if hi is not None:
            keep = keep & (a <= hi)
        da = unbroadcast(where_kept(g, keep), shape_of(a)) if na else None
        dlo = dhi = None
        if nlo:
            below = a < lo if hi is None else (a < lo) & (lo < hi)
            dlo = unbroadcast(where_kept(g, below), shape_of(lo))
        if nhi:
            above = a > hi if lo is None else (a > hi) | (hi < lo)
            dhi = unbroadcast(where_kept(g, above), shape_of(hi))
        return da, dlo, dhi


def clamp(input, min=None, max=None):  # noqa: A002
    """min(max(input, min), max) elementwise; either bound may be None."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    return Clamp.apply(input, min, max)


def _tie_halved(g, a, b):
    """``g`` halved where ``a == b`` (a tie shares the gradient), as it is elsewhere."""
    a, b = payload(a), payload(b)
    tie = np.asarray(a == b)
    return g * np.asarray(1 - 0.5 * tie, dtype=result_type(a, b)) if tie.any() else g


class Maximum(BinaryOp):
    """out = max(a, b);  PyTorch's gradients: each side gets g, halved on a tie, and 0 (a select)
    where it lost: da = 0 where a < b, db = 0 where a > b (a NaN on either side loses nowhere)."""

    op = np.maximum

    @staticmethod
    def da(g, a, b, out):
        return where_kept(_tie_halved(g, a, b), np.logical_not(payload(a) < payload(b)))

    @staticmethod
    def db(g, a, b, out):
        return where_kept(_tie_halved(g, a, b), np.logical_not(payload(a) > payload(b)))


class Minimum(BinaryOp):
    """out = min(a, b);  as :class:`Maximum` with the comparisons swapped: da = 0 where a > b,
    db = 0 where a < b, halved on a tie."""

    op = np.minimum

    @staticmethod
    def da(g, a, b, out):
        return where_kept(_tie_halved(g, a, b), np.logical_not(payload(a) > payload(b)))

    @staticmethod
    def db(g, a, b, out):
        return where_kept(_tie_halved(g, a, b), np.logical_not(payload(a) < payload(b)))


class Where(Function):
    """out = a where cond else b;  da = g where cond (else 0), db = g where ¬cond (selects: an
    infinite g gives 0 on the other side, as PyTorch; each summed to its input's shape)."""

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
                unbroadcast(where_kept(g, cond), sa) if na else None,
                unbroadcast(where_kept(g, ~cond), sb) if nb else None)


def where(condition, input, other):
    """input where condition else other (broadcasting all three)."""
    return Where.apply(condition, input, other)


def where_method(self, condition, other):
    """``x.where(condition, y)``: x where condition else y."""
    return Where.apply(condition, self, other)
