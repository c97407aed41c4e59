"""Rank 1 raises while rank 0 waits in a collective: the job must end (non-zero) with rank 1's
traceback, not hang."""
import engine
import engine.distributed as dist
import numpy as np

dist.init_process_group(backend="mpi")
if dist.get_rank() == 1:
    raise ValueError("deliberate failure on rank 1")
dist.all_reduce(np.ones(3))   # never completes: rank 1 is gone
print("rank 0 passed the collective", flush=True)
