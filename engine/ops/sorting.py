"""``sort argsort topk``: indices from NumPy's stable argsort; values are ``gather(a, dim,
indices)``, so the gradient flows back to the picked elements."""
from __future__ import annotations

import numpy as np

from ._util import copy_keeping_dtype, normalize_dims
from .gather import gather


class ValuesIndices(tuple):
    """``(values, indices)`` with named fields, as PyTorch's ``torch.return_types.sort/topk``."""
    __slots__ = ()

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"(values={self[0]!r}, indices={self[1]!r})"


def _order(a: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable argsort along ``dim``; descending keeps equal elements in their original order."""
    if not descending:
        return np.argsort(a, axis=dim, kind="stable")
    # Descending: the stable ascending order of the reversed array, read backwards. No negation
    # (which overflowed int64's minimum, wrapped uint64 above 2**63 and kept NaN last): NaN ranks
    # largest, as in PyTorch, and ties still keep their original order.
    rev = np.argsort(np.flip(a, axis=dim), axis=dim, kind="stable")
    return a.shape[dim] - 1 - np.flip(rev, axis=dim)


def _dim(input, dim):  # noqa: A002
    """``dim`` as an axis in range; checked on a 0-d tensor too (only -1 and 0 fit, as PyTorch)."""
    return normalize_dims(dim, input.ndim)[0]


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """Indices that sort ``input`` along ``dim`` (int64; ties keep their order)."""
    d = _dim(input, dim)
    if input.ndim == 0:
        return input._wrap(np.zeros((), np.int64))
    return input._wrap(_order(input.numpy(), d, descending).astype(np.int64))


def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """``(values, indices)``: ``input`` sorted along ``dim`` and where each value came from."""
    idx = argsort(input, dim, descending)
    if input.ndim == 0:
        return ValuesIndices(copy_keeping_dtype(input), idx)
    return ValuesIndices(gather(input, _dim(input, dim), idx), idx)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries along ``dim``,
    in sorted order."""
    d = _dim(input, dim)
    n = input.shape[d] if input.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise RuntimeError(f"topk(): k={k!r} must be an int in [0, {n}] (the size of dimension {d} "
                           f"of shape {tuple(input.shape)})")
    if input.ndim == 0:
        return sort(input)
    order = _order(input.numpy(), d, largest)
    idx = input._wrap(np.take(order, np.arange(k), axis=d).astype(np.int64))
    return ValuesIndices(gather(input, d, idx), idx)
