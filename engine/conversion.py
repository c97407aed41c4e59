"""``Tensor.to`` / ``.cpu()`` / ``.type()`` and ``Module.to``: PyTorch's argument forms, read once.

``to(dtype, non_blocking=False, copy=False)``, ``to(device=None, dtype=None, non_blocking=False,
copy=False)`` and ``to(other_tensor, non_blocking=False, copy=False)``. The only device is the
CPU, so ``to`` changes at most the dtype; a device this build does not have raises
``RuntimeError``, an argument that is neither device, dtype nor tensor raises ``TypeError``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .device import check_device, is_device_like
from .ops.cast import Cast
from .variable import Variable


class ToArgs(NamedTuple):
    """What a ``to(...)`` call asks for: a dtype (None = keep), non_blocking, copy."""

    dtype: np.dtype | None
    non_blocking: bool
    copy: bool


def as_dtype(obj):
    """``obj`` as an np.dtype when it names one (np.dtype, ``engine.float32``, ``np.float32``), else None."""
    if isinstance(obj, np.dtype):
        return obj
    if isinstance(obj, type) and issubclass(obj, np.generic):
        return np.dtype(obj)
    return None


def parse_to(args, kwargs, who="to") -> ToArgs:
    """Read the positional/keyword forms of ``to`` (see the module docstring); check the device."""
    kw = dict(kwargs)
    dev = kw.pop("device", None)
    dtype = kw.pop("dtype", None)
    non_blocking = kw.pop("non_blocking", False)
    copy = kw.pop("copy", False)
    kw.pop("memory_format", None)
    if kw:
        raise TypeError(f"{who}() got an unexpected keyword argument {next(iter(kw))!r}")
    rest = list(args)
    if rest:
        first = rest.pop(0)
        if as_dtype(first) is not None:
            dtype = first
        elif isinstance(first, Variable):
            dtype = first.dtype  # to(other): other's dtype and device
        elif first is None or is_device_like(first):
            dev = first
            if rest and (rest[0] is None or as_dtype(rest[0]) is not None):
                dtype = rest.pop(0)
        else:
            raise TypeError(f"{who}(): the first argument must be a device (such as 'cpu'), a "
                            f"dtype (such as engine.float32) or a tensor; got {first!r} "
                            f"({type(first).__name__})")
    if rest:
        non_blocking = rest.pop(0)
    if rest:
        copy = rest.pop(0)
    if rest:
        raise TypeError(f"{who}() takes at most 4 arguments (device, dtype, non_blocking, copy); "
                        f"got {len(args)}")
    check_device(dev, "device")
    if dtype is not None:
        dt = as_dtype(dtype)
        if dt is None:
            raise TypeError(f"{who}(): dtype must be a dtype such as engine.float32, got {dtype!r} "
                            f"({type(dtype).__name__})")
        dtype = dt
    for name, flag in (("non_blocking", non_blocking), ("copy", copy)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{who}(): {name} must be a bool, got {flag!r}")
    return ToArgs(dtype, bool(non_blocking), bool(copy))


def tensor_to(t, args, kwargs):
    """``t.to(...)``: ``t`` itself when nothing changes (and ``copy`` is False), else a new tensor
    (a differentiable cast between float dtypes, as PyTorch)."""
    req = parse_to(args, kwargs, "Tensor.to")
    dtype = req.dtype if req.dtype is not None else t.dtype
    if dtype == t.dtype and not req.copy:
        return t
    return Cast.apply(t, dtype)


# PyTorch's legacy type strings (``x.type()``) for the dtypes this library has
TYPE_NAMES = {np.dtype(np.float32): "torch.FloatTensor", np.dtype(np.float64): "torch.DoubleTensor",
              np.dtype(np.float16): "torch.HalfTensor", np.dtype(np.int64): "torch.LongTensor",
              np.dtype(np.int32): "torch.IntTensor", np.dtype(np.int16): "torch.ShortTensor",
              np.dtype(np.int8): "torch.CharTensor", np.dtype(np.uint8): "torch.ByteTensor",
              np.dtype(np.bool_): "torch.BoolTensor"}


def tensor_type(t, dtype=None, non_blocking=False):
    """``t.type()``: the type string (``'torch.FloatTensor'``); ``t.type(dtype)``: cast to
    ``dtype`` (a dtype or one of those strings)."""
    if dtype is None:
        return TYPE_NAMES.get(t.dtype, f"torch.{t.dtype.name}")
    if isinstance(dtype, str):
        by_name = {v: k for k, v in TYPE_NAMES.items()}
        if dtype not in by_name:
            raise ValueError(f"type(): unknown type string {dtype!r}; expected one of "
                             f"{sorted(by_name)} or a dtype")
        dtype = by_name[dtype]
    return tensor_to(t, (dtype,), {"non_blocking": non_blocking})
