"""``fuse_batchnorm``: fold inference-mode BatchNorm into the preceding Linear / Conv2d."""
from __future__ import annotations

import copy

import numpy as np

from engine import Tensor

from ..containers import Identity, Sequential
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..layers.normalization import BatchNorm1d, BatchNorm2d
from ..module import Module
from ..parameter import Parameter

__all__ = ["fuse_batchnorm", "fuse_conv_bn_weights"]


def fuse_conv_bn_weights(weight, bias, running_mean, running_var, eps, gamma, beta):
    """The folded parameters (ndarrays) of ``BN(layer(x))`` for a layer ``W x + b`` whose output
    channel is axis 0 of ``weight``:

        s = γ / √(var + eps),   W' = W · s (per output channel),   b' = (b − μ) · s + β

    ``bias``/``gamma``/``beta`` may be None (0, 1, 0)."""
    w = np.asarray(weight)
    acc = np.float64
    s = 1.0 / np.sqrt(np.asarray(running_var, acc) + eps)
    if gamma is not None:
        s = s * np.asarray(gamma, acc)
    b = np.zeros(w.shape[0], acc) if bias is None else np.asarray(bias, acc)
    new_b = (b - np.asarray(running_mean, acc)) * s
    if beta is not None:
        new_b = new_b + np.asarray(beta, acc)
    new_w = w.astype(acc) * s.reshape((-1,) + (1,) * (w.ndim - 1))
    return new_w.astype(w.dtype), new_b.astype(w.dtype)


def _clone(module, memo):
    """A deep copy of ``module`` with fresh Parameters/buffers (shared submodules stay shared)."""
    if id(module) in memo:
        return memo[id(module)]
    new = copy.copy(module)
    memo[id(module)] = new
    d = new.__dict__
    d["_parameters"] = type(module._parameters)(
        (k, None if p is None else Parameter(p._data.copy(), requires_grad=p.requires_grad))
        for k, p in module._parameters.items())
    d["_buffers"] = type(module._buffers)(
        (k, None if b is None else Tensor(b._data.copy())) for k, b in module._buffers.items())
    d["_non_persistent"] = set(module._non_persistent)
    d["_modules"] = type(module._modules)(
        (k, None if m is None else _clone(m, memo)) for k, m in module._modules.items())
    for hooks in ("_forward_hooks", "_forward_pre_hooks"):
        if hooks in d:
            d[hooks] = copy.copy(d[hooks])
    return new


def _foldable(layer, bn):
    if not isinstance(bn, (BatchNorm1d, BatchNorm2d)) or bn.running_mean is None:
        return False
    if isinstance(layer, Conv2d):
        return isinstance(bn, BatchNorm2d) and layer.out_channels == bn.num_features
    if isinstance(layer, Linear):
        return isinstance(bn, BatchNorm1d) and layer.weight.shape[0] == bn.num_features
    return False


def _fold(layer, bn):
    w, b = fuse_conv_bn_weights(layer.weight._data, None if layer.bias is None else layer.bias._data,
                                bn.running_mean._data, bn.running_var._data, bn.eps,
                                None if bn.weight is None else bn.weight._data,
                                None if bn.bias is None else bn.bias._data)
    layer.weight = Parameter(w)
    layer.bias = Parameter(b)


def _pairs(module):
    """(layer_name, bn_name) pairs to fold in ``module``: consecutive children of a Sequential,
    plus the pairs a module declares in ``_fuse_pairs`` (e.g. ResNet's BasicBlock)."""
    names = [k for k, m in module._modules.items() if m is not None]
    if isinstance(module, Sequential):
        yield from zip(names[:-1], names[1:])
    yield from getattr(type(module), "_fuse_pairs", ())


def fuse_batchnorm(model: Module) -> Module:
    """An eval-mode copy of ``model`` in which every BatchNorm1d/2d that directly follows a Linear /
    Conv2d (consecutive in a Sequential, or declared in a module's ``_fuse_pairs``) is folded into
    that layer and replaced by ``Identity``:

        W' = W · γ/√(var + eps),   b' = (b − μ) · γ/√(var + eps) + β

    (μ, var: the BN's running statistics). The copy computes the same function as
    ``model.eval()`` with fewer ops; ``model`` itself is not modified. BatchNorms without running
    statistics (``track_running_stats=False``) are left alone."""
    fused = _clone(model, {})
    fused.eval()
    for mod in list(fused.modules()):
        for lname, bname in _pairs(mod):
            layer, bn = mod._modules.get(lname), mod._modules.get(bname)
            if layer is not None and bn is not None and _foldable(layer, bn):
                _fold(layer, bn)
                mod._modules[bname] = Identity()
    return fused
