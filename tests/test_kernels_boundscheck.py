"""Every kernel test again with Numba's bounds checking on (``NUMBA_BOUNDSCHECK=1``): an index
outside an array inside any kernel then raises IndexError instead of reading or writing past it.

Numba reads the variable when it is imported, so the tests run in a fresh interpreter. The
on-disk cache does not key on the flag, so that interpreter gets its own ``NUMBA_CACHE_DIR``:
``.cache/numba-boundscheck`` in the checkout (kept between runs; ``make clean`` removes it), so a
checked run never loads unchecked machine code nor leaves checked code for normal runs.

Cost, measured on the shared 2-core dev VM (CPU seconds of the subprocess, ``/usr/bin/time``):
~90 s with an empty cache (a fresh clone, as in CI: every kernel compiled bounds-checked), 10-15 s
with a warm one (2.7 s of it importing and collecting), plus ~6 s for the toy kernel below. The
examples per test are the kernel tests' own: the cold run is compiling, which does not depend on
them, and the warm one has only ~5 s of examples to save.
By hand: ``NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=.cache/numba-boundscheck python -m pytest
tests/test_kernels_*.py tests/test_optim_updates.py``.
"""
import glob
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(ROOT, ".cache", "numba-boundscheck")
KERNEL_TESTS = [f for f in sorted(glob.glob(os.path.join(HERE, "test_kernels_*.py"))) + [os.path.join(HERE, "test_optim_updates.py")]
                if not f.endswith(("test_kernels_boundscheck.py", "test_kernels_lazy.py"))]

pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") == "1",
                                reason="this process is already bounds-checked")


def run_checked(files, cache_dir):
    """pytest on ``files`` in a fresh interpreter with ``NUMBA_BOUNDSCHECK=1`` and ``cache_dir``."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-p", "no:cacheprovider", "-rA", *files],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def test_kernel_tests_pass_with_numba_boundscheck():
    proc = run_checked(KERNEL_TESTS, CACHE)
    # 0 = tests were collected and all passed (no tests would be 5, a failure 1)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"PASSED {os.path.relpath(KERNEL_TESTS[0], ROOT)}" in proc.stdout


TOY = '''
import numba
import numpy as np


@numba.njit(cache=True)
def total(a, n):
    s = 0.0
    for i in range(n):
        s += a[i]
    return s


def test_in_bounds():
    assert total(np.arange(4.0), 4) == 6.0


def test_one_past_the_end():
    total(np.arange(4.0), 5)            # unchecked: reads a[4], whatever lies there
'''


def test_an_out_of_bounds_kernel_fails_the_checked_run(tmp_path):
    (tmp_path / "test_toy_kernel.py").write_text(textwrap.dedent(TOY))
    proc = run_checked([str(tmp_path / "test_toy_kernel.py")], tmp_path / "cache")
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-2000:]
    assert "PASSED" in out and "test_in_bounds" in out.split("PASSED", 1)[1].splitlines()[0]
    assert "IndexError: index is out of bounds" in out
    assert "FAILED" in out and "test_one_past_the_end" in out.split("FAILED", 1)[1].splitlines()[0]
