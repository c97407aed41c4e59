"""The functional forms of the reductions (``engine.sum(x, dim)`` and ``x.sum(dim)``): argument
handling (``dim``/``axis``, ``keepdim``/``keepdims``, ``unbiased``/``correction``) in front of the
Functions of ``reduction.py``. A module of its own because its names (``sum max min``) shadow the
Python builtins that the Functions' code uses."""
from __future__ import annotations

import numpy as np

from ..variable import Variable
from ._util import normalize_dims, payload, reduce_args, reduce_dims
from .reduction import AMax, LogSumExp, MaxDim, Mean, Std, Sum, Var
from .selection import Maximum, Minimum

def sum(input, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):  # noqa: A001
    """Σ over ``dim`` (all dims when None)."""
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    if dtype is not None:
        input = input.to(dtype)
    return Sum.apply(input, reduce_dims(dim, input.ndim), keepdim)


def mean(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """(1/n) Σ over ``dim`` (all dims when None)."""
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return Mean.apply(input, reduce_dims(dim, input.ndim), keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return int(correction)
    return 1 if unbiased in (None, True) else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Σ (x − x̄)² / (n − correction); unbiased (correction=1) by default, as PyTorch."""
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return Var.apply(input, reduce_dims(dim, input.ndim), keepdim, _correction(unbiased, correction))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """√var (unbiased by default); its gradient is 0 (not NaN) where the slice is constant."""
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return Std.apply(input, reduce_dims(dim, input.ndim), keepdim, _correction(unbiased, correction))


class MaxResult(tuple):
    """``(values, indices)`` returned by ``max(dim=...)``/``min(dim=...)``, as torch.return_types."""

    __slots__ = ()

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"(values={self[0]!r}, indices={self[1]!r})"


def _extreme(a, dim, keepdim, axis, keepdims, is_min, other=None):
    if other is None and isinstance(dim, Variable):  # torch.max(input, other): the elementwise form
        dim, other = None, dim
    if other is not None:
        return (Minimum if is_min else Maximum).apply(a, other)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    if a.numel() == 0:
        raise RuntimeError("max()/min() of an empty tensor has no identity")
    if dim is None:
        return AMax.apply(a, reduce_dims(None, a.ndim), False, is_min, True)
    if not isinstance(dim, (int, np.integer)):
        return AMax.apply(a, reduce_dims(dim, a.ndim), keepdim, is_min)
    (d,) = normalize_dims(dim, a.ndim)
    if a.ndim == 0:  # PyTorch: the value itself and index 0
        return MaxResult(AMax.apply(a, (), keepdim, is_min, True), a._wrap(np.zeros((), np.int64)))
    values, indices = MaxDim.apply(a, d, keepdim, is_min)
    return MaxResult(values, indices)


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):  # noqa: A001
    """Largest element (0-d), or ``(values, indices)`` along ``dim``; with a Tensor as the second
    argument (``max(input, other)``), the elementwise :func:`maximum`."""
    return _extreme(input, dim, keepdim, axis, keepdims, False, other)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):  # noqa: A001
    """Smallest element (0-d), or ``(values, indices)`` along ``dim``; with a Tensor as the second
    argument (``min(input, other)``), the elementwise :func:`minimum`."""
    return _extreme(input, dim, keepdim, axis, keepdims, True, other)


def amax(input, dim=None, keepdim=False):
    """Max over ``dim`` (int or tuple); ties share the gradient evenly."""
    return AMax.apply(input, reduce_dims(dim, input.ndim), keepdim, False)


def amin(input, dim=None, keepdim=False):
    """Min over ``dim`` (int or tuple); ties share the gradient evenly."""
    return AMax.apply(input, reduce_dims(dim, input.ndim), keepdim, True)


def _arg(fn, a, dim, keepdim, axis, keepdims):
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    x = payload(a)
    if dim is None:
        return a._wrap(np.asarray(fn(x), dtype=np.int64))
    return a._wrap(np.asarray(fn(x, axis=dim, keepdims=keepdim), dtype=np.int64))


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest element (flattened when dim is None); no gradient."""
    return _arg(np.argmax, input, dim, keepdim, axis, keepdims)


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the smallest element (flattened when dim is None); no gradient."""
    return _arg(np.argmin, input, dim, keepdim, axis, keepdims)


def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log Σ eˣ over ``dim``, computed stably."""
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return LogSumExp.apply(input, reduce_dims(dim, input.ndim), keepdim)
