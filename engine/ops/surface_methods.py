"""The Tensor methods of PyTorch's surface that ``engine.ops`` files define as functions
(``x.mm(y)`` is ``engine.mm(x, y)``, …), as one table installed on ``Tensor`` by
``install(Tensor)``; plus the Python protocols ``__format__`` and ``__index__``.

Each row is ``method name -> function whose first argument is the tensor``; methods whose
arguments differ from the functional form (``repeat``, ``flip``, ``addmm``) are adapted here.
"""
from __future__ import annotations

import numpy as np

from . import gather, linalg, logic, rounding, scan, sorting, tiling


def _flip(self, *dims):
    """``x.flip(0, 1)`` or ``x.flip((0, 1))``: reversed along those dims."""
    return tiling.flip(self, dims[0] if len(dims) == 1 else dims)


def _addmm(self, mat1, mat2, *, beta=1, alpha=1):
    """beta · self + alpha · (mat1 @ mat2)."""
    return linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)


def _type_as(self, other):
    """Cast to ``other``'s dtype."""
    return self.to(linalg._tensor("type_as", "other", other).dtype)


def _reshape_as(self, other):
    """Reshape to ``other``'s shape."""
    return self.reshape(linalg._tensor("reshape_as", "other", other).shape)


def _format(self, spec):
    """``format(t, '+.2f')``: a 0-d (one-element) tensor formats as its Python number; others only
    with an empty spec (their repr), as PyTorch."""
    if self.numel() == 1 and self.ndim == 0:
        return format(self.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ (only "
                        f"0-d tensors take a format spec; this one has shape {tuple(self.shape)})")
    return repr(self)


def _index(self):
    """``lst[t]``: an integer tensor of one element as a Python int."""
    if self.numel() != 1 or self.dtype.kind not in "iub":
        raise TypeError(f"only integer tensors of a single element can be converted to an index "
                        f"(got dtype {self.dtype}, shape {tuple(self.shape)})")
    return int(np.asarray(self.numpy()).reshape(()))


def _masked_fill_(self, mask, value):
    """In-place ``masked_fill`` (not recorded: use on tensors that do not require grad)."""
    out = gather.masked_fill(self, mask, value)
    return self.copy_(out)


METHODS = {
    "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv, "dot": linalg.dot, "t": linalg.t,
    "addmm": _addmm, "norm": linalg.norm,
    "type_as": _type_as, "reshape_as": _reshape_as,
    "chunk": tiling.chunk, "split": tiling.split, "unbind": tiling.unbind, "repeat": tiling.repeat,
    "flip": _flip,
    "sort": sorting.sort, "argsort": sorting.argsort, "topk": sorting.topk,
    "cumsum": scan.cumsum, "prod": scan.prod,
    "any": logic.any, "all": logic.all, "ne": logic.ne, "gt": logic.gt, "lt": logic.lt,
    "ge": logic.ge, "le": logic.le,
    "masked_fill": gather.masked_fill, "masked_fill_": _masked_fill_, "gather": gather.gather,
    "scatter_add": gather.scatter_add, "index_select": gather.index_select,
    "floor": rounding.floor, "ceil": rounding.ceil, "round": rounding.round, "sign": rounding.sign,
    "isnan": rounding.isnan, "isinf": rounding.isinf, "isfinite": rounding.isfinite,
    "nan_to_num": rounding.nan_to_num,
    "__format__": _format, "__index__": _index,
}

# the functional forms exported as ``engine.<name>`` (PyTorch has no functional repeat/type_as)
FUNCTIONS = {
    "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv, "dot": linalg.dot, "t": linalg.t,
    "addmm": linalg.addmm, "norm": linalg.norm, "chunk": tiling.chunk, "split": tiling.split,
    "unbind": tiling.unbind, "flip": tiling.flip, "sort": sorting.sort, "argsort": sorting.argsort,
    "topk": sorting.topk, "cumsum": scan.cumsum, "prod": scan.prod, "any": logic.any,
    "all": logic.all, "eq": logic.eq, "ne": logic.ne, "gt": logic.gt, "lt": logic.lt,
    "ge": logic.ge, "le": logic.le, "masked_fill": gather.masked_fill, "gather": gather.gather,
    "scatter_add": gather.scatter_add, "index_select": gather.index_select,
    "floor": rounding.floor, "ceil": rounding.ceil, "round": rounding.round,
    "sign": rounding.sign, "isnan": rounding.isnan, "isinf": rounding.isinf,
    "isfinite": rounding.isfinite, "nan_to_num": rounding.nan_to_num,
}


def install(tensor_cls) -> None:
    """Set every ``METHODS`` row as a method of ``tensor_cls`` (done once, by engine/__init__)."""
    for name, fn in METHODS.items():
        setattr(tensor_cls, name, fn)
