"""A plain `python script.py` (no mpiexec) is a process group of one: DDP training equals plain
training exactly, collectives are identities, and the group's life cycle and checks work."""
import datetime

import numpy as np

import engine
import engine.distributed as dist
import nn
import optim
from common import data, mlp, report

assert not dist.is_initialized()
dist.init_process_group(backend="mpi", timeout=datetime.timedelta(seconds=60), world_size=-1, rank=-1)
assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
assert dist.get_backend() == "mpi"
errors = {}
try:
    dist.init_process_group()
except RuntimeError as e:
    errors["twice"] = str(e)
a = np.arange(4.0)
dist.all_reduce(a, op=dist.ReduceOp.AVG)
assert a.tolist() == [0, 1, 2, 3]

x, y = data(64, (6,), seed=2)
ddp = nn.parallel.DistributedDataParallel(mlp(seed=1))
plain = mlp(seed=1)
opt, opt2 = optim.Adam(ddp.parameters(), lr=0.01), optim.Adam(plain.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
for step in range(5):
    for model, o in ((ddp, opt), (plain, opt2)):
        o.zero_grad()
        loss_fn(model(engine.tensor(x)), engine.tensor(y)).backward()
        o.step()
same = all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(ddp.parameters(), plain.parameters()))
sd = ddp.state_dict()
plain.load_state_dict({k[len("module."):]: v for k, v in sd.items()})
try:
    ddp(engine.tensor(x))          # a forward without backward, then another forward: allowed
    ddp(engine.tensor(x)).sum().backward()
except RuntimeError as e:
    errors["rearm"] = str(e)


class HalfUsed(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x):
        return self.used(x)


strict = nn.parallel.DistributedDataParallel(HalfUsed(), bucket_cap_mb=1e-5)
strict(engine.tensor(x, dtype=np.float32)).sum().backward()
try:
    strict(engine.tensor(x, dtype=np.float32))
except RuntimeError as e:
    errors["unused"] = str(e)
dist.destroy_process_group()
assert not dist.is_initialized()
dist.init_process_group(rank=0, world_size=1)
try:
    dist.destroy_process_group()
    dist.init_process_group(rank=3)
except ValueError as e:
    errors["rank"] = str(e)
dist.init_process_group()
report(rank=0, same=same, errors=errors, keys=list(sd)[:1], buckets=len(ddp.reducer.buckets))
