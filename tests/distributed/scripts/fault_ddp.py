"""Faults inside DDP training: ``raise`` — rank 1 fails in its 3rd forward while rank 0 waits in
the gradient all-reduce; ``stall`` — rank 1 stops before its 3rd backward (it hangs), rank 0
must time out in the gradient all-reduce. Either way the job must end, not hang."""
import datetime
import sys
import time

import numpy as np

import engine
import engine.distributed as dist
import nn
import optim
from common import data, mlp

# a generous timeout while all ranks are healthy (a loaded machine can delay a rank by seconds)
dist.init_process_group(backend="mpi", timeout=datetime.timedelta(seconds=120))
rank = dist.get_rank()
ddp = nn.parallel.DistributedDataParallel(mlp(seed=0))
opt = optim.SGD(ddp.parameters(), lr=0.1)
x, y = data(16, (6,), seed=rank)
for step in range(5):
    if step == 2 and sys.argv[1] == "stall":   # the short timeout for the step that stalls
        dist.barrier()
        dist.destroy_process_group()
        dist.init_process_group(backend="mpi", timeout=datetime.timedelta(seconds=3))
    opt.zero_grad()
    if rank == 1 and step == 2 and sys.argv[1] == "raise":
        raise FloatingPointError("deliberate failure in the forward of rank 1")
    loss = nn.CrossEntropyLoss()(ddp(engine.tensor(x)), engine.tensor(y))
    if rank == 1 and step == 2 and sys.argv[1] == "stall":
        time.sleep(600)
    loss.backward()
    opt.step()
print(f"rank {rank} finished", flush=True)
