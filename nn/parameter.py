"""``Parameter``: a Tensor that a Module registers as learnable (``requires_grad=True``)."""
from __future__ import annotations

import numpy as np

from engine import Tensor
from engine.dtypes import to_array


class Parameter(Tensor):
    """A leaf Tensor that Modules collect in ``parameters()``; requires grad by default."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        super().__init__(to_array(data._data if isinstance(data, Tensor) else data), requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        raise TypeError("Parameters are saved with engine.save(model.state_dict(), path), not pickle")
