"""Freed memory stays with the process for the next step (glibc's malloc), so array outputs do not
page-fault: what PyTorch's CPU tuning guide gets by swapping in jemalloc or TCMalloc.

Every op allocates its output, and a training step frees and re-allocates the same sizes at every
step. glibc hands blocks above ``M_MMAP_THRESHOLD`` (128 KiB at start, raised as such blocks are
freed) to ``mmap`` and returns them with ``munmap``, and gives the heap's free top back to the OS
once it exceeds ``M_TRIM_THRESHOLD`` (twice the mmap threshold): a step's arrays then land on fresh
pages, each 4 KiB page faulting on its first touch. In the LeNet-5 step most of ReLU's time was
those faults (its one-pass kernels: 0.84 -> 0.18 ms per step for the forward and 1.1 -> 0.26 ms for
the backward once memory stayed), and the whole step ran 7.5 -> 5.4 ms; the projection-shortcut
ResNet step 64.8 -> 57.3 ms. Peak RSS was the same (214 and 174 MB): the process keeps what its
steps use anyway.

:func:`keep_freed_memory` (called by ``import engine``) sets ``M_MMAP_THRESHOLD`` to 32 MiB (glibc's
maximum: larger blocks are still mapped and unmapped) and ``M_TRIM_THRESHOLD`` to 128 MiB (at most
that much free heap top is kept). It does nothing when the C library is not glibc, when the user
has tuned malloc already (any ``MALLOC_*_`` variable or ``GLIBC_TUNABLES`` with ``glibc.malloc``),
or when ``GRADBRICKS_MALLOC_TUNING=0``.
"""
from __future__ import annotations

import ctypes
import os

#: ``mallopt`` parameter numbers (glibc's malloc.h) and the values set.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def user_tuned_malloc(environ=os.environ) -> bool:
    """True when the environment already sets glibc's malloc parameters (then they are left alone)."""
    return any(k in environ for k in _USER_SETTINGS) or "glibc.malloc" in environ.get("GLIBC_TUNABLES", "")


def _is_glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or a C library without that name
        return False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (see the module docstring); True if they were set."""
    if os.environ.get("GRADBRICKS_MALLOC_TUNING", "1") == "0" or user_tuned_malloc():
        return False
    if not _is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
