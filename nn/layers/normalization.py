"""Normalization layers: ``BatchNorm1d``, ``BatchNorm2d``, ``InstanceNorm2d``, ``LayerNorm``,
``GroupNorm`` (PyTorch's arguments, defaults, buffers and running-statistics convention)."""
from __future__ import annotations

import numpy as np

from engine import Tensor
from engine.dtypes import get_default_dtype

from .. import functional as F
from ..module import Module
from ..validation import tensor_arg
from ..parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "InstanceNorm2d", "LayerNorm", "GroupNorm"]


def _dt(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


class _NormBase(Module):
    """Shared state of batch/instance norm: affine ``weight`` (γ, ones) and ``bias`` (β, zeros),
    buffers ``running_mean`` (zeros), ``running_var`` (ones), ``num_batches_tracked`` (int64)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=None):
        super().__init__()
        dtype = _dt(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """running_mean ← 0, running_var ← 1, num_batches_tracked ← 0."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def _factor(self):
        """The running-average factor: ``momentum``, or 1/num_batches_tracked when momentum is
        None (cumulative average); counts the batch in training mode."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        return factor

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _dims: tuple = ()

    def forward(self, input):  # noqa: A002
        if input.ndim not in self._dims:
            raise ValueError(f"{type(self).__name__}: expected {' or '.join(f'{d}D' for d in self._dims)} "
                             f"input, got input of shape {tuple(input.shape)}")
        factor = self._factor()
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` input, per channel c:

        y = (x − μ_c) / √(σ²_c + eps) · γ_c + β_c

    Training: μ, σ² from the batch (biased), and ``running ← (1 − momentum)·running +
    momentum·batch`` with the unbiased batch variance (``momentum=None``: cumulative average
    over ``num_batches_tracked``). Eval: the running statistics. ``track_running_stats=False``:
    batch statistics always."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` input over (N, H, W) per channel c:

        y = (x − μ_c) / √(σ²_c + eps) · γ_c + β_c

    Running statistics as :class:`BatchNorm1d` (unbiased variance, ``momentum`` convention)."""

    _dims = (4,)


class InstanceNorm2d(_NormBase):
    """Instance normalization of ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) input: each
    (sample, channel) plane normalized over its H·W positions,

        y = (x − μ_{n,c}) / √(σ²_{n,c} + eps) · γ_c + β_c.

    Defaults as PyTorch: ``affine=False``, ``track_running_stats=False``."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, input):  # noqa: A002
        tensor_arg(input, "input", "InstanceNorm2d")
        if input.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected 3D or 4D input, got input of shape {tuple(input.shape)}")
        if input.ndim == 3:
            return self.forward(input.unsqueeze(0)).squeeze(0)
        if input.shape[1] != self.num_features and self.affine:
            raise ValueError(f"InstanceNorm2d: input {tuple(input.shape)} has {input.shape[1]} channels, "
                             f"expected num_features={self.num_features}")
        factor = self.momentum if self.momentum is not None else 0.0  # (PyTorch: no batch count)
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                               self.training or not self.track_running_stats, factor, self.eps)


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims:

        y = (x − μ) / √(σ² + eps) · γ + β

    μ, σ² are the mean and biased variance of those dims for every leading index; γ (ones) and
    β (zeros) have shape ``normalized_shape`` (``elementwise_affine=False``: none; ``bias=False``:
    no β)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        dtype = _dt(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):  # noqa: A002
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization: the ``num_channels`` channels of ``(N, C, *)`` split into
    ``num_groups`` groups; each (sample, group) normalized over its channels and positions,

        y = (x − μ_{n,g}) / √(σ²_{n,g} + eps) · γ_c + β_c

    with per-channel γ (ones) and β (zeros) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None):
        super().__init__()
        for name, v in (("num_groups", num_groups), ("num_channels", num_channels)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"GroupNorm: {name} must be a positive integer, got {v!r}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = _dt(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):  # noqa: A002
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: input {tuple(input.shape)} does not have num_channels="
                             f"{self.num_channels} channels in dim 1")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
