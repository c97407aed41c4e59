"""bench/separate.py runs each side of a workload in its own fresh interpreter: ours with the
library, the PyTorch side without ever importing ``engine`` (a peer that does is reported as None,
not timed with our malloc settings). Uses a toy workloads package; speed is never asserted."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

TOY = '''
from harness import Workload


def _plain():
    import sys
    assert "engine" not in sys.modules
    return lambda: sum(range(100))


def _with_engine():
    import engine  # noqa: F401
    return lambda: None


def _ours():
    import engine
    return lambda: engine.tensor([1.0, 2.0]).sum().item()


WORKLOADS = [Workload("plain peer", _ours, _plain, iters=3, warmup=1),
             Workload("peer imports engine", _ours, _with_engine, iters=3, warmup=1)]
'''


@pytest.fixture()
def separate(tmp_path, monkeypatch):
    (tmp_path / "workloads").mkdir()
    (tmp_path / "workloads" / "__init__.py").write_text("")
    (tmp_path / "workloads" / "toy.py").write_text(TOY)
    for helper in ("harness.py", "fresh.py"):
        shutil.copy(BENCH / helper, tmp_path / helper)
    spec = importlib.util.spec_from_file_location("bench_separate", BENCH / "separate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", str(tmp_path))
    return mod


def test_each_side_runs_in_a_fresh_interpreter_and_a_peer_never_sees_engine(separate):
    ours = separate._times("ours", "toy", "plain peer", 4, 1)
    peer = separate._times("peer", "toy", "plain peer", 4, 1)
    assert len(ours) == len(peer) == 4 and all(t >= 0 for t in ours + peer)
    assert separate._times("peer", "toy", "peer imports engine", 4, 1) is None
