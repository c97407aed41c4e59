"""Helpers shared by the built-in ops. Each works on ndarrays (fast path) and on Tensors (double
backward), so an op's backward is written once."""
from __future__ import annotations

import numpy as np

from ..node import NULL_CTX
from ..variable import Variable


def payload(x):
    """The array (or float) inside a Tensor/Scalar (its private ``_data``); anything else as it
    is. The one unwrap helper of the library."""
    return x._data if isinstance(x, Variable) else x


def like(x, ref):
    """``x`` as a value of ``ref``'s class (a Tensor): itself when it already is one, else a new
    one made from it (a second tensor argument given as an array or list)."""
    return x if isinstance(x, Variable) else ref._value_cls(x)


def tensor_arg(name, arg, t):
    """``t`` when it is a Tensor, else a TypeError naming the argument (as PyTorch)."""
    if not isinstance(t, Variable):
        raise TypeError(f"{name}(): argument '{arg}' must be a Tensor, not {type(t).__name__}")
    return t


def shape_of(x) -> tuple:
    """Shape of an ndarray payload, a Tensor, or a Python number (``()``)."""
    return x.shape if hasattr(x, "shape") else ()


def unbroadcast(g, shape):
    """Sum ``g`` over the axes broadcasting added or stretched, so the result has ``shape``.

    d/dx of f(broadcast(x)) is the sum of the gradient over every copy of each element of x.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


#: The signed integer type of each float width, for :func:`where_kept`'s bit mask.
_SAME_WIDTH_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def where_kept(g, keep):
    """``g`` where ``keep`` is True, +0 elsewhere: the backward of a select, as PyTorch writes it
    (``threshold_backward``, ``hardtanh_backward``, ``clamp_backward``): an infinite or NaN ``g``
    where the input was clipped gives 0, not the NaN (or -0.0) of ``g * keep``. For an ndarray
    ``g``: its bits AND an all-ones/all-zeros mask (0.12 ms on 301k float32, ~10x faster than
    ``np.where``, whose per-element branch mispredicts on a random pattern). For a Tensor ``g``
    (under ``create_graph``): ``masked_fill``, differentiable in ``g``."""
    keep = np.asarray(payload(keep), dtype=bool)
    if isinstance(g, Variable):
        return g.masked_fill(np.logical_not(keep), 0.0)
    g = np.asarray(g)
    if keep.shape != g.shape:
        keep = np.broadcast_to(keep, g.shape)
    itype = _SAME_WIDTH_INT.get(g.dtype.itemsize) if g.dtype.kind == "f" else None
    if itype is None:
        return np.where(keep, g, np.zeros((), g.dtype))
    mask = np.negative(keep.view(np.int8), out=np.empty(g.shape, itype))  # -1 (all ones) or 0
    return np.bitwise_and(g.view(itype), mask, out=mask).view(g.dtype)


def expand_to(g, shape):
    """Broadcast ``g`` to ``shape`` (a read-only view for ndarrays, ``Tensor.expand`` otherwise)."""
    if isinstance(g, (np.ndarray, np.generic)):  # 0-d arithmetic yields NumPy scalars
        return np.broadcast_to(g, shape)
    return g.expand(*shape)


def permute_axes(g, axes):
    """Reorder the dimensions of ``g`` (``ndarray.transpose`` / ``Tensor.permute``)."""
    if isinstance(g, (np.ndarray, np.generic)):
        return np.transpose(g, axes)
    return g.permute(*axes)


def normalize_dims(dim, ndim, name="dim"):
    """A ``dim`` argument (None, int or tuple, negative allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def reduce_dims(dim, ndim):
    """The axes a reduction over ``dim`` runs on: ``normalize_dims``, except that an empty ``dim``
    (``()``, ``[]``) means every dim, as PyTorch's sum/mean/amax/var/norm..., and that a 0-d tensor
    (which accepts dim 0 / -1, as PyTorch) reduces over no axis at all."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        dim = tuple(dim)
        if not dim:
            dim = None
    dims = normalize_dims(dim, ndim)
    return dims if ndim else ()


def broadcast_error(op: str, a, b) -> ValueError:
    """The error for operands whose shapes do not broadcast; names both full shapes."""
    return ValueError(f"{op}: shapes {tuple(shape_of(a))} and {tuple(shape_of(b))} cannot be "
                      f"broadcast together (NumPy broadcasting: trailing dimensions must be equal "
                      f"or 1)")


def reduce_args(dim, keepdim, axis, keepdims):
    """Accept PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` aliases."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass either dim= or axis=, not both")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def run(fn, *args):
    """Apply Function ``fn``: recorded when an argument is a Tensor (double backward), a plain
    forward on payloads otherwise (the fast path of a backward that needs another op)."""
    if any(isinstance(a, Variable) for a in args):
        return fn.apply(*args)
    return fn.forward(NULL_CTX, *args)


def copy_keeping_dtype(input):  # noqa: A002
    """A copy of ``input`` in its own dtype (``input * 1`` would make a bool tensor int64)."""
    return input._wrap(input.numpy().copy()) if input.dtype == np.bool_ else input * 1
