"""Checks at the kernels' Python boundary: a Numba kernel indexes without bounds checks (and the
optimizer kernels by raw address), so every public kernel function validates its arrays here
first and raises ``ValueError`` naming the function, the argument and the shapes (as tuples)."""
from __future__ import annotations

import numpy as np


def float_array(a, fn, name, dtype=None):
    """``a`` as a C-contiguous float32/float64 array (``dtype`` if given; other dtypes become
    float32)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    return a


def shape_4d(shape, fn, name):
    """``shape`` as a tuple of four non-negative ints, or ValueError."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{fn}: {name} must be a 4-D shape (N, C, H, W), got {shape}")
    return shape


def expect_shape(a, shape, fn, name):
    """Raise ValueError unless ``a.shape == shape``."""
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{fn}: {name} has shape {tuple(a.shape)}, expected {tuple(shape)}")
