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

from . import choose_threading_layer

#: Kernels touching fewer elements than this run serially (no thread hand-off).
PARALLEL_MIN_ELEMENTS = 1 << 20

#: Per kind of work, the multiple of PARALLEL_MIN_ELEMENTS from which the parallel twin runs.
WORK_SCALE = {
    # pooling, im2col/col2im: one pass that does some index arithmetic per element
    "elementwise": 1.0,
    # batch norm, whose channel halves run on _threads threads (see batchnorm.py): measured fwd /
    # bwd, serial -> two threads: 32x32x32x32 (1M) 498/836 -> 424/562 us; 32x16x32x32 (0.5M)
    # 274/431 -> 300/358 (the ~0.1 ms hand-off eats the gain). The workqueue twins it replaced
    # started at 4.0 (4M elements) and lost to the serial kernel below that
    "memory_bound": 1.0,
    # fused optimizer updates: a few flops and 4-5 streams per element, ~1 ns per element serially,
    # so below ~256k elements the ~100 us workqueue wake-up costs more than the second thread saves
    # (profile of the LeNet b=4 loop, 62k parameters: SGD's parallel launch was 40% of the step)
    "optimizer": 1 / 4,
    # OpenBLAS GEMM, counted in multiply-adds M*N*K (see _blas): ~12.6M. The MLP 784-512-256-10's
    # 16.8M products run 0.35 -> 0.30 ms on two threads (min of 60); LeNet's 3.1M Linear products
    # 0.07 -> 0.08-0.12, and each two-thread call leaves OpenBLAS's worker spinning on a core
    "gemm": 12.0,
    # a convolution's sample chunks side by side on Python threads (_threads: one hand-off per
    # call, no BLAS sync), counted in multiply-adds of the whole call: ~8M. At the "gemm" row's
    # 24M the digits CNN's 64x32x8x8 Winograd conv ran on one thread (fwd+bwd 4.6-6.5 ms vs
    # 3.3-4.0 ms on two); one fit epoch of that CNN 310-349 ms -> 208-330 ms, LeNet-5 and the
    # ResNet step a tie (3 fresh-interpreter runs each, shared machine)
    "chunks": 8.0,
}


def parallel_worth(work, kind="elementwise") -> bool:
    """True when ``work`` (elements, or multiply-adds for ``kind="gemm"`` and ``"chunks"``) is at least
    ``WORK_SCALE[kind] * PARALLEL_MIN_ELEMENTS``."""
    return work >= WORK_SCALE[kind] * PARALLEL_MIN_ELEMENTS


# ----------------------------------------------------------------------------- Numba, lazily
# Importing Numba costs ~0.5 s of CPU and its first kernel load ~0.4 s more, so no module of the
# library imports it at import time: kernel modules write ``nb = _par.nb`` (a stand-in whose
# ``nb.njit`` decorates lazily) and ``prange = _par.prange``, and a kernel's dispatcher is made at
# its first call from a copy of the function whose stand-ins and lazy helpers are replaced by the
# real objects (:func:`_rebind`). Same source, same ``cache=True`` cache entries as before.
_NUMBA = []
_MAKE_LOCK = threading.RLock()


def numba_module():
    """The ``numba`` module, imported on first use (with the package's threading-layer choice)."""
    if not _NUMBA:
        import numba

        choose_threading_layer(numba)
        _NUMBA.append(numba)
    return _NUMBA[0]


class Stand:
    """Stands for ``numba`` (``attr=None``) or one of its attributes in a kernel module until a
    kernel is made; attribute access and calls resolve to the real object (importing Numba), except
    ``njit``, which decorates lazily (:func:`njit`)."""

    __slots__ = ("attr",)

    def __init__(self, attr=None):
        self.attr = attr

    def resolve(self):
        m = numba_module()
        return m if self.attr is None else getattr(m, self.attr)

    def __getattr__(self, name):
        if name == "njit" and self.attr is None:
            return njit
        return getattr(self.resolve(), name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self):
        return f"<stand-in for numba{'' if self.attr is None else '.' + self.attr}>"


#: ``numba`` and ``numba.prange`` for kernel modules (see the comment above).
nb, prange = Stand(), Stand("prange")


class Lazy:
    """A Numba dispatcher (``njit(**flags)`` of ``py_func``, or whatever ``make()`` returns, e.g.
    an ``@intrinsic``) made on first use; calling it calls the dispatcher."""

    def __init__(self, py_func=None, flags=None, make=None):
        self.py_func, self.flags, self.make, self._made = py_func, dict(flags or {}), make, None
        src = py_func or make
        self.__doc__, self.__name__ = src.__doc__, src.__name__
        self.__qualname__, self.__module__ = src.__qualname__, src.__module__

    @property
    def dispatcher(self):
        """The Numba object (made now if needed)."""
        if self._made is None:
            with _MAKE_LOCK:
                if self._made is None:
                    self._made = self.make() if self.make else numba_module().njit(**self.flags)(_rebind(self.py_func))
        return self._made

    @property
    def made(self) -> bool:
        """True once the dispatcher exists (it may still have compiled nothing)."""
        return self._made is not None

    def __call__(self, *args, **kwargs):
        return self.dispatcher(*args, **kwargs)

    def __repr__(self):
        return f"<lazy Numba kernel {self.__qualname__}{'' if self.made else ' (not made)'}>"


def njit(*args, **flags):
    """``numba.njit`` that makes the dispatcher at first use: ``@njit(cache=True)`` or ``@njit``."""
    if args and callable(args[0]) and not flags:
        return Lazy(args[0])
    return lambda fn: Lazy(fn, flags)


def _resolved(v):
    if isinstance(v, Stand):
        return v.resolve()
    if isinstance(v, Lazy):
        return v.dispatcher
    return v


def _rebind(fn, name=None):
    """A copy of ``fn`` (renamed to ``name``) whose globals see the real Numba objects: the module's
    globals, with every stand-in or :class:`Lazy` that the code names replaced by what it stands for."""
    g = dict(fn.__globals__)
    for k in fn.__code__.co_names:
        if k in g:
            g[k] = _resolved(g[k])
    copy = types.FunctionType(fn.__code__, g, name or fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ if name is None else fn.__qualname__[:-len(fn.__name__)] + name
    copy.__doc__, copy.__module__ = fn.__doc__, fn.__module__
    return copy


class Twins:
    """``(parallel, serial)`` dispatchers of one kernel, made on first use (index or unpack it)."""

    __slots__ = ("py_func", "flags", "_pair")

    def __init__(self, fn, flags):
        self.py_func, self.flags, self._pair = fn, flags, None

    def _get(self):
        if self._pair is None:
            with _MAKE_LOCK:
                if self._pair is None:
                    jit = numba_module().njit
                    fn = self.py_func
                    self._pair = (jit(cache=True, parallel=True, **self.flags)(_rebind(fn)),
                                  jit(cache=True, **self.flags)(_rebind(fn, fn.__name__ + "_serial")))
        return self._pair

    @property
    def made(self) -> bool:
        """True once the two dispatchers exist."""
        return self._pair is not None

    def __getitem__(self, i):
        return self._get()[i]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return 2


def twins(fn, **flags):
    """``(parallel, serial)`` Numba dispatchers of the plain Python function ``fn`` (``cache=True``
    and ``flags``), made at first use (:class:`Twins`). The serial one is compiled from a renamed
    copy so that the two do not share a cache entry (Numba keys its cache file on the function's
    qualified name)."""
    return Twins(fn, flags)


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
