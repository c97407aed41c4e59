"""Tensor factories with PyTorch's names: ``tensor zeros ones full empty arange linspace eye rand
randn randint randperm`` and the ``*_like`` forms. Each takes ``device=`` (only the CPU exists:
another device raises ``RuntimeError``, see ``engine.device``)."""
from __future__ import annotations

import math

import numpy as np

from . import dtypes
from .device import check_device
from .random import generator
from .tensor import Tensor


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _make(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float(dtype):
    return np.dtype(dtype) if dtype is not None else dtypes.get_default_dtype()


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (lists, numbers, ndarrays, Tensors)."""
    check_device(device)
    arr = np.array(dtypes.to_array(data, dtype), copy=True)
    return _make(arr, requires_grad)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing ``arr``'s memory and dtype."""
    return Tensor(arr)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is an ndarray of that dtype."""
    check_device(device)
    return data if isinstance(data, Tensor) and dtype is None else Tensor(data, dtype=dtype)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros."""
    check_device(device)
    return _make(np.zeros(_shape(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    check_device(device)
    return _make(np.ones(_shape(size), dtype=_float(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value`` (float32 for floats, int64 for ints, as PyTorch)."""
    check_device(device)
    if dtype is None:
        dtype = dtypes.to_array(fill_value).dtype
    return _make(np.full(tuple(size), fill_value, dtype=dtype), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor."""
    check_device(device)
    return _make(np.empty(_shape(size), dtype=_float(dtype)), requires_grad)


def _check_range(start, end, step):
    """PyTorch's checks of arange's arguments (on their values as floats): a non-zero step,
    finite bounds, and bounds in the step's direction (NumPy would give an empty tensor)."""
    lo, hi, by = float(start), float(end), float(step)
    if by == 0:
        raise RuntimeError("arange: step must be nonzero")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end}")
    if (by > 0 and hi < lo) or (by < 0 and hi > lo):
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")


def _integer_arange(start, end, step, dtype):
    """torch.arange for an integer ``dtype`` with floating arguments: start and step are truncated
    to integers (toward zero) and the values are start + i·step; the length is computed from the
    truncated integers for int64 (where a step truncated to 0 raises ValueError, as torch), and
    as ceil((end − start) / step) from the given values for the other integer dtypes."""
    first, last, by = int(start), int(end), int(step)
    if dtype == np.int64:
        if by == 0:
            raise ValueError(f"arange: step must be nonzero (step={step} truncates to 0 for int64)")
        sign = 1 if by > 0 else -1
        n = abs(last - first + by - sign) // abs(by)   # numerator and step share their sign
    else:
        n = math.ceil((float(end) - float(start)) / float(step))
    return (first + np.arange(n, dtype=np.int64) * by).astype(dtype)   # wraps as torch's cast


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values start, start+step, … < end (int64 for integer arguments, else float32). With an
    integer ``dtype`` and floating arguments, torch's truncating rules (``_integer_arange``)."""
    check_device(device)
    if end is None:
        start, end = 0, start
    _check_range(start, end, step)
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    if dtype is None:
        dtype = np.int64 if ints else dtypes.get_default_dtype()
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and not ints:
        return _make(_integer_arange(start, end, step, dtype), requires_grad)
    return _make(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    check_device(device)
    return _make(np.linspace(start, end, steps, dtype=_float(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The n×m identity matrix."""
    check_device(device)
    return _make(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """U[0, 1) samples from the library's generator."""
    check_device(device)
    return _make(generator().random(_shape(size)).astype(_float(dtype)), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """N(0, 1) samples from the library's generator."""
    check_device(device)
    return _make(generator().standard_normal(_shape(size)).astype(_float(dtype)), requires_grad)


def randint(low, high=None, size=None, dtype=np.int64, device=None, requires_grad=False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    check_device(device)
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint() needs size= (a tuple), e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"randint(): {name} must be an int, got {v!r}")
    return _make(generator().integers(low, high, size=tuple(size)).astype(dtype), requires_grad)


def randperm(n, dtype=np.int64, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0..n-1."""
    check_device(device)
    return _make(generator().permutation(n).astype(dtype), requires_grad)


def _tensor(x, name):
    """``x`` when it is a Tensor, else a TypeError (the ``*_like`` factories take a Tensor)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    return x


def _like(x, fn, dtype, device, requires_grad):
    _tensor(x, fn.__name__ + "_like")
    check_device(device)
    return _make(fn(x.shape, dtype=np.dtype(dtype) if dtype is not None else x.dtype), requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros with ``x``'s shape and dtype."""
    return _like(x, np.zeros, dtype, device, requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones with ``x``'s shape and dtype."""
    return _like(x, np.ones, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` with ``x``'s shape and dtype."""
    _tensor(x, "full_like")
    check_device(device)
    return _make(np.full(x.shape, fill_value, dtype=dtype or x.dtype), requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uninitialised, with ``x``'s shape and dtype."""
    return _like(x, np.empty, dtype, device, requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    """U[0, 1) with ``x``'s shape and dtype."""
    _tensor(x, "rand_like")
    check_device(device)
    return _make(generator().random(x.shape).astype(dtype or x.dtype), requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    """N(0, 1) with ``x``'s shape and dtype."""
    _tensor(x, "randn_like")
    check_device(device)
    return _make(generator().standard_normal(x.shape).astype(dtype or x.dtype), requires_grad)
