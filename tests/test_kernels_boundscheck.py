"""Every kernel test again with Numba's bounds checking on (``NUMBA_BOUNDSCHECK=1``): an index
outside an array inside any kernel then raises IndexError instead of reading or writing past it.

Numba reads the variable when it is imported, so the tests run in a fresh interpreter; it gets
its own empty ``NUMBA_CACHE_DIR`` because the on-disk cache does not key on the flag (a checked
run must not load unchecked machine code, nor leave checked code for normal runs).
It compiles every kernel again (bounds-checked, cold) and reruns all kernel tests: ~1-2 min on
an idle 2-core machine, 15+ min on a loaded one. So it runs when ``GRADBRICKS_BOUNDSCHECK=1``
(``make test`` sets it); by hand: ``NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(mktemp -d) python -m
pytest tests/test_kernels_*.py tests/test_optim_updates.py``.
"""
import glob
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_TESTS = sorted(glob.glob(os.path.join(HERE, "test_kernels_*.py"))) + [os.path.join(HERE, "test_optim_updates.py")]


@pytest.mark.skipif(os.environ.get("GRADBRICKS_BOUNDSCHECK") != "1",
                    reason="set GRADBRICKS_BOUNDSCHECK=1 to rerun the kernel tests bounds-checked")
@pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") == "1", reason="already the bounds-checked run")
def test_kernel_tests_pass_with_numba_boundscheck(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    files = [f for f in KERNEL_TESTS if not f.endswith(("test_kernels_boundscheck.py", "test_kernels_lazy.py"))]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *files],
                          cwd=os.path.dirname(HERE), env=env, capture_output=True, text=True)
    # 0 = tests were collected and all passed (no tests would be 5, a failure 1)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
