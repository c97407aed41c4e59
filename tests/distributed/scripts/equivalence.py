"""2 ranks x batch 32 (DDP, SyncBatchNorm) == 1 process x batch 64 after 20 steps (float64)."""
import sys

import numpy as np

import engine
import engine.distributed as dist
import nn
import optim
from common import conv_bn_net, data, max_abs_diff, mlp, report

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
per_rank, steps = 32, 20
kind = sys.argv[1]

if kind == "conv_bn":
    make, shape = conv_bn_net, (1, 8, 8)
else:
    make, shape = mlp, (6,)
x_all, y_all = data(steps * per_rank * world, shape, seed=1)

# each rank starts from a different init: DDP must broadcast rank 0's
local = make(seed=100 + rank)
if kind == "conv_bn":
    local = nn.SyncBatchNorm.convert_sync_batchnorm(local)
ddp = nn.parallel.DistributedDataParallel(local, bucket_cap_mb=0.0004)  # several buckets
opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
ref = make(seed=100)          # rank 0's init, trained on the whole batch in one process
ref_opt = optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
loss_fn = nn.CrossEntropyLoss()

for step in range(steps):
    lo = step * per_rank * world
    xb, yb = x_all[lo:lo + per_rank * world], y_all[lo:lo + per_rank * world]
    mine = slice(rank * per_rank, (rank + 1) * per_rank)
    opt.zero_grad()
    loss_fn(ddp(engine.tensor(xb[mine])), engine.tensor(yb[mine])).backward()
    opt.step()
    ref_opt.zero_grad()
    loss_fn(ref(engine.tensor(xb)), engine.tensor(yb)).backward()
    ref_opt.step()

diff = max_abs_diff(ddp.module, ref)
# all ranks hold the same parameters and buffers
flat = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in ddp.module.state_dict().values()])
gathered = [np.empty_like(flat) for _ in range(world)]
dist.all_gather(gathered, flat)
spread = max(float(np.max(np.abs(g - flat))) for g in gathered)
report(rank=rank, diff=diff, spread=spread, keys=list(ddp.state_dict())[:2],
       stats=ddp.comm_stats[-1])
dist.destroy_process_group()
