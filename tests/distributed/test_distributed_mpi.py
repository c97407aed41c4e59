"""Data-parallel training over MPI, run for real: each test starts `mpiexec -n 2` on a script
in scripts/ and checks what the ranks report (RESULT lines) or how the job ended.

Skipped, with the reason, only where MPI cannot start at all (no mpi4py, no mpiexec, or a
two-rank hello world fails)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
ROOT = HERE.parents[1]
RANKS = 2


def _mpiexec():
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(SCRIPTS), env.get("PYTHONPATH", "")])
    # two ranks on a shared machine: one compute thread each
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    return env


def launch(script, *args, timeout=180):
    """Run ``mpiexec -n 2 python scripts/<script> args``; returns (CompletedProcess, seconds)."""
    cmd = [_mpiexec(), "-n", str(RANKS), sys.executable, str(SCRIPTS / script), *map(str, args)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=SCRIPTS, env=_env(), capture_output=True, text=True,
                          timeout=timeout)
    return proc, time.monotonic() - t0


def results(script, *args):
    """The RESULT dicts of a script that must succeed, one per rank, ordered by rank."""
    proc, _ = launch(script, *args)
    assert proc.returncode == 0, f"{script} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    found = [json.loads(line[len("RESULT "):]) for line in proc.stdout.splitlines()
             if line.startswith("RESULT ")]
    assert len(found) == RANKS, proc.stdout + proc.stderr
    return sorted(found, key=lambda r: r["rank"])


@pytest.fixture(scope="module", autouse=True)
def mpi_can_start():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("MPI cannot start: mpi4py is not installed (pip install 'gradbricks[mpi]')")
    if _mpiexec() is None:
        pytest.skip("MPI cannot start: no mpiexec next to the interpreter or on PATH")
    probe = "from mpi4py import MPI; assert MPI.COMM_WORLD.Get_size() == %d" % RANKS
    try:
        proc = subprocess.run([_mpiexec(), "-n", str(RANKS), sys.executable, "-c", probe],
                              capture_output=True, text=True, timeout=60, env=_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"MPI cannot start: `mpiexec -n {RANKS}` did not run ({e})")
    if proc.returncode != 0:
        pytest.skip(f"MPI cannot start: `mpiexec -n {RANKS}` hello world failed:\n{proc.stderr[-2000:]}")


def test_collectives_equal_numpy_reductions_of_every_ranks_values():
    assert all(r["ok"] for r in results("collectives.py"))


@pytest.mark.parametrize("model", ["mlp", "conv_bn"])
def test_two_ranks_of_32_equal_one_process_of_64_after_20_steps(model):
    res = results("equivalence.py", model)
    for r in res:
        assert r["diff"] <= 1e-12, r
        assert r["spread"] == 0.0, r                  # every replica identical
        assert r["keys"][0].startswith("module."), r   # PyTorch's state_dict keys
        assert r["stats"]["buckets"] >= 2 and r["stats"]["bytes"] > 0, r


def test_buckets_of_mixed_dtypes_unused_and_reused_parameters_average_exactly():
    res = results("bucketing.py")
    for r in res:
        assert len(r["buckets"]) >= 3 and r["dtypes"] == ["float32", "float64"], r
        assert r["checked"] >= 10, r
    assert res[0]["buckets"] == res[1]["buckets"]


def test_bucket_all_reduces_start_during_backward():
    for r in results("overlap.py"):
        (seen,) = r["seen"]                               # the hook ran once, mid-backward
        assert seen["first_layer_grad_none"], r
        assert r["buckets"] >= 3 and r["holds_first"][-1], r
        launched = seen["launched"]
        # the buckets of the later layers were launched before the first layer's gradient
        # existed; the bucket holding it was not (it cannot be ready yet)
        assert any(launched) and not launched[-1], r
        assert all(r["launched_after"]) and r["diff"] <= 1e-14, r


def test_buffers_follow_rank_0_when_pytorch_syncs_them():
    for r in results("buffers.py"):
        assert r["init_weight"] == 0.0 and r["init_mean"] == 0.0, r      # rank 0's at construction
        assert r["init_mean_value"] == 1.0, r
        assert r["after_train"] > 0, r          # each rank's own batch updated its running stats
        assert r["first_eval"] == 0.0, r        # re-broadcast before the first eval forward
        assert r["second_eval"] > 0, r          # not after a forward under no_grad


def test_no_sync_accumulation_equals_one_big_batch():
    for r in results("no_sync.py"):
        assert r["diff"] <= 1e-12, r
        assert r["syncs"] == 1, r                     # only the last backward communicated
        assert r["spread_while_local"] > 0, r          # inside no_sync the ranks differ


def test_an_exception_on_one_rank_ends_the_job_with_its_traceback():
    proc, seconds = launch("fault_exception.py", timeout=120)
    assert proc.returncode != 0
    assert "[rank 1] ValueError: deliberate failure on rank 1" in proc.stderr, proc.stderr
    assert "rank 0 passed the collective" not in proc.stdout


def test_a_rank_that_never_arrives_is_reported_by_a_timeout():
    proc, seconds = launch("fault_timeout.py", 3, timeout=120)
    assert proc.returncode != 0
    assert "did not complete within 3 s" in proc.stderr, proc.stderr
    assert "all_reduce" in proc.stderr


def test_a_plain_python_process_is_a_group_of_one():
    proc = subprocess.run([sys.executable, str(SCRIPTS / "world_of_one.py")], cwd=SCRIPTS, env=_env(),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (res,) = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert res["same"] is True
    assert res["keys"] == ["module.0.weight"]
    assert "twice" in res["errors"]["twice"]
    assert "rank=3" in res["errors"]["rank"]
    assert "rearm" not in res["errors"]
    assert "find_unused_parameters=True" in res["errors"]["unused"]
    assert "unused.weight, unused.bias" in res["errors"]["unused"]


def test_property_ddp_gradients_are_rank_averages_for_random_models_and_buckets():
    res = results("bucketing_property.py")
    assert all(r["examples"] == 12 for r in res), res
    assert max(r["max_buckets"] for r in res) >= 2


@pytest.mark.parametrize("mode, needle", [
    ("raise", "[rank 1] FloatingPointError: deliberate failure in the forward of rank 1"),
    ("stall", "DistributedDataParallel gradient all-reduce did not complete within 3 s"),
])
def test_faults_during_ddp_training_end_the_job(mode, needle):
    proc, seconds = launch("fault_ddp.py", mode, timeout=120)
    assert proc.returncode != 0
    assert needle in proc.stderr, proc.stderr
    assert "rank 0 finished" not in proc.stdout


def test_fit_runs_unchanged_under_ddp_with_distributed_samplers(tmp_path):
    proc, _ = launch("fit_ddp.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = sorted((json.loads(l[7:]) for l in proc.stdout.splitlines() if l.startswith("RESULT ")),
                 key=lambda r: r["rank"])
    r0, r1 = res
    # metrics: the same on every rank, and the sample-weighted mean over all ranks' batches
    assert r0["loss"] == r1["loss"] and r0["val_loss"] == r1["val_loss"]
    for got, expect in zip(r0["loss"], r0["expect"]):
        assert abs(got - expect) <= 1e-12
    assert r0["replica_spread"] == 0.0
    # only rank 0 writes files and prints progress
    assert r0["saves"] and r1["saves"] == []
    assert r0["plots"] == ["history.png"] and r1["plots"] == []
    assert (tmp_path / "ckpt.npz").exists() and (tmp_path / "log.csv").exists()
    assert (tmp_path / "history.png").exists()
    assert proc.stdout.count("Epoch 1/3") == 1
    # DistributedSampler: disjoint shards covering the data, reshuffled by set_epoch
    orders = r0["orders"]
    for epoch in ("0", "1", "2"):
        a, b = orders[0][epoch], orders[1][epoch]
        assert not set(a) & set(b) and sorted(a + b) == list(range(64))
    assert orders[0]["0"] != orders[0]["1"] != orders[0]["2"]
