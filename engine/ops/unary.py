"""Elementwise functions of one tensor: ``abs exp log log1p sqrt sin cos tanh sigmoid relu``.

Transcendentals stay NumPy ufuncs (SIMD); backward reuses the saved output where the derivative
is a function of it (exp, tanh, sigmoid, sqrt, relu).
"""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..kernels import relu as _relu
from ._util import payload, where_kept
from .rounding import sign_array
from .elementwise import UnaryOp


class Abs(UnaryOp):
    """out = |a|;  da = g · sign(a), with sign(NaN) = 0 as PyTorch's ``sgn``."""

    op = np.abs
    saves = "a"

    @staticmethod
    def da(g, a, out):
        return g * sign_array(payload(a))


class Exp(UnaryOp):
    """out = eᵃ;  da = g · out."""

    op = np.exp
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * out


class Log(UnaryOp):
    """out = ln a;  da = g / a."""

    op = np.log
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / a


class Log1p(UnaryOp):
    """out = ln(1 + a);  da = g / (1 + a)."""

    op = np.log1p
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / (1 + a)


class Sqrt(UnaryOp):
    """out = √a;  da = g / (2·out)."""

    op = np.sqrt
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g / (2 * out)


class Sin(UnaryOp):
    """out = sin a;  da = g · cos a."""

    op = np.sin
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * np.cos(a)


class Cos(UnaryOp):
    """out = cos a;  da = −g · sin a."""

    op = np.cos
    saves = "a"
    floating = True

    @staticmethod
    def da(g, a, out):
        return -g * np.sin(a)


class Tanh(UnaryOp):
    """out = tanh a;  da = g · (1 − out²)."""

    op = np.tanh
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * (1 - out * out)


def sigmoid_array(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e⁻ᵃ), PyTorch's formula: for a ≪ 0, e⁻ᵃ is large (or overflows to inf,
    giving 0) and the quotient keeps full relative precision, so σ(−17) in float32 is 4.14e-8 and
    log σ(−20) is finite (the former 0.5 + 0.5·tanh(a/2) lost both to cancellation)."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        a = a.astype(get_default_dtype())  # PyTorch: integer/bool input gives the default float dtype
    if a.ndim == 0:
        return sigmoid_array(a.reshape(1))[0]
    out = np.negative(a)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


class Sigmoid(UnaryOp):
    """out = σ(a) = 1 / (1 + e⁻ᵃ);  da = g · out · (1 − out)."""

    op = sigmoid_array
    saves = "out"
    floating = True

    @staticmethod
    def da(g, a, out):
        return g * out * (1 - out)


def relu_array(a: np.ndarray) -> np.ndarray:
    """max(a, 0) elementwise, as PyTorch: 0 only where a < 0 (-0.0 and NaN pass through).

    float32/float64: ``engine.kernels.relu`` (one pass; its twin is ``np.maximum(0, a)``, which
    returns its second operand on a tie, so -0.0 keeps its sign, and which runs ~9x faster than
    ``np.where``, whose per-element branch mispredicts on a random sign pattern). Other dtypes (float16's ``maximum`` returns the first operand on a tie; integers)
    take ``np.where``."""
    if a.dtype == np.float32 or a.dtype == np.float64:
        return _relu.relu(a) if type(a) is np.ndarray else _relu.relu_reference(a)
    return np.where(a < 0, np.zeros((), a.dtype), a)


class Relu(UnaryOp):
    """out = max(a, 0);  da = g where out > 0 (or NaN), 0 where out <= 0 (PyTorch's threshold_backward)."""

    op = relu_array
    saves = "out"

    @staticmethod
    def da(g, a, out):
        if (type(g) is np.ndarray and type(out) is np.ndarray and g.shape == out.shape
                and g.dtype == out.dtype and (g.dtype == np.float32 or g.dtype == np.float64)):
            return _relu.relu_backward(g, out)  # one pass; the same bits as the line below
        return where_kept(g, np.logical_not(payload(out) <= 0))  # g also where out is NaN (torch)
