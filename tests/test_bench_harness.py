"""The benchmark harness's schedule (bench/harness.py): each side gets exactly ``iters`` timed
calls, in blocks that alternate between the two libraries, the first call of every block untimed
and after a pause; ``block=1`` times every call. Speed itself is never asserted here."""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "bench" / "harness.py"


@pytest.fixture()
def harness(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_harness", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, mod)  # (dataclasses look their module up)
    spec.loader.exec_module(mod)
    sleeps = []
    monkeypatch.setattr(mod, "time", SimpleNamespace(sleep=sleeps.append, perf_counter=time.perf_counter))
    mod.sleeps = sleeps
    return mod


def _recorder(log, side):
    def factory():
        def step():
            log.append(side)
        return step
    return factory


@pytest.mark.parametrize("iters, block", [(20, 5), (5, 5), (7, 3), (3, 1)])
def test_blocks_alternate_and_time_exactly_iters_calls_per_side(harness, iters, block):
    log = []
    w = harness.Workload("w", _recorder(log, "a"), _recorder(log, "b"), iters=iters, warmup=2, block=block)
    r = harness.run_workload(w)
    assert len(r.ours_all) == len(r.peer_all) == iters
    assert log[:4] == ["a", "b", "a", "b"]  # warm-up, interleaved
    runs = []  # the schedule after warm-up as (side, length) runs
    for side in log[4:]:
        if runs and runs[-1][0] == side:
            runs[-1][1] += 1
        else:
            runs.append([side, 1])
    timed = max(1, block - 1)
    blocks = -(-iters // timed)
    assert [s for s, _ in runs] == ["a", "b"] * blocks
    untimed = 1 if block > 1 else 0
    assert [n for _, n in runs] == [untimed + min(timed, iters - k * timed) for k in range(blocks) for _ in "ab"]
    assert harness.sleeps == [harness.PAUSE_S] * (2 * blocks)


def test_without_a_peer_only_our_side_runs(harness):
    log = []
    r = harness.run_workload(harness.Workload("w", _recorder(log, "a"), None, iters=6, warmup=1))
    assert r.peer_ms is None and r.ratio is None and len(r.ours_all) == 6
    assert set(log) == {"a"} and len(log) == 1 + 6 + 2  # warm-up, 6 timed, 2 untimed block starts
