"""Argument checks shared by layers, functions and initialisers: a wrong type is a TypeError and
a wrong value a ValueError, each naming the argument (never an AttributeError or OverflowError
from deep inside)."""
from __future__ import annotations

import operator

import numpy as np

from engine import Tensor


def size_arg(value, name, owner, minimum=0):
    """``value`` as an int ≥ ``minimum`` (bools and floats are refused, as PyTorch's int args)."""
    if isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be an int, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__} {value!r}") from None
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value}")
    return value


def pair_arg(value, name, owner, minimum=None):
    """An int or a pair of ints as a pair (a 1-sequence repeats, as PyTorch's ``_pair``): a
    TypeError for anything else (2.5 is not silently 2), a ValueError for another length or a
    value below ``minimum``."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2:
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in vals):
        raise TypeError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    vals = (int(vals[0]), int(vals[1]))
    if minimum is not None and min(vals) < minimum:
        raise ValueError(f"{owner}: {name} must be {'positive' if minimum == 1 else 'non-negative'}, "
                         f"got {value!r}")
    return vals


def tensor_arg(value, name, owner, optional=False):
    """``value`` itself when it is a Tensor (or None when ``optional``), else a TypeError."""
    if isinstance(value, Tensor) or (optional and value is None):
        return value
    raise TypeError(f"{owner}: {name} must be a Tensor{' or None' if optional else ''}, "
                    f"got {type(value).__name__}")
