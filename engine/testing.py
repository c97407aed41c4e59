"""Hypothesis strategies and a gradient assertion for your own property tests.

Mirrors ``hypothesis.extra.numpy`` (``array_shapes``, ``broadcastable_shapes``, ``arrays``) but
draws gradbricks ``Tensor``\\ s, and adds ``assert_gradients_match``, which compares a function's
backward with central finite differences (``engine.gradcheck``) and fails with a readable
``AssertionError``. ``import engine`` does not import this module (nor Hypothesis); import it
explicitly in your tests.

A complete example (save as ``test_my_brick.py`` and run ``pytest``)::

    import numpy as np
    from hypothesis import given, settings, strategies as st

    import engine
    from engine import Function
    from engine.testing import assert_gradients_match, broadcastable_shapes, shapes, tensors


    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x


    @settings(deadline=None, max_examples=25)
    @given(tensors(shape=shapes(max_dims=3, max_side=4)))
    def test_cube_forward_and_gradient(x):
        np.testing.assert_allclose(Cube.apply(x)._data, x._data ** 3)
        assert_gradients_match(Cube.apply, x)          # non-scalar output: every element checked


    @settings(deadline=None, max_examples=25)
    @given(st.data())
    def test_scaled_cube_broadcasts(data):
        a = data.draw(tensors(shape=shapes(max_dims=3, max_side=3)))
        b = data.draw(tensors(shape=broadcastable_shapes(a.shape, max_dims=3, max_side=3)))
        assert_gradients_match(lambda a, b: Cube.apply(a) * b, a, b)

Keep shapes small in gradient checks: finite differences evaluate the function twice per input
element.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor
from .variable import Variable

__all__ = ["shapes", "broadcastable_shapes", "tensors", "assert_gradients_match"]


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


def _default_elements(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                         width=min(64, dtype.itemsize * 8))
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else -10
        return st.integers(lo, 10)
    raise TypeError(f"tensors: unsupported dtype {dtype}")


@st.composite
def _tensors(draw, shape, dtype, elements, requires_grad):
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    elif isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if elements is None:
        elements = _default_elements(dtype)
    arr = np.array(draw(hnp.arrays(dtype, shape, elements=elements)), dtype=dtype, copy=True)
    t = Tensor(arr)
    if requires_grad and np.dtype(dtype).kind == "f":
        t.requires_grad_(True)
    return t


def tensors(shape=None, dtype=np.float64, elements=None, requires_grad=True):
    """A strategy for ``Tensor``\\ s.

    ``shape``: a tuple, an int, a strategy for shapes (e.g. ``shapes(max_dims=2)``), or None
    for a random shape from ``shapes()``. ``dtype``: a NumPy dtype (float64 by default: what
    ``assert_gradients_match`` needs). ``elements``: a strategy for the values; by default
    finite floats in [-3, 3] (no NaN/Inf, no subnormals), integers in [-10, 10] or booleans.
    ``requires_grad``: set on floating tensors (integer and bool tensors never require grad).
    Each drawn tensor owns a fresh array (no sharing between examples).
    """
    return _tensors(shape, np.dtype(dtype), elements, requires_grad)


def assert_gradients_match(fn, *tensors, atol=1e-5, rtol=1e-3, eps=1e-6, fast_mode=False):
    """Assert that the backward of ``fn(*tensors)`` matches central finite differences.

    ``fn`` may return a Tensor of any shape (every output element is checked; ``fast_mode=True``
    checks one random projection instead) or a tuple of Tensors. Floating inputs that require
    grad but are not float64 are checked on float64 copies. Raises ``AssertionError`` naming
    the function, the input shapes, the offending input and element, and both values.
    """
    args = []
    for t in tensors:
        if (isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64):
            t = Tensor(t._data.astype(np.float64), requires_grad=True)
        args.append(t)
    if not any(isinstance(a, Variable) and a.requires_grad for a in args):
        raise AssertionError("assert_gradients_match: no input requires grad (pass tensors made "
                             "with requires_grad=True)")
    try:
        gradcheck(fn, args, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    except GradcheckError as e:
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, type):  # MyFunction.apply
            name = f"{owner.__name__}.{fn.__name__}"
        else:
            name = getattr(fn, "__qualname__", None) or repr(fn)
        shapes_ = ", ".join(str(tuple(getattr(a, "shape", ()))) if isinstance(a, Variable)
                            else type(a).__name__ for a in args)
        raise AssertionError(f"gradients of {name} do not match finite differences for inputs of "
                             f"shapes [{shapes_}]:\n{e}") from None
