"""``Conv2d``: the 2-D convolution layer (PyTorch's arguments, defaults and initialisation)."""
from __future__ import annotations

import math

import numpy as np

from engine import pad as _pad
from engine.dtypes import get_default_dtype
from engine.random import generator

from ..functional.conv import _same_padding, conv2d
from ..validation import pair_arg
from ..module import Module
from ..parameter import Parameter
from ..regularizers import Regularized

__all__ = ["Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _uniform_parameter(shape, bound, dtype):
    """A Parameter drawn from U(−bound, bound) with the library's generator."""
    return Parameter(generator().uniform(-bound, bound, shape).astype(dtype))


def _conv_extra_repr(m):
    """PyTorch's ``_ConvNd.extra_repr`` for a conv layer ``m``: channels, kernel_size and stride,
    then each argument that differs from its default (padding 0 or 'valid', output_padding 0,
    dilation 1, groups 1, bias present, padding_mode 'zeros')."""
    zeros, ones = (0,) * len(m.kernel_size), (1,) * len(m.kernel_size)
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding not in (zeros, "valid"):
        s += f", padding={m.padding!r}"
    if getattr(m, "output_padding", zeros) != zeros:
        s += f", output_padding={m.output_padding}"
    if m.dilation != ones:
        s += f", dilation={m.dilation}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode!r}"
    return s


class Conv2d(Regularized, Module):
    """Applies ``conv2d`` (see ``nn.functional.conv2d``) with a learnable
    ``weight (out_channels, in_channels/groups, kH, kW)`` and ``bias (out_channels,)``:

        out[n, o] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · xpad[n, ·, y·s + i·d, z·s + j·d]

    Initialisation as PyTorch: ``kaiming_uniform_(a=√5)``, i.e. weight and bias ~ U(±1/√fan_in)
    with ``fan_in = in_channels/groups · kH · kW``. ``padding`` may be an int, a pair, ``'same'`` or
    ``'valid'``; ``padding_mode`` is ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
    Keras-style ``kernel_regularizer``/``bias_regularizer``/``activity_regularizer`` are optional.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None, kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Conv2d: {name} must be a positive integer, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels={in_channels} and out_channels={out_channels} "
                             f"must be divisible by groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair_arg(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair_arg(stride, "stride", "Conv2d")
        self.dilation = pair_arg(dilation, "dilation", "Conv2d")
        for name, v in (("kernel_size", self.kernel_size), ("stride", self.stride), ("dilation", self.dilation)):
            if min(v) < 1:
                raise ValueError(f"Conv2d: {name} must be positive, got {v}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be 'same', 'valid', an int or a pair, got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = pair_arg(padding, "padding", "Conv2d")
            if min(self.padding) < 0:
                raise ValueError(f"Conv2d: negative padding is not supported, got {self.padding}")
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        kh, kw = self.kernel_size
        fan_in = in_channels // groups * kh * kw
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight = _uniform_parameter((out_channels, in_channels // groups, kh, kw), bound, dtype)
        if bias:
            self.bias = _uniform_parameter((out_channels,), bound, dtype)
        else:
            self.register_parameter("bias", None)
        self.set_regularizers(kernel_regularizer, bias_regularizer, activity_regularizer)

    def _explicit_padding(self):
        """The (left, right, top, bottom) pad tuple for non-zero padding modes."""
        if self.padding == "same":
            (t, b), (lft, r) = _same_padding(self.kernel_size, self.dilation)
            return (lft, r, t, b)
        if self.padding == "valid":
            return (0, 0, 0, 0)
        ph, pw = self.padding
        return (pw, pw, ph, ph)

    def forward(self, input):  # noqa: A002
        if self.padding_mode != "zeros":
            x = _pad(input, self._explicit_padding(), mode=self.padding_mode)
            return conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    extra_repr = _conv_extra_repr
