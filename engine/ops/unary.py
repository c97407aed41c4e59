"""Elementwise functions of one tensor: ``abs exp log sqrt sin cos tanh sigmoid relu``.

Transcendentals stay NumPy ufuncs (SIMD); backward reuses the saved output where the derivative
is a function of it (exp, tanh, sigmoid, sqrt, relu).
"""
from __future__ import annotations

import numpy as np

from ..function import Function


class Abs(Function):
    """out = |a|;  da = g · sign(a)."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * np.sign(a)


class Exp(Function):
    """out = eᵃ;  da = g · out."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    """out = ln a;  da = g / a."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    """out = √a;  da = g / (2·out)."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Sin(Function):
    """out = sin a;  da = g · cos a."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * np.cos(a)


class Cos(Function):
    """out = cos a;  da = -g · sin a."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return -g * np.sin(a)


class Tanh(Function):
    """out = tanh a;  da = g · (1 − out²)."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


def sigmoid_array(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e⁻ᵃ), PyTorch's formula: for a ≪ 0, e⁻ᵃ is large (or overflows to inf,
    giving 0) and the quotient keeps full relative precision, so σ(−17) in float32 is 4.14e-8 and
    log σ(−20) is finite (the former 0.5 + 0.5·tanh(a/2) lost both to cancellation)."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        a = a.astype(np.float32)      # PyTorch: integer/bool input gives the default float dtype
    if a.ndim == 0:
        return sigmoid_array(a.reshape(1))[0]
    out = np.negative(a)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


class Sigmoid(Function):
    """out = σ(a) = 1 / (1 + e⁻ᵃ);  da = g · out · (1 − out)."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        out = sigmoid_array(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Relu(Function):
    """out = max(a, 0);  da = g · [a > 0]."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out > 0)
