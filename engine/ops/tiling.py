"""Cutting and tiling along dims: ``chunk split unbind`` (views by slicing, so the gradient is the
slice's scatter back), ``repeat`` (tiling; gradient: sum over the copies) and ``flip``."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import normalize_dims, run


def _slice(input, d, start, stop):  # noqa: A002
    return input[(slice(None),) * d + (slice(start, stop),)]


def _dim(input, dim):  # noqa: A002
    if input.ndim == 0:
        raise RuntimeError("this op needs a tensor with at least one dimension, got a 0-d tensor")
    return normalize_dims(dim, input.ndim)[0]


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``tensor`` along ``dim``: of size ``split_size`` each (the last may be smaller),
    or of the given list of sizes (which must add up to the dim's size)."""
    d = _dim(tensor, dim)
    n = tensor.shape[d]
    s = split_size_or_sections
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        if s <= 0 and not (s == 0 and n == 0):
            raise RuntimeError(f"split(): split_size must be a positive int, got {s}")
        bounds = list(range(0, n, s)) + [n] if n else [0, 0]
    else:
        sizes = [int(v) for v in s]
        if sum(sizes) != n or any(v < 0 for v in sizes):
            raise RuntimeError(f"split(): sizes {sizes} must be >= 0 and add up to {n}, the size of "
                               f"dimension {d} of shape {tuple(tensor.shape)}")
        bounds = list(np.cumsum([0] + sizes))
    return tuple(_slice(tensor, d, int(b), int(e)) for b, e in zip(bounds[:-1], bounds[1:]))


def chunk(input, chunks, dim=0):  # noqa: A002
    """``chunks`` pieces of ⌈n / chunks⌉ elements along ``dim`` (fewer if n is too small)."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise RuntimeError(f"chunk(): chunks must be a positive int, got {chunks!r}")
    n = input.shape[_dim(input, dim)]
    if n == 0:                        # PyTorch: an empty dim gives ``chunks`` empty pieces
        return split(input, [0] * int(chunks), dim)
    return split(input, -(-n // chunks), dim)


def unbind(input, dim=0):  # noqa: A002
    """The slices of ``input`` along ``dim``, each without that dim."""
    d = _dim(input, dim)
    return tuple(input[(slice(None),) * d + (i,)] for i in range(input.shape[d]))


class Repeat(Function):
    """out = ``a`` tiled ``reps`` times per dim (leading dims added);  da = Σ over the copies."""
    raw = True

    @staticmethod
    def forward(ctx, a, reps):
        shape = (1,) * (len(reps) - a.ndim) + a.shape
        ctx.meta = (a.shape, shape, reps)
        return np.tile(a.reshape(shape), reps)

    @staticmethod
    def backward(ctx, g):
        orig, shape, reps = ctx.meta
        split_shape = tuple(v for r, s in zip(reps, shape) for v in (r, s))
        return g.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(reps), 2))).reshape(orig), None


def repeat(input, *sizes):  # noqa: A002
    """``input`` tiled ``sizes[i]`` times along dim i (``len(sizes)`` ≥ input.ndim)."""
    reps = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    reps = tuple(int(r) for r in reps)
    if len(reps) < input.ndim or any(r < 0 for r in reps):
        raise RuntimeError(f"repeat(): sizes {reps} must be >= 0 and at least as many as the "
                           f"{input.ndim} dims of shape {tuple(input.shape)}")
    return Repeat.apply(input, reps)


class Flip(Function):
    """out = a reversed along ``dims``;  da = g reversed along the same dims."""
    raw = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.meta = dims
        return np.array(np.flip(a, dims), order="C")    # a C-ordered copy that keeps 0-d as 0-d

    @staticmethod
    def backward(ctx, g):
        return run(Flip, g, ctx.meta), None


def flip(input, dims):  # noqa: A002
    """``input`` with the order of elements reversed along each dim in ``dims``."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = normalize_dims(dims, input.ndim)   # IndexError when out of range (0-d: only 0 and -1)
    if len(axes) != len(dims):
        raise RuntimeError(f"flip(): dims {dims} name a dimension twice")
    return Flip.apply(input, axes if input.ndim else ())
