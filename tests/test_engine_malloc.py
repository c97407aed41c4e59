"""engine._malloc: after ``import engine`` (glibc), a step that frees and re-allocates the same large
arrays re-uses the memory instead of page-faulting fresh pages; the opt-out and the user's own malloc
settings leave glibc as it was. Each case runs in a fresh interpreter (malloc settings are per
process and cannot be undone)."""
import os
import subprocess
import sys

import pytest

from engine import _malloc

# One "step": 24 arrays of 1 MiB (below NumPy's 4 MiB huge-page size), each written, then all freed.
# Prints the minor page faults of the first step and of the nine after it, and whether tuning ran.
SCRIPT = r"""
import resource, numpy as np
import engine

def step():
    arrays = [np.empty(1 << 18, np.float32) for _ in range(24)]
    for a in arrays:
        a.fill(1.0)
    del arrays

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

f0 = faults(); step(); f1 = faults()
for _ in range(9):
    step()
print(f1 - f0, faults() - f1, int(engine._MALLOC_TUNED))
"""
PAGES_PER_STEP = 24 * (1 << 20) // 4096  # 6144


def _run(**env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GRADBRICKS_MALLOC_TUNING"}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=full, check=True)
    first, later, tuned = map(int, out.stdout.split())
    return first, later, tuned


def test_import_engine_keeps_freed_memory_so_later_steps_do_not_page_fault():
    assert _malloc._is_glibc(), "these machines run glibc; the tuning applies only there"
    first, later, tuned = _run()
    assert tuned == 1
    assert first >= PAGES_PER_STEP // 2  # the first step touches fresh pages
    assert later < PAGES_PER_STEP // 4, f"nine later steps faulted {later} pages (one step: {first})"


@pytest.mark.parametrize("env", [{"GRADBRICKS_MALLOC_TUNING": "0"}, {"MALLOC_ARENA_MAX": "1", "MALLOC_TOP_PAD_": "0"}])
def test_opting_out_or_tuning_malloc_yourself_leaves_glibc_alone(env):
    first, later, tuned = _run(**env)
    assert tuned == 0
    # glibc's own behaviour: the 24 MiB freed at once is trimmed, so every step faults again
    assert later >= 9 * PAGES_PER_STEP // 2, f"nine later steps faulted only {later} pages"


def test_user_tuned_malloc_sees_every_setting():
    assert not _malloc.user_tuned_malloc({})
    assert not _malloc.user_tuned_malloc({"GLIBC_TUNABLES": "glibc.pthread.rseq=0"})
    for key in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"):
        assert _malloc.user_tuned_malloc({key: "1"})
    assert _malloc.user_tuned_malloc({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"})
