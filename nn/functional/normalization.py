"""Normalization functions: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``.

All share one raw Function, :class:`AffineNorm`: ``y = (x − μ)/√(σ² + eps) · γ + β`` with μ, σ²
taken over some axes of ``x`` (batch statistics, with the full backward) or given (running
statistics: the normalisation is then an affine map of ``x``). ``batch_norm`` on float32/float64
input uses the fused Numba kernels of ``engine.kernels.batchnorm`` when they are available.
"""
from __future__ import annotations

import numpy as np

from engine import Function, Tensor, as_tensor, no_grad

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "normalize"]

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _InputDtypeError(TypeError, RuntimeError):
    """Integer/bool input to a normalization (a TypeError; a RuntimeError as in PyTorch)."""


def _check_input(name, input, min_dim=2):  # noqa: A002
    """Normalizations take floating-point tensors of at least ``min_dim`` dims (PyTorch raises on
    integer input too; computing on it would silently give zeros)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise _InputDtypeError(f"{name}: expected a floating-point input, got {input.dtype} "
                               f"(convert with .float())")
    if input.ndim < min_dim:
        raise ValueError(f"{name}: expected input with at least {min_dim} dims, got {tuple(input.shape)}")


def _check_optional_tensors(name, **tensors):
    for arg, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}: {arg} must be a Tensor or None, got {type(t).__name__}")


def _reduce_to(a, wshape, shape):
    """Sum ``a`` over the axes where the (left-padded) broadcast shape ``wshape`` is 1, then
    reshape to the parameter's ``shape``."""
    full = (1,) * (a.ndim - len(wshape)) + tuple(wshape)
    axes = tuple(i for i, s in enumerate(full) if s == 1 and a.shape[i] != 1)
    return a.sum(axis=axes).reshape(shape) if axes else a.reshape(shape)


def _affine(xhat, weight, bias, wshape):
    """y = x̂ · γ + β with γ = ``weight``, β = ``bias`` (each optional) shaped ``wshape`` for
    broadcasting; always a new array (never ``xhat`` itself, which backward keeps)."""
    y = xhat
    if weight is not None:
        y = y * weight.reshape(wshape)
    if bias is not None:
        y = y + bias.reshape(wshape)
    return xhat.copy() if y is xhat else y


class AffineNorm(Function):
    """y = x̂ · γ + β with x̂ = (x − μ) · r, r = 1/√(σ² + eps).

    Batch statistics (μ, σ² = biased variance over ``axes``):
        dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)),  ĝ = g · γ;
    given statistics: dx = ĝ · r.  dγ = Σ g · x̂,  dβ = Σ g over the broadcast axes.
    With ``return_stats`` (batch statistics only) it also returns μ and σ²_biased (kept dims) as
    outputs without gradient (``mark_non_differentiable``)."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, weight, bias, axes, wshape, eps, stats, return_stats):
        if stats is None:
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            var = np.mean(np.square(xc), axis=axes, keepdims=True)
        else:
            mean, var = stats
            xc = x - mean
        r = 1.0 / np.sqrt(var + eps)
        xhat = xc * r.astype(x.dtype, copy=False)
        y = _affine(xhat, weight, bias, wshape)
        ctx.meta = (axes, wshape, stats is None, None if bias is None else bias.shape)
        ctx.save_for_backward(xhat, r.astype(x.dtype, copy=False), weight)
        if return_stats and stats is None:
            ctx.mark_non_differentiable(mean, var)
            return y, mean, var
        return y

    @staticmethod
    def backward(ctx, g, *_):  # no gradient flows from the returned statistics
        axes, wshape, batch_stats, bshape = ctx.meta
        xhat, r, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = gw = gb = None
        if need[0]:
            gh = g * weight.reshape(wshape) if weight is not None else g
            if batch_stats:
                gx = r * (gh - gh.mean(axis=axes, keepdims=True)
                          - xhat * (gh * xhat).mean(axis=axes, keepdims=True))
            else:
                gx = gh * r
        if need[1]:
            gw = _reduce_to(g * xhat, wshape, weight.shape)
        if need[2]:
            gb = _reduce_to(g, wshape, bshape)
        return gx, gw, gb, None, None, None, None, None


class BatchNormFunction(Function):
    """The fused batch-norm kernel (``engine.kernels.batchnorm``) as one op:
    y = (x − μ_c) · r_c · γ_c + β_c with batch (``training``) or given statistics; gradients as
    :class:`AffineNorm`. In training it also returns the batch μ and σ²_biased (per channel) as
    outputs without gradient."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, eps):
        from engine.kernels import batchnorm as kbn

        out, mean, invstd, var = kbn.batchnorm_forward(x, weight, bias, eps, running_mean, running_var,
                                                       training)
        ctx.meta = training
        ctx.save_for_backward(x, weight, mean, invstd)
        if training:
            ctx.mark_non_differentiable(mean, var)
            return out, mean, var
        return out

    @staticmethod
    def backward(ctx, g, *_):  # no gradient flows from the returned statistics
        from engine.kernels import batchnorm as kbn

        x, weight, mean, invstd = ctx.saved_tensors
        gx, gw, gb = kbn.batchnorm_backward(g, x, weight, mean, invstd, ctx.meta)
        need = ctx.needs_input_grad
        return (gx if need[0] else None, gw if need[1] else None, gb if need[2] else None,
                None, None, None, None)


def _norm(x, weight, bias, axes, wshape, eps, stats=None, return_stats=False):
    return AffineNorm.apply(x, weight, bias, tuple(axes), tuple(wshape), float(eps), stats, return_stats)


def _update_running(running, batch_value, momentum):
    """running ← (1 − momentum) · running + momentum · batch_value (in place, no graph)."""
    with no_grad():
        running.mul_(1.0 - momentum).add_(np.asarray(batch_value, dtype=running.dtype) * momentum)


def _stat(t, wshape, dtype):
    """A running statistic (Tensor or array) as an ndarray of ``dtype`` shaped ``wshape``."""
    return np.asarray(t, dtype=dtype).reshape(wshape)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Batch normalization over every axis but the channel axis 1 of ``(N, C, *)``:

        y = (x − μ_c) / √(σ²_c + eps) · γ_c + β_c

    ``training=True``: μ, σ² are the batch mean and biased variance, and the running buffers (if
    given) are updated in place: ``running_mean ← (1 − momentum)·running_mean + momentum·μ``,
    ``running_var ← (1 − momentum)·running_var + momentum·σ²·n/(n − 1)`` (unbiased variance,
    n = values per channel). ``training=False``: μ, σ² are ``running_mean``/``running_var``.
    """
    _check_input("batch_norm", input)
    _check_optional_tensors("batch_norm", running_mean=running_mean, running_var=running_var,
                            weight=weight, bias=bias)
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} has shape {tuple(t.shape)} but input "
                             f"{tuple(input.shape)} has {c} channels")
    axes = (0,) + tuple(range(2, input.ndim))
    wshape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        n = int(np.prod(input.shape)) // c
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                             f"input size {tuple(input.shape)}")
        if input.dtype in _KERNEL_DTYPES:
            out, mean, var = BatchNormFunction.apply(input, weight, bias, None, None, True, float(eps))
        else:
            out, mean, var = _norm(input, weight, bias, axes, wshape, eps, None, True)
        if running_mean is not None:
            _update_running(running_mean, mean.reshape(c), momentum)
        if running_var is not None:
            _update_running(running_var, var.reshape(c) * (n / (n - 1)), momentum)
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are required when training=False")
    if input.dtype in _KERNEL_DTYPES and input.numel() > 0:
        return BatchNormFunction.apply(input, weight, bias, _stat(running_mean, (c,), input.dtype),
                                       _stat(running_var, (c,), input.dtype), False, float(eps))
    stats = (_stat(running_mean, wshape, input.dtype), _stat(running_var, wshape, input.dtype))
    return _norm(input, weight, bias, axes, wshape, eps, stats)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Layer normalization over the last ``len(normalized_shape)`` dims:

        y = (x − μ) / √(σ² + eps) · γ + β,  μ, σ² = mean and biased variance of those dims

    with ``γ``, ``β`` of shape ``normalized_shape`` (elementwise affine)."""
    _check_input("layer_norm", input, 1)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise ValueError(f"layer_norm: input {tuple(input.shape)} does not end with normalized_shape {shape}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return _norm(input, weight, bias, axes, shape, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Group normalization of ``(N, C, *)``: the C channels form ``num_groups`` groups and each
    (sample, group) is normalized over its channels and spatial positions:

        y = (x − μ_{n,g}) / √(σ²_{n,g} + eps) · γ_c + β_c."""
    _check_input("group_norm", input)
    if not isinstance(num_groups, (int, np.integer)) or isinstance(num_groups, bool) or num_groups <= 0:
        raise ValueError(f"group_norm: num_groups must be a positive integer, got {num_groups!r}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise ValueError(f"group_norm: {c} channels of input {tuple(input.shape)} are not divisible "
                         f"by num_groups={num_groups}")
    spatial = tuple(input.shape[2:])
    x = input.reshape(n, num_groups, c // num_groups, *spatial)
    axes = tuple(range(2, x.ndim))
    wshape = (1, num_groups, c // num_groups) + (1,) * len(spatial)
    return _norm(x, weight, bias, axes, wshape, eps).reshape(input.shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization of ``(N, C, *)``: each (sample, channel) over its spatial positions,

        y = (x − μ_{n,c}) / √(σ²_{n,c} + eps) · γ_c + β_c.

    With ``use_input_stats`` the running buffers (if given) are updated with the batch average of
    the per-instance means and unbiased variances; without it, μ, σ² are the running buffers."""
    _check_input("instance_norm", input, 3)
    _check_optional_tensors("instance_norm", running_mean=running_mean, running_var=running_var,
                            weight=weight, bias=bias)
    c = input.shape[1]
    axes = tuple(range(2, input.ndim))
    wshape = (1, c) + (1,) * (input.ndim - 2)
    if use_input_stats:
        out, mean, var = _norm(input, weight, bias, axes, wshape, eps, None, True)
        mean, var = mean.numpy(), var.numpy()
        n = int(np.prod(input.shape[2:]))
        if running_mean is not None:
            _update_running(running_mean, mean.mean(axis=0).reshape(c), momentum)
        if running_var is not None:
            unbiased = var * (n / (n - 1)) if n > 1 else var
            _update_running(running_var, unbiased.mean(axis=0).reshape(c), momentum)
        return out
    if running_mean is None or running_var is None:
        raise ValueError("instance_norm: running_mean and running_var are required when use_input_stats=False")
    stats = (_stat(running_mean, wshape, input.dtype), _stat(running_var, wshape, input.dtype))
    return _norm(input, weight, bias, axes, wshape, eps, stats)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """``input / max(‖input‖_p, eps)``, the p-norm taken along ``dim`` (kept for broadcasting):
    each slice along ``dim`` scaled to unit p-norm, as PyTorch's ``F.normalize``."""
    if out is not None:
        raise TypeError("normalize: out= is not supported (the result is a new tensor)")
    input = as_tensor(input)  # noqa: A001
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)
