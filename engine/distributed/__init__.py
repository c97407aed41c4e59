"""``engine.distributed``: PyTorch's ``torch.distributed`` names over MPI (the ``mpi`` backend).

    import engine.distributed as dist
    dist.init_process_group(backend="mpi")      # under `mpiexec -n N python train.py`
    dist.all_reduce(t, op=dist.ReduceOp.SUM)    # in place, on Tensors or ndarrays

Importing this package (or the engine) does not import MPI: ``mpi4py`` is imported by
``init_process_group``; without it the error says how to install it.
"""
from .collectives import (ReduceOp, Work, all_gather, all_reduce, barrier, broadcast,
                          broadcast_object_list, all_gather_object)
from .process_group import (GroupMember, ProcessGroupTimeout, destroy_process_group, get_backend,
                            get_rank, get_world_size, init_process_group, is_available,
                            is_initialized, is_mpi_available)

__all__ = ["ReduceOp", "Work", "GroupMember", "ProcessGroupTimeout", "init_process_group",
           "destroy_process_group", "is_available", "is_mpi_available", "is_initialized",
           "get_backend", "get_rank", "get_world_size", "all_reduce", "broadcast", "all_gather",
           "barrier", "broadcast_object_list", "all_gather_object"]
