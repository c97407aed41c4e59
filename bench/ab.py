"""Same-run A/B of the library at two commits: is a change free of speed loss?

    python bench/ab.py REV_A REV_B [--only SUBSTR] [--rounds N] [--iters N] [--threads N]

Each revision is checked out (``git worktree``) into a temporary directory; then, for every
selected workload of *this* checkout's ``bench/workloads`` (only our side of it: the workloads
use the public API, so the same code drives both revisions), fresh interpreters alternate
A B A B for ``--rounds`` rounds, each timing ``--iters`` steps after a warm-up with the library
imported from its revision. Printed: the median step time of each revision over all rounds and
the ratio B / A (below 1: B is faster). On a shared machine a ratio within ±5% needs a quiet
machine and three agreeing runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import fresh  # noqa: E402  (bench/fresh.py)

_CHILD = r"""
import sys
sys.path.insert(0, {bench!r})
import importlib, pkgutil
import workloads
from engine.kernels import _par
_par.TIER_CALLS = 0  # steady state: kernels from the first call, as bench/run.py (see _par.Tier)
name, iters = {name!r}, {iters}
for mod in pkgutil.iter_modules(workloads.__path__):
    for w in getattr(importlib.import_module("workloads." + mod.name), "WORKLOADS", []):
        if w.name == name:
            from fresh import report
            report(w.ours(), w.warmup, iters, w.per_call)
"""


def _checkout(rev: str, parent: str) -> str:
    path = os.path.join(parent, rev.replace("/", "_"))
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", path, rev], check=True)
    return path


def _times(tree: str, name: str, iters: int, threads: int) -> list[float]:
    return fresh.run(_CHILD.format(bench=HERE, name=name, iters=iters), tree, threads, pythonpath=tree)


def _workload_names(only: str | None) -> list[str]:
    sys.path.insert(0, HERE)
    import importlib
    import pkgutil

    import workloads

    names = []
    for mod in sorted(pkgutil.iter_modules(workloads.__path__), key=lambda m: m.name):
        for w in getattr(importlib.import_module("workloads." + mod.name), "WORKLOADS", []):
            if only is None or only in w.name or only == w.group:
                names.append(w.name)
    return names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev_a")
    ap.add_argument("rev_b")
    ap.add_argument("--only", action="append", help="workload name substring or group (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    names = [n for o in (args.only or [None]) for n in _workload_names(o)]
    with tempfile.TemporaryDirectory(prefix="gradbricks-ab-") as tmp:
        trees = [_checkout(args.rev_a, tmp), _checkout(args.rev_b, tmp)]
        try:
            print(f"A = {args.rev_a}, B = {args.rev_b}, threads={args.threads}, "
                  f"{args.rounds} rounds x {args.iters} steps")
            print(f"{'workload':46s} {'A ms':>9s} {'B ms':>9s} {'B/A':>6s}")
            for name in names:
                a, b = [], []
                for _ in range(args.rounds):
                    a += _times(trees[0], name, args.iters, args.threads)
                    b += _times(trees[1], name, args.iters, args.threads)
                ma, mb = statistics.median(a), statistics.median(b)
                print(f"{name[:46]:46s} {ma:9.3f} {mb:9.3f} {mb / ma:6.2f}", flush=True)
        finally:
            for t in trees:
                subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", t], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
