"""Datasets (PyTorch's names): ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``Subset``,
``ConcatDataset``, ``ChainDataset`` and ``random_split``."""
from __future__ import annotations

import bisect
import math
from numbers import Integral

import numpy as np

from ...tensor import Tensor
from ._rng import as_numpy
from .collate import default_collate


class Dataset:
    """A map-style dataset: subclass it and define ``__getitem__(index)`` (and ``__len__`` for
    the default samplers). ``a + b`` concatenates two datasets."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclass it and define ``__iter__``. With worker processes every
    worker iterates its own copy (shard it with ``get_worker_info()``, as in PyTorch)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


def _as_tensor(t, i):
    if isinstance(t, Tensor):
        return t
    if isinstance(t, np.ndarray):
        return Tensor(t)
    raise TypeError(f"TensorDataset: argument {i} must be a Tensor (or ndarray), got {type(t).__name__}")


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; every tensor has the same first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        sizes = [tuple(t.shape)[:1] for t in self.tensors]
        if any(len(s) == 0 for s in sizes):
            raise ValueError("TensorDataset: every tensor needs a first (sample) dimension; got shapes "
                             f"{[tuple(t.shape) for t in self.tensors]}")
        if len({s[0] for s in sizes}) != 1:
            raise ValueError("Size mismatch between tensors: first dimensions "
                             f"{[s[0] for s in sizes]} (shapes {[tuple(t.shape) for t in self.tensors]})")
        self._arrays = tuple(np.asarray(t) for t in self.tensors)

    def __getitem__(self, index):
        return tuple(Tensor(a[index]) for a in self._arrays)

    def _fetch_batch(self, indices):
        """The collated batch for ``indices`` in one fancy-indexing step per tensor (identical to
        ``default_collate([self[i] for i in indices])``, without the per-sample round trip)."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            # empty, float or nested index lists: the per-sample path's outcome
            return default_collate([self[i] for i in indices])
        return [Tensor(a[idx]) for a in self._arrays]

    def __len__(self):
        return self._arrays[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after another; ``cumulative_sizes[k]`` is the length of
    the first k+1."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset (dataset {i})")
            if not hasattr(d, "__len__"):
                raise TypeError(f"ConcatDataset: dataset {i} ({type(d).__name__}) has no __len__")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise IndexError(f"index {idx} out of range for a ConcatDataset of length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"index {idx} out of range for a ConcatDataset of length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


class ChainDataset(IterableDataset):
    """Several iterable datasets chained one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset (dataset {i} is "
                                f"{type(d).__name__})")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def _lengths(n, lengths):
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if math.isclose(sum(lengths), 1) and all(0 <= f <= 1 for f in lengths) \
            and not all(isinstance(f, Integral) for f in lengths):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):     # the remainder, round-robin (PyTorch's rule)
            counts[i % len(counts)] += 1
        return counts
    if not all(isinstance(x, Integral) and x >= 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions summing "
                         f"to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (or
    fractions summing to 1, the remainder spread one by one from the first split). The
    permutation comes from ``generator`` or, if None, the library's generator."""
    counts = _lengths(len(dataset), lengths)
    perm = as_numpy(generator, fresh=False).permutation(sum(counts)).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start:start + c]))
        start += c
    return out
