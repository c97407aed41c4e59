"""Run every benchmark workload side by side with its peer and print one table of ratios.

    python bench/run.py [--threads N] [--only SUBSTR] [--iters N] [--json]

Workloads live in ``bench/workloads/<area>.py``, each module exporting ``WORKLOADS``: a list of
``harness.Workload``. Threads are pinned to the same count for NumPy/BLAS, Numba and PyTorch.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _pin_threads(n: int) -> None:
    """Same thread count for every side: BLAS, Numba and torch (set before they import)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)


def _load_workloads(only: str | None):
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))
    import workloads  # noqa: F401  (bench/workloads/__init__.py)

    found = []
    for mod in sorted(pkgutil.iter_modules([os.path.join(HERE, "workloads")]), key=lambda m: m.name):
        module = importlib.import_module(f"workloads.{mod.name}")
        for w in getattr(module, "WORKLOADS", []):
            if only is None or only in w.name or only == w.group:
                found.append(w)
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--only", default=None, help="substring of workload names, or a group name")
    p.add_argument("--iters", type=int, default=None, help="timed iterations per side (>= 20 by default)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args(argv)
    _pin_threads(args.threads)
    sys.path.insert(0, os.path.dirname(HERE))
    from engine.kernels import _par

    # Steady state: kernels from the first call. (A process's first calls of a tiered kernel run
    # its bit-identical NumPy path, see _par.Tier; only the start-up workloads, in fresh
    # interpreters, measure that phase. Otherwise a per-layer workload's first timed iterations
    # would mix the two paths.)
    _par.TIER_CALLS = 0
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        print("torch not installed: run `make bench` (installs torch==2.13.0)", file=sys.stderr)
    from harness import format_table, run_workload

    results = []
    for w in _load_workloads(args.only):
        r = run_workload(w, args.iters)
        results.append(r)
        if not args.json:
            print(f"  {r.name}: ours {r.ours_ms:.3f} ms, {r.peer_name} "
                  f"{'-' if r.peer_ms is None else format(r.peer_ms, '.3f')} ms", file=sys.stderr)
    if args.json:
        print(json.dumps([
            {"name": r.name, "group": r.group, "peer": r.peer_name, "ours_ms": r.ours_ms,
             "peer_ms": r.peer_ms, "ratio": r.ratio, "target": r.target, "iters": r.iters}
            for r in results], indent=2))
    else:
        print(f"threads={args.threads}")
        print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
