"""``a[index]`` with basic slices, integer arrays and boolean masks; the gradient is a
scatter-add of g into zeros shaped like ``a`` (repeated indices add up)."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import payload, run


def _is_basic(index) -> bool:
    """True when ``index`` uses only ints, slices, None and Ellipsis (a view, no repeats)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def payload_index(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(payload_index(i) for i in index)
    return payload(index)


class GetItem(Function):
    """out = a[index];  da = zeros_like(a) with g added at ``index``."""

    raw = True

    @staticmethod
    def forward(ctx, a, index):
        try:
            out = a[index]
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {a.shape}: {e}") from None
        ctx.meta = (a.shape, a.dtype, index)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        shape, dtype, index = ctx.meta
        return run(IndexAdd, g, shape, dtype, index), None


class IndexAdd(Function):
    """out = zeros(shape) with g added at ``index`` (the adjoint of GetItem);  dg = gg[index]."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, dtype, index):
        ctx.meta = index
        out = np.zeros(shape, dtype=np.result_type(g, dtype))
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return run(GetItem, gg, ctx.meta), None, None, None


class Slice(GetItem):
    """``a[index]`` with ints, slices, None and Ellipsis only: a NumPy view of ``a`` that shares its
    version counter (PyTorch's basic indexing), so a backward that saved the slice sees in-place
    changes of ``a`` and raises instead of using the changed values."""

    view_of = 0


def getitem(input, index):
    """``input[index]``: slices, ints, None, Ellipsis (a view: :class:`Slice`), integer arrays and
    boolean masks (a copy: :class:`GetItem`)."""
    index = payload_index(index)
    return (Slice if _is_basic(index) else GetItem).apply(input, index)
