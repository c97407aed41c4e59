"""Rank 1 never reaches the collective (it sleeps): rank 0 reports a timeout naming the
collective, and the whole job ends."""
import datetime
import sys
import time

import numpy as np

import engine.distributed as dist

dist.init_process_group(backend="mpi", timeout=datetime.timedelta(seconds=float(sys.argv[1])))
if dist.get_rank() == 1:
    time.sleep(600)
dist.all_reduce(np.ones(3))
