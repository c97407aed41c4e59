"""Reductions over ``dim`` (int, tuple or None = all) with ``keepdim``:
``sum mean var max min logsumexp``; their backward broadcasts the gradient back."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import expand_to


def _keep(g, shape, dims, keepdim):
    """Re-insert the reduced dimensions (as size 1) so ``g`` broadcasts against the input."""
    if keepdim or not dims:
        return g
    kshape = tuple(1 if i in dims else s for i, s in enumerate(shape))
    return g.reshape(kshape)


class Sum(Function):
    """out = Σ_dims a;  da = g broadcast over the summed dims."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.meta = (a.shape, dims, keepdim)
        return np.asarray(a.sum(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return expand_to(_keep(g, shape, dims, keepdim), shape), None, None


class Mean(Function):
    """out = (1/n) Σ_dims a;  da = g / n broadcast over the reduced dims."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        n = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        ctx.meta = (a.shape, dims, keepdim, n)
        return np.asarray(a.mean(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, n = ctx.meta
        return expand_to(_keep(g, shape, dims, keepdim) / n, shape), None, None


class Var(Function):
    """out = Σ (a − ā)² / (n − correction);  da = g · 2 (a − ā) / (n − correction)."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, correction):
        n = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        ctx.meta = (a.shape, dims, keepdim, n - correction)
        ctx.save_for_backward(a)
        return np.asarray(a.var(axis=dims, keepdims=keepdim, ddof=correction))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, denom = ctx.meta
        (a,) = ctx.saved_tensors
        centered = a - a.mean(axis=dims, keepdims=True)
        return _keep(g, shape, dims, keepdim) * centered * (2.0 / denom), None, None, None


class AMax(Function):
    """out = max (or min) over dims;  the gradient is shared evenly among the tied extremes
    (PyTorch's ``amax``/``max()`` without ``dim``), or goes to ``indices`` when given (``max(dim)``)."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, is_min):
        red = np.min if is_min else np.max
        out = np.asarray(red(a, axis=dims, keepdims=True))
        mask = (a == out)
        counts = mask.sum(axis=dims, keepdims=True)
        ctx.meta = (a.shape, dims, keepdim, (mask / counts).astype(a.dtype, copy=False))
        return out if keepdim else out.reshape(tuple(s for i, s in enumerate(a.shape) if i not in dims))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, weights = ctx.meta
        return _keep(g, shape, dims, keepdim) * weights, None, None, None


class MaxDim(Function):
    """(values, indices) = max (or min) along one dim;  the gradient goes to the chosen index."""

    raw = True

    @staticmethod
    def forward(ctx, a, dim, keepdim, is_min):
        idx = np.expand_dims((np.argmin if is_min else np.argmax)(a, axis=dim), dim)
        values = np.take_along_axis(a, idx, axis=dim)
        onehot = np.zeros(a.shape, dtype=a.dtype)
        np.put_along_axis(onehot, idx, 1, axis=dim)
        ctx.meta = (a.shape, (dim,), keepdim, onehot)
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        idx = idx.astype(np.int64, copy=False)
        ctx.mark_non_differentiable(idx)
        return values, idx

    @staticmethod
    def backward(ctx, g, g_idx):
        shape, dims, keepdim, weights = ctx.meta
        return _keep(g, shape, dims, keepdim) * weights, None, None, None


class LogSumExp(Function):
    """out = log Σ_dims eᵃ (computed as m + log Σ e^(a−m));  da = g · softmax(a) over dims."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        m = np.max(a, axis=dims, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(a - m), axis=dims, keepdims=True)) + m
        ctx.meta = (a.shape, dims, keepdim)
        if not keepdim:
            out = out.reshape(tuple(s for i, s in enumerate(a.shape) if i not in dims))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        a, out = ctx.saved_tensors
        out = _keep(out, shape, dims, keepdim)
        return _keep(g, shape, dims, keepdim) * np.exp(a - out), None, None
