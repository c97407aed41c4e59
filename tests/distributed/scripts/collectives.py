"""The collectives against plain-NumPy references of what every rank contributed."""
import numpy as np

import engine
import engine.distributed as dist
from common import report

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(7)
contrib = [rng.standard_normal((3, 4)) for _ in range(world)]   # what each rank holds
ref = {"SUM": np.sum(contrib, axis=0), "AVG": np.mean(contrib, axis=0), "MAX": np.max(contrib, axis=0),
       "MIN": np.min(contrib, axis=0), "PRODUCT": np.prod(contrib, axis=0)}
for name, expect in ref.items():
    for kind in ("tensor", "ndarray", "view", "float32", "async"):
        a = contrib[rank].copy()
        if kind == "float32":
            a = a.astype(np.float32)
        t = engine.tensor(a) if kind in ("tensor", "async") else a
        if kind == "view":   # non-contiguous: reduced through a copy, written back in place
            big = np.zeros((3, 8))
            big[:, ::2] = a
            t = big[:, ::2]
        op = getattr(dist.ReduceOp, name)
        if kind == "async":
            work = dist.all_reduce(t, op=op, async_op=True)
            work.wait()
            assert work.is_completed()
        else:
            assert dist.all_reduce(t, op=op) is None
        got = np.asarray(t, dtype=np.float64)
        tol = 1e-5 if kind == "float32" else 1e-12
        assert np.allclose(got, expect, rtol=tol, atol=tol), (name, kind)
        if kind == "view":
            assert np.all(big[:, 1::2] == 0)
ints = np.array([rank + 1, 2 * rank], dtype=np.int64)
dist.all_reduce(ints, op=dist.ReduceOp.SUM)
assert ints.tolist() == [sum(r + 1 for r in range(world)), sum(2 * r for r in range(world))]
b = engine.tensor(np.full(5, float(rank)))
dist.broadcast(b, src=world - 1)
assert np.all(b.numpy() == world - 1)
outs = [engine.zeros(2, 2, dtype=np.float64) for _ in range(world)]
dist.all_gather(outs, engine.tensor(np.full((2, 2), rank + 0.5)))
assert [float(o.numpy()[0, 0]) for o in outs] == [r + 0.5 for r in range(world)]
objs = [None] * world
dist.all_gather_object(objs, {"rank": rank, "text": "x" * rank})
assert objs == [{"rank": r, "text": "x" * r} for r in range(world)]
lst = [rank, "a"] if rank == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == [0, "a"]
dist.barrier()
report(rank=rank, ok=True)
dist.destroy_process_group()
