"""The seam through which ``fit`` runs under data parallelism: it asks whether this process is
the one that writes files and draws progress, and reduces per-process sums over all processes.
Both consult ``engine.distributed`` when it exists and a process group is initialized."""
from __future__ import annotations

import numpy as np


def _group():
    try:
        from engine import distributed as dist
    except ImportError:
        return None
    if dist.is_initialized() and dist.get_world_size() > 1:      # is_initialized first: no MPI import
        return dist
    return None


def _is_main_process() -> bool:
    """True on rank 0 of an initialized process group, and in a single process."""
    dist = _group()
    return dist is None or dist.get_rank() == 0


def _reduce_metrics(values):
    """Element-wise sum of the float vector ``values`` over all processes (itself when alone)."""
    values = np.asarray(values, dtype=np.float64)
    dist = _group()
    if dist is None:
        return values
    from engine import Tensor
    t = Tensor(values.copy())
    dist.all_reduce(t)
    return np.asarray(t, dtype=np.float64)
