"""Reductions over ``dim`` (int, tuple or None = all) with ``keepdim``:
``sum mean var std max min logsumexp``; their backward broadcasts the gradient back."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import expand_to, payload, where_kept
from .selection import Where


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


def _var_parts(a, dims, correction):
    """(a − ā, Σ(a − ā)² / max(n − correction, 0)) with the reduced dims kept (size 1) and the
    effective denominator. No ZeroDivisionError and no NumPy warning: n − correction ≤ 0 gives
    0/0 = NaN (or x/0 = inf), as PyTorch."""
    n = int(np.prod([a.shape[d] for d in dims])) if dims else 1
    denom = max(n - correction, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centered = _centered(a, dims, n)
        var = np.sum(centered * centered, axis=dims, keepdims=True) / np.asarray(denom, a.dtype)
    return centered, np.asarray(var, a.dtype if a.dtype.kind in "fc" else np.float64), denom


def _centered(a, dims, n):
    """a − ā with a corrected mean ā = m + Σ(a − m)/n, m = Σa/n: exact for a constant slice (whose
    plain mean may be off by an ulp, which would give a tiny std with gradient 1/n instead of 0)."""
    if not n:
        return np.array(a, copy=True)
    m = np.sum(a, axis=dims, keepdims=True) / n
    c = a - m
    c -= np.sum(c, axis=dims, keepdims=True) / n
    return c


def _squeeze(out, shape, dims, keepdim):
    return out if keepdim else out.reshape(tuple(s for i, s in enumerate(shape) if i not in dims))


def _scale(denom, k):
    """k / denom as a Python float (inf when denom == 0, so 0 · inf gives PyTorch's NaN)."""
    return k / denom if denom else float("inf")


class Var(Function):
    """out = Σ (a − ā)² / (n − correction);  da = g · 2 (a − ā) / (n − correction)."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, correction):
        _, var, denom = _var_parts(a, dims, correction)
        ctx.meta = (a.shape, dims, keepdim, denom)
        ctx.save_for_backward(a)
        return _squeeze(var, a.shape, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, denom = ctx.meta
        (a,) = ctx.saved_tensors
        centered = a - a.mean(axis=dims, keepdims=True)
        with np.errstate(invalid="ignore"):
            return _keep(g, shape, dims, keepdim) * centered * _scale(denom, 2.0), None, None, None


class Std(Function):
    """out = s = √(Σ (a − ā)² / (n − correction));  da = g · (a − ā) / ((n − correction) · s),
    taken as 0 where s = 0 (a constant slice), as PyTorch, instead of 0/0."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, correction):
        _, var, denom = _var_parts(a, dims, correction)
        out = np.sqrt(var)
        ctx.meta = (a.shape, dims, keepdim, denom)
        ctx.save_for_backward(a, out)
        return _squeeze(out, a.shape, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, denom = ctx.meta
        a, out = ctx.saved_tensors
        g = _keep(g, shape, dims, keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            if isinstance(a, np.ndarray):
                centered = _centered(a, dims, int(np.prod([shape[d] for d in dims])) if dims else 1)
                grad = g * centered / (out * denom if denom else out * 0.0)
                return np.where(out == 0, np.zeros((), grad.dtype), grad), None, None, None
            # double backward: recompute s from a with Tensor ops so that it is differentiated too;
            # centred as the forward (exact 0 for a constant slice), and a constant slice's branch
            # computed with s = 1 so that no 0/0 or sqrt'(0) reaches the masked-out gradient
            centered = a - a.mean(axis=dims, keepdims=True)
            centered = centered - centered.mean(axis=dims, keepdims=True)
            v = (centered * centered).sum(dim=dims, keepdim=True) * _scale(denom, 1.0)
            zero = v.detach() == 0
            s = Where.apply(zero, 1.0, v).sqrt()
            grad = g * centered / (s * denom if denom else s * 0.0)
            return Where.apply(zero, 0.0, grad), None, None, None


def _extreme_mask(a, out):
    """Where ``a`` equals the reduced extreme ``out``; a NaN extreme matches the NaN elements."""
    mask = a == out
    if out.dtype.kind == "f":
        nan = np.isnan(out)
        if nan.any():
            mask |= np.isnan(a) & nan
    return mask


class AMax(Function):
    """out = max (or min) over dims;  the gradient is shared evenly among the tied extremes
    (PyTorch's ``max()`` without ``dim``); a NaN extreme passes its gradient to the NaN elements.
    With ``select`` (``max()``/``min()`` of a whole tensor: PyTorch's evenly_distribute_backward)
    the other elements get 0 even from an infinite g; without it (``amax``/``amin``: PyTorch's
    scale_grad_by_count) they get g · 0, NaN for an infinite g, as in PyTorch.
    The weights are saved values, released by backward."""

    raw = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, is_min, select=False):
        red = np.min if is_min else np.max
        out = np.asarray(red(a, axis=dims, keepdims=True))
        mask = _extreme_mask(a, out)
        counts = mask.sum(axis=dims, keepdims=True)
        ctx.meta = (a.shape, dims, keepdim, select)
        ctx.save_for_backward((mask / counts).astype(a.dtype, copy=False))
        return out if keepdim else out.reshape(tuple(s for i, s in enumerate(a.shape) if i not in dims))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, select = ctx.meta
        (weights,) = ctx.saved_tensors
        ga = _keep(g, shape, dims, keepdim) * weights
        return (where_kept(ga, payload(weights) != 0) if select else ga), None, None, None, None


class MaxDim(Function):
    """(values, indices) = max (or min) along one dim;  the gradient goes to the chosen index
    (NumPy's argmax/argmin pick the first NaN, as PyTorch). Only the indices are saved."""

    raw = True

    @staticmethod
    def forward(ctx, a, dim, keepdim, is_min):
        idx = np.expand_dims((np.argmin if is_min else np.argmax)(a, axis=dim), dim)
        values = np.take_along_axis(a, idx, axis=dim)
        ctx.meta = (a.shape, dim, keepdim, a.dtype)
        ctx.save_for_backward(idx)
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        idx = idx.astype(np.int64, copy=False)
        ctx.mark_non_differentiable(idx)
        return values, idx

    @staticmethod
    def backward(ctx, g, g_idx):
        shape, dim, keepdim, dtype = ctx.meta
        (idx,) = ctx.saved_tensors
        g = _keep(g, shape, (dim,), keepdim)
        if not isinstance(g, np.ndarray):      # double backward: a one-hot of the saved indices
            onehot = np.zeros(shape, dtype)
            np.put_along_axis(onehot, np.asarray(idx), 1, axis=dim)
            return g * onehot, None, None, None
        gx = np.zeros(shape, np.result_type(g.dtype, dtype))
        np.put_along_axis(gx, idx, np.broadcast_to(g, idx.shape), axis=dim)
        return gx, None, None, None


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
