"""Growing a network during training: ``widen_linear`` adds hidden units to a ``Linear`` (and the
matching inputs to the layer after it) in place, keeping every Parameter object, so optimizers,
hooks and references stay valid; optimizer state is padded to the new shapes.

    new = nn.utils.widen_linear(model[0], 1, next_layer=model[2], optimizer=opt)
    # model[0].weight is still the same Parameter, now with one more row; opt keeps working.

The function computed by the network is unchanged when the new units' outgoing weights are zero
(the default), as in Net2Net (Chen et al. 2016); training then moves them.
"""
from __future__ import annotations

import math

import numpy as np

import engine

from ..layers.linear import Linear

__all__ = ["widen_linear"]


def _as_array(value, shape, dtype, what):
    arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=dtype)
    if arr.shape != shape:
        raise ValueError(f"widen_linear: {what} must have shape {shape}, got {tuple(arr.shape)}")
    return arr


def _uniform(shape, bound, dtype):
    """U(−bound, bound) from the library's seeded RNG (``engine.manual_seed``)."""
    return (engine.rand(*shape, dtype=np.float64).numpy() * 2 - 1).astype(dtype) * bound


def _resize(param, new_array, axis, optimizer):
    """Give ``param`` the payload ``new_array`` (same object, new shape); drop its stale gradient;
    pad every optimizer state array of the old shape with zeros along ``axis``."""
    old_shape = tuple(param.shape)
    param.data = new_array
    param.grad = None
    if optimizer is None or param not in optimizer.state:
        return
    state = optimizer.state[param]
    for key, value in list(state.items()):
        arr = value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value
        if isinstance(arr, np.ndarray) and arr.shape == old_shape:
            pad = [(0, 0)] * arr.ndim
            pad[axis] = (0, new_array.shape[axis] - old_shape[axis])
            state[key] = np.ascontiguousarray(np.pad(arr, pad))


def widen_linear(layer, n_new=1, next_layer=None, *, optimizer=None, weight=None, bias=None,
                 next_weight=None):
    """Add ``n_new`` output units to the ``Linear`` ``layer`` in place and return the indices of the
    new units (a ``range``).

    ``layer.weight`` (out, in) gains rows ``weight`` (shape (n_new, in); default Linear's init
    U(±1/√in)), ``layer.bias`` gains ``bias`` (default U(±1/√in)); ``next_layer`` (a Linear whose
    ``in_features`` equals ``layer.out_features``) gains input columns ``next_weight`` (shape
    (next.out_features, n_new); default zeros, so the network's output is unchanged).
    Parameters keep their identity (their payload is swapped, as ``p.data = ...`` in PyTorch), so
    ``optimizer`` keeps optimizing them; its state arrays (momentum buffers, Adam moments, …) are
    padded with zeros for the new entries and per-parameter step counts are kept. Gradients of
    the resized parameters are reset to None."""
    if not isinstance(layer, Linear):
        raise TypeError(f"widen_linear: layer must be an nn.Linear, got {type(layer).__name__}")
    if isinstance(n_new, bool) or not isinstance(n_new, (int, np.integer)) or n_new < 1:
        raise ValueError(f"widen_linear: n_new must be a positive integer, got {n_new!r}")
    n_new = int(n_new)
    if next_layer is not None:
        if not isinstance(next_layer, Linear):
            raise TypeError(f"widen_linear: next_layer must be an nn.Linear, got {type(next_layer).__name__}")
        if next_layer.in_features != layer.out_features:
            raise ValueError(f"widen_linear: next_layer has in_features={next_layer.in_features} but layer "
                             f"has out_features={layer.out_features}")
    w = layer.weight.numpy()
    dtype, fan_in = w.dtype, layer.in_features
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    rows = (_uniform((n_new, fan_in), bound, dtype) if weight is None
            else _as_array(weight, (n_new, fan_in), dtype, "weight"))
    new_b = None
    if layer.bias is not None:
        new_b = (_uniform((n_new,), bound, dtype) if bias is None
                 else _as_array(bias, (n_new,), dtype, "bias"))
    elif bias is not None:
        raise ValueError("widen_linear: bias given but layer has no bias")
    cols = None
    if next_layer is not None:
        nw = next_layer.weight.numpy()
        cols = (np.zeros((nw.shape[0], n_new), nw.dtype) if next_weight is None
                else _as_array(next_weight, (nw.shape[0], n_new), nw.dtype, "next_weight"))
    elif next_weight is not None:
        raise ValueError("widen_linear: next_weight given without next_layer")

    start = layer.out_features          # everything validated: now change state
    _resize(layer.weight, np.ascontiguousarray(np.concatenate([w, rows], axis=0)), 0, optimizer)
    if new_b is not None:
        _resize(layer.bias, np.ascontiguousarray(np.concatenate([layer.bias.numpy(), new_b])), 0, optimizer)
    layer.out_features = start + n_new
    if next_layer is not None:
        _resize(next_layer.weight, np.ascontiguousarray(np.concatenate([next_layer.weight.numpy(), cols], axis=1)),
                1, optimizer)
        next_layer.in_features = start + n_new
    return range(start, start + n_new)
