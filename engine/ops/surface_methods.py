"""Tensor methods of PyTorch's surface whose arguments differ from their functional forms
(``x.flip(0, 1)``, ``x.addmm(m1, m2, beta=…)``), method-only ones (``type_as``, ``reshape_as``,
``masked_fill_``) and the Python protocols ``__format__`` and ``__index__``. They are registered,
with the functional forms of gather/linalg/logic/rounding/scan/sorting/tiling, as rows of
``engine.ops.TABLE``.
"""
from __future__ import annotations

import numpy as np

from . import gather, linalg, tiling
from ._util import tensor_arg


def flip_method(self, *dims):
    """``x.flip(0, 1)`` or ``x.flip((0, 1))``: reversed along those dims."""
    return tiling.flip(self, dims[0] if len(dims) == 1 else dims)


def addmm_method(self, mat1, mat2, *, beta=1, alpha=1):
    """beta · self + alpha · (mat1 @ mat2)."""
    return linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)


def type_as(self, other):
    """Cast to ``other``'s dtype."""
    return self.to(tensor_arg("type_as", "other", other).dtype)


def reshape_as(self, other):
    """Reshape to ``other``'s shape."""
    return self.reshape(tensor_arg("reshape_as", "other", other).shape)


def format_method(self, spec):
    """``format(t, '+.2f')``: a 0-d (one-element) tensor formats as its Python number; others only
    with an empty spec (their repr), as PyTorch."""
    if self.numel() == 1 and self.ndim == 0:
        return format(self.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ (only "
                        f"0-d tensors take a format spec; this one has shape {tuple(self.shape)})")
    return repr(self)


def index_method(self):
    """``lst[t]``: an integer tensor of one element as a Python int."""
    if self.numel() != 1 or self.dtype.kind not in "iub":
        raise TypeError(f"only integer tensors of a single element can be converted to an index "
                        f"(got dtype {self.dtype}, shape {tuple(self.shape)})")
    return int(np.asarray(self.numpy()).reshape(()))


def masked_fill_(self, mask, value):
    """In-place ``masked_fill``: ``self.copy_(masked_fill(self, mask, value))`` (recorded as
    ``copy_`` is when a 0-d tensor value requires grad)."""
    out = gather.masked_fill(self, mask, value)
    return self.copy_(out)
