"""Buffers under DDP, as PyTorch's ``broadcast_buffers=True``: rank 0's parameters and buffers
everywhere after construction; a forward that will synchronise gradients (grad enabled, not in
no_sync) arms a broadcast of rank 0's buffers at the start of the next forward — also when that
next forward is in eval mode or under no_grad (so evaluation after training uses rank 0's
running statistics on every rank), but not after a forward under no_grad or no_sync."""
import numpy as np

import engine
import engine.distributed as dist
import nn
from common import report

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
engine.manual_seed(rank)                       # a different init on every rank
model = nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.BatchNorm1d(3, dtype=np.float64))
bn = model[1]
with engine.no_grad():
    bn.running_mean.fill_(float(rank + 1))
ddp = nn.parallel.DistributedDataParallel(model)


def spread(t):
    """max |rank r's value - this rank's| over the ranks."""
    a = np.asarray(t.numpy(), dtype=np.float64).copy()
    parts = [np.empty_like(a) for _ in range(world)]
    dist.all_gather(parts, a)
    return float(max(np.abs(p - a).max() for p in parts))


out = {"init_weight": spread(model[0].weight), "init_mean": spread(bn.running_mean),
       "init_mean_value": float(bn.running_mean.numpy()[0])}
x = engine.tensor(np.random.default_rng(10 + rank).standard_normal((8, 4)))
ddp(x).sum().backward()                        # each rank updates its running stats from its batch
out["after_train"] = spread(bn.running_mean)
ddp.eval()
with engine.no_grad():
    ddp(x)                                     # armed by the training forward: rank 0's buffers
out["first_eval"] = spread(bn.running_mean)
with engine.no_grad():
    bn.running_mean.add_(float(rank))          # make them differ again
    ddp(x)                                     # the previous forward was under no_grad: no sync
out["second_eval"] = spread(bn.running_mean)
report(rank=rank, **out)
dist.destroy_process_group()
