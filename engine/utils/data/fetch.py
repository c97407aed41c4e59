"""Turning sampler output into batches, the same code in the main process and in workers."""
from __future__ import annotations

from numbers import Integral

from .collate import default_collate
from .dataset import Subset, TensorDataset


def _batch_indexer(dataset):
    """A function indices → collated batch for datasets that can index a whole batch at once
    (a TensorDataset, or Subsets of one), else None."""
    if isinstance(dataset, TensorDataset):
        return dataset._fetch_batch
    if isinstance(dataset, Subset):
        inner = _batch_indexer(dataset.dataset)
        if inner is not None:
            return lambda indices: inner([dataset.indices[i] for i in indices])
    return None


class MapFetcher:
    """``fetch(indices)`` → ``collate_fn([dataset[i] for i in indices])`` (one index and
    ``collate_fn(dataset[i])`` when automatic batching is off)."""

    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset, self.auto, self.collate_fn = dataset, auto_collation, collate_fn
        try:
            self.length = len(dataset)
        except TypeError:
            self.length = None
        self.fast = _batch_indexer(dataset) if collate_fn is default_collate else None

    def _check(self, indices):
        n = self.length
        if n is None:
            return
        for i in indices:
            if isinstance(i, Integral) and not -n <= i < n:
                raise IndexError(f"DataLoader: the sampler yielded index {i} but the dataset has "
                                 f"{n} samples (is the sampler built for a different dataset?)")

    def fetch(self, indices):
        if not self.auto:
            self._check((indices,))
            return self.collate_fn(self.dataset[indices])
        if not isinstance(indices, (list, tuple)):
            raise TypeError(f"DataLoader: the batch sampler must yield lists of indices, got "
                            f"{type(indices).__name__} ({indices!r})")
        self._check(indices)
        if self.fast is not None:
            return self.fast(indices)
        if hasattr(self.dataset, "__getitems__"):
            return self.collate_fn(self.dataset.__getitems__(list(indices)))
        return self.collate_fn([self.dataset[i] for i in indices])


class IterFetcher:
    """``fetch()`` → the next batch of ``batch_size`` samples of an iterable dataset (the last
    one shorter unless ``drop_last``); raises ``StopIteration`` at the end."""

    def __init__(self, dataset, batch_size, drop_last, collate_fn):
        self.it = iter(dataset)
        self.batch_size, self.drop_last, self.collate_fn = batch_size, drop_last, collate_fn

    def fetch(self, _=None):
        if self.batch_size is None:
            return self.collate_fn(next(self.it))
        batch = []
        for sample in self.it:
            batch.append(sample)
            if len(batch) == self.batch_size:
                break
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise StopIteration
        return self.collate_fn(batch)
