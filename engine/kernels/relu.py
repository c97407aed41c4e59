"""ReLU forward and backward on float32/float64 ndarrays, each one pass over memory.

    forward:   out = 0 where a < 0, else a            (-0.0 and NaN pass through, as PyTorch)
    backward:  grad = 0 where out <= 0, else g          (PyTorch's ``threshold_backward``: a NaN or
               infinite ``g`` where the input was clipped gives +0, and ``g`` passes where out is NaN)

The NumPy twins (``*_reference``) are what ``engine.ops.unary`` ran before: ``np.maximum(0, a)``
and, for the backward, a bit mask built in four passes (compare, not, negate, and). A select gives
the twins' bits, so the kernels are tiered (``_par.Tier``): the first calls of a process run the
twins and compile nothing. Serial: handing half of an array to a second thread cost more than it
saved. Measured (float32, median of 200 calls, warm cache, ms, twin -> kernel; forward | backward):

    32x16x32x32 (the ResNet's first stage)   0.26 -> 0.07 | 0.18 -> 0.10
    64x6x28x28  (LeNet-5's first ReLU)       0.14 -> 0.04 | 0.11 -> 0.05
    64x16x10x10 (LeNet-5's second ReLU)      0.05 -> 0.02 | 0.05 -> 0.02
"""
from __future__ import annotations

import numpy as np

from . import _par
from ._par import nb  # Numba, imported at the first kernel call

# The loops run over range(n), not over an index range (lo, hi): such indices could be negative for
# all Numba knows, and its wrap-around test per element kept the loop from vectorizing (8x slower).
@nb.njit(cache=True, nogil=True)
def _forward(a, out):
    """out[i] = 0 if a[i] < 0 else a[i] (flat arrays)."""
    for i in range(a.size):
        v = a[i]
        out[i] = 0 if v < 0 else v


@nb.njit(cache=True, nogil=True)
def _backward(g, out, grad):
    """grad[i] = 0 if out[i] <= 0 else g[i] (flat arrays)."""
    for i in range(g.size):
        grad[i] = 0 if out[i] <= 0 else g[i]


def relu_reference(a):
    """Twin of :func:`relu`: ``np.maximum(+0, a)``, which returns ``a`` on a tie (-0.0 stays -0.0)
    and propagates a NaN of ``a``."""
    return np.maximum(np.zeros((), a.dtype), a)


def relu_backward_reference(g, out):
    """Twin of :func:`relu_backward`: the bits of ``g`` AND an all-ones mask where not
    ``out <= 0``, all-zeros elsewhere (so a clipped NaN/inf ``g`` gives +0, not NaN)."""
    itype = np.int32 if g.dtype == np.float32 else np.int64
    keep = np.logical_not(out <= 0)
    mask = np.negative(keep.view(np.int8), out=np.empty(g.shape, itype))  # -1 (all ones) or 0
    return np.bitwise_and(g.view(itype), mask, out=mask).view(g.dtype)


_TIER = _par.Tier("relu")


def _check(fn, **arrays):
    """Raise unless every array is a float32/float64 ndarray of the first one's shape and dtype."""
    first_name, first = next(iter(arrays.items()))
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{fn}: {name} must be a float32/float64 ndarray, got "
                            f"{getattr(a, 'dtype', type(a).__name__)}")
        if a.shape != first.shape or a.dtype != first.dtype:
            raise ValueError(f"{fn}: {first_name} {first.shape} {first.dtype} and {name} {a.shape} "
                             f"{a.dtype} must have the same shape and dtype")


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


def relu(a):
    """``max(a, 0)`` elementwise as PyTorch (-0.0 and NaN pass through), in ``a``'s dtype."""
    _check("relu", a=a)
    if not _TIER.kernel_due():
        return relu_reference(a)
    out = np.empty(a.shape, a.dtype)
    _forward(_flat(a), out.reshape(-1))
    return out


def relu_backward(g, out):
    """The gradient of :func:`relu` given its output ``out``: ``g`` where not ``out <= 0``, else +0."""
    _check("relu_backward", g=g, out=out)
    if not _TIER.kernel_due():
        return relu_backward_reference(g, out)
    grad = np.empty(g.shape, g.dtype)
    _backward(_flat(g), _flat(out), grad.reshape(-1))
    return grad
