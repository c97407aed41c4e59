"""The functional forms of the built-in ops: ``engine.exp(x)``, ``engine.sum(x, dim=1)``,
``engine.cat([a, b])``, … one per row of ``engine.ops.TABLE`` (see there how to add an op).

Each is the op itself; the first argument may also be an array-like (it becomes a Tensor).
"""
from __future__ import annotations

from .ops import TABLE
from .tensor import _as_tensor

__all__ = []
for _row in TABLE:
    if _row.function:
        for _name in _row.names():
            globals()[_name] = _row.as_function(_as_tensor)
            __all__.append(_name)
del _row, _name
