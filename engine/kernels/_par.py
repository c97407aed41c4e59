"""Parallel and serial twins of one Numba kernel, chosen per call by problem size.

Every ``parallel=True`` launch hands the work to Numba's worker threads. With the ``workqueue``
layer (see ``engine/kernels/__init__.py``) the workers sleep between launches, and waking them
costs ~70-130 us per launch on the 2-core dev VM (vs ~2 us for OpenMP's spinning workers, which
however fight OpenBLAS's): a 2M-element batch-norm forward took 0.45 ms serial vs 0.41 ms on two
workqueue threads, and ResNet-20's batch norms (<= 0.5M elements) ran faster serially. So each
kernel is compiled twice from one source -- ``parallel=True`` and serial (``prange`` is ``range``)
-- and :func:`pick` runs the serial twin below :data:`PARALLEL_MIN_ELEMENTS`. Each twin compiles
lazily on its first use and is cached on disk under its own name.

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


#: Held during every parallel kernel launch (one launch at a time per process).
LAUNCH_LOCK = threading.Lock()


class Locked:
    """A parallel dispatcher that is called with :data:`LAUNCH_LOCK` held (``.dispatcher`` is the
    Numba dispatcher itself)."""

    __slots__ = ("dispatcher",)

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher

    def __call__(self, *args):
        with LAUNCH_LOCK:
            return self.dispatcher(*args)


def pick(pair, elements, scale=1):
    """The parallel twin (locked, see :class:`Locked`) for at least ``scale *``
    :data:`PARALLEL_MIN_ELEMENTS` elements, else the serial one (``scale`` > 1 for memory-bound
    kernels, which gain less from a second thread)."""
    return Locked(pair[0]) if elements >= scale * PARALLEL_MIN_ELEMENTS else pair[1]
