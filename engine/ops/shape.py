"""Ops that move or re-view elements without changing them: ``reshape permute expand``.
(``view flatten squeeze unsqueeze`` are reshapes; ``transpose``/``T`` are permutes.)
Outputs are views of the input and share its version counter."""
from __future__ import annotations

import operator

import numpy as np

from ..function import Function
from ._util import normalize_dims, permute_axes, tensor_arg, unbroadcast


class Reshape(Function):
    """out = a viewed with ``shape``;  da = g reshaped back."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a, shape):
        ctx.meta = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape {tuple(shape)} is invalid for input of size {a.size} "
                               f"(shape {a.shape})") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.meta), None


class Permute(Function):
    """out = a with dims reordered by ``axes``;  da = g with the inverse order."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a, axes):
        ctx.meta = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return permute_axes(g, ctx.meta), None


class Expand(Function):
    """out = a broadcast to ``shape`` (no copy);  da = g summed over the broadcast dims."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a, shape):
        ctx.meta = a.shape
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(f"expand: the shape {a.shape} cannot be expanded to {tuple(shape)} "
                               f"(only size-1 dimensions can grow)") from None

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.meta), None


# -- functional forms (see the table in ops/__init__) --------------------------------------------

def _shape_arg(shape):
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape (2, 3); ints only (2.5 is a TypeError)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"expected a sequence of ints, got {tuple(shape)!r}") from None


def reshape(input, *shape):
    """The same elements viewed with a new shape (one dim may be −1)."""
    return Reshape.apply(input, _shape_arg(shape))


def view_as(input, other):
    """``input`` reshaped to ``other``'s shape."""
    return Reshape.apply(input, tuple(tensor_arg("view_as", "other", other).shape))


def permute(input, *dims):
    """Reorder dimensions: ``out.shape[i] = input.shape[dims[i]]``."""
    dims = _shape_arg(dims)
    ndim = input.ndim
    if len(dims) != ndim:
        raise ValueError(f"permute: dims {dims} are not a permutation of the {ndim} dims of shape "
                         f"{tuple(input.shape)}")
    axes = tuple(normalize_dims(d, ndim)[0] for d in dims)       # IndexError when out of range
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {ndim} dims of shape "
                         f"{tuple(input.shape)}")
    return Permute.apply(input, axes)


def transpose(input, dim0, dim1):
    """Swap two dimensions."""
    axes = list(range(input.ndim))
    d0, d1 = normalize_dims(dim0, input.ndim)[0], normalize_dims(dim1, input.ndim)[0]
    if not axes:                      # a 0-d tensor: transpose(0, -1) is the tensor itself
        return Permute.apply(input, ())
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(input, tuple(axes))


def expand(input, *shape):
    """Broadcast to ``shape`` without copying (−1 keeps a dim)."""
    shape = _shape_arg(shape)
    lead = len(shape) - input.ndim
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return Expand.apply(input, shape)


def expand_as(input, other):
    """``input`` broadcast to ``other``'s shape."""
    return Expand.apply(input, tuple(tensor_arg("expand_as", "other", other).shape))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    shape = tuple(input.shape)
    if not shape:
        normalize_dims(start_dim, 0), normalize_dims(end_dim, 0)     # 0 and -1 only (IndexError)
        return Reshape.apply(input, (1,))
    (s,), (e,) = normalize_dims(start_dim, len(shape)), normalize_dims(end_dim, len(shape))
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
    return Reshape.apply(input, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


def squeeze(input, dim=None):
    """Drop size-1 dims (only ``dim`` when given)."""
    shape = tuple(input.shape)
    dims = normalize_dims(dim, len(shape)) if dim is not None else tuple(range(len(shape)))
    return Reshape.apply(input, tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)))


def unsqueeze(input, dim):
    """Insert a size-1 dim at position ``dim``."""
    shape = tuple(input.shape)
    (d,) = normalize_dims(dim, len(shape) + 1)
    return Reshape.apply(input, shape[:d] + (1,) + shape[d:])


def T(input):
    """All dims reversed (a matrix transpose for 2-D)."""
    return Permute.apply(input, tuple(reversed(range(input.ndim))))


def mT(input):
    """The last two dims swapped."""
    return transpose(input, -2, -1)


def numel(input) -> int:  # noqa: A002
    """The number of elements of ``input`` (``torch.numel``; the method is ``Tensor.numel``)."""
    return int(np.prod(input.shape, dtype=np.int64))
