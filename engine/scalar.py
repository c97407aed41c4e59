"""``Scalar``: a micrograd-style single number (``._data`` float, ``.grad`` float) on the same
Function / graph / backward machinery as Tensor — only the payload differs.

    a, b = Scalar(2.0), Scalar(-3.0)
    y = (a * b + a.tanh()) ** 2
    y.backward()
    a.grad, b.grad
"""
from __future__ import annotations

import math

from .function import Function
from .ops import unary
from .function import apply_small as _small
from .variable import Variable

_new = object.__new__
_NO_VC = [0]  # Scalars are immutable: one shared version counter that never moves


def _val(x):
    return x._data if isinstance(x, Variable) else x


def _constant(x):
    """A Python number as a Scalar that requires no grad (the left operand of ``2 - s``), so the
    op takes ``apply_small``, whose first argument must be a value; it records no edge to it."""
    return Scalar._wrap(float(x))


class SAdd(Function):
    """out = a + b;  da = g, db = g."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class SSub(Function):
    """out = a − b;  da = g, db = −g."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class SMul(Function):
    """out = a · b;  da = g · b, db = g · a."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class SDiv(Function):
    """out = a / b;  da = g / b, db = −g · a / b²."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g / b, -g * a / (b * b)


class SPow(Function):
    """out = aᵇ;  da = g · b · a^(b−1),  db = g · out · ln a (a > 0)."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        da = g * b * a ** (b - 1) if na else None
        db = g * out * (a.log() if isinstance(a, Scalar) else math.log(a)) if nb and _val(a) > 0 else None
        return da, db


class SNeg(Function):
    """out = −a;  da = −g."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


# Unary ops: the Tensor ops' backward is written with operators that floats share, so a Scalar
# op only swaps the forward for the ``math`` version (≈10x faster than NumPy on one float).
class SExp(unary.Exp):
    """out = eᵃ;  da = g · out."""

    @staticmethod
    def forward(ctx, a):
        out = math.exp(a)
        ctx.save_for_backward(out)
        return out


class SLog(unary.Log):
    """out = ln a;  da = g / a."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return math.log(a)


class STanh(unary.Tanh):
    """out = tanh a;  da = g · (1 − out²)."""

    @staticmethod
    def forward(ctx, a):
        out = math.tanh(a)
        ctx.save_for_backward(out)
        return out


class SSigmoid(unary.Sigmoid):
    """out = 1 / (1 + e⁻ᵃ);  da = g · out · (1 − out)."""

    @staticmethod
    def forward(ctx, a):
        out = 0.5 * math.tanh(0.5 * a) + 0.5
        ctx.save_for_backward(out)
        return out


class SRelu(Function):
    """out = max(a, 0);  da = g where out > 0 (or NaN), 0 where out <= 0 (as PyTorch)."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        out = 0.0 if a < 0 else a  # as PyTorch: -0.0 and NaN pass through
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if _val(out) <= 0:  # 0, as PyTorch's threshold_backward, even for an inf or NaN g
            return 0.0 if isinstance(g, float) else g * 0.0
        return g  # out > 0, or NaN: g passes (torch)


class Scalar(Variable):
    """A differentiable Python float (micrograd's ``Value``); ``requires_grad=True`` by default.

    ``.grad`` starts at 0.0 and accumulates over ``backward()`` calls.
    """

    __slots__ = ("label",)

    def __init__(self, data, requires_grad=True, label=""):
        self._data = float(data)
        self.grad = 0.0
        self.requires_grad = requires_grad
        self.grad_fn = None
        self._output_nr = 0
        self._vc = _NO_VC
        self._hooks = None
        self.label = label

    @staticmethod
    def _wrap(payload, grad_fn=None, output_nr=0, vc=None):
        s = _new(Scalar)
        s._data = payload
        s.grad = 0.0
        s.grad_fn = grad_fn
        s.requires_grad = grad_fn is not None
        s._output_nr = output_nr
        s._vc = _NO_VC
        s._hooks = None
        s.label = ""
        return s

    @staticmethod
    def _all_finite(payload) -> bool:
        return math.isfinite(payload)

    def _seed_gradient(self, gradient):
        return 1.0 if gradient is None else float(_val(gradient))

    def _accumulate_grad(self, g, create_graph, handed):
        if self._hooks:
            g = self._run_leaf_hooks(g, create_graph)
        self.grad = self.grad + g

    shape = ()

    @property
    def data(self) -> float:
        """The value, a Python float (micrograd's ``.data``; assignable)."""
        return self._data

    @data.setter
    def data(self, value):
        self._data = float(value)

    def item(self) -> float:
        """The value as a Python float."""
        return self._data

    def __float__(self):
        return float(self._data)

    def __repr__(self):
        return f"Scalar(data={self._data:.6g}, grad={_val(self.grad):.6g})"

    def __hash__(self):
        return id(self)

    def __add__(self, o):
        return _small(SAdd, self, o, 2)

    def __radd__(self, o):
        return _small(SAdd, self, o, 2)  # o + self = self + o exactly (IEEE), as PyTorch's __radd__

    def __sub__(self, o):
        return _small(SSub, self, o, 2)

    def __rsub__(self, o):
        if type(o) is float or type(o) is int:  # a constant operand: the fast path applies
            return _small(SSub, _constant(o), self, 2)
        return SSub.apply(o, self)

    def __mul__(self, o):
        return _small(SMul, self, o, 2)

    def __rmul__(self, o):
        return _small(SMul, self, o, 2)  # o · self = self · o exactly (IEEE), as PyTorch's __rmul__

    def __truediv__(self, o):
        return _small(SDiv, self, o, 2)

    def __rtruediv__(self, o):
        if type(o) is float or type(o) is int:  # a constant operand: the fast path applies
            return _small(SDiv, _constant(o), self, 2)
        return SDiv.apply(o, self)

    def __pow__(self, o):
        return _small(SPow, self, o, 2)

    def __rpow__(self, o):
        if type(o) is float or type(o) is int:  # a constant operand: the fast path applies
            return _small(SPow, _constant(o), self, 2)
        return SPow.apply(o, self)

    def __neg__(self):
        return _small(SNeg, self, None, 1)

    def __lt__(self, o):
        return self._data < _val(o)

    def __le__(self, o):
        return self._data <= _val(o)

    def __gt__(self, o):
        return self._data > _val(o)

    def __ge__(self, o):
        return self._data >= _val(o)

    def exp(self):
        """eˣ."""
        return _small(SExp, self, None, 1)

    def log(self):
        """ln x."""
        return _small(SLog, self, None, 1)

    def tanh(self):
        """tanh x."""
        return _small(STanh, self, None, 1)

    def sigmoid(self):
        """1 / (1 + e⁻ˣ)."""
        return _small(SSigmoid, self, None, 1)

    def relu(self):
        """max(x, 0)."""
        return _small(SRelu, self, None, 1)

    def detach(self) -> "Scalar":
        """The same value, cut from the graph."""
        return Scalar(self._data, requires_grad=False)


Scalar._value_cls = Scalar
Scalar._mutable = False  # never edited in place: saved values need no version checks
