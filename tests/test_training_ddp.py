"""fit under data parallelism (mpiexec -n 2): DistributedSampler takes its world from
engine.distributed, metrics are reduced over ranks (identical logs on every rank, equal to the
sample-weighted mean over the whole data), and only rank 0 prints progress."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")

SCRIPT = r'''
import json, numpy as np, engine, nn, optim
import engine.distributed as dist
from engine.utils.data import DataLoader, TensorDataset, DistributedSampler
from nn.training import fit, evaluate
dist.init_process_group("mpi")
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 4)).astype(np.float32); y = (x[:, 0] > 0).astype(np.int64)
ds = TensorDataset(engine.tensor(x), engine.tensor(y))
s = DistributedSampler(ds)
engine.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
model = nn.parallel.DistributedDataParallel(net)
h = fit(model, DataLoader(ds, batch_size=8, sampler=s), loss_fn=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=True)
part = evaluate(net, DataLoader(ds, batch_size=8, sampler=DistributedSampler(ds, shuffle=False)), nn.CrossEntropyLoss())
full = evaluate(net, DataLoader(ds, batch_size=64), nn.CrossEntropyLoss())
mine = {"rank": dist.get_rank(), "replicas": s.num_replicas, "n": len(s), "full": full,
        "loss": h.history["loss"], "eval": part}
every = [None] * dist.get_world_size()
dist.all_gather_object(every, mine)      # rank 0 prints every rank's line: concurrent prints interleave
if dist.get_rank() == 0:
    print("\n".join("RESULT " + json.dumps(r) for r in every), flush=True)
'''


@pytest.mark.skipif(not os.path.exists(MPIEXEC) and shutil.which("mpiexec") is None, reason="no mpiexec")
def test_fit_under_ddp_reduces_metrics_and_prints_once(tmp_path):
    import json
    script = tmp_path / "ddp_fit.py"
    script.write_text(SCRIPT)
    exe = MPIEXEC if os.path.exists(MPIEXEC) else shutil.which("mpiexec")
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([exe, "-n", "2", sys.executable, str(script)], capture_output=True, text=True, env=env,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    results = [json.loads(line.split("RESULT ", 1)[1]) for line in r.stdout.splitlines() if line.startswith("RESULT")]
    assert sorted(x["rank"] for x in results) == [0, 1]
    assert all(x["replicas"] == 2 and x["n"] == 32 for x in results)
    assert results[0]["loss"] == results[1]["loss"] and results[0]["eval"] == results[1]["eval"]
    for k in ("loss", "accuracy"):                      # shards reduced = the whole data set
        assert results[0]["eval"][k] == pytest.approx(results[0]["full"][k], rel=1e-6)
    assert r.stdout.count("Epoch 1/2") == 1 and r.stdout.count("Epoch 2/2") == 1       # rank 0 only
