"""Chunks of one kernel call run side by side on Python threads.

A convolution is a chain per chunk of samples -- transform (Numba), GEMMs (OpenBLAS), transform
back (Numba) -- whose pieces are too small to split well on their own: a ``parallel=True`` launch
wakes the workqueue workers (~0.1 ms) and a 64x64x1024 GEMM is below the size where OpenBLAS's
second thread pays off (``_blas``), so on two threads each stage ran on one core at a time
(measured: Conv2d(64,64,3,p=1) fwd+bwd on 32x64x32x32 was no faster on 2 threads than on 1).
:func:`run` instead hands whole chunks to ``workers`` threads: each runs the *serial* Numba
twins (compiled ``nogil=True``) and one-thread BLAS products on its own chunk, whose buffers stay
in its core's cache; chunks are taken from a shared counter, so a thread slowed by a busy machine
simply takes fewer. The calling thread is one of the workers and takes chunks until none are
left, so a call finishes even when the pool's threads are busy elsewhere (no deadlock when several
threads run convolutions at once). A worker that has not started by then is cancelled instead of
waited for: waking a sleeping thread took 0.01-0.13 ms on the 2-core VM (``run`` of two empty
chunks back to back: median 15-107 us before, 5-6 us after), as long as a small kernel's work.
"""
from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ._par import nb  # Numba, imported at the first use

_lock = threading.Lock()
_POOL: list = []  # [ThreadPoolExecutor], created on first use


def _forget_pool_in_child():
    """After ``fork()`` the child has the parent's executor object but none of its threads: work
    submitted there would never run and :func:`run` would wait for it forever (a DataLoader worker
    or any forked process doing a threaded convolution hung). The child makes its own pool."""
    global _lock
    _lock = threading.Lock()
    _POOL.clear()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def workers(chunks: int) -> int:
    """Threads for ``chunks`` chunks: Numba's thread count (``NUMBA_NUM_THREADS`` /
    ``numba.set_num_threads``), at most one per chunk."""
    return max(1, min(chunks, nb.get_num_threads()))


def _pool():
    with _lock:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1),
                                                thread_name_prefix="gradbricks-chunks"))
        return _POOL[0]


def run(body, chunks, nworkers):
    """Call ``body(worker, chunk)`` once for every ``chunk`` in ``range(chunks)``, on ``nworkers``
    threads (the caller is worker 0; ``worker`` indexes per-thread buffers). Returns when every
    chunk is done; an exception in any chunk is re-raised here."""
    if nworkers <= 1 or chunks <= 1:
        for i in range(chunks):
            body(0, i)
        return
    counter = itertools.count()  # next() is atomic under the GIL
    failed = []

    def loop(worker):
        for i in counter:
            if i >= chunks or failed:
                return
            try:
                body(worker, i)
            except BaseException as e:  # noqa: BLE001  (re-raised by the caller below)
                failed.append(e)
                raise

    futures = [_pool().submit(loop, k) for k in range(1, nworkers)]
    try:
        loop(0)
    finally:
        for f in futures:
            if f.cancel():  # not started yet: the caller took its chunks, nothing to wait for
                continue
            try:
                f.result()
            except BaseException:  # noqa: BLE001  (kept in `failed`)
                pass
    if failed:
        raise failed[0]


def sum_in_order(parts):
    """``parts[0] + parts[1] + ...`` in chunk order, into ``parts[0]``: a reduction whose bits do
    not depend on which thread happened to take which chunk (per-thread partial sums do)."""
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total
