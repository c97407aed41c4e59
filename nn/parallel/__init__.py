"""``nn.parallel``: data-parallel training over ``engine.distributed`` (MPI)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
