"""DataLoader worker processes: each runs ``worker_loop``, reading tasks from its own queue and
putting ``(task_id, payload)`` on the shared result queue. Payloads are pickled in the worker
(so an unpicklable batch becomes an error report, never a silent hang)."""
from __future__ import annotations

import os
import pickle
import queue
import random
import traceback
from collections import namedtuple

from ... import random as engine_random

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_info = None

END = "__iterable_end__"        # an iterable dataset's worker has no more batches this epoch
OK, ERROR = 0, 1
#: Seconds an idle worker waits for a task before checking that the main process still exists
#: (PyTorch's MP_STATUS_CHECK_INTERVAL is 5 s): a main process killed with SIGKILL cannot stop its
#: workers, so they stop themselves when they find they have been re-parented.
PARENT_CHECK_INTERVAL = 1.0


def get_worker_info():
    """In a DataLoader worker: ``WorkerInfo(id, num_workers, seed, dataset)``; None in the main
    process (use it to shard an IterableDataset across workers)."""
    return _info


def _error_report(wid, exc):
    text = (f"Caught {type(exc).__name__} in DataLoader worker process {wid}.\nOriginal "
            f"{''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))}")
    try:
        cls = type(exc)
        pickle.dumps(cls)
        cls(text)
    except Exception:   # noqa: BLE001 - any class we cannot rebuild is reported as RuntimeError
        cls = RuntimeError
    return pickle.dumps((ERROR, cls, text))


def worker_loop(wid, num_workers, seed, dataset, make_fetcher, index_queue, result_queue, init_fn):
    """The body of worker ``wid``: seed, run ``init_fn(wid)``, then serve tasks until ``None`` (or
    until the main process has died)."""
    global _info
    _info = WorkerInfo(wid, num_workers, seed, dataset)
    engine_random.manual_seed(seed)
    random.seed(seed)
    init_error = None
    if init_fn is not None:
        try:
            init_fn(wid)
        except Exception as e:  # noqa: BLE001 - reported to the main process
            init_error = e
    fetcher, epoch = None, None
    parent = os.getppid()
    while True:
        try:
            task = index_queue.get(timeout=PARENT_CHECK_INTERVAL)
        except queue.Empty:
            if os.getppid() != parent:  # the main process died: nobody will read our results
                break
            continue
        if task is None:
            break
        task_id, payload = task
        if init_error is not None:
            result_queue.put((task_id, _error_report(wid, init_error)))
            continue
        try:
            if task_id[0] != epoch or fetcher is None:
                fetcher, epoch = make_fetcher(), task_id[0]
            try:
                data = fetcher.fetch(payload)
            except StopIteration:
                result_queue.put((task_id, END))
                continue
            result_queue.put((task_id, pickle.dumps((OK, data), protocol=pickle.HIGHEST_PROTOCOL)))
        except Exception as e:  # noqa: BLE001 - reported to the main process
            result_queue.put((task_id, _error_report(wid, e)))


def unpack(payload):
    """A worker's payload → the batch, or raise the worker's exception (same type when it can be
    rebuilt from a message, else RuntimeError) naming the worker and with its traceback."""
    status, *rest = pickle.loads(payload)
    if status == OK:
        return rest[0]
    cls, text = rest
    raise cls(text)
