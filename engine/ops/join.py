"""``cat`` (join along an existing dim) and ``stack`` (along a new dim); backward slices."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import normalize_dims


class Cat(Function):
    """out = [a₀ | a₁ | …] along ``dim``;  daᵢ = the matching slice of g."""

    raw = True

    @staticmethod
    def forward(ctx, dim, *parts):
        ref = parts[0].shape
        for p in parts[1:]:
            if p.ndim != len(ref) or any(s != r for i, (s, r) in enumerate(zip(p.shape, ref)) if i != dim):
                raise ValueError(f"cat: sizes of tensors must match except in dimension {dim}: "
                                 f"got shapes {tuple(ref)} and {tuple(p.shape)}")
        ctx.meta = (dim, np.cumsum([0] + [p.shape[dim] for p in parts]))
        return np.concatenate(parts, axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, b = ctx.meta
        lead = (slice(None),) * dim
        return (None,) + tuple(g[lead + (slice(int(b[i]), int(b[i + 1])),)] if need else None
                               for i, need in enumerate(ctx.needs_input_grad[1:]))


class Stack(Function):
    """out[..., i, ...] = aᵢ (a new dim);  daᵢ = g selected at i."""

    raw = True

    @staticmethod
    def forward(ctx, dim, *parts):
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"stack expects each tensor to be equal size, got shapes "
                             f"{sorted(tuple(s) for s in shapes)}")
        ctx.meta = dim
        return np.stack(parts, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.meta
        return (None,) + tuple(g[lead + (i,)] if need else None
                               for i, need in enumerate(ctx.needs_input_grad[1:]))


def cat(tensors, dim=0):
    """Join tensors along an existing dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat expects a non-empty list of tensors")
    return Cat.apply(normalize_dims(dim, tensors[0].ndim)[0], *tensors)


def stack(tensors, dim=0):
    """Join equally shaped tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack expects a non-empty list of tensors")
    return Stack.apply(normalize_dims(dim, tensors[0].ndim + 1)[0], *tensors)
