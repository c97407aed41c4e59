"""Comparisons and truth reductions with PyTorch's functional names: ``eq ne gt lt ge le``
(elementwise, bool result) and ``any all`` over ``dim``; none carries a gradient."""
from __future__ import annotations

import numpy as np

from ..dtypes import promote_pair
from ..function import Variable
from ._util import normalize_dims


def _arr(x):
    return x.numpy() if isinstance(x, Variable) else x


def _compare(fn, name, input, other):  # noqa: A002
    """``fn(input, other)`` computed in PyTorch's promoted dtype (``engine.result_type``: a float32
    tensor compares with a 0-d float64 tensor in float32), as a bool tensor of input's class."""
    a, b = _arr(input), _arr(other)
    try:
        a, b = promote_pair(a, b)
    except TypeError:
        pass  # not numbers (a list, None): NumPy's own comparison
    try:
        return input._wrap(np.asarray(fn(a, b)))
    except ValueError:
        raise RuntimeError(f"{name}(): shapes {tuple(np.shape(a))} and {tuple(np.shape(b))} cannot "
                           f"be broadcast together") from None


def eq(input, other):  # noqa: A002
    """input == other elementwise (bool tensor)."""
    return _compare(np.equal, "eq", input, other)


def ne(input, other):  # noqa: A002
    """input != other elementwise (bool tensor)."""
    return _compare(np.not_equal, "ne", input, other)


def gt(input, other):  # noqa: A002
    """input > other elementwise (bool tensor)."""
    return _compare(np.greater, "gt", input, other)


def lt(input, other):  # noqa: A002
    """input < other elementwise (bool tensor)."""
    return _compare(np.less, "lt", input, other)


def ge(input, other):  # noqa: A002
    """input >= other elementwise (bool tensor)."""
    return _compare(np.greater_equal, "ge", input, other)


def le(input, other):  # noqa: A002
    """input <= other elementwise (bool tensor)."""
    return _compare(np.less_equal, "le", input, other)


def _truth(fn, input, dim, keepdim):  # noqa: A002

    a = _arr(input)
    a = np.asarray(a)
    axes = None if dim is None else normalize_dims(dim, a.ndim)  # range-checked even when 0-d
    if a.ndim == 0 and axes is not None:
        axes = ()  # a 0-d tensor's dim 0 / -1 (as PyTorch) is no NumPy axis
    return input._wrap(np.asarray(fn(a, axis=axes, keepdims=bool(keepdim))))


def any(input, dim=None, keepdim=False):  # noqa: A001,A002
    """True if any element (over ``dim``; all dims when None) is non-zero (bool tensor)."""
    return _truth(np.any, input, dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001,A002
    """True if every element (over ``dim``; all dims when None) is non-zero (bool tensor)."""
    return _truth(np.all, input, dim, keepdim)
