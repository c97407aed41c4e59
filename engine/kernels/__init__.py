"""Numba-jitted ndarray kernels for the heavy nn ops (conv, pool, batch-norm, softmax/xent).

Each module exposes plain-ndarray forward/backward functions plus a plain-NumPy reference twin
(``*_reference``) that the tests compare against. Kernels are ``numba.njit(cache=True)`` without
signatures, so they compile lazily on first call: importing this package compiles nothing, and
it does not even import Numba (``_par.njit``/``_par.twins`` make the dispatchers at first use:
Numba's import and set-up cost ~0.9 s of CPU that a short process need not pay).
Import the submodules explicitly, e.g. ``from engine.kernels import conv``.

Threading layer. A training step alternates Numba ``parallel`` kernels (batch norm, pooling, ...)
with OpenBLAS GEMMs (conv, linear). Both libraries keep their own worker threads, and with Numba's
default OpenMP layer the GOMP workers spin-wait after each parallel region while the OpenBLAS
workers spin-wait after each GEMM: the two pools steal the cores from each other (measured on the
2-core dev box: a batch-norm forward took ~4 ms inside a ResNet-20 step vs ~1 ms alone; the whole
step ran 3.0x PyTorch with 'omp' and ~1.6x with 'workqueue'). So unless the user chose a layer
(``NUMBA_THREADING_LAYER`` in the environment, or ``numba.config.THREADING_LAYER`` set before
importing this package), we select Numba's ``workqueue`` layer, whose workers sleep on a condition
variable between launches. The choice only takes effect if no Numba parallel kernel has run yet
in the process (Numba fixes the layer at the first launch), and it changes no thread count.
Caveat of ``workqueue``: Numba aborts if two threads launch parallel kernels *concurrently*; our
kernels hold the GIL, so that can only happen with the user's own ``nogil=True, parallel=True``
code running in another thread -- such users should set ``NUMBA_THREADING_LAYER=tbb`` (or omp).
"""
from __future__ import annotations

import os as _os
import sys as _sys

#: The Numba threading layer this package asks for when the user has not chosen one.
PREFERRED_THREADING_LAYER = "workqueue"


def choose_threading_layer(numba) -> None:
    """Ask ``numba`` for :data:`PREFERRED_THREADING_LAYER` unless the user chose a layer. Called
    when this package imports Numba (lazily, at the first kernel: see ``_par.numba_module``), and
    right away if Numba is already imported."""
    if "NUMBA_THREADING_LAYER" not in _os.environ and str(numba.config.THREADING_LAYER).lower() == "default":
        numba.config.THREADING_LAYER = PREFERRED_THREADING_LAYER


if "numba" in _sys.modules:
    choose_threading_layer(_sys.modules["numba"])
