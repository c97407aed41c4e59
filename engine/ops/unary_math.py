"""PyTorch's other elementwise math functions: ``rsqrt square reciprocal log2 log10 expm1 exp2 tan
sinh cosh asin acos atan asinh acosh atanh frac deg2rad rad2deg sinc`` (``trunc`` and ``sgn`` are
in ``rounding``). Each is a ``UnaryOp``: the NumPy forward and its local derivative, written as
PyTorch's derivatives.yaml writes it (e.g. ``tan' = 1 + tan²``, from the saved result).
Floating functions compute integer input in the default float dtype, as PyTorch."""
from __future__ import annotations

import math

import numpy as np

from ._util import where_kept
from .elementwise import UnaryOp

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_DEG = math.pi / 180.0


class Rsqrt(UnaryOp):
    """out = 1/√a;  da = −½ · g · out³."""

    op = staticmethod(lambda a: np.reciprocal(np.sqrt(a)))
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return -0.5 * g * out * out * out


class Square(UnaryOp):
    """out = a²;  da = 2 · g · a (integer input stays integer, as PyTorch)."""

    op = np.square
    saves = "a"

    @staticmethod
    def da(g, a, out):
        return 2 * g * a


class Reciprocal(UnaryOp):
    """out = 1/a;  da = −g · out²."""

    op = np.reciprocal
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return -g * out * out


class Log2(UnaryOp):
    """out = log₂ a;  da = g / (a · ln 2)."""

    op = np.log2
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / (a * _LN2)


class Log10(UnaryOp):
    """out = log₁₀ a;  da = g / (a · ln 10)."""

    op = np.log10
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / (a * _LN10)


class Expm1(UnaryOp):
    """out = eᵃ − 1 (exact for small a);  da = g · (out + 1)."""

    op = np.expm1
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * (out + 1)


class Exp2(UnaryOp):
    """out = 2ᵃ;  da = g · out · ln 2."""

    op = np.exp2
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * out * _LN2


class Tan(UnaryOp):
    """out = tan a;  da = g · (1 + out²)."""

    op = np.tan
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * (1 + out * out)


class Sinh(UnaryOp):
    """out = sinh a;  da = g · cosh a."""

    op = np.sinh
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * np.cosh(a)


class Cosh(UnaryOp):
    """out = cosh a;  da = g · sinh a."""

    op = np.cosh
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * np.sinh(a)


class Asin(UnaryOp):
    """out = arcsin a;  da = g / √(1 − a²)."""

    op = np.arcsin
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / np.sqrt(1 - a * a)


class Acos(UnaryOp):
    """out = arccos a;  da = −g / √(1 − a²)."""

    op = np.arccos
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return -g / np.sqrt(1 - a * a)


class Atan(UnaryOp):
    """out = arctan a;  da = g / (1 + a²)."""

    op = np.arctan
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / (1 + a * a)


class Asinh(UnaryOp):
    """out = arsinh a;  da = g / √(a² + 1)."""

    op = np.arcsinh
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / np.sqrt(a * a + 1)


class Acosh(UnaryOp):
    """out = arcosh a (a >= 1);  da = g / √(a² − 1)."""

    op = np.arccosh
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / np.sqrt(a * a - 1)


class Atanh(UnaryOp):
    """out = artanh a (|a| < 1);  da = g / (1 − a²)."""

    op = np.arctanh
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / (1 - a * a)


class Frac(UnaryOp):
    """out = a − trunc(a) (the sign of a);  da = g."""

    op = staticmethod(lambda a: a - np.trunc(a))
    saves = None
    floating = True

    @staticmethod
    def da(g, a, out):
        return g


class Deg2rad(UnaryOp):
    """out = a · π/180;  da = g · π/180."""

    op = staticmethod(lambda a: a * _DEG)
    saves = None
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * _DEG


class Rad2deg(UnaryOp):
    """out = a · 180/π;  da = g · 180/π."""

    op = staticmethod(lambda a: a * (1 / _DEG))
    saves = None
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * (1 / _DEG)


class Sinc(UnaryOp):
    """out = sin(πa)/(πa), 1 at a = 0;  da = g · (πa · cos πa − sin πa)/(π a²), and 0 (a select)
    where π a² is 0 -- a = 0 or so small that a² underflows -- as PyTorch's sinc_backward
    (first derivatives only: no ``create_graph``)."""

    op = np.sinc
    saves = "a"
    floating = True
    twice_differentiable = False

    @staticmethod
    def da(g, a, out):
        pa, pa2 = np.pi * a, np.pi * a * a
        with np.errstate(divide="ignore", invalid="ignore"):
            d = g * (pa * np.cos(pa) - np.sin(pa)) / pa2
        return where_kept(d, pa2 != 0)
