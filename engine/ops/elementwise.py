"""Base classes of the elementwise ops: declare the forward and the local derivatives, and the
base class writes ``forward``/``backward`` once (saving, broadcasting and its reversal).

A unary op::

    class Exp(UnaryOp):
        '''out = eᵃ;  da = g · out.'''
        op = np.exp                      # the forward on payloads (ndarray, or float for Scalar)
        saves = "out"                    # what da needs: "a", "out" or None
        @staticmethod
        def da(g, a, out):               # the unsaved one arrives as None
            return g * out

A binary op (NumPy broadcasting: each gradient is summed back to its input's shape here, once)::

    class Mul(BinaryOp):
        '''out = a · b;  da = g · b,  db = g · a.'''
        op = operator.mul
        saves = "ab"                     # "", "ab" or "ab+out"
        @staticmethod
        def da(g, a, b, out):
            return g * b
        @staticmethod
        def db(g, a, b, out):
            return g * a

``da``/``db`` use only operators and methods that ndarrays and Tensors share, so the same code is
the fast backward (on ndarrays) and the recorded one (``create_graph=True``, on Tensors).
"""
from __future__ import annotations

from ..dtypes import get_default_dtype, promote_pair
from ..function import Function
from ._util import broadcast_error, shape_of, unbroadcast


class UnaryOp(Function):
    """An elementwise function of one input (see the module docstring)."""

    raw = True
    arity = 1
    op = None       # payload -> payload
    saves = "a"     # "a", "out" or None
    floating = False  # True: integer/bool input is computed in the default float dtype (PyTorch)

    @staticmethod
    def da(g, a, out):
        """d(loss)/d(a) from the output gradient ``g``."""
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "op" in cls.__dict__ and "forward" not in cls.__dict__:
            op = _in_default_float(cls.op) if cls.floating else cls.op
            cls.forward = staticmethod(_unary_forward(op, cls.saves))
        if "da" in cls.__dict__ and "backward" not in cls.__dict__:
            cls.backward = staticmethod(_unary_backward(cls.da, cls.saves))


def _in_default_float(op):
    """``op`` that first casts an integer or bool payload to the default float dtype, as PyTorch's
    floating unary functions do (``torch.exp(torch.tensor([1, 2]))`` is float32)."""
    def op_in_float(a):
        if getattr(a, "dtype", None) is not None and a.dtype.kind in "biu":
            a = a.astype(get_default_dtype())
        return op(a)
    return op_in_float


def _unary_forward(op, saves):
    if saves == "a":
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return op(a)
    elif saves == "out":
        def forward(ctx, a):
            out = op(a)
            ctx.save_for_backward(out)
            return out
    elif saves is None:
        def forward(ctx, a):
            return op(a)
    else:
        raise ValueError(f"UnaryOp.saves must be 'a', 'out' or None, got {saves!r}")
    return forward


def _unary_backward(da, saves):
    if saves == "a":
        def backward(ctx, g):
            return da(g, ctx.saved_tensors[0], None)
    elif saves == "out":
        def backward(ctx, g):
            return da(g, None, ctx.saved_tensors[0])
    else:
        def backward(ctx, g):
            return da(g, None, None)
    return backward


class BinaryOp(Function):
    """An elementwise function of two broadcastable inputs (see the module docstring).

    Forward: ``op(a, b)`` on the operands cast to PyTorch's result type (``promote``; ``Div``
    uses true division's), with a broadcast error that names both shapes. Backward: ``da``/``db``
    give the gradient in the broadcast (output) shape; ``unbroadcast`` sums it back to each
    input's shape. Only the gradients the inputs need are computed.
    """

    raw = True
    arity = 2
    op = None       # (payload, payload) -> payload
    saves = "ab"    # "", "ab" or "ab+out"
    promote = staticmethod(promote_pair)  # (a, b) -> (a, b) in their common dtype

    @staticmethod
    def da(g, a, b, out):
        """d(loss)/d(a), in the output's shape."""
        raise NotImplementedError

    @staticmethod
    def db(g, a, b, out):
        """d(loss)/d(b), in the output's shape."""
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "op" in cls.__dict__ and "forward" not in cls.__dict__:
            cls.forward = staticmethod(_binary_forward(cls.op, cls.__name__.lower(), cls.saves,
                                                       cls.promote))
        if ("da" in cls.__dict__ or "db" in cls.__dict__) and "backward" not in cls.__dict__:
            cls.backward = staticmethod(_binary_backward(cls.da, cls.db, cls.saves))


def _binary_forward(op, name, saves, promote):
    """The forward of a BinaryOp: promote, apply ``op`` (a broadcast failure names both shapes),
    record what ``saves`` says. One closure per kind of saving, spelled out rather than sharing a
    ``record(ctx, ...)`` helper: this is every binary operator's hot path, where one more Python
    call per op is paid by every ``a + b``."""
    if saves == "":
        def forward(ctx, a, b):
            a, b = promote(a, b)
            try:
                out = op(a, b)
            except ValueError:
                raise broadcast_error(name, a, b) from None
            ctx.meta = (shape_of(a), shape_of(b))  # all that backward needs
            return out
    elif saves == "ab":
        def forward(ctx, a, b):
            a, b = promote(a, b)
            try:
                out = op(a, b)
            except ValueError:
                raise broadcast_error(name, a, b) from None
            ctx.save_for_backward(a, b)
            return out
    elif saves == "ab+out":
        def forward(ctx, a, b):
            a, b = promote(a, b)
            try:
                out = op(a, b)
            except ValueError:
                raise broadcast_error(name, a, b) from None
            ctx.save_for_backward(a, b, out)
            return out
    else:
        raise ValueError(f"BinaryOp.saves must be '', 'ab' or 'ab+out', got {saves!r}")
    return forward


def _binary_backward(da, db, saves):
    if saves == "":
        def backward(ctx, g):
            sa, sb = ctx.meta
            na, nb = ctx.needs_input_grad
            return (unbroadcast(da(g, None, None, None), sa) if na else None,
                    unbroadcast(db(g, None, None, None), sb) if nb else None)
    elif saves == "ab":
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            na, nb = ctx.needs_input_grad
            return (unbroadcast(da(g, a, b, None), shape_of(a)) if na else None,
                    unbroadcast(db(g, a, b, None), shape_of(b)) if nb else None)
    else:
        def backward(ctx, g):
            a, b, out = ctx.saved_tensors
            na, nb = ctx.needs_input_grad
            return (unbroadcast(da(g, a, b, out), shape_of(a)) if na else None,
                    unbroadcast(db(g, a, b, out), shape_of(b)) if nb else None)
    return backward
