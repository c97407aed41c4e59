"""engine.kernels._threads: every chunk runs exactly once, errors reach the caller, one worker runs inline."""
import threading

import pytest

from engine.kernels import _threads


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
