"""Collectives on Tensors and ndarrays (in place), as ``torch.distributed``: ``all_reduce``,
``broadcast``, ``all_gather``, ``barrier``; each runs as a non-blocking MPI operation that is
polled until done or until the process group's timeout, so a rank that never arrives is
reported with a clear error instead of hanging the job. ``async_op=True`` returns a
:class:`Work` handle instead of waiting."""
from __future__ import annotations

import enum
import time

import numpy as np

from . import process_group as pg


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values (element-wise)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


def _mpi_op(MPI, op):
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


def poll(requests, deadline, what, world):
    """Test ``requests`` until all are complete, past ``deadline`` raise
    :class:`ProcessGroupTimeout` naming the collective. MPI progresses a collective only inside
    MPI calls, and a large one needs many rounds between the ranks, so the first
    ``SPIN_SECONDS`` test back to back (as MPI's own blocking wait does; yielding the core
    instead costs a scheduler time slice per round on a busy machine); only a longer wait backs
    off to naps of up to 1 ms, so a rank stuck waiting for a dead peer does not burn a core."""
    MPI = world.MPI
    start = time.monotonic()
    nap = 0.0
    while not MPI.Request.Testall(requests):
        now = time.monotonic()
        if now > deadline:
            raise pg.ProcessGroupTimeout(
                f"[rank {world.rank}] {what} did not complete within {world.timeout:g} s "
                f"(init_process_group(timeout=...)): at least one of the {world.size} ranks did "
                f"not reach this collective (it is stuck, dead, or running different code)")
        if now - start > SPIN_SECONDS:
            nap = min(max(nap * 2, 2e-5), 1e-3)
            time.sleep(nap)


SPIN_SECONDS = 0.02


class Work:
    """Handle of a collective started with ``async_op=True``: ``wait()`` blocks until it is
    done (or the timeout passes) and finishes the in-place result; ``is_completed()`` polls."""

    def __init__(self, world, requests, what, finish=None, keep=()):
        self._world, self._requests, self._what = world, list(requests), what
        self._finish, self._keep, self._done = finish, keep, False

    def is_completed(self) -> bool:
        """True once the collective has finished (its result then is in place after wait())."""
        if self._done:
            return True
        return bool(self._world.MPI.Request.Testall(self._requests))

    def wait(self, timeout=None) -> bool:
        """Block until done; ``timeout`` (timedelta or seconds) overrides the group's timeout."""
        if self._done:
            return True
        seconds = self._world.timeout if timeout is None else pg._seconds(timeout)
        poll(self._requests, time.monotonic() + seconds, self._what, self._world)
        self._done = True
        if self._finish is not None:
            self._finish()
        self._keep = ()
        return True

    def is_success(self) -> bool:
        """True after a successful ``wait()``."""
        return self._done


def _payload(t, name):
    """The ndarray a collective writes into (a Tensor's storage, or the ndarray itself)."""
    if isinstance(t, np.ndarray):
        return t
    arr = getattr(t, "_data", None)   # a Tensor's payload
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a Tensor or an ndarray, got {type(t).__name__}")
    return arr


def _bump(t):
    """Record an in-place write in a Tensor's version counter."""
    vc = getattr(t, "_vc", None)
    if vc is not None:
        vc[0] += 1


def _buffer(arr):
    """A C-contiguous buffer MPI can use in place of ``arr`` and whether it is a copy."""
    if not arr.flags.writeable:
        raise ValueError("collectives write in place: the array is read-only")
    if arr.flags.c_contiguous:
        return arr, False
    return np.ascontiguousarray(arr), True


def _run(world, requests, what, finish, keep, async_op):
    work = Work(world, requests, what, finish, keep)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Replace ``tensor`` (a Tensor or ndarray, on every rank) by the element-wise reduction of
    all ranks' values: SUM Σ_r x_r, AVG (1/N) Σ_r x_r (floating dtypes), PRODUCT, MIN, MAX, or
    the bitwise BAND/BOR/BXOR (integers and bool). In place; returns None, or a Work handle
    with ``async_op=True`` (the result is in place after ``wait()``)."""
    pg._check_group(group)
    world = pg._world("all_reduce()")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a ReduceOp, got {op!r}")
    arr = _payload(tensor, "all_reduce: tensor")
    if op is ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got dtype {arr.dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and arr.dtype.kind not in "iub":
        raise TypeError(f"all_reduce: {op.name} needs an integer or bool tensor, got dtype {arr.dtype}")
    buf, copied = _buffer(arr)
    req = world.comm.Iallreduce(world.MPI.IN_PLACE, buf, op=_mpi_op(world.MPI, op))
    size = world.size

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf, size, out=buf)
        if copied:
            arr[...] = buf
        _bump(tensor)

    return _run(world, [req], f"all_reduce(op={op.name}, shape={arr.shape}, dtype={arr.dtype})",
                finish, (buf,), async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank (in place; same shape and
    dtype everywhere)."""
    pg._check_group(group)
    world = pg._world("broadcast()")
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < world.size:
        raise ValueError(f"broadcast: src must be a rank in [0, {world.size}), got {src!r}")
    arr = _payload(tensor, "broadcast: tensor")
    buf, copied = _buffer(arr)
    req = world.comm.Ibcast(buf, root=int(src))

    def finish():
        if copied:
            arr[...] = buf
        if world.rank != src:
            _bump(tensor)

    return _run(world, [req], f"broadcast(src={src}, shape={arr.shape}, dtype={arr.dtype})",
                finish, (buf,), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor`` on every rank (``tensor_list`` holds
    world_size Tensors/ndarrays of ``tensor``'s shape and dtype, written in place)."""
    pg._check_group(group)
    world = pg._world("all_gather()")
    src = _payload(tensor, "all_gather: tensor")
    outs = [_payload(t, f"all_gather: tensor_list[{i}]") for i, t in enumerate(tensor_list)]
    if len(outs) != world.size:
        raise ValueError(f"all_gather: tensor_list has {len(outs)} entries but the world size is "
                         f"{world.size}")
    for i, o in enumerate(outs):
        if o.shape != src.shape or o.dtype != src.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {o.shape} and dtype {o.dtype}; "
                             f"the input tensor has shape {src.shape} and dtype {src.dtype}")
    send = np.ascontiguousarray(src)
    recv = np.empty((world.size,) + src.shape, dtype=src.dtype)
    req = world.comm.Iallgather(send, recv)

    def finish():
        for t, o, part in zip(tensor_list, outs, recv):
            o[...] = part
            _bump(t)

    return _run(world, [req], f"all_gather(shape={src.shape}, dtype={src.dtype})", finish,
                (send, recv), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this barrier (bounded by the group's timeout)."""
    pg._check_group(group)
    world = pg._world("barrier()")
    return _run(world, [world.comm.Ibarrier()], "barrier()", None, (), async_op)


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` ← rank r's ``obj`` for JSON-like objects (numbers, strings, lists,
    dicts): sent as JSON text, never pickled, so a peer cannot make this rank run code."""
    import json

    pg._check_group(group)
    world = pg._world("all_gather_object()")
    if len(object_list) != world.size:
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries but the "
                         f"world size is {world.size}")
    data = np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)
    sizes = np.zeros(world.size, dtype=np.int64)
    all_gather(list(sizes.reshape(world.size, 1)), np.array([data.size], dtype=np.int64))
    longest = int(sizes.max())
    padded = np.zeros(longest, dtype=np.uint8)
    padded[:data.size] = data
    parts = [np.empty(longest, dtype=np.uint8) for _ in range(world.size)]
    all_gather(parts, padded)
    for r in range(world.size):
        object_list[r] = json.loads(parts[r][:sizes[r]].tobytes().decode())


def broadcast_object_list(object_list, src=0, group=None):
    """Replace ``object_list``'s entries with rank ``src``'s (JSON-like objects, sent as JSON,
    never pickled)."""
    import json

    pg._check_group(group)
    world = pg._world("broadcast_object_list()")
    data = np.frombuffer(json.dumps(list(object_list)).encode(), dtype=np.uint8)
    n = np.array([data.size], dtype=np.int64)
    broadcast(n, src)
    buf = np.zeros(int(n[0]), dtype=np.uint8)
    if world.rank == src:
        buf[:] = data
    broadcast(buf, src)
    values = json.loads(buf.tobytes().decode())
    if len(values) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(values)} objects, this rank "
                         f"has a list of {len(object_list)}")
    object_list[:] = values
