"""Buckets with mixed sizes and dtypes, a parameter without gradient in some steps (on one
rank or on all), and a submodule used twice in one forward: every gradient equals the mean of
the ranks' local gradients (computed here independently with all_gather)."""
import numpy as np

import engine
import engine.distributed as dist
import nn
from common import report


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.big = nn.Linear(6, 40, dtype=np.float64)          # float64, 280 values
        self.small = nn.Linear(40, 6, dtype=np.float32)        # float32
        self.shared = nn.Linear(6, 6, dtype=np.float64)         # used twice per forward
        self.sometimes = nn.Linear(6, 6, dtype=np.float64)      # unused on some steps / ranks
        self.never = nn.Linear(6, 2, dtype=np.float32)          # never used: grad stays None
        self.scale = nn.Parameter(np.ones((), dtype=np.float32))  # 0-d parameter

    def forward(self, x, use_sometimes):
        h = self.big(x).tanh()
        h = self.small(h.float()).double() * self.scale.double()
        h = self.shared(self.shared(h).tanh())
        if use_sometimes:
            h = h + self.sometimes(h)
        return h


dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
engine.manual_seed(0)
model = Mixed()
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0005, find_unused_parameters=True)
sizes = [len(b.params) for b in ddp.reducer.buckets]
dtypes = sorted({str(b.dtype) for b in ddp.reducer.buckets})
rng = np.random.default_rng(10 + rank)
checked = 0
for step, pattern in enumerate([(True, True), (True, False), (False, False)]):
    use = pattern[rank % 2]
    x = engine.tensor(rng.standard_normal((5, 6)))
    # local gradients (no communication) ...
    model.zero_grad()
    with ddp.no_sync():
        (ddp(x, use) ** 2).mean().backward()
    local = {k: (None if p.grad is None else p.grad.numpy().astype(np.float64))
             for k, p in model.named_parameters()}
    # ... then the same step through DDP
    model.zero_grad()
    (ddp(x, use) ** 2).mean().backward()
    for k, p in model.named_parameters():
        mine = local[k] if local[k] is not None else np.zeros(p.shape)
        has = np.array([local[k] is not None], dtype=np.int64)
        dist.all_reduce(has)
        expect = np.array(mine)
        dist.all_reduce(expect, op=dist.ReduceOp.AVG)
        if has[0] == 0:
            assert p.grad is None, (step, k, "a parameter unused on every rank must keep grad None")
        else:
            assert p.grad is not None, (step, k)
            got = p.grad.numpy().astype(np.float64)
            tol = 1e-6 if p.dtype == np.float32 else 1e-13
            assert np.allclose(got, expect, rtol=tol, atol=tol), (step, k, np.abs(got - expect).max())
            assert p.grad.dtype == p.dtype
            checked += 1
report(rank=rank, buckets=sizes, dtypes=dtypes, checked=checked)
dist.destroy_process_group()
