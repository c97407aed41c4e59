"""Parallel and serial twins of one Numba kernel, chosen per call by problem size.

Every ``parallel=True`` launch hands the work to Numba's worker threads. With the ``workqueue``
layer (see ``engine/kernels/__init__.py``) the workers sleep between launches, and waking them
costs ~70-130 us per launch on the 2-core dev VM (vs ~2 us for OpenMP's spinning workers, which
however fight OpenBLAS's): a 2M-element batch-norm forward took 0.45 ms serial vs 0.41 ms on two
workqueue threads, and ResNet-20's batch norms (<= 0.5M elements) ran faster serially. So each
kernel is compiled twice from one source -- ``parallel=True`` and serial (``prange`` is ``range``)
-- and :func:`pick` runs the serial twin below a size threshold. Each twin compiles lazily on its
first use and is cached on disk under its own name.

This is the project's ONE serial/parallel threshold mechanism: :data:`WORK_SCALE` says, per kind of
work, how many times :data:`PARALLEL_MIN_ELEMENTS` a call needs before a second thread pays off,
and :func:`parallel_worth` answers for Numba kernels (:func:`pick`) and for OpenBLAS GEMMs
(``_blas.matmul``, whose work is counted in multiply-adds) alike. Setting
``PARALLEL_MIN_ELEMENTS`` to 0 or to a huge number forces every kernel parallel or serial (tests).

Threads. Numba's ``workqueue`` layer aborts the process when two threads launch parallel kernels
at the same time (its launches release the GIL), so every parallel launch goes through
:data:`LAUNCH_LOCK`: :func:`pick` hands out the parallel twin wrapped in :class:`Locked`. Serial
twins need no lock. Uncontended, the lock adds well under a microsecond to a ~100 us launch.
"""
from __future__ import annotations

import threading
import types

import numba as nb

#: Kernels touching fewer elements than this run serially (no thread hand-off).
PARALLEL_MIN_ELEMENTS = 1 << 20

#: Per kind of work, the multiple of PARALLEL_MIN_ELEMENTS from which the parallel twin runs.
WORK_SCALE = {
    # pooling, im2col/col2im: one pass that does some index arithmetic per element
    "elementwise": 1.0,
    # batch norm: memory-bound sweeps gain less from a second thread (measured, 32x64x32x32 float32
    # forward: 0.45 ms serial vs 0.41 ms on two workqueue threads)
    "memory_bound": 4.0,
    # fused optimizer updates: a few flops and 4-5 streams per element, ~1 ns per element serially,
    # so below ~256k elements the ~100 us workqueue wake-up costs more than the second thread saves
    # (profile of the LeNet b=4 loop, 62k parameters: SGD's parallel launch was 40% of the step)
    "optimizer": 1 / 4,
    # OpenBLAS GEMM, counted in multiply-adds M*N*K (see _blas): ~24M
    "gemm": 23.0,
}


def parallel_worth(work, kind="elementwise") -> bool:
    """True when ``work`` (elements, or multiply-adds for ``kind="gemm"``) is at least
    ``WORK_SCALE[kind] * PARALLEL_MIN_ELEMENTS``."""
    return work >= WORK_SCALE[kind] * PARALLEL_MIN_ELEMENTS


def twins(fn, **flags):
    """``(parallel, serial)`` Numba dispatchers of the plain Python function ``fn`` (``cache=True``
    and ``flags``). The serial one is compiled from a renamed copy so that the two do not share a
    cache entry (Numba keys its cache file on the function's qualified name)."""
    par = nb.njit(cache=True, parallel=True, **flags)(fn)
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                              fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + "_serial"
    copy.__doc__ = fn.__doc__
    ser = nb.njit(cache=True, **flags)(copy)
    return par, ser


#: Calls of a tiered kernel (see :class:`Tier`) that its exact NumPy path answers before the
#: kernel compiles (or loads from Numba's cache) and takes over. 0: the kernel from the first call
#: (the kernel tests set that).
TIER_CALLS = 8


class Tier:
    """Compile-when-it-pays for a kernel that has a NumPy path giving BIT-IDENTICAL results (pure
    data movement such as im2col/col2im, or max-pooling's compare-and-take): the first
    :data:`TIER_CALLS` calls run the NumPy path, later ones the kernel.

    Why: a kernel costs ~0.3-1.3 s to compile and, even from a warm cache, Numba's import and
    first-load set-up cost ~0.9 s of CPU, while the NumPy path of these kernels is only ~1-5x
    slower per call (fractions of a millisecond on LeNet-sized layers). A short process (import
    + a few steps) then never touches Numba, a training loop switches after a few steps. Because
    both paths give the same bits, when the switch happens changes no result: runs stay
    bit-for-bit reproducible across processes and a resumed checkpoint continues exactly.
    Kernels whose NumPy twin rounds differently (reductions, optimizer updates) are never tiered."""

    __slots__ = ("name", "calls")

    def __init__(self, name):
        self.name, self.calls = name, 0

    def __repr__(self):
        return f"Tier({self.name!r}, calls={self.calls})"

    def kernel_due(self) -> bool:
        """True once the kernel should run (counts this call otherwise). Unlocked: a racing
        increment only shifts the switch by a call, which changes no result."""
        if self.calls >= TIER_CALLS:
            return True
        self.calls += 1
        return False


#: Held during every parallel kernel launch (one launch at a time per process).
LAUNCH_LOCK = threading.Lock()


class Locked:
    """A parallel dispatcher that is called with :data:`LAUNCH_LOCK` held (``.dispatcher`` is the
    Numba dispatcher itself)."""

    __slots__ = ("dispatcher",)

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher

    def __call__(self, *args, **kwargs):
        with LAUNCH_LOCK:
            return self.dispatcher(*args, **kwargs)


def pick(pair, elements, kind="elementwise"):
    """The parallel twin of ``pair`` (locked, see :class:`Locked`) when :func:`parallel_worth` says
    so for ``elements`` and Numba has more than one thread, else the serial one.

    With one Numba thread (``NUMBA_NUM_THREADS=1``, ``numba.set_num_threads(1)``) a parallel launch
    still hands the whole loop to a sleeping worker and waits for it: measured in the MLP
    784-512-256-10 step at one thread, that hand-off made the SGD update's wall time ~15% of the
    step while its CPU time was the same as serially. (``PARALLEL_MIN_ELEMENTS == 0`` forces the
    parallel twin regardless, for tests.)"""
    if parallel_worth(elements, kind) and (PARALLEL_MIN_ELEMENTS == 0 or nb.get_num_threads() > 1):
        return Locked(pair[0])
    return pair[1]
