"""nn.training.fit, unchanged, on a DDP model with DistributedSampler loaders: the history
(metrics averaged over the ranks, sample-weighted) is the same on every rank and equals the
reduction of what each rank saw; only rank 0 prints progress and writes files (checkpoints,
logs, and the plot of the history that every rank asks for); the replicas stay identical; and
set_epoch gives each epoch a different shard order."""
import os
import sys

import numpy as np

import engine
import engine.distributed as dist
import nn
import optim
from common import data, mlp, report
from engine.utils.data import DataLoader, DistributedSampler, TensorDataset
from nn.training import CSVLogger, LambdaCallback, ModelCheckpoint, fit

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
out = sys.argv[1]

saves = []
_save = engine.save


def counting_save(obj, path):
    saves.append(os.path.basename(str(path)))
    return _save(obj, path)


engine.save = counting_save

import matplotlib.figure  # noqa: E402

plots = []
_savefig = matplotlib.figure.Figure.savefig


def counting_savefig(self, fname, *args, **kwargs):
    plots.append(os.path.basename(str(fname)))
    return _savefig(self, fname, *args, **kwargs)


matplotlib.figure.Figure.savefig = counting_savefig

x, y = data(80, (6,), seed=4)
train_set = TensorDataset(engine.tensor(x[:64]), engine.tensor(y[:64]))
val_set = TensorDataset(engine.tensor(x[64:]), engine.tensor(y[64:]))
sampler = DistributedSampler(train_set, shuffle=True, seed=3)
train_loader = DataLoader(train_set, batch_size=8, sampler=sampler)
val_loader = DataLoader(val_set, batch_size=8, sampler=DistributedSampler(val_set, shuffle=False))

seen = {}   # epoch -> [loss·n sum, n] of this rank's batches, and the sample order
orders = {}


def on_batch_end(i, logs):
    s = seen.setdefault(len(orders) - 1, [0.0, 0])
    s[0] += logs["loss"] * logs["size"]
    s[1] += logs["size"]


def on_epoch_begin(epoch, logs):
    orders[epoch] = list(iter(sampler))


model = nn.parallel.DistributedDataParallel(mlp(seed=rank))
history = fit(model, train_loader, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
              epochs=3, val_loader=val_loader, progress=True,
              callbacks=[LambdaCallback(on_batch_end=on_batch_end, on_epoch_begin=on_epoch_begin),
                         ModelCheckpoint(os.path.join(out, "ckpt.npz")), CSVLogger(os.path.join(out, "log.csv"))])

import viz.plots  # noqa: E402

viz.plots.plot_history(history, path=os.path.join(out, "history.png"))   # called on every rank

# the expected epoch loss: Σ over ranks of loss·n / Σ n
expect = []
for epoch in range(3):
    s = np.array(seen[epoch], dtype=np.float64)
    dist.all_reduce(s)
    expect.append(float(s[0] / s[1]))
all_orders = [None] * world
dist.all_gather_object(all_orders, {str(k): v for k, v in orders.items()})
flat = np.concatenate([p.numpy().ravel() for p in model.parameters()])
parts = [np.empty_like(flat) for _ in range(world)]
dist.all_gather(parts, flat)
report(rank=rank, loss=history.history["loss"], val_loss=history.history["val_loss"], expect=expect,
       saves=saves, plots=plots, orders=all_orders, replica_spread=float(max(np.abs(p - flat).max() for p in parts)))
dist.destroy_process_group()
