"""Fused optimizer updates: the machinery every optimizer's update rule runs on.

An optimizer's rule lives in its own file (``optim/adam.py``, ...) and is written twice, both
with the same *named* arguments:

* the **NumPy twin** (the readable reference, its docstring states the formula): it updates ONE
  tensor in place, e.g. ``adam_reference(param, grad, exp_avg, ..., step_size, beta1, ...)``;
* the **Numba kernel**: the same arithmetic per element, over *every* tensor of a parameter
  group in one parallel region. Each array argument (``param``, ``grad``, each state slot) is a
  vector of data addresses, one per tensor (:func:`view` turns ``address[t]`` and a range into an
  array); each per-tensor coefficient is a vector; hyper-parameters are scalars of the parameter
  dtype (float32 updates compute in float32, as PyTorch's fused kernels).

:class:`UpdateRule` ties the two together with the names of the state slots and per-tensor
coefficients; ``rule.update(param=[...], grad=[...], exp_avg=[...], step_size=[...], beta1=0.9,
...)`` validates every array, then runs the kernel (or the twin with ``backend="numpy"``, or when
an array is not a C-contiguous float32/float64 array of the parameter's dtype, or for the first
calls of a process when the rule is ``exact``: its twin gives the kernel's bits).

Work split: ``prange`` runs over chunks of :data:`CHUNK` elements of every tensor, so a single
10M tensor and a hundred 100k tensors both use all cores; small groups run the serial twin
(``_par.pick(..., kind="optimizer")``). Measured: building ``numba.typed.List`` costs the same
per step but adds ~0.5 s of compilation per process; one call per tensor is ~15% slower on
100 tensors.
"""
from __future__ import annotations

import numpy as np

from . import _par
from ._par import prange  # noqa: F401  (for the update kernels in optim/: numba.prange, lazily)

numba = _par.nb  # Numba, imported at the first kernel call (see _par)

#: Elements per parallel work item.
CHUNK = 1 << 16
#: Numba flags of every update kernel: no fastmath at all (never fastmath=True: NaN/Inf must
#: propagate; and without "contract" no FMA fuses a product into a sum, so a rule's NumPy twin
#: written in the kernel's order gives its bits: see ``UpdateRule(exact=True)``; the loops have no
#: reductions, so they vectorize without "reassoc"). ``error_model="numpy"``: a division by zero
#: gives inf/nan as in the NumPy twin (and PyTorch) instead of Numba's default Python model, whose
#: zero-divisor check on every ``/`` keeps the loop from vectorizing: Adam over 10M float32 took
#: 50 ms serially with it, 12 ms without (memory-bound).
FLAGS = dict(error_model="numpy")


# ---------------------------------------------------------------------------------- kernel helpers
def _make_ptr():
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _ptr(typingctx, addr, like):
        """Reinterpret an int64 address as a pointer to ``like``'s dtype."""
        sig = types.CPointer(like.dtype)(types.int64, like)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(types.CPointer(like.dtype)))
        return sig, codegen
    return _ptr


_ptr = _par.Lazy(make=_make_ptr)  # the intrinsic, made when the first update kernel is


@numba.njit(inline="always")
def view(addresses, t, lo, hi, sizes, like):
    """Elements ``lo:hi`` of tensor ``t`` of one slot (``addresses[t]`` is its data pointer)."""
    return numba.carray(_ptr(addresses[t], like), sizes[t])[lo:hi]


@numba.njit(cache=True)
def _find(cum, c):
    """The last ``t`` with ``cum[t] <= c`` (binary search; ``cum[0] <= c < cum[-1]``). Not inlined:
    inlined into the ``prange`` body, this loop kept LLVM from vectorizing the update loop
    (Adam on 10M floats: 45 vs 12 ms of CPU per step, measured)."""
    t, hi = 0, cum.shape[0] - 1  # invariant: cum[t] <= c < cum[hi]
    while hi - t > 1:
        mid = (t + hi) // 2
        if cum[mid] <= c:
            t = mid
        else:
            hi = mid
    return t


@numba.njit(inline="always")
def chunk(c, cum, sizes):
    """Work item ``c`` -> ``(t, lo, hi)``: tensor ``t``, elements ``lo:hi`` (``cum`` = cumulative
    chunk counts per tensor). A hand-written binary search (:func:`_find`): ``np.searchsorted``
    would pull Numba's generic searchsorted implementations into every update kernel (~1.3 s of a
    cold compile, measured)."""
    t = _find(cum, c)
    lo = (c - cum[t]) * CHUNK
    return t, lo, min(sizes[t], lo + CHUNK)


@numba.njit(inline="always")
def one(like):
    """1 in the parameters' dtype (``1 - beta`` in float32 stays float32: a bare ``1 - beta`` in
    Numba is float64, which would make float32 updates compute in float64)."""
    return like.dtype.type(1)


def kernel(fn):
    """Decorator of an update kernel: its ``(parallel, serial)`` Numba twins (``cache=True``,
    lazily compiled, :data:`FLAGS`)."""
    return _par.twins(fn, **FLAGS)


# ---------------------------------------------------------------------------------- the launcher
class Plan:
    """Address vectors of one group's stable arrays (params and state slots) and its chunking;
    only the gradients' addresses change between steps. Rebuilt whenever a stable array is a
    different object than last time."""

    def __init__(self, stable):
        self.stable = {k: list(v) for k, v in stable.items()}
        self.addresses = {k: np.array([a.ctypes.data for a in v], np.int64) for k, v in stable.items()}
        self.sizes = np.array([a.size for a in stable["param"]], np.int64)
        nchunks = np.maximum(1, (self.sizes + CHUNK - 1) // CHUNK)
        self.cum = np.concatenate([[0], np.cumsum(nchunks)]).astype(np.int64)
        self.total = int(self.sizes.sum())

    def matches(self, stable):
        return self.stable.keys() == stable.keys() and all(
            len(a) == len(b) and all(x is y for x, y in zip(a, b))
            for a, b in zip(self.stable.values(), stable.values()))


def _kernel_ready(arrays, dtype):
    return dtype in (np.float32, np.float64) and all(
        a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable for a in arrays)


class UpdateRule:
    """One optimizer's update rule: its Numba ``kernel`` (from :func:`kernel`), its NumPy
    ``reference`` twin, the names of its ``state`` slots (arrays shaped like the parameter, updated
    in place) and of its ``per_tensor`` coefficients (one number per tensor, e.g. a bias-corrected
    step size). Every other keyword of :meth:`update` is a hyper-parameter."""

    def __init__(self, name, kernel, reference, state=(), per_tensor=(), exact=False):
        self.name, self.kernel, self.reference = name, kernel, reference
        self.state, self.per_tensor = tuple(state), tuple(per_tensor)
        #: ``exact=True``: the twin gives the kernel's bits (tested), so a process's first calls run
        #: the twin and the kernel compiles only once it pays (``_par.Tier``).
        self.tier = _par.Tier(name) if exact else None

    def __repr__(self):
        return f"UpdateRule({self.name!r}, state={self.state}, per_tensor={self.per_tensor})"

    def update(self, *, param, grad, cache=None, backend="numba", **named):
        """Update every tensor of ``param`` (a list of ndarrays) in place with the gradients
        ``grad``; state slots are lists of arrays (``None`` for a slot the options leave unused),
        per-tensor coefficients are sequences of numbers, hyper-parameters are numbers or bools.
        ``cache`` (a dict kept by the optimizer) keeps the address plan between steps."""
        if backend not in ("numba", "numpy"):
            raise ValueError(f"{self.name}: backend must be 'numba' or 'numpy', got {backend!r}")
        missing = [k for k in self.state + self.per_tensor if k not in named]
        if missing:
            raise TypeError(f"{self.name}: missing arguments {missing}")
        state = {k: named.pop(k) for k in self.state}
        coef = {k: named.pop(k) for k in self.per_tensor}
        hyper = named
        if not param:
            return
        n = len(param)
        grad = list(grad)
        self._validate(param, grad, state, coef, n)  # (before param[0].dtype: param[0] may be no array)
        dt = param[0].dtype
        hyper = {k: (v if isinstance(v, (bool, np.bool_)) else dt.type(v)) for k, v in hyper.items()}
        used = {k: v for k, v in state.items() if v is not None}
        if (backend == "numpy" or not _kernel_ready([a for col in (param, *used.values()) for a in col], dt)
                or (self.tier is not None and not self.tier.kernel_due())):
            for t in range(n):
                self.reference(param=param[t], grad=grad[t].astype(dt, copy=False),
                               **{k: (None if v is None else v[t]) for k, v in state.items()},
                               **{k: dt.type(v[t]) for k, v in coef.items()}, **hyper)
            return
        # unused slots point at the parameter: valid memory that the kernel never touches
        stable = {"param": param, **{k: (param if v is None else v) for k, v in state.items()}}
        plan = cache.get(self.name) if cache is not None else None
        if plan is None or not plan.matches(stable):
            plan = Plan(stable)
            if cache is not None:
                cache[self.name] = plan
        grads = [g if (g.dtype == dt and g.flags.c_contiguous) else np.ascontiguousarray(g, dtype=dt)
                 for g in grad]
        run = _par.pick(self.kernel, plan.total, kind="optimizer")
        run(sizes=plan.sizes, cum=plan.cum, like=param[0].reshape(-1)[:1], **plan.addresses,
            grad=np.array([g.ctypes.data for g in grads], np.int64),
            **{k: np.asarray(v, dt) for k, v in coef.items()}, **hyper)
        del grads  # (kept alive through the call: the kernel reads them by address)

    def _validate(self, param, grad, state, coef, n):
        """Every list has one entry per tensor and every array the parameter's size: the kernel
        addresses them by raw pointer, so a wrong size must raise here, never overrun memory."""
        if len(grad) != n:
            raise ValueError(f"{self.name}: {len(grad)} gradients for {n} parameters")
        for t, (p, g) in enumerate(zip(param, grad)):
            if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray):
                raise TypeError(f"{self.name}: param and grad must be ndarrays (tensor {t})")
            if g.size != p.size:
                raise ValueError(f"{self.name}: gradient of shape {tuple(g.shape)} does not match "
                                 f"parameter of shape {tuple(p.shape)}")
            if p.dtype != param[0].dtype:
                raise ValueError(f"{self.name}: parameters of one call must share a dtype, got "
                                 f"{param[0].dtype} and {p.dtype}")
        for k, col in state.items():
            if col is None:
                continue
            if len(col) != n:
                raise ValueError(f"{self.name}: {k} has {len(col)} entries for {n} parameters")
            for t, (a, p) in enumerate(zip(col, param)):
                if not isinstance(a, np.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                    raise ValueError(f"{self.name}: {k}[{t}] must be an ndarray of shape {tuple(p.shape)} "
                                     f"and dtype {p.dtype}, got "
                                     f"{getattr(a, 'shape', type(a).__name__)} {getattr(a, 'dtype', '')}")
        for k, v in coef.items():
            if len(v) != n:
                raise ValueError(f"{self.name}: {k} has {len(v)} entries for {n} parameters")
