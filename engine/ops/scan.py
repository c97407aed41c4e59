"""Running and whole products/sums along a dim: ``cumsum`` and ``prod``.

cumsum's adjoint is the reversed cumulative sum (``RevCumSum``), and vice versa, so gradients of
every order are exact. ``prod``'s gradient is the product of all *other* elements (computed from
exclusive cumulative products, so zeros in the input are handled without dividing).
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import normalize_dims, run


def _rev_cumsum(x, dim):
    return np.flip(np.cumsum(np.flip(x, dim), axis=dim), dim)


class CumSum(Function):
    """out_i = Σ_{j≤i} a_j along dim;  da_j = Σ_{i≥j} g_i (reversed cumulative sum)."""
    raw = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.meta = dim
        return np.cumsum(a, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return run(RevCumSum, g, ctx.meta), None


class RevCumSum(Function):
    """out_i = Σ_{j≥i} a_j along dim (the adjoint of CumSum);  da = cumsum(g)."""
    raw = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.meta = dim
        return np.ascontiguousarray(_rev_cumsum(a, dim))

    @staticmethod
    def backward(ctx, g):
        return run(CumSum, g, ctx.meta), None


def cumsum(input, dim, dtype=None):  # noqa: A002
    """Cumulative sum along ``dim``: out_i = Σ_{j≤i} input_j (integers and bools give int64)."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = input.to(np.int64)
    if input.ndim == 0:
        return input * 1
    return CumSum.apply(input, normalize_dims(dim, input.ndim)[0])


def _others_product(a: np.ndarray, dim: int) -> np.ndarray:
    """Π_{j≠i} a_j along ``dim`` for every i, via exclusive cumulative products from both sides."""
    ones = np.ones_like(np.take(a, [0], axis=dim))
    left = np.cumprod(np.concatenate([ones, np.take(a, np.arange(a.shape[dim] - 1), axis=dim)], dim), axis=dim)
    right = np.flip(np.cumprod(np.concatenate(
        [ones, np.take(np.flip(a, dim), np.arange(a.shape[dim] - 1), axis=dim)], dim), axis=dim), dim)
    return left * right


class Prod(Function):
    """out = Π_dim a (dim None: all elements);  da_i = g · Π_{j≠i} a_j."""
    raw = True
    twice_differentiable = False  # the saved products of the others are an intermediate

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        if dim is None:
            flat = a.reshape(-1)
            out = np.asarray(flat.prod())
            others = _others_product(flat, 0).reshape(a.shape) if flat.size else np.zeros_like(a)
            ctx.meta = (a.shape, None, False)
        else:
            out = a.prod(axis=dim, keepdims=keepdim)
            others = _others_product(a, dim) if a.shape[dim] else np.zeros_like(a)
            ctx.meta = (a.shape, dim, keepdim)
        ctx.save_for_backward(others)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        (others,) = ctx.saved_tensors
        shape, dim, keepdim = ctx.meta
        if dim is not None and not keepdim:
            g = g.reshape(shape[:dim] + (1,) + shape[dim + 1:])
        return g * others, None, None


def prod(input, dim=None, keepdim=False, dtype=None):  # noqa: A002
    """Product of the elements over ``dim`` (all when None); integers and bools give int64."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = input.to(np.int64)
    if dim is not None and not isinstance(dim, (int, np.integer)):  # PyTorch: one dim or None
        raise TypeError(f"prod(): dim must be an int, got {type(dim).__name__} {dim!r}")
    if input.ndim == 0:
        return input * 1
    d = None if dim is None else normalize_dims(dim, input.ndim)[0]
    return Prod.apply(input, d, bool(keepdim))
