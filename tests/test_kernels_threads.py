"""engine.kernels._threads: every chunk runs exactly once, errors reach the caller, one worker runs inline."""
import os
import threading

import numpy as np
import pytest

from engine.kernels import _par, _threads, conv


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_every_chunk_runs_once(workers):
    seen, lock = [], threading.Lock()

    def body(worker, i):
        assert 0 <= worker < workers
        with lock:
            seen.append(i)

    _threads.run(body, 17, workers)
    assert sorted(seen) == list(range(17))


def test_one_worker_runs_on_the_calling_thread():
    names = set()
    _threads.run(lambda w, i: names.add(threading.current_thread().name), 4, 1)
    assert names == {threading.current_thread().name}


def test_an_error_in_a_chunk_reaches_the_caller():
    def body(worker, i):
        if i == 3:
            raise ValueError("chunk 3")

    with pytest.raises(ValueError, match="chunk 3"):
        _threads.run(body, 8, 2)


def test_workers_is_at_most_one_per_chunk():
    assert _threads.workers(1) == 1
    assert 1 <= _threads.workers(100)


def _in_a_forked_child(fn, seconds=30):
    """Run ``fn()`` in a ``fork()``-ed child (killed by SIGALRM after ``seconds``); True when it
    returned True."""
    import signal
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            signal.alarm(seconds)
            os._exit(0 if fn() else 3)
        except BaseException:  # noqa: BLE001
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_a_forked_child_runs_threaded_chunks_and_convolutions(monkeypatch):
    """After fork() the child has the parent's thread-pool object but not its threads: before the
    fix a child's threaded call waited forever for a chunk no thread would run (a DataLoader worker
    or any forked process doing a convolution hung). The child now makes its own pool."""
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)   # threads and parallel twins everywhere
    monkeypatch.setattr(_par, "TIER_CALLS", 0)
    _threads.run(lambda w, i: None, 4, 2)                   # the parent's pool thread exists
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4, 10, 10)).astype(np.float32)
    wt = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    out = conv.conv2d_forward(x, wt, padding=1)
    grads = conv.conv2d_backward(np.ones_like(out), x, wt, padding=1)

    def chunks_and_convolution():
        seen = []
        _threads.run(lambda w, i: seen.append(i), 4, 2)
        again = conv.conv2d_backward(np.ones_like(out), x, wt, padding=1)
        return (sorted(seen) == [0, 1, 2, 3] and np.array_equal(conv.conv2d_forward(x, wt, padding=1), out)
                and all(np.array_equal(a, b) for a, b in zip(again, grads)))

    assert _in_a_forked_child(chunks_and_convolution)


def test_the_caller_does_not_wait_for_a_worker_that_never_started():
    """When the pool's threads are busy elsewhere, the caller takes every chunk and returns at once:
    the queued worker is cancelled, not waited for (the wait would last until the pool is free)."""
    release = threading.Event()
    pool = _threads._pool()
    blockers = [pool.submit(release.wait) for _ in range(pool._max_workers)]  # occupy every pool thread
    done = threading.Event()
    seen = []

    def caller():
        _threads.run(lambda w, i: seen.append((w, i)), 6, 2)
        done.set()

    t = threading.Thread(target=caller, daemon=True)
    t.start()
    try:
        assert done.wait(10), "run() waited for a worker that had not started"
        assert sorted(seen) == [(0, i) for i in range(6)]
    finally:
        release.set()
        for b in blockers:
            b.result(timeout=10)
        t.join(10)
