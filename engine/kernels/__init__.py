"""Numba-jitted ndarray kernels for the heavy nn ops (conv, pool, batch-norm, softmax/xent).

Each module exposes plain-ndarray forward/backward functions plus a plain-NumPy reference twin
(``*_reference``) that the tests compare against. Kernels are ``numba.njit(cache=True)`` without
signatures, so they compile lazily on first call: importing this package compiles nothing.
Import the submodules explicitly, e.g. ``from engine.kernels import conv``.
"""
