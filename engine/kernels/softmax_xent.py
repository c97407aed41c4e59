"""Fused log-softmax + cross-entropy over logits ``(N, C)`` (or ``(N, C, d1, ...)``) with int targets.

PyTorch's definition, with ``logp = log_softmax(x)``, class weights ``w`` (default 1), smoothing ``eps``:
``loss_i = -(1 - eps) * w[t_i] * logp[i, t_i] - (eps / C) * sum_c w[c] * logp[i, c]`` (0 where
``t_i == ignore_index``); 'mean' divides the sum by ``sum_i w[t_i]`` over non-ignored rows (NaN if
none), 'sum' sums, 'none' returns the per-row losses.

The exponentials run in NumPy ufuncs (SIMD; Numba here has no SVML and would be ~9x slower); the
row assembly (gathers, smoothing sums, gradient formula) runs in one Numba pass.
"""
from __future__ import annotations

import numpy as np

from . import _par
from ._par import nb  # Numba, imported at the first kernel call

# No fastmath: the row kernels are tiered (``_par.Tier``), so their NumPy paths below must give
# the same bits, which reassociation or FMA contraction would break. (Their loops are short or
# vectorize without it; only label smoothing's per-row sums run scalar.)
_FLAGS = dict(cache=True)


@nb.njit(**_FLAGS)
def _rows_loss(x, target, w, m, ls, ignore_index, eps, loss, denom):
    """Per row: loss (before reduction) and the weight w[t] it contributes to the 'mean' denominator,
    with -logp_ic = ls_i - (x_ic - m_i) (m: row max, ls: log of the shifted sum; never m + ls, which
    rounds away ls when |m| is large). The smoothing sum is skipped when eps == 0, so a masked
    (-inf) logit does not turn the loss into 0 * inf = NaN. Returns the first row with an
    out-of-range target, or -1."""
    n_, c_ = x.shape
    wsum = 0.0
    for c in range(c_):
        wsum += w[c]
    for i in range(n_):
        t = target[i]
        if t == ignore_index:
            loss[i] = 0.0
            denom[i] = 0.0
            continue
        if t < 0 or t >= c_:
            return i
        loss[i] = (1.0 - eps) * w[t] * (ls[i] - (x[i, t] - m[i]))
        if eps != 0.0:
            s = 0.0
            for c in range(c_):
                s += w[c] * (x[i, c] - m[i])
            loss[i] += eps / c_ * (wsum * ls[i] - s)  # -sum_c w_c logp_ic
        denom[i] = w[t]
    return -1


@nb.njit(**_FLAGS)
def _rows_grad(p, target, w, scale, ignore_index, eps):
    """In place: p (softmax) becomes scale_i * (A_i p_ij - a_ij), a_ij = (1-eps) w_t [j=t] + eps/C w_j."""
    n_, c_ = p.shape
    wsum = 0.0
    for c in range(c_):
        wsum += w[c]
    for i in range(n_):
        t = target[i]
        if t == ignore_index:
            for c in range(c_):
                p[i, c] = 0.0
            continue
        s = scale[i]
        big = s * ((1.0 - eps) * w[t] + eps / c_ * wsum)
        small = s * eps / c_
        for c in range(c_):
            p[i, c] = big * p[i, c] - small * w[c]
        p[i, t] -= s * (1.0 - eps) * w[t]


def _seq_sum(a):
    """Left-to-right float64 sum along the last axis (the kernels' ``s = 0.0; s += ...`` loop;
    ``np.sum`` adds pairwise, which rounds differently)."""
    return np.cumsum(a, axis=-1, dtype=np.float64)[..., -1] if a.shape[-1] else np.zeros(a.shape[:-1])


def _rows_loss_numpy(x, target, w, m, ls, ignore_index, eps, loss, denom):
    """:func:`_rows_loss` in NumPy, bit for bit (the same float32/float64 operations in the same
    order; without label smoothing, where the kernel has no per-row sum, or None: the caller then
    runs the kernel)."""
    if eps != 0.0:
        return None
    n_, c_ = x.shape
    ign = target == ignore_index
    bad = ~ign & ((target < 0) | (target >= c_))
    if bad.any():
        return int(np.argmax(bad))
    t = np.where(ign, 0, target)
    rows = np.arange(n_)
    wt = w[t]
    d = ls - (x[rows, t] - m)  # in x's dtype, as the kernel
    with np.errstate(all="ignore"):  # as a kernel: no warnings (inf logits give inf/NaN losses)
        loss[:] = np.where(ign, 0.0, ((1.0 - eps) * wt.astype(np.float64)) * d.astype(np.float64))
    denom[:] = np.where(ign, 0.0, wt)
    return -1


def _rows_grad_numpy(p, target, w, scale, ignore_index, eps):
    """:func:`_rows_grad` in NumPy, bit for bit (the kernel's float64 intermediates, its operation
    order, its sequential ``wsum``)."""
    n_, c_ = p.shape
    ign = target == ignore_index
    t = np.where(ign, 0, target)
    rows = np.arange(n_)
    w64, s64 = w.astype(np.float64), scale.astype(np.float64)
    with np.errstate(all="ignore"):  # a kernel does not warn either (e.g. 'mean' over no rows: inf * 0)
        wsum = _seq_sum(w64)
        big = s64 * ((1.0 - eps) * w64[t] + eps / c_ * wsum)
        small = s64 * eps / c_
        q = big[:, None] * p.astype(np.float64) - small[:, None] * w64[None, :]
        q[ign] = 0.0
        p[...] = q
        keep = rows[~ign]
        p[keep, t[keep]] = p[keep, t[keep]].astype(np.float64) - s64[keep] * (1.0 - eps) * w64[t[keep]]


_LOSS_TIER, _GRAD_TIER = _par.Tier("cross_entropy_rows"), _par.Tier("cross_entropy_grad_rows")


def _flatten(logits, target, weight):
    """(N, C, *) logits -> (M, C) rows, targets -> (M,) int64, weight -> (C,) in the logits' dtype."""
    x = np.asarray(logits)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if x.ndim < 2:
        raise ValueError(f"cross_entropy: expected logits (N, C) or (N, C, *), got {x.shape}")
    c = x.shape[1]
    t = np.asarray(target)
    if t.shape != (x.shape[0],) + x.shape[2:]:
        raise ValueError(f"cross_entropy: target shape {t.shape} does not match logits {x.shape}")
    if x.ndim > 2:
        x = np.moveaxis(x, 1, -1).reshape(-1, c)
    w = np.ones(c, x.dtype) if weight is None else np.ascontiguousarray(weight, dtype=x.dtype)
    return np.ascontiguousarray(x), np.ascontiguousarray(t.reshape(-1), dtype=np.int64), w


def _logsumexp_rows(x):
    """``(N, 2)``: per row the max m and ls = log Σ_c exp(x_c − m) (logsumexp = m + ls)."""
    m = x.max(axis=1)
    e = np.subtract(x, m[:, None])
    np.exp(e, out=e)
    return np.stack([m, np.log(e.sum(axis=1))], axis=1)


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                          reduction="mean"):
    """Cross-entropy of ``log_softmax(logits)`` along dim 1 against class indices (see module doc).

    Returns ``(loss, lse)``: ``loss`` is a 0-d array ('mean', 'sum') or the per-element losses
    shaped like ``target`` ('none'); ``lse`` (per row: max and log-sum, see ``_logsumexp_rows``) is
    saved for the backward.
    """
    x, t, w = _flatten(logits, target, weight)
    lse = _logsumexp_rows(x)
    loss, denom = np.empty(len(t), x.dtype), np.empty(len(t), x.dtype)
    args = (x, t, w, np.ascontiguousarray(lse[:, 0]), np.ascontiguousarray(lse[:, 1]),
            int(ignore_index), float(label_smoothing), loss, denom)
    bad = None if _LOSS_TIER.kernel_due() else _rows_loss_numpy(*args)  # NumPy: the same bits
    if bad is None:
        bad = _rows_loss(*args)
    if bad >= 0:
        raise IndexError(f"cross_entropy: target {t[bad]} is out of bounds for {x.shape[1]} classes")
    if reduction == "none":
        return loss.reshape(np.shape(target)), lse
    if reduction == "sum":
        return np.asarray(loss.sum(), x.dtype), lse
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / denom.sum(), x.dtype), lse
    raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy_backward(grad_loss, logits, target, lse, weight=None, ignore_index=-100,
                           label_smoothing=0.0, reduction="mean"):
    """Gradient w.r.t. the logits: ``g_i * (A_i * softmax_ij - a_ij)`` where
    ``a_ij = (1-eps) w[t_i] [j == t_i] + (eps/C) w[j]``, ``A_i = sum_j a_ij``, ``g_i`` the upstream
    gradient of row i (divided by ``sum_i w[t_i]`` for 'mean'); ignored rows get 0. Shaped like logits."""
    x, t, w = _flatten(logits, target, weight)
    g = np.asarray(grad_loss, x.dtype)
    if reduction == "none":
        scale = np.ascontiguousarray(np.broadcast_to(g, np.shape(target)).reshape(-1))
    else:
        if reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: every row gets 0 anyway
                g = g / w[t[t != ignore_index]].sum()
        scale = np.full(len(t), g, x.dtype)
    p = np.subtract(x, lse[:, :1])
    p -= lse[:, 1:]
    np.exp(p, out=p)
    (_rows_grad if _GRAD_TIER.kernel_due() else _rows_grad_numpy)(  # NumPy: the same bits
        p, t, w, scale, int(ignore_index), float(label_smoothing))
    logits_shape = np.shape(logits)
    if len(logits_shape) > 2:
        p = np.moveaxis(p.reshape((logits_shape[0],) + logits_shape[2:] + (logits_shape[1],)), -1, 1)
    return np.ascontiguousarray(p)


# ----------------------------------------------------------------------------- reference twins
def cross_entropy_forward_reference(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                                    reduction="mean"):
    """Plain-NumPy twin of :func:`cross_entropy_forward` (returns only the loss)."""
    x, t, w = _flatten(logits, target, weight)
    c = x.shape[1]
    logp = x - x.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    nll = -w[ts] * logp[np.arange(len(t)), ts]
    loss = (1 - label_smoothing) * nll
    if label_smoothing:
        loss = loss + label_smoothing / c * -(logp * w).sum(axis=1)
    loss = np.where(valid, loss, 0.0)
    if reduction == "none":
        return loss.reshape(np.shape(target)).astype(x.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(loss.sum() / np.where(valid, w[ts], 0).sum(), x.dtype)


def cross_entropy_backward_reference(grad_loss, logits, target, weight=None, ignore_index=-100,
                                     label_smoothing=0.0, reduction="mean"):
    """Plain-NumPy twin of :func:`cross_entropy_backward` (2-D logits): softmax minus smoothed one-hot."""
    x, t, w = _flatten(logits, target, weight)
    n, c = x.shape
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    a = np.zeros_like(x)
    a[np.arange(n), ts] = (1 - label_smoothing) * w[ts]
    a += label_smoothing / c * w
    g = np.broadcast_to(np.asarray(grad_loss, x.dtype), (n,)) if reduction == "none" else np.full(n, grad_loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        if reduction == "mean":
            g = g / np.where(valid, w[ts], 0).sum()
        return np.where(valid[:, None], g[:, None] * (a.sum(axis=1, keepdims=True) * p - a), 0.0).astype(x.dtype)
