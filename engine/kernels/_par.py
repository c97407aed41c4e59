"""Parallel and serial twins of one Numba kernel, chosen per call by problem size.

Every ``parallel=True`` launch hands the work to Numba's worker threads. With the ``workqueue``
layer (see ``engine/kernels/__init__.py``) the workers sleep between launches, and waking them
costs ~70-130 us per launch on the 2-core dev VM (vs ~2 us for OpenMP's spinning workers, which
however fight OpenBLAS's): a 2M-element batch-norm forward took 0.45 ms serial vs 0.41 ms on two
workqueue threads, and ResNet-20's batch norms (<= 0.5M elements) ran faster serially. So each
kernel is compiled twice from one source -- ``parallel=True`` and serial (``prange`` is ``range``)
-- and :func:`pick` runs the serial twin below :data:`PARALLEL_MIN_ELEMENTS`. Each twin compiles
lazily on its first use and is cached on disk under its own name.
"""
from __future__ import annotations

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


def pick(pair, elements, scale=1):
    """The parallel twin for at least ``scale *`` :data:`PARALLEL_MIN_ELEMENTS` elements, else the
    serial one (``scale`` > 1 for memory-bound kernels, which gain less from a second thread)."""
    return pair[0] if elements >= scale * PARALLEL_MIN_ELEMENTS else pair[1]
