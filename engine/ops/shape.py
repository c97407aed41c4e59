"""Ops that move or re-view elements without changing them: ``reshape permute expand``.
(``view flatten squeeze unsqueeze`` are reshapes; ``transpose``/``T`` are permutes.)
Outputs are views of the input and share its version counter."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import permute, unbroadcast


class Reshape(Function):
    """out = a viewed with ``shape``;  da = g reshaped back."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a, shape):
        ctx.meta = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape {tuple(shape)} is invalid for input of size {a.size} "
                               f"(shape {a.shape})") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.meta), None


class Permute(Function):
    """out = a with dims reordered by ``axes``;  da = g with the inverse order."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a, axes):
        ctx.meta = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return permute(g, ctx.meta), None


class Expand(Function):
    """out = a broadcast to ``shape`` (no copy);  da = g summed over the broadcast dims."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a, shape):
        ctx.meta = a.shape
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(f"expand: the shape {a.shape} cannot be expanded to {tuple(shape)} "
                               f"(only size-1 dimensions can grow)") from None

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.meta), None
