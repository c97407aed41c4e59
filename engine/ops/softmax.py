"""``softmax`` and ``log_softmax`` along one dim, numerically stable (max subtracted)."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import normalize_dims


def softmax_array(a: np.ndarray, dim: int) -> np.ndarray:
    """softmax(a)_i = e^(a_i − m) / Σ_j e^(a_j − m), m = max_j a_j."""
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    e /= e.sum(axis=dim, keepdims=True)
    return e


def log_softmax_array(a: np.ndarray, dim: int) -> np.ndarray:
    """log_softmax(a)_i = a_i − m − log Σ_j e^(a_j − m)."""
    shifted = a - a.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


class Softmax(Function):
    """y = softmax(a);  da = y · (g − Σ(g·y))."""

    raw = True

    @staticmethod
    def forward(ctx, a, dim):
        out = softmax_array(a, dim)
        ctx.meta = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        gy = g * y
        return gy - y * gy.sum(axis=ctx.meta, keepdims=True), None


class LogSoftmax(Function):
    """y = log_softmax(a);  da = g − e^y · Σ g."""

    raw = True

    @staticmethod
    def forward(ctx, a, dim):
        out = log_softmax_array(a, dim)
        ctx.meta = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * g.sum(axis=ctx.meta, keepdims=True), None


def _one_dim(dim, ndim, name):
    if dim is None:
        raise TypeError(f"{name}() needs dim= (PyTorch's implicit dim is deprecated)")
    return normalize_dims(dim, ndim)[0]


def softmax(input, dim=None, *, axis=None):
    """e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``."""
    return Softmax.apply(input, _one_dim(dim if axis is None else axis, input.ndim, "softmax"))


def log_softmax(input, dim=None, *, axis=None):
    """xᵢ − log Σⱼ e^(xⱼ) along ``dim``."""
    return LogSoftmax.apply(input, _one_dim(dim if axis is None else axis, input.ndim, "log_softmax"))
