"""``default_collate``: a list of samples → one batch (PyTorch's rules): Tensors and ndarrays are
stacked into a Tensor with a new first dimension, Python floats become a float64 Tensor and
ints an int64 one (a batch led by an int or bool follows ``torch.tensor``: bools alone stay bool,
a later float makes it the default float dtype), strings stay a list, and dicts, named tuples and sequences are collated
field by field (a tuple of fields comes back as a list, as in PyTorch)."""
from __future__ import annotations

import collections.abc as abc
from numbers import Integral, Real

import numpy as np

from ...dtypes import get_default_dtype
from ...tensor import Tensor


def _stack(arrays, kind):
    shapes = [a.shape for a in arrays]
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise RuntimeError(f"default_collate: stack expects each {kind} to be equal size, but got "
                               f"{tuple(shapes[0])} at entry 0 and {tuple(s)} at entry {i}")
    return Tensor(np.stack(arrays))


def default_collate(batch):
    """Collate ``batch`` (a list of samples) into a batch; see the module docstring."""
    if not isinstance(batch, abc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if not batch:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([np.asarray(b) for b in batch], "tensor")
    if isinstance(elem, np.ndarray) and elem.dtype.kind not in "SUO":
        return _stack([np.asarray(b) for b in batch], "array")
    if isinstance(elem, np.generic) and elem.dtype.kind not in "SUO":
        return Tensor(np.array(batch))
    if isinstance(elem, Integral):            # torch.tensor(batch)'s inference: all bools stay bool,
        if all(isinstance(b, bool) for b in batch):               # ints (bools too) make int64,
            return Tensor(np.array(batch, dtype=np.bool_))
        if all(isinstance(b, Integral) for b in batch):           # and a float the default dtype
            return Tensor(np.array(batch, dtype=np.int64))
        return Tensor(np.array(batch, dtype=get_default_dtype()))
    if isinstance(elem, Real):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                    f"lists; found {type(elem).__name__}")


def default_convert(data):
    """What ``DataLoader(batch_size=None)`` applies to each sample: ndarrays become Tensors,
    containers are converted element by element, everything else is left alone."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SUO":
        return Tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "SUO":
        return Tensor(np.asarray(data))
    if isinstance(data, abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data
