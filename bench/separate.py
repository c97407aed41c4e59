"""Each library in its own fresh interpreter, alternating: PyTorch as installed vs ours.

    python bench/separate.py [--only SUBSTR] [--rounds N] [--iters N] [--threads N]

``bench/run.py`` times both sides in one process, where PyTorch also runs with the malloc settings
that ``import engine`` makes (``engine/_malloc.py``: freed memory is kept, so no page faults). Here
the peer's interpreter never imports ``engine``, so PyTorch runs as it does for a user of PyTorch
alone. A workload whose module imports ``engine`` for its peer too (the raw-kernel rows) prints
"-" for the peer. Printed: the median step time of each side over all rounds, and ours / peer.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import fresh  # noqa: E402  (bench/fresh.py)

_CHILD = r"""
import importlib, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
from fresh import report
side, module, name, iters = {side!r}, {module!r}, {name!r}, {iters}
w = next(w for w in importlib.import_module("workloads." + module).WORKLOADS if w.name == name)
if side == "ours":
    from engine.kernels import _par
    _par.TIER_CALLS = 0  # steady state, as bench/run.py
    step = w.ours()
else:
    import torch
    torch.set_num_threads({threads})
    step = w.peer()
if side == "peer" and "engine" in sys.modules:
    print("TIMES null")
else:
    report(step, w.warmup, iters, w.per_call)
"""


def _times(side: str, module: str, name: str, iters: int, threads: int):
    """Step times (ms) of one side of a workload in a fresh interpreter; None if its peer imports
    ``engine``."""
    code = _CHILD.format(root=ROOT, bench=HERE, side=side, module=module, name=name, iters=iters,
                         threads=threads)
    return fresh.run(code, ROOT, threads)


def _selected(only: str | None):
    """``(module name, workload)`` for every workload with a PyTorch peer whose name contains
    ``only`` (or whose group is ``only``)."""
    sys.path.insert(0, HERE)
    import importlib
    import pkgutil

    import workloads

    found = []
    for mod in sorted(pkgutil.iter_modules(workloads.__path__), key=lambda m: m.name):
        for w in getattr(importlib.import_module("workloads." + mod.name), "WORKLOADS", []):
            if w.peer is not None and w.peer_name.startswith("torch") and (
                    only is None or only in w.name or only == w.group):
                found.append((mod.name, w))
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="workload name substring or group (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    chosen = [c for o in (args.only or [None]) for c in _selected(o)]
    print(f"fresh interpreters, alternating; threads={args.threads}, {args.rounds} rounds x {args.iters} steps")
    print(f"{'workload':46s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for module, w in chosen:
        ours, peer = [], []
        for _ in range(args.rounds):
            ours += _times("ours", module, w.name, args.iters, args.threads)
            p = _times("peer", module, w.name, args.iters, args.threads)
            peer = None if p is None else peer + p
            if peer is None:
                break
        mo = statistics.median(ours)
        if peer is None:
            print(f"{w.name[:46]:46s} {mo:9.3f} {'-':>9s} {'-':>6s}", flush=True)
        else:
            mp = statistics.median(peer)
            print(f"{w.name[:46]:46s} {mo:9.3f} {mp:9.3f} {mo / mp:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
