"""The one benchmark harness: each workload runs ours and a peer (PyTorch, micrograd) in one process.

A workload is a pair of *factories*; each factory does its set-up (allocations, model building,
warm-up compiles are *not* done here) and returns a zero-argument ``step`` callable. The harness
warms both steps up, then times ``iters`` calls per side interleaved in blocks, A A A A B B B B
A A A A ..., and reports medians, so that machine noise (two identical runs differ by up to ±25%
on the shared machines) hits both sides alike: only same-run ratios mean anything.

Blocks, not single steps: after a call, a library's idle threads keep spinning for a while --
OpenBLAS's workers for up to 2^28 cycles (~0.1 s, its THREAD_TIMEOUT), PyTorch's OpenMP workers
too -- and a step of the other library started meanwhile shares the two cores with them. Timed
A B A B, the MLP step took 11.9 ms (ours) and 12.1 ms (PyTorch), against 3.7-3.9 and 3.6-3.7 ms
each in its own steady state (measured 2026-12-03). So each block starts after a pause of
:data:`PAUSE_S` (longer than those spins; sleeping costs no CPU) and its first step is untimed;
a user's training loop, running one library step after step, is what the blocks measure.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

StepFactory = Callable[[], Callable[[], object]]

#: Seconds of sleep before each block: the other library's spinning threads go idle meanwhile.
PAUSE_S = 0.2


@dataclass
class Workload:
    """One row of the table: ``ours()`` and ``peer()`` build steps; ``group`` names the issue area."""

    name: str
    ours: StepFactory
    peer: StepFactory | None
    peer_name: str = "torch"
    group: str = "engine"
    iters: int = 20
    warmup: int = 3
    note: str = ""
    target: float | None = None  # the ratio (ours / peer) the issue asks for, shown for reference
    per_call: int = 1  # steps each ``step()`` call runs; times are reported per step
    block: int = 5  # calls per block, the first untimed (1: every call timed, e.g. fresh processes)


@dataclass
class Result:
    name: str
    group: str
    peer_name: str
    ours_ms: float
    peer_ms: float | None
    iters: int
    target: float | None = None
    note: str = ""
    ours_all: list = field(default_factory=list)
    peer_all: list = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """ours / peer on medians; below 1 means we are faster."""
        if self.peer_ms is None or self.peer_ms == 0:
            return None
        return self.ours_ms / self.peer_ms


def _time_once(step: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    step()
    return (time.perf_counter() - t0) * 1e3


def run_workload(w: Workload, iters: int | None = None) -> Result:
    """Warm up both sides, then time ``iters`` calls per side in interleaved blocks (see the
    module docstring); medians in milliseconds."""
    n = iters or w.iters
    ours = w.ours()
    peer = w.peer() if w.peer is not None else None
    for _ in range(w.warmup):
        ours()
        if peer is not None:
            peer()
    sides = [(ours, [])] + ([(peer, [])] if peer is not None else [])
    timed = max(1, w.block - 1)
    while len(sides[0][1]) < n:
        for step, times in sides:
            time.sleep(PAUSE_S)
            if w.block > 1:
                step()  # the untimed first call of the block
            for _ in range(min(timed, n - len(times))):
                times.append(_time_once(step) / w.per_call)
    a, b = sides[0][1], (sides[1][1] if peer is not None else [])
    return Result(
        name=w.name, group=w.group, peer_name=w.peer_name if peer else "-",
        ours_ms=statistics.median(a), peer_ms=statistics.median(b) if b else None,
        iters=n, target=w.target, note=w.note, ours_all=a, peer_all=b,
    )


def format_table(results: list[Result]) -> str:
    """One table: workload, ms ours, ms peer, ratio (ours / peer), target."""
    head = f"{'workload':44s} {'ours ms':>10s} {'peer':>10s} {'peer ms':>10s} {'ratio':>7s} {'target':>7s}"
    lines = [head, "-" * len(head)]
    for r in results:
        peer_ms = f"{r.peer_ms:10.3f}" if r.peer_ms is not None else f"{'-':>10s}"
        ratio = f"{r.ratio:7.2f}" if r.ratio is not None else f"{'-':>7s}"
        target = f"{'<=' + format(r.target, 'g'):>7s}" if r.target is not None else f"{'':>7s}"
        lines.append(f"{r.name:44s} {r.ours_ms:10.3f} {r.peer_name:>10s} {peer_ms} {ratio} {target}")
    return "\n".join(lines)
