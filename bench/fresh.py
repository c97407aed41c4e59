"""One side of a workload timed in a fresh interpreter (``bench/ab.py``, ``bench/separate.py``).

The parent runs a short script with :func:`run`; the script builds its step and ends with
:func:`report`, which times it and prints one ``TIMES [...]`` line that :func:`run` parses.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def report(step, warmup: int, iters: int, per_call: int = 1) -> None:
    """Call ``step`` ``warmup`` times, then time ``iters`` calls; print their ms per step."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3 / per_call)
    print("TIMES " + json.dumps(times))


def run(code: str, cwd: str, threads: int, pythonpath: str | None = None):
    """Run ``code`` in a fresh interpreter with every thread pool pinned to ``threads``; return
    the times it reported (None if it printed ``TIMES null``)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True,
                         capture_output=True, text=True).stdout
    (line,) = [ln for ln in out.splitlines() if ln.startswith("TIMES ")]
    return json.loads(line[6:])
