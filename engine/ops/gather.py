"""Index-driven ops with PyTorch's signatures — ``gather scatter_add index_select masked_fill`` —
built on ``GetItem`` and its adjoint ``IndexAdd`` (so gradients of every order come for free):

* ``gather(a, dim, index)[i][j][k] = a[i][index[i][j][k]][k]`` (for dim = 1) is ``a[coords]``
  with the coordinate arrays of ``index`` and ``index`` itself along ``dim``;
* ``scatter_add(a, dim, index, src) = a + IndexAdd(src, at coords)``;
* ``index_select(a, dim, idx) = a[:, …, idx]``.
"""
from __future__ import annotations

import numpy as np

from ..function import Function, Variable
from ._util import normalize_dims, where_kept
from .indexing import GetItem, IndexAdd


def _index_array(index, name, arg="index"):
    """The integer ndarray of an index Tensor/array/list, or TypeError naming ``arg``."""
    arr = index.numpy() if isinstance(index, Variable) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}(): {arg} must be an integer (int64) tensor, got dtype {arr.dtype}")
    return arr


class IndexSelectRangeError(IndexError, RuntimeError):
    """index_select's out-of-range index: PyTorch 2.13 (CPU) raises IndexError ("index out of
    range in self") for dim 0, a 1-D or 0-d input and some last dims, but RuntimeError for others
    (e.g. dim 1 of a 2-D input); this is both, so either ``except`` of ported code catches it."""


def _check_range(idx, size, name, dim, error=RuntimeError):
    """Every index in [0, size): PyTorch does not wrap negative indices here (RuntimeError, or
    ``error``), unlike NumPy's."""
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise error(f"{name}(): index {int(bad)} is out of bounds for dimension {dim} with size {size}")


def _coords(index, dim):
    """Coordinate arrays of every position of ``index`` (broadcastable), ``index`` along ``dim``."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _gather_coords(name, a_shape, dim, index):
    ndim = len(a_shape)
    if index.ndim != max(ndim, 1) and not (ndim == 0 and index.ndim == 0):
        raise RuntimeError(f"{name}(): index {tuple(index.shape)} and input {tuple(a_shape)} must have "
                           f"the same number of dimensions")
    if ndim == 0:
        _check_range(index, 1, name, 0)
        return ()
    d = normalize_dims(dim, ndim)[0]
    for i, (si, sa) in enumerate(zip(index.shape, a_shape)):
        if i != d and si > sa:
            raise RuntimeError(f"{name}(): size of index {tuple(index.shape)} exceeds the input "
                               f"{tuple(a_shape)} in dimension {i}")
    _check_range(index, a_shape[d], name, d)
    return _coords(index, d)


def gather(input, dim, index):  # noqa: A002
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim = 1 (out has index's shape)."""
    idx = _index_array(index, "gather")
    coords = _gather_coords("gather", input.shape, dim, idx)
    if not coords:
        return input * 1 if idx.ndim == 0 else input.reshape(1).expand(*idx.shape) * 1
    return GetItem.apply(input, coords)


def scatter_add(input, dim, index, src):  # noqa: A002
    """out = input, then out[i][index[i][j][k]][k] += src[i][j][k] for dim = 1 (repeats add up)."""
    idx = _index_array(index, "scatter_add")
    if isinstance(src, Variable):
        if src.dtype != input.dtype:
            raise RuntimeError(f"scatter_add(): Expected self.dtype to be equal to src.dtype (self is "
                               f"{input.dtype}, src is {src.dtype}; no promotion, as PyTorch)")
    else:  # an array or list (which PyTorch does not take): read in input's dtype
        src = input._value_cls(np.asarray(src, dtype=input.dtype))
    if src.ndim != idx.ndim or any(si > ss for si, ss in zip(idx.shape, src.shape)):
        raise RuntimeError(f"scatter_add(): index {tuple(idx.shape)} must not be larger than src "
                           f"{tuple(src.shape)} in any dimension")
    coords = _gather_coords("scatter_add", input.shape, dim, idx)
    if src.shape != idx.shape:
        src = src[tuple(slice(0, s) for s in idx.shape)]
    if not coords:
        return input + src.sum()
    return input + IndexAdd.apply(src, input.shape, input.dtype, coords)


def index_select(input, dim, index):  # noqa: A002
    """The entries of ``input`` at positions ``index`` (1-D) along ``dim``."""
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise RuntimeError(f"index_select(): index must be 1-D, got shape {tuple(idx.shape)}")
    if input.ndim == 0:  # PyTorch: exactly one index, and the result is 0-d like the input
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} "
                               f"value(s)")
        _check_range(idx, 1, "index_select", 0, IndexSelectRangeError)
        return input.reshape(1)[np.zeros(1, dtype=np.int64)].reshape(())
    d = normalize_dims(dim, input.ndim)[0]
    _check_range(idx, input.shape[d], "index_select", d, IndexSelectRangeError)
    return GetItem.apply(input, (slice(None),) * d + (idx.reshape(-1),))


class MaskedFill(Function):
    """out = value where mask else a (mask broadcasts to a's shape);  da = g · ¬mask,
    dvalue = Σ g · mask (a 0-d tensor value)."""
    raw = True

    @staticmethod
    def forward(ctx, a, mask, value):
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), a.shape)
        out = a.copy()
        out[mask] = value
        ctx.meta = (mask, np.result_type(value))
        return out

    @staticmethod
    def backward(ctx, g):
        mask, value_dtype = ctx.meta
        na, _, nv = ctx.needs_input_grad
        return (where_kept(g, ~mask) if na else None, None,
                np.asarray(where_kept(g, mask).sum(), dtype=value_dtype) if nv else None)


def masked_fill(input, mask, value):  # noqa: A002
    """``input`` with ``value`` where the bool ``mask`` (broadcast to input's shape) is True."""
    m = mask.numpy() if isinstance(mask, Variable) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill(): mask must be a bool tensor, got dtype {m.dtype}")
    try:
        ok = np.broadcast_shapes(m.shape, input.shape) == input.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"masked_fill(): mask of shape {tuple(m.shape)} does not broadcast to "
                           f"the input's shape {tuple(input.shape)}") from None
    if isinstance(value, Variable):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill(): value must be a number or a 0-d tensor, got shape "
                               f"{tuple(value.shape)}")
        if not value.requires_grad:
            value = value.item()
    return MaskedFill.apply(input, m, value)
