"""Gradient accumulation: 2 micro-batches per rank under no_sync + 1 synchronised, on 2 ranks,
equals one process's gradient of the whole batch (float64)."""
import numpy as np

import engine
import engine.distributed as dist
import nn
from common import data, mlp, report

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
micro, k = 8, 3
x, y = data(micro * k * world, (6,), seed=3)
model = mlp(seed=5)
ddp = nn.parallel.DistributedDataParallel(model)
loss_fn = nn.CrossEntropyLoss()
mine = np.arange(rank * micro * k, (rank + 1) * micro * k)
spread_while_local = None
for i in range(k):
    idx = mine[i * micro:(i + 1) * micro]
    if i < k - 1:
        with ddp.no_sync():       # forward and backward inside: local accumulation only
            (loss_fn(ddp(engine.tensor(x[idx])), engine.tensor(y[idx])) / k).backward()
        g = model[0].weight.grad.numpy().copy()
        both = [np.empty_like(g) for _ in range(world)]
        dist.all_gather(both, g)
        spread_while_local = float(np.abs(both[0] - both[1]).max())
    else:
        (loss_fn(ddp(engine.tensor(x[idx])), engine.tensor(y[idx])) / k).backward()
ref = mlp(seed=5)
loss_fn(ref(engine.tensor(x)), engine.tensor(y)).backward()
diff = max(float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
           for p, q in zip(model.parameters(), ref.parameters()))
report(rank=rank, diff=diff, syncs=len(ddp.comm_stats), spread_while_local=spread_while_local)
dist.destroy_process_group()
