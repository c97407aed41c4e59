"""``+ - * / ** neg``: elementwise arithmetic with NumPy broadcasting; gradients are reduced back
to each input's shape (``unbroadcast``)."""
from __future__ import annotations

import numpy as np

from ..dtypes import promote_pair, true_divide_pair
from ..function import Function, Variable
from ._util import broadcast_error, shape_of, unbroadcast


class Add(Function):
    """out = a + b;  da = g, db = g (each summed back to its input's shape)."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote_pair(a, b)
        try:
            out = a + b
        except ValueError:
            raise broadcast_error("add", a, b) from None
        ctx.meta = (shape_of(a), shape_of(b))
        return out

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.meta
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, sa) if na else None), (unbroadcast(g, sb) if nb else None)


class Sub(Function):
    """out = a - b;  da = g, db = -g."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote_pair(a, b)
        try:
            out = a - b
        except ValueError:
            raise broadcast_error("sub", a, b) from None
        ctx.meta = (shape_of(a), shape_of(b))
        return out

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.meta
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, sa) if na else None), (unbroadcast(-g, sb) if nb else None)


class Mul(Function):
    """out = a * b;  da = g * b, db = g * a."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote_pair(a, b)
        try:
            out = a * b
        except ValueError:
            raise broadcast_error("mul", a, b) from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b, shape_of(a)) if na else None,
                unbroadcast(g * a, shape_of(b)) if nb else None)


class Div(Function):
    """out = a / b;  da = g / b, db = -g * a / b²."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = true_divide_pair(a, b)
        try:
            out = a / b
        except ValueError:
            raise broadcast_error("div", a, b) from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g / b, shape_of(a)) if na else None,
                unbroadcast(-g * a / (b * b), shape_of(b)) if nb else None)


class Pow(Function):
    """out = a ** b;  da = g · b · a^(b-1),  db = g · out · log(a)."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote_pair(a, b)
        try:
            out = a ** b
        except ValueError:
            raise broadcast_error("pow", a, b) from None
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        da = db = None
        if na:
            da = unbroadcast(_pow_grad_base(g, a, b), shape_of(a))
        if nb:
            # a is a payload (ndarray or a Python number) on the fast path, a Tensor in double backward
            safe_log = _tensor_log_pos(a) if isinstance(a, Variable) else np.log(np.where(a > 0, a, 1))
            db = unbroadcast(g * out * safe_log, shape_of(b))
        return da, db


def _pow_grad_base(g, a, b):
    """g · b · a^(b−1), taken as 0 where b = 0 (so d(x**0)/dx = 0 at x = 0, as PyTorch, not 0·inf)."""
    if isinstance(b, Variable) or isinstance(a, Variable):    # double backward: Tensor ops
        if isinstance(b, (int, float)):
            return g * 0.0 * a if b == 0 else g * b * a ** (b - 1)
        from ..ops import where

        return where(b == 0, 0.0, g * b * a ** (b - 1))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = g * b * np.power(a, b - 1)
    zero = np.asarray(b) == 0
    return np.where(zero, np.zeros((), np.result_type(d)), d) if zero.any() else d


def _tensor_log_pos(a):
    """log(a) where a > 0, else 0 (the gradient of a**b w.r.t. b is taken as 0 there)."""
    from ..ops import where

    return where(a > 0, a, 1.0).log()


class Neg(Function):
    """out = -a;  da = -g."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g
