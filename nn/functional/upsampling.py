"""``interpolate`` (and ``upsample``): resize the spatial dims of (N, C, *spatial) tensors by
``'nearest'`` or (bi/tri)``'linear'`` interpolation, PyTorch's coordinate rules, one spatial dim at
a time. Each step is an ``index_select`` (plus a weighted sum of two of them for linear modes), so
the gradient — a scatter-add of g back onto the source pixels — comes from those ops."""
from __future__ import annotations

import math

import numpy as np

from engine import Tensor, index_select

__all__ = ["interpolate", "upsample"]

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _sizes(name, value, k):
    if isinstance(value, (tuple, list)):
        if len(value) != k:
            raise ValueError(f"interpolate: {name}={tuple(value)} must have one entry per spatial "
                             f"dim ({k})")
        return tuple(value)
    return (value,) * k


def _source(out_size, in_size, scale, mode, align_corners):
    """Fractional source coordinate of every output position along one dim (PyTorch's rules)."""
    dst = np.arange(out_size, dtype=np.float64)
    if mode == "nearest":
        ratio = 1.0 / scale if scale else in_size / out_size
        return np.minimum(np.floor(dst * ratio), in_size - 1)
    if align_corners:
        return dst * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    ratio = 1.0 / scale if scale else in_size / out_size
    return np.maximum((dst + 0.5) * ratio - 0.5, 0.0)


def _resize_dim(x, dim, out_size, scale, mode, align_corners):
    in_size = x.shape[dim]
    src = _source(out_size, in_size, scale, mode, align_corners)
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    if mode == "nearest":
        return index_select(x, dim, Tensor(lo))
    hi = np.minimum(lo + 1, in_size - 1)
    frac = (src - lo).astype(x.dtype)
    shape = [1] * x.ndim
    shape[dim] = out_size
    w = Tensor(frac.reshape(shape))
    return index_select(x, dim, Tensor(lo)) * (1 - w) + index_select(x, dim, Tensor(hi)) * w


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize ``input (N, C, *spatial)`` to ``size`` or by ``scale_factor`` (one of them).

    ``mode='nearest'``: out[y] = in[⌊y · in/out⌋] (``1/scale_factor`` instead of in/out when a
    scale is given, as PyTorch); ``'linear'``/``'bilinear'``/``'trilinear'`` (3-, 4-, 5-D input):
    out[y] = (1 − λ)·in[⌊s⌋] + λ·in[⌊s⌋ + 1] per dim with s = y·(in − 1)/(out − 1) if
    ``align_corners`` else max((y + ½)·in/out − ½, 0).
    """
    if not isinstance(input, Tensor):
        input = Tensor(input)  # noqa: A001
    if mode not in ("nearest",) + tuple(_LINEAR):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not provided (use 'nearest', "
                                  f"'linear', 'bilinear' or 'trilinear')")
    if input.ndim < 3:
        raise ValueError(f"interpolate: expected an input (N, C, *spatial) with at least 3 dims, got "
                         f"shape {tuple(input.shape)}")
    if mode in _LINEAR and input.ndim != _LINEAR[mode]:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode]}D input")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the interpolating "
                         "modes: linear | bilinear | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not provided")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    k = input.ndim - 2
    spatial = input.shape[2:]
    if size is not None:
        out = tuple(int(s) for s in _sizes("size", size, k))
        scales = (None,) * k
    else:
        scales = tuple(float(s) for s in _sizes("scale_factor", scale_factor, k))
        if min(scales) <= 0:
            raise ValueError(f"interpolate: scale_factor {scale_factor} must be positive")
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * k
    if min(out) < 1:
        raise ValueError(f"interpolate: output size {out} must be positive (input {tuple(input.shape)})")
    x = input
    for i, (o, s) in enumerate(zip(out, scales)):
        if o != spatial[i] or mode != "nearest":
            x = _resize_dim(x, 2 + i, o, s, mode, bool(align_corners))
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """PyTorch's deprecated alias of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)
