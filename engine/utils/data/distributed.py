"""``DistributedSampler``: each of ``num_replicas`` processes sees its own shard of the data."""
from __future__ import annotations

import math

import numpy as np

from ... import distributed as dist
from .sampler import Sampler


def _world():
    """(world_size, rank) from ``engine.distributed`` when a process group is initialized,
    else (1, 0): a single process is a world of one."""
    if dist.is_initialized():                 # before anything that would import MPI
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class DistributedSampler(Sampler):
    """Indices ``rank, rank + R, rank + 2R, ...`` of a (per-epoch shuffled, with
    ``seed + epoch``) permutation padded by wrapping around to a multiple of R = ``num_replicas``
    (or truncated when ``drop_last``), so every rank gets ``num_samples`` indices. Call
    ``set_epoch(e)`` before each epoch to reshuffle. ``num_replicas``/``rank`` default to the
    world size and rank of ``engine.distributed`` (1 and 0 when it is not initialized)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        world, my_rank = _world()
        num_replicas = world if num_replicas is None else num_replicas
        rank = my_rank if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive integer, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank!r}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``seed + epoch`` for the next shuffle (all ranks must call it with the same value)."""
        self.epoch = int(epoch)
