"""Hypothesis strategies that draw gradbricks values: shapes, dtypes, elements and Tensors.

They mirror ``hypothesis.extra.numpy`` (``array_shapes``, ``broadcastable_shapes``,
``floating_dtypes``, ``from_dtype``, ``arrays``) but speak the engine's dtypes and draw Tensors.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor

__all__ = ["shapes", "broadcastable_shapes", "dtypes", "elements", "tensors"]

_FLOATING = (np.dtype(np.float32), np.dtype(np.float64))
_INTEGER = (np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8))
_BOOLEAN = (np.dtype(np.bool_),)


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """A strategy for shape tuples with ``min_dims..max_dims`` dimensions, each of size
    ``min_side..max_side`` (``()``, a 0-d shape, is included when ``min_dims == 0``)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(shape, min_dims=0, max_dims=4, min_side=1, max_side=5):
    """A strategy for shapes that broadcast with ``shape`` (NumPy rules): trailing dimensions
    equal to ``shape``'s or 1, and possibly fewer or more dimensions than ``shape``.
    ``np.broadcast_shapes(shape, drawn)`` never fails."""
    shape = tuple(int(s) for s in shape)
    return hnp.broadcastable_shapes(shape, min_dims=min_dims, max_dims=max_dims,
                                    min_side=min_side, max_side=max_side)


def dtypes(floating=True, integer=False, boolean=False):
    """A strategy for the NumPy dtypes Tensors hold: floating (float32, float64), integer
    (int32, int64, uint8) and bool, as selected. Shrinks towards float32, the default dtype."""
    choices = ((_FLOATING if floating else ()) + (_INTEGER if integer else ())
               + (_BOOLEAN if boolean else ()))
    if not choices:
        raise ValueError("dtypes: select at least one of floating, integer, boolean")
    return st.sampled_from(choices)


def elements(dtype, finite=True, min_value=None, max_value=None):
    """A strategy for single values of ``dtype``: floats representable in that width (no
    subnormals; NaN and ±Inf too when ``finite=False``), integers within the dtype's range,
    or booleans. ``min_value``/``max_value`` bound numbers (inclusive; a bound the width cannot
    represent is rounded inwards); with bounds, ``finite=False`` adds NaN but no infinities."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        width = min(64, dtype.itemsize * 8)
        ftype = {16: np.float16, 32: np.float32}.get(width, np.float64)  # what st.floats draws
        bounded = min_value is not None or max_value is not None
        # bounds must be representable in the width (a float16/32 bound, or an integer beyond
        # 2**53 for float64): round them inwards
        if min_value is not None:
            lo = ftype(min_value)
            min_value = float(lo if float(lo) >= min_value else np.nextafter(lo, ftype(np.inf)))
        if max_value is not None:
            hi = ftype(max_value)
            max_value = float(hi if float(hi) <= max_value else np.nextafter(hi, ftype(-np.inf)))
        numbers = st.floats(min_value=min_value, max_value=max_value, width=width,
                            allow_nan=(not finite) and not bounded,
                            allow_infinity=(not finite) and not bounded, allow_subnormal=False)
        if bounded and not finite:  # bounds bound the numbers; NaN is drawn besides them
            return numbers | st.just(float("nan"))
        return numbers
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = info.min if min_value is None else max(info.min, int(np.ceil(min_value)))
        hi = info.max if max_value is None else min(info.max, int(np.floor(max_value)))
        return st.integers(lo, hi)
    raise TypeError(f"elements: unsupported dtype {dtype} (floating, integer or bool expected)")


def _default_elements(dtype, unique=False):
    """What ``tensors`` draws by default: moderate finite values that finite differences like;
    with ``unique``, points of the grid k/256 + 1/1024 in [-3, 3] (distinct values at least
    0.0039 apart, none at 0: no ties for max/sort, no kinks of relu/abs/clamp within ε)."""
    dtype = np.dtype(dtype)
    if unique and dtype.kind == "f":
        return st.integers(-768, 767).map(lambda k: k / 256 + 1 / 1024)
    if dtype.kind == "f":
        return elements(dtype, min_value=-3.0, max_value=3.0)
    if dtype.kind in "iu":
        return elements(dtype, min_value=-10, max_value=10)
    return elements(dtype)


@st.composite
def _tensors(draw, shape, dtype, elements_, requires_grad, unique):
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    elif isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if isinstance(dtype, st.SearchStrategy):
        dtype = draw(dtype)
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    elems = _default_elements(dtype, unique) if elements_ is None else elements_
    arr = np.array(draw(hnp.arrays(dtype, shape, elements=elems, unique=unique)), dtype=dtype,
                   copy=True)
    t = Tensor(arr)
    if requires_grad and dtype.kind == "f":
        t.requires_grad_(True)
    return t


def tensors(shape=None, dtype=np.float64, elements=None, requires_grad=True, unique=False):
    """A strategy for ``Tensor``\\ s.

    ``shape``: a tuple, an int, a strategy for shapes (e.g. ``shapes(max_dims=2)``), or None
    for a random shape from ``shapes()``. ``dtype``: a NumPy dtype or a strategy for one (e.g.
    ``dtypes()``); float64 by default, what gradient checks need. ``elements``: a strategy for
    the values; by default finite floats in [-3, 3] (no NaN/Inf, no subnormals), integers in
    [-10, 10] or booleans. ``requires_grad``: set on floating tensors (integer and bool tensors
    never require grad). ``unique``: all elements distinct (by default from a grid that keeps
    them apart and away from 0, so max-pooling, sorting and kinks see no ties within finite
    differences' reach). Each drawn tensor owns a fresh array (no sharing between examples).
    """
    if not isinstance(dtype, st.SearchStrategy):
        dtype = np.dtype(dtype)
    return _tensors(shape, dtype, elements, requires_grad, bool(unique))
