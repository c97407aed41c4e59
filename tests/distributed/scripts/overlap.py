"""The all-reduces start during backward, not after it: a gradient hook on the first layer's
output (which runs after the later layers' gradients are final and before the first layer's
are) notes which buckets have been launched by then and whether their all-reduces are
outstanding; after backward every bucket was launched and .grad holds the rank average."""
import numpy as np

import engine
import engine.distributed as dist
import nn
from common import report

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
engine.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 32, dtype=np.float64), nn.Tanh(),
                      nn.Linear(32, 32, dtype=np.float64), nn.Tanh(),
                      nn.Linear(32, 32, dtype=np.float64), nn.Tanh(),
                      nn.Linear(32, 3, dtype=np.float64))
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.004)   # ~4 KB: several buckets
buckets = ddp.reducer.buckets
first = {id(model[0].weight), id(model[0].bias)}
holds_first = [any(id(p) in first for p in b.params) for b in buckets]
seen = []


def note(grad):
    seen.append({"launched": [b.launched_at is not None for b in buckets],
                 "first_layer_grad_none": model[0].weight.grad is None})


def watch(mod, inp, out):
    out.register_hook(note)      # returns None: the forward's output is left as it is


model[0].register_forward_hook(watch)
x = engine.tensor(np.random.default_rng(rank).standard_normal((8, 6)))
with ddp.no_sync():
    (ddp(x) ** 2).mean().backward()
local = model[0].weight.grad.numpy().copy()
model.zero_grad()
seen.clear()
(ddp(x) ** 2).mean().backward()
parts = [np.empty_like(local) for _ in range(world)]
dist.all_gather(parts, local)
diff = float(np.abs(model[0].weight.grad.numpy() - np.mean(parts, axis=0)).max())
report(rank=rank, buckets=len(buckets), holds_first=holds_first, seen=seen,
       launched_after=[b.launched_at is not None for b in buckets], diff=diff)
dist.destroy_process_group()
