"""``+ - * / ** neg``: elementwise arithmetic with NumPy broadcasting (``BinaryOp`` sums each
gradient back to its input's shape)."""
from __future__ import annotations

import operator

import numpy as np

from ..dtypes import true_divide_pair
from ..variable import Variable
from ._util import payload
from .elementwise import BinaryOp, UnaryOp
from .selection import Where


class Add(BinaryOp):
    """out = a + b;  da = g, db = g."""

    op = operator.add
    saves = ""

    @staticmethod
    def da(g, a, b, out):
        return g

    @staticmethod
    def db(g, a, b, out):
        return g


class Sub(BinaryOp):
    """out = a − b;  da = g, db = −g."""

    op = operator.sub
    saves = ""

    @staticmethod
    def da(g, a, b, out):
        return g

    @staticmethod
    def db(g, a, b, out):
        return -g


class Mul(BinaryOp):
    """out = a · b;  da = g · b, db = g · a."""

    op = operator.mul

    @staticmethod
    def da(g, a, b, out):
        return g * b

    @staticmethod
    def db(g, a, b, out):
        return g * a


class Div(BinaryOp):
    """out = a / b (true division: integers divide in the default float dtype);
    da = g / b, db = −g · a / b²."""

    op = operator.truediv
    promote = staticmethod(true_divide_pair)

    @staticmethod
    def da(g, a, b, out):
        return g / b

    @staticmethod
    def db(g, a, b, out):
        return -g * a / (b * b)


class Pow(BinaryOp):
    """out = aᵇ;  da = g · b · a^(b−1) (0 where b = 0),  db = g · out · ln a (0 where a = 0 and
    b ≥ 0; NaN for a < 0, where aᵇ has no real derivative in b: PyTorch's pow_backward_exponent)."""

    op = operator.pow
    saves = "ab+out"

    @staticmethod
    def da(g, a, b, out):
        return _pow_grad_base(g, a, b)

    @staticmethod
    def db(g, a, b, out):
        return g * out * _log_except_zero_base(a, b)


def _pow_grad_base(g, a, b):
    """g · b · a^(b−1), taken as 0 where b = 0 (so d(x**0)/dx = 0 at x = 0, as PyTorch, not 0·inf)."""
    if isinstance(b, Variable) or isinstance(a, Variable):    # double backward: Tensor ops
        if isinstance(b, (int, float)):
            return g * 0.0 * a if b == 0 else g * b * a ** (b - 1)
        return Where.apply(b == 0, 0.0, g * b * a ** (b - 1))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = g * b * np.power(a, b - 1)
    zero = np.asarray(b) == 0
    return np.where(zero, np.zeros((), np.result_type(d)), d) if zero.any() else d


def _log_except_zero_base(a, b):
    """ln a, but 0 where a = 0 and b ≥ 0 (there d(aᵇ)/db = 0·ln 0 is taken as 0, as PyTorch);
    NaN where a < 0 (on a payload, or recorded on a Tensor in double backward)."""
    if isinstance(a, Variable) or isinstance(b, Variable):
        zero = (payload(a) == 0) & (payload(b) >= 0)
        return Where.apply(zero, 1.0, a).log()
    zero = (np.asarray(a) == 0) & (np.asarray(b) >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.where(zero, 1, a))


class Neg(UnaryOp):
    """out = −a;  da = −g."""

    op = operator.neg
    saves = None

    @staticmethod
    def da(g, a, out):
        return -g
