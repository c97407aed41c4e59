"""Argument checks shared by layers, functions and initialisers: a wrong type is a TypeError and
a wrong value a ValueError, each naming the argument (never an AttributeError or OverflowError
from deep inside)."""
from __future__ import annotations

import operator

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


def tensor_arg(value, name, owner, optional=False):
    """``value`` itself when it is a Tensor (or None when ``optional``), else a TypeError."""
    if isinstance(value, Tensor) or (optional and value is None):
        return value
    raise TypeError(f"{owner}: {name} must be a Tensor{' or None' if optional else ''}, "
                    f"got {type(value).__name__}")
