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


def _winner_weight(a, b, wins):
    """1 where ``wins(a, b)``, 1/2 on a tie, else 0 (in the promoted dtype of a and b)."""
    a, b = payload(a), payload(b)
    return np.asarray(wins(a, b) + 0.5 * (a == b), dtype=result_type(a, b))


class Maximum(BinaryOp):
    """out = max(a, b);  da = g · w, db = g · (1 − w), w = 1 where a > b, 1/2 on a tie, else 0."""

    op = np.maximum

    @staticmethod
    def da(g, a, b, out):
        return g * _winner_weight(a, b, np.greater)

    @staticmethod
    def db(g, a, b, out):
        return g * (1 - _winner_weight(a, b, np.greater))


class Minimum(BinaryOp):
    """out = min(a, b);  da = g · w, db = g · (1 − w), w = 1 where a < b, 1/2 on a tie, else 0."""

    op = np.minimum

    @staticmethod
    def da(g, a, b, out):
        return g * _winner_weight(a, b, np.less)

    @staticmethod
    def db(g, a, b, out):
        return g * (1 - _winner_weight(a, b, np.less))


class Where(Function):
    """out = a where cond else b;  da = g · cond, db = g · ¬cond (each summed to its shape)."""

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


def where(condition, input, other):
    """input where condition else other (broadcasting all three)."""
    return Where.apply(condition, input, other)


def where_method(self, condition, other):
    """``x.where(condition, y)``: x where condition else y."""
    return Where.apply(condition, self, other)
