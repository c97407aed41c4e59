"""``Conv1d`` and ``ConvTranspose2d`` layers (PyTorch's arguments, defaults and initialisation:
weight and bias ~ U(±1/√fan_in), fan_in = weight.shape[1] · kernel elements)."""
from __future__ import annotations

import math

import numpy as np

from engine import pad as _pad
from engine.device import check_device
from engine.dtypes import get_default_dtype

from ..functional.conv_extra import _single, conv1d, conv_transpose2d
from ..module import Module
from ..validation import pair_arg
from .conv import _PADDING_MODES, _uniform_parameter, _conv_extra_repr

__all__ = ["Conv1d", "ConvTranspose2d"]


def _init(module, wshape, bias, dtype):
    fan_in = wshape[1] * int(np.prod(wshape[2:]))
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    module.weight = _uniform_parameter(wshape, bound, dtype)
    if bias:
        module.bias = _uniform_parameter((wshape[0] if module._is_conv else wshape[1] * module.groups,),
                                         bound, dtype)
    else:
        module.register_parameter("bias", None)


def _check(name, in_channels, out_channels, groups, padding_mode):
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: in_channels={in_channels} and out_channels={out_channels} must be "
                         f"divisible by groups={groups}")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")


class Conv1d(Module):
    """Applies ``F.conv1d`` with ``weight (out_channels, in_channels/groups, kernel_size)`` and
    ``bias (out_channels,)`` to (N, C, L) or (C, L) inputs:
    out[n, o, y] = bias[o] + Σ_{c,i} weight[o, c, i] · xpad[n, ·, y·s + i·d]."""

    _is_conv = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        check_device(device)
        _check("Conv1d", in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        self.stride = (_single(stride, "stride"),)
        self.dilation = (_single(dilation, "dilation"),)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv1d: padding must be 'same', 'valid' or an int, got {padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = (_single(padding, "padding"),)
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        _init(self, (out_channels, in_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input):  # noqa: A002
        if self.padding_mode != "zeros" and self.padding not in ("valid", (0,)):
            if self.padding == "same":
                total = self.dilation[0] * (self.kernel_size[0] - 1)
                pads = (total // 2, total - total // 2)
            else:
                pads = (self.padding[0], self.padding[0])
            x = _pad(input, pads, mode=self.padding_mode)
            return conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    extra_repr = _conv_extra_repr


class ConvTranspose2d(Module):
    """Applies ``F.conv_transpose2d`` (the adjoint of conv2d) with ``weight (in_channels,
    out_channels/groups, kH, kW)`` and ``bias (out_channels,)``; output size per dim
    ``(H − 1)·s − 2p + d·(k − 1) + output_padding + 1`` (or ``output_size`` in forward)."""

    _is_conv = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__()
        check_device(device)
        _check("ConvTranspose2d", in_channels, out_channels, groups, padding_mode)
        if padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose2d')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair_arg(kernel_size, "kernel_size", "ConvTranspose2d")
        self.stride, self.padding = pair_arg(stride, "stride", "ConvTranspose2d"), pair_arg(padding, "padding", "ConvTranspose2d")
        self.output_padding = pair_arg(output_padding, "output_padding", "ConvTranspose2d")
        self.dilation = pair_arg(dilation, "dilation", "ConvTranspose2d")
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        _init(self, (in_channels, out_channels // groups) + self.kernel_size, bias, dtype)

    def _output_padding(self, input, output_size):  # noqa: A002
        """The output_padding that makes the output ``output_size`` (PyTorch's forward argument)."""
        if output_size is None:
            return self.output_padding
        want = tuple(output_size)[-2:]
        out = []
        for i, w in enumerate(want):
            base = ((input.shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                    + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not base <= w < base + self.stride[i]:
                raise ValueError(f"ConvTranspose2d: requested output size {want} is not reachable from "
                                 f"input {tuple(input.shape)} (dim {i} must be in "
                                 f"[{base}, {base + self.stride[i] - 1}])")
            out.append(w - base)
        return tuple(out)

    def forward(self, input, output_size=None):  # noqa: A002
        op = self._output_padding(input, output_size)
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, op,
                                self.groups, self.dilation)

    extra_repr = _conv_extra_repr
