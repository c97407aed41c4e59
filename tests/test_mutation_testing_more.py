"""More guards for engine.testing's parts and the DataLoader worker, found by mutation testing
(docs/mutation-data-testing.md, run 5's last mutants; the plugin's guard is in
test_mutation_testing_parts.py, next to its fixture): an idle DataLoader worker keeps
serving while its main process lives (it only quits once re-parented); `runner.run` accepts one
example and passes fixed values to the body; the strategies' default elements are numbers of the
tensor's own dtype. Each test passes on the library and fails with the mutants it names."""
import numpy as np
import pytest
from hypothesis import settings


# ------------------------------------------------------------------------ utils/data/worker.py

@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the patched interval reaches "
                    "the workers through fork")
@pytest.mark.parametrize("persistent", [False, True])
def test_an_idle_worker_keeps_serving_while_its_main_process_lives(monkeypatch, persistent):
    # A worker that waited PARENT_CHECK_INTERVAL for a task and finds its parent alive must keep
    # waiting (worker_loop 17: `parent = None` and 23: `continue` -> `break` made it exit after
    # its first idle interval, and the next batch failed with "exited unexpectedly").
    import time

    from engine.utils.data import DataLoader, worker

    monkeypatch.setattr(worker, "PARENT_CHECK_INTERVAL", 0.01)
    loader = DataLoader(list(range(4)), batch_size=2, num_workers=1, prefetch_factor=1,
                        multiprocessing_context="fork", persistent_workers=persistent)
    for _ in range(2):
        got = []
        for batch in loader:
            got.append(batch.tolist())
            time.sleep(0.2)  # the worker idles for many intervals
        assert got == [[0, 1], [2, 3]]


# ------------------------------------------------------------------------------- runner.py

def test_run_accepts_one_example():
    # max_examples=1 is a positive integer (run 9: `<= 1`, 10: `< 2` rejected it)
    from hypothesis import strategies as st

    from engine.testing import runner

    seen = []
    runner.run([st.just(5)], seen.append, max_examples=1)
    assert seen == [[5]]
    runner.run([7], seen.append, max_examples=1)
    assert seen == [[5], [7]]


def test_run_without_strategies_calls_the_body_once_on_the_values_given():
    # run 14: the body got None instead of the list of values
    from engine.testing import runner

    seen = []
    runner.run((1, "a"), seen.append)
    assert seen == [[1, "a"]]


# ---------------------------------------------------------------------------- strategies.py

@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_default_elements_are_numbers_of_the_tensors_dtype(dtype):
    # _default_elements 26 drew float64 numbers (elements(None, ...)) that the array then rounded:
    # a float16 tensor could get a subnormal, which the dtype's own strategy excludes
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    from engine.testing.strategies import _default_elements

    with pytest.raises(NoSuchExample):
        find(_default_elements(dtype), lambda v: float(dtype(v)) != v,
             settings=settings(max_examples=100, database=None, deadline=None))
