"""``DataLoader``: batches from a dataset, with PyTorch's arguments, defaults and rules.

With ``num_workers > 0`` batches are built in worker processes: the main process draws every
batch's indices (so shuffling consumes the same random numbers as with ``num_workers=0``), hands
batch k to worker k mod W, and yields the results in order k = 0, 1, 2, ... — the same batches in
the same order as ``num_workers=0``. A worker's exception is re-raised in the main process
naming the worker; a worker that dies or a ``timeout`` that expires raises ``RuntimeError``.
"""
from __future__ import annotations

import functools
import queue
import time
import weakref
from numbers import Integral

from ._rng import draw_seed
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import IterFetcher, MapFetcher
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .worker import END, unpack, worker_loop


class DataLoader:
    """Iterate over ``dataset`` in batches (PyTorch's ``torch.utils.data.DataLoader``).

    ``shuffle=True`` draws a new permutation each epoch from ``generator`` (or, if None, the
    library's generator, so ``engine.manual_seed`` makes it reproducible). ``batch_size=None``
    turns automatic batching off (one sample at a time through ``default_convert``).
    ``pin_memory``/``pin_memory_device`` are accepted and have no effect on CPU; batches always
    come in order (also with ``in_order=False``, which permits but does not require reordering)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True):
        if isinstance(num_workers, bool) or not isinstance(num_workers, Integral) or num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative; use num_workers=0 to disable "
                             f"multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing: let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, Integral) or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor should be a positive integer, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, Integral)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value or None, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                                 f"option, but got batch_sampler={batch_sampler}")
        else:
            if not hasattr(dataset, "__getitem__"):
                raise TypeError(f"dataset must be a map-style dataset (with __getitem__) or an "
                                f"IterableDataset, got {type(dataset).__name__}")
            shuffle = bool(shuffle)
            if sampler is not None and shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                     "shuffle, sampler, and drop_last")
                batch_size, drop_last = None, False
                _check_iterable(batch_sampler, "batch_sampler")
            elif batch_size is None and drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            _check_iterable(sampler, "sampler")
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.pin_memory, self.timeout = int(num_workers), bool(pin_memory), timeout
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.prefetch_factor = (2 if prefetch_factor is None else int(prefetch_factor)) if num_workers else None
        self.persistent_workers = bool(persistent_workers)
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory_device, self.in_order = pin_memory_device, bool(in_order)
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._pool = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def _make_fetcher(self):
        if self._iterable:
            return IterFetcher(self.dataset, self.batch_size, self.drop_last, self.collate_fn)
        return MapFetcher(self.dataset, self._auto_collation, self.collate_fn)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self):
        base_seed = draw_seed(self.generator)     # drawn for every epoch, workers or not (PyTorch)
        if self.num_workers == 0:
            return _single_process_iter(self)
        if self.persistent_workers:
            if self._pool is None or not self._pool.alive():
                self._pool = _WorkerPool(self, base_seed)
            return _multi_process_iter(self, self._pool, close_after=False)
        return _multi_process_iter(self, _WorkerPool(self, base_seed), close_after=True)


def _check_iterable(obj, name):
    if not hasattr(obj, "__iter__"):
        raise TypeError(f"{name} should be an iterable (a Sampler), got {type(obj).__name__}")


def _single_process_iter(loader):
    fetcher = loader._make_fetcher()
    if loader._iterable:
        while True:
            try:
                batch = fetcher.fetch()
            except StopIteration:
                return
            yield batch
    else:
        for indices in loader._index_sampler:
            yield fetcher.fetch(indices)


class _WorkerPool:
    """``num_workers`` processes, one task queue each, one shared result queue."""

    _epochs = 0

    def __init__(self, loader, base_seed):
        import multiprocessing as mp          # only when workers are asked for (import cost)
        ctx = loader.multiprocessing_context
        ctx = mp.get_context(ctx) if ctx is None or isinstance(ctx, str) else ctx
        self.results = ctx.Queue()
        self.tasks, self.procs = [], []
        make_fetcher = functools.partial(_fetcher_for, loader.dataset, loader._iterable, loader.batch_size,
                                         loader.drop_last, loader._auto_collation, loader.collate_fn)
        n = loader.num_workers
        for wid in range(n):
            q = ctx.Queue()
            p = ctx.Process(target=worker_loop, daemon=True,
                            args=(wid, n, base_seed + wid, loader.dataset, make_fetcher, q, self.results,
                                  loader.worker_init_fn))
            p.start()
            self.tasks.append(q)
            self.procs.append(p)
        self._finalizer = weakref.finalize(self, _shutdown, self.tasks, self.procs, self.results)

    def alive(self):
        return all(p.is_alive() for p in self.procs)

    def new_epoch(self):
        _WorkerPool._epochs += 1
        return _WorkerPool._epochs

    def close(self):
        self._finalizer()


def _fetcher_for(dataset, iterable, batch_size, drop_last, auto_collation, collate_fn):
    if iterable:
        return IterFetcher(dataset, batch_size, drop_last, collate_fn)
    return MapFetcher(dataset, auto_collation, collate_fn)


def _shutdown(tasks, procs, results):
    for q in tasks:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 5
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.terminate()
            p.join(1)
    for q in (*tasks, results):
        q.cancel_join_thread()
        q.close()


def _multi_process_iter(loader, pool, close_after):
    """Send batch k to worker k mod W (at most prefetch_factor·W in flight), yield in order."""
    epoch = pool.new_epoch()
    n = loader.num_workers
    limit = loader.prefetch_factor * n
    pending, ready = {}, {}
    active = list(range(n))          # iterable datasets: workers that still have batches
    sent = nxt = 0
    sampler_it = None if loader._iterable else iter(loader._index_sampler)
    turn = 0
    try:
        while True:
            while len(pending) < limit and active:
                if sampler_it is False:
                    break
                if sampler_it is None:
                    payload = None
                else:
                    try:
                        payload = next(sampler_it)
                    except StopIteration:
                        sampler_it = False
                        break
                wid = active[turn % len(active)]
                turn += 1
                pool.tasks[wid].put(((epoch, sent), payload))
                pending[sent] = wid
                sent += 1
            if nxt not in pending and nxt not in ready:
                return
            while nxt not in ready:
                task_id, payload = _receive(loader, pool, pending)
                if task_id[0] != epoch:
                    continue
                k = task_id[1]
                wid = pending.pop(k)
                if isinstance(payload, str) and payload == END:
                    if wid in active:
                        active.remove(wid)
                    ready[k] = payload
                else:
                    ready[k] = payload
            payload = ready.pop(nxt)
            nxt += 1
            if isinstance(payload, str) and payload == END:
                continue
            yield unpack(payload)
    finally:
        if close_after:
            pool.close()


def _receive(loader, pool, pending):
    start = time.monotonic()
    while True:
        wait = 1.0 if not loader.timeout else min(1.0, loader.timeout)
        try:
            return pool.results.get(timeout=wait)
        except queue.Empty:
            pass
        for wid in set(pending.values()):
            p = pool.procs[wid]
            if not p.is_alive():
                raise RuntimeError(f"DataLoader worker {wid} (pid {p.pid}) exited unexpectedly with "
                                   f"exit code {p.exitcode}")
        if loader.timeout and time.monotonic() - start > loader.timeout:
            raise RuntimeError(f"DataLoader timed out after {loader.timeout} seconds waiting for a batch")
