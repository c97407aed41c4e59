"""dtype conversion as an op: float→float casts carry the gradient back in the input's dtype."""
from __future__ import annotations

import numpy as np

from ..function import Function


class Cast(Function):
    """out = a.astype(dtype);  da = g.astype(a.dtype) (no gradient into integer/bool results)."""

    raw = True

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.meta = a.dtype
        out = a.astype(dtype)
        if np.dtype(dtype).kind != "f":
            ctx.mark_non_differentiable(out)
        return out

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, (np.ndarray, np.generic)):  # (0-d arithmetic yields NumPy scalars)
            return np.asarray(g).astype(ctx.meta), None
        return g.to(ctx.meta), None
