"""The gradient reducer behind DistributedDataParallel: parameters grouped into buckets (one
dtype each, about ``bucket_cap_mb`` each, in reverse registration order ≈ the order backward
produces their gradients); as soon as every parameter of a bucket has its final gradient (a
post-accumulate-grad hook on each parameter), the bucket's gradients are packed into one flat
buffer, divided by the world size and summed over the ranks with a non-blocking all-reduce
(MPI Iallreduce) while backward goes on; when the last bucket is launched, all are awaited and
the averages written back to ``p.grad`` — so the averaged gradients are in place when
``backward()`` returns, before ``optimizer.step()``.

Buckets are launched strictly in bucket order (a bucket that is ready early waits for its
predecessors), so every rank issues its collectives in the same order even when the ranks'
graphs differ. Each bucket also carries one "has a gradient" flag per parameter: a parameter
without a gradient on any rank keeps ``grad = None``, one with a gradient on some ranks gets
the average (zeros counted for the others).
"""
from __future__ import annotations

import time
import weakref

import numpy as np

from engine import Tensor
from engine.distributed import collectives, process_group


def _grad_array(p):
    return None if p.grad is None else p.grad._data


class Bucket:
    """Parameters of one dtype reduced by one all-reduce: ``flat`` holds their gradients
    (``offsets``), then one has-gradient flag per parameter."""

    def __init__(self, index, params, dtype):
        self.index, self.params = index, params
        self.dtype = np.dtype(np.float32) if np.dtype(dtype) == np.float16 else np.dtype(dtype)
        sizes = [int(np.prod(p.shape)) for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.flat = np.empty(int(self.offsets[-1]) + len(params), dtype=self.dtype)
        self.nbytes = self.flat.nbytes
        self.pending = len(params)
        self.request = None
        self.launched_at = self.done_at = None

    def pack(self, world_size):
        """flat ← [g_p / world_size for p] + [1 if p has a gradient]."""
        n = self.offsets[-1]
        for i, p in enumerate(self.params):
            g = _grad_array(p)
            lo, hi = self.offsets[i], self.offsets[i + 1]
            if g is None:
                self.flat[lo:hi] = 0
                self.flat[n + i] = 0
            else:
                np.divide(g.reshape(-1), world_size, out=self.flat[lo:hi], casting="unsafe")
                self.flat[n + i] = 1

    def unpack(self):
        """p.grad ← the averaged gradient, for parameters that had one on some rank."""
        n = self.offsets[-1]
        for i, p in enumerate(self.params):
            if self.flat[n + i] == 0:
                continue
            avg = self.flat[self.offsets[i]:self.offsets[i + 1]].reshape(p.shape)
            g = _grad_array(p)
            if g is not None and g.flags.writeable and g.shape == tuple(p.shape):
                np.copyto(g, avg, casting="unsafe")
            else:
                p.grad = Tensor(avg.astype(p.dtype, copy=True))


class Reducer:
    """Bucketed, overlapped gradient averaging for ``params`` (see the module docstring)."""

    def __init__(self, params, bucket_cap_bytes, names=None):
        self.params = list(params)
        self.names = list(names) if names is not None else [f"parameter {i}" for i in range(len(self.params))]
        self.buckets = []
        by_dtype, sizes = {}, {}
        for p in reversed(self.params):
            key = np.dtype(p.dtype).str
            cur = by_dtype.get(key)
            if cur is None or sizes[key] >= bucket_cap_bytes:
                cur = by_dtype[key] = []
                sizes[key] = 0
                self.buckets.append(cur)
            cur.append(p)
            sizes[key] += int(np.prod(p.shape)) * np.dtype(p.dtype).itemsize
        self.buckets = [Bucket(i, ps, ps[0].dtype) for i, ps in enumerate(self.buckets)]
        self.where = {}
        for b in self.buckets:
            for i, p in enumerate(b.params):
                self.where[id(p)] = (b, i)
        self.active = False
        self.marked = set()
        self.next_bucket = 0
        self.backward_started = None
        self.stats = []          # one dict per reduced iteration (bytes, times): for bench/
        me = weakref.ref(self)
        self.handles = [p.register_post_accumulate_grad_hook(_hook_for(me)) for p in self.params]

    def remove_hooks(self):
        """Unregister the parameter hooks (the reducer is then inert)."""
        for h in self.handles:
            h.remove()
        self.handles = []

    # -- per iteration -------------------------------------------------------------------------
    def prepare(self, unused=()):
        """Arm the reducer for the next backward; ``unused`` parameters (found unreachable by a
        graph walk) count as ready at once."""
        if self.active and self.marked:
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior "
                "iteration before starting a new one: some parameters did not receive a "
                f"gradient ({self._missing_names()}). Pass find_unused_parameters=True to "
                "DistributedDataParallel if parts of the model are not used in every forward, "
                "and make sure every forward is followed by one backward of its outputs.")
        self.world = process_group._world("DistributedDataParallel")
        for b in self.buckets:
            b.pending = len(b.params)
            b.request = None
            b.launched_at = b.done_at = None
        self.marked = set()
        self.next_bucket = 0
        self.active = True
        self.backward_started = None
        self.pre_marked = list(unused)

    def backward_begins(self, grad):
        """Hook on the forward's outputs: notes when backward reaches them (for ``stats``)."""
        if self.active and self.backward_started is None:
            self.backward_started = time.perf_counter()

    def _missing_names(self):
        missing = [n for n, p in zip(self.names, self.params) if id(p) not in self.marked]
        return ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")

    def mark_ready(self, p):
        """Called once per backward per parameter (after its gradient is final)."""
        if not self.active:
            return  # no_sync, eval, or a backward without a DDP forward: local gradients only
        if self.backward_started is None:
            self.backward_started = time.perf_counter()
        if self.pre_marked:
            pre, self.pre_marked = self.pre_marked, []
            for q in pre:
                self._mark(q)
        self._mark(p)
        self._progress()

    def _mark(self, p):
        key = id(p)
        if key in self.marked:
            raise RuntimeError(
                "DistributedDataParallel: expected to mark a variable ready only once: a parameter "
                "received gradients from two backward passes after one forward (reduction was "
                "already started); run one backward per forward, or use no_sync() for all but the last")
        self.marked.add(key)
        b, _ = self.where[key]
        b.pending -= 1
        if b.pending == 0:
            self._launch_ready()

    def _launch_ready(self):
        world = self.world
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            b = self.buckets[self.next_bucket]
            b.pack(world.size)
            b.request = world.comm.Iallreduce(world.MPI.IN_PLACE, b.flat, op=world.MPI.SUM)
            b.launched_at = time.perf_counter()
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self.finalize()

    def _progress(self):
        """Let MPI progress the in-flight all-reduces (MPICH progresses inside Test calls) and note
        when each one is seen complete."""
        for b in self.buckets[:self.next_bucket]:
            if b.done_at is None and b.request is not None and b.request.Test():
                b.done_at = time.perf_counter()

    def finalize(self):
        """Wait for every bucket (bounded by the process group's timeout), write the averages
        into ``p.grad`` and record this iteration's communication figures."""
        launched_all = time.perf_counter()
        for b in self.buckets:
            if b.done_at is None:
                if b.request.Test():
                    b.done_at = time.perf_counter()
        pending = [b for b in self.buckets if b.done_at is None]
        if pending:
            collectives.poll([b.request for b in pending], time.monotonic() + self.world.timeout,
                             "DistributedDataParallel gradient all-reduce", self.world)
            now = time.perf_counter()
            for b in pending:
                b.done_at = now
        for b in self.buckets:
            b.unpack()
            b.request = None
        end = time.perf_counter()
        self.stats.append(_iteration_stats(self.buckets, self.backward_started, launched_all, end))
        del self.stats[:-100]
        self.active = False
        self.marked = set()


def _iteration_stats(buckets, started, backward_done, end):
    """Bytes all-reduced; seconds of backward with an all-reduce in flight (``overlap_s``: MPICH
    advances a collective only inside MPI calls, made here at each parameter-ready event, so
    "in flight" is an upper bound of the overlap); the fraction of the bytes whose all-reduce was
    seen complete before backward ended (``hidden_fraction``); and the wait after backward."""
    spans = sorted((b.launched_at, b.done_at) for b in buckets)
    overlap, cur_lo, cur_hi = 0.0, None, None
    for lo, hi in spans + [(None, None)]:
        if lo is not None and cur_hi is not None and lo <= cur_hi:
            cur_hi = max(cur_hi, hi)
            continue
        if cur_lo is not None:
            overlap += max(0.0, min(cur_hi, backward_done) - max(cur_lo, started))
        cur_lo, cur_hi = lo, hi
    total = sum(b.nbytes for b in buckets)
    hidden = sum(b.nbytes for b in buckets if b.done_at <= backward_done)
    return {"bytes": int(total), "buckets": len(buckets),
            "backward_s": backward_done - started, "overlap_s": overlap,
            "hidden_fraction": hidden / total if total else 0.0,
            "exposed_wait_s": end - backward_done}


def _hook_for(reducer_ref):
    def hook(p):
        r = reducer_ref()
        if r is not None:
            r.mark_ready(p)
    return hook
