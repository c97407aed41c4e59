"""Shared by the scripts that tests/distributed/test_distributed_mpi.py runs under mpiexec."""
import json

import numpy as np

import engine
import nn

F64 = np.float64


def conv_bn_net(seed, dtype=F64):
    """A small conv net with BatchNorm2d and BatchNorm1d (float64), seeded."""
    engine.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 16, dtype=dtype),
        nn.BatchNorm1d(16, dtype=dtype), nn.Tanh(), nn.Linear(16, 3, dtype=dtype))


def mlp(seed, dtype=F64):
    engine.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16, dtype=dtype), nn.Tanh(), nn.Linear(16, 3, dtype=dtype))


def data(n, shape, classes=3, seed=0, dtype=F64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape).astype(dtype), rng.integers(0, classes, n)


def max_abs_diff(model_a, model_b):
    sa, sb = model_a.state_dict(), model_b.state_dict()
    assert list(sa) == list(sb), (list(sa), list(sb))
    return max(float(np.max(np.abs(np.asarray(sa[k], dtype=F64) - np.asarray(sb[k], dtype=F64))))
               for k in sa if np.asarray(sa[k]).size)


def report(**kw):
    """Rank 0 prints one RESULT line per rank (gathered: concurrent prints could interleave)."""
    import engine.distributed as dist

    every = [None] * dist.get_world_size()
    dist.all_gather_object(every, kw)
    if dist.get_rank() == 0:
        print("\n".join("RESULT " + json.dumps(r) for r in every), flush=True)
