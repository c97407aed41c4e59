"""Per-call BLAS parallelism: small GEMMs run on one OpenBLAS thread. Every matrix product of the
library goes through here (convolutions, ``F.linear``, ``matmul`` and its kin, via :func:`product`).

OpenBLAS (NumPy's BLAS) goes multi-threaded once ``M*N*K`` passes ~0.26M multiply-adds, far below
the size where a second thread pays off for the skinny GEMMs of convolutions. Measured on the
2-core dev box (float32, min / median of 30 calls, ms, 1 thread vs 2 threads):

    6x25x50176   (LeNet conv1 dW,  7.5M MAC)   0.28 / 0.28   vs  4.0 / 8.0
    16x150x6400  (LeNet conv2 dW, 15.4M MAC)   0.37 / 0.40   vs  1.8 / 16.0
    64x576x2048  (ResNet 8x8 conv, 75M MAC)    1.64 / 1.71   vs  0.81 / 0.87

The two-thread runs wait for the second thread at every call; on a busy machine that wait is a
scheduler tick (4 ms), whence the medians. And after a two-thread call OpenBLAS's worker spins for
a while (up to 2^28 cycles) on a core that the next convolution's chunk threads need: in the
LeNet-5 step, whose three Linear layers (3.1M multiply-adds and less) ran on two BLAS threads, the
convolution chunks lost ~3.7 ms per step waiting for a core (measured: wall vs thread CPU time of
one copy in each chunk); with every product routed here, 0.5 ms, and the step 13.5 -> 12.1 ms
(median of 8 alternating fresh-process runs each, faster in 8 of 8).

:func:`matmul` is ``np.matmul`` that, unless ``_par.parallel_worth(macs, "gemm")`` (the project's
one threshold mechanism, ~12.6M multiply-adds),
runs with OpenBLAS limited to one thread and then restores the previous count
(it never raises the count and never changes it outside the call; a nesting counter under a lock
makes concurrent callers restore the user's value, not each other's). Other libraries' BLAS
calls made *during* such a call from another thread would also see one thread (a speed effect
only). If NumPy's BLAS is not an OpenBLAS this module finds, ``matmul`` is plain ``np.matmul``.
"""
from __future__ import annotations

import ctypes
import threading

import numpy as np

from . import _par

_lock = threading.Lock()
_state = {"depth": 0, "saved": None}
_api = None  # (get, set) ctypes functions, False if unavailable, None before the first lookup


def _find_openblas():
    try:
        from threadpoolctl import ThreadpoolController

        libs = [c for c in ThreadpoolController().lib_controllers
                if c.internal_api == "openblas" and "numpy" in c.filepath]
    except Exception:  # noqa: BLE001  (threadpoolctl missing or failing: no per-call control)
        return False
    if not libs:
        return False
    lib = ctypes.CDLL(libs[0].filepath)
    for pre in ("scipy_", ""):
        for suf in ("64_", ""):
            try:
                get = getattr(lib, f"{pre}openblas_get_num_threads{suf}")
                set_ = getattr(lib, f"{pre}openblas_set_num_threads{suf}")
            except AttributeError:
                continue
            get.restype, get.argtypes = ctypes.c_int, []
            set_.restype, set_.argtypes = None, [ctypes.c_int]
            return get, set_
    return False


def _openblas():
    global _api
    if _api is None:
        _api = _find_openblas()
    return _api


def matmul(a, b, out=None, one_thread=False):
    """``np.matmul(a, b, out=out)``; on one BLAS thread when each product is small (see module doc)
    or ``one_thread`` (callers that run several products side by side on their own threads).

    A stacked product (e.g. Winograd's 16 GEMMs) is one BLAS call per matrix, each waiting for
    the second thread on its own: the threshold applies to one matrix product, M*N*K, not to the
    stack (measured under load: 16 products of 64x64x1024 took 0.57 s on two threads)."""
    m = a.shape[-2] if a.ndim > 1 else 1  # a 1-D operand is one row (a) or one column (b)
    k = a.shape[-1] if a.ndim else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    if not one_thread and _par.parallel_worth(m * n * k, "gemm"):
        return np.matmul(a, b, out=out)
    api = _openblas()
    if not api:
        return np.matmul(a, b, out=out)
    get, set_ = api
    with _lock:
        if _state["depth"] == 0:
            _state["saved"] = get()
        _state["depth"] += 1
        if _state["saved"] > 1:
            set_(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["saved"] > 1:
                set_(_state["saved"])


def product(a, b):
    """``a @ b``: :func:`matmul` when both are ndarrays, else the operands' own ``@`` (an op's
    backward under ``create_graph`` gets graph values, whose product must be recorded)."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return matmul(a, b)
    return a @ b
