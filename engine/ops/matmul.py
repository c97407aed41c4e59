"""``a @ b`` with NumPy's matmul rules (1-D operands, batched and broadcast leading dims)."""
from __future__ import annotations

from ..function import Function
from ..kernels._blas import product
from ._util import shape_of, unbroadcast


class Matmul(Function):
    """out = a @ b;  da = g @ bᵀ, db = aᵀ @ g (batch dims summed back to each input's shape)."""

    raw = True
    arity = 2

    @staticmethod
    def forward(ctx, a, b):
        sa, sb = shape_of(a), shape_of(b)
        if not sa or not sb:
            raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}")
        ka = sa[-1]
        kb = sb[-2] if len(sb) > 1 else sb[0]
        if ka != kb:
            raise ValueError(f"matmul: {sa} @ {sb}: inner dimensions {ka} != {kb}")
        try:
            out = product(a, b)
        except ValueError:
            raise ValueError(f"matmul: {sa} @ {sb}: batch dimensions {sa[:-2]} and {sb[:-2]} "
                             f"cannot be broadcast together") from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = shape_of(a), shape_of(b)
        a2 = a.reshape((1,) + sa) if len(sa) == 1 else a          # (n,) -> (1, n)
        b2 = b.reshape(sb + (1,)) if len(sb) == 1 else b          # (n,) -> (n, 1)
        g2 = g
        if len(sa) == 1:
            g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if len(sb) > 1 else g2.reshape((1,))
        if len(sb) == 1:
            g2 = g2.reshape(g2.shape + (1,))
        da = db = None
        if na:
            da = product(g2, b2.swapaxes(-1, -2))
            da = unbroadcast(da, a2.shape).reshape(sa)
        if nb:
            db = product(a2.swapaxes(-1, -2), g2)
            db = unbroadcast(db, b2.shape).reshape(sb)
        return da, db
