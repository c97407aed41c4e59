"""Hypothesis, the same examples on every rank (derandomized): for random layer widths, dtypes,
bucket caps and reuse patterns, DDP's gradient of every parameter equals the average over the
ranks of the local gradients (computed independently: no_sync + all_gather)."""
import datetime

import numpy as np
from hypothesis import given, settings, strategies as st

import engine
import engine.distributed as dist
import nn
from common import report

dist.init_process_group(backend="mpi", timeout=datetime.timedelta(seconds=60))
rank, world = dist.get_rank(), dist.get_world_size()
examples = []


class Chain(nn.Module):
    def __init__(self, widths, dtypes, reuse):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b, dtype=d) for a, b, d in zip(widths[:-1], widths[1:], dtypes))
        self.reuse = reuse

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x.to(layer.weight.dtype)).tanh()
            if i == self.reuse and layer.in_features == layer.out_features:
                x = layer(x).tanh()          # the same parameters used twice
        return x.double().sum()


@settings(derandomize=True, database=None, deadline=None, max_examples=12)
@given(widths=st.lists(st.integers(1, 12), min_size=2, max_size=5),
       dtype_bits=st.lists(st.booleans(), min_size=4, max_size=4),
       cap_kb=st.sampled_from([0.05, 0.3, 1.0, 25 * 1024.0]), reuse=st.integers(0, 3),
       seed=st.integers(0, 1000))
def check(widths, dtype_bits, cap_kb, reuse, seed):
    dtypes = [np.float64 if b else np.float32 for b in dtype_bits]
    engine.manual_seed(seed)
    model = Chain(widths, dtypes, reuse)
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=cap_kb / 1024)
    x = engine.tensor(np.random.default_rng(seed * 7 + rank).standard_normal((3, widths[0])))
    with ddp.no_sync():
        ddp(x).backward()
    local = [p.grad.numpy().astype(np.float64).copy() for p in model.parameters()]
    model.zero_grad()
    ddp(x).backward()
    for p, g in zip(model.parameters(), local):
        parts = [np.empty_like(g) for _ in range(world)]
        dist.all_gather(parts, g)
        expect = np.mean(parts, axis=0)
        tol = 1e-6 if p.dtype == np.float32 else 1e-14
        assert p.grad.dtype == p.dtype
        np.testing.assert_allclose(p.grad.numpy(), expect, rtol=tol, atol=tol)
    examples.append(len(ddp.reducer.buckets))


check()
report(rank=rank, examples=len(examples), max_buckets=max(examples))
dist.destroy_process_group()
