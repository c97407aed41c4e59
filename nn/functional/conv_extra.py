"""``conv1d`` (``conv2d`` on a height-1 image) and ``conv_transpose2d`` (the adjoint of ``conv2d``:
its forward is conv2d's input gradient, its input gradient is conv2d's forward), both on the
kernels behind ``conv2d`` (``engine.kernels.conv``)."""
from __future__ import annotations

import numpy as np

from engine import Function, Tensor

from ..validation import pair_arg, tensor_arg
from .conv import _kconv, conv2d

__all__ = ["conv1d", "conv_transpose2d"]


def _single(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"conv1d: {name} must be an int or a 1-tuple, got {v!r}")
        return int(v[0])
    return int(v)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution (cross-correlation) of ``input (N, C_in, L)`` (or ``(C_in, L)``) with
    ``weight (C_out, C_in/groups, k)``:

        out[n, o, y] = bias[o] + Σ_{c, i} weight[o, c, i] · xpad[n, g·C_in/groups + c, y·s + i·d]

    with ``L_out = ⌊(L + 2p − d(k−1) − 1)/s⌋ + 1``; ``padding`` may be ``'same'``/``'valid'``.
    Computed as ``conv2d`` on a height-1 image."""
    if not isinstance(input, Tensor):
        input = Tensor(input)  # noqa: A001
    tensor_arg(weight, "weight", "conv1d")
    tensor_arg(bias, "bias", "conv1d", optional=True)
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D input (N, C, L) or 2-D unbatched input and a 3-D "
                         f"weight, got input {tuple(input.shape)} and weight {tuple(weight.shape)}")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")), pad,
                 (1, _single(dilation, "dilation")), groups)
    return out.squeeze(-2)


class ConvTranspose2dFunction(Function):
    """out = conv2dᵀ(x) + bias, i.e. out[n, g·C_og + o, y·s − p + i·d, z·s − p + j·d] +=
    x[n, c, y, z] · W[c, o, i, j];  dx = conv2d(g, W), dW = conv2d's weight gradient with
    (input g, output gradient x), db = Σ g. Only first derivatives (no create_graph)."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, out_hw):
        n = x.shape[0]
        co = weight.shape[1] * groups
        ghost = np.empty((n, co) + out_hw, dtype=x.dtype)  # only its shape is read
        out, _, _ = _kconv().conv2d_backward(x, ghost, weight, stride, padding, dilation, groups,
                                             needs_input_grad=(True, False, False))
        if bias is not None:
            out += np.asarray(bias, dtype=out.dtype).reshape(co, 1, 1)
        ctx.meta = (stride, padding, dilation, groups)
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.meta
        need = ctx.needs_input_grad
        k = _kconv()
        gx = k.conv2d_forward(g, w, None, stride, padding, dilation, groups) if need[0] else None
        gw = None
        if need[1]:
            gw = k.conv2d_backward(x, g, w, stride, padding, dilation, groups,
                                   needs_input_grad=(False, True, False))[1]
        gb = g.sum(axis=(0, 2, 3)) if need[2] else None
        return gx, gw, gb, None, None, None, None, None


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Transposed 2-D convolution ("deconvolution") of ``input (N, C_in, H, W)`` (or unbatched)
    with ``weight (C_in, C_out/groups, kH, kW)``; output size per dim
    ``H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1``. It is the gradient of ``conv2d``
    with respect to its input (same stride/padding/dilation/groups)."""
    if not isinstance(input, Tensor):
        input = Tensor(input)  # noqa: A001
    tensor_arg(weight, "weight", "conv_transpose2d")
    tensor_arg(bias, "bias", "conv_transpose2d", optional=True)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)  # noqa: A001
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv_transpose2d: expected a 4-D input (N, C, H, W) or 3-D unbatched input "
                         f"and a 4-D weight, got input {tuple(input.shape)} and weight {tuple(weight.shape)}")
    groups = int(groups)
    ci, cog, kh, kw = weight.shape
    if groups < 1 or ci % groups:
        raise ValueError(f"conv_transpose2d: in_channels {ci} of weight {tuple(weight.shape)} must be "
                         f"divisible by groups={groups}")
    if input.shape[1] != ci:
        raise ValueError(f"conv_transpose2d: input {tuple(input.shape)} has {input.shape[1]} channels "
                         f"but weight {tuple(weight.shape)} expects {ci}")
    if bias is not None and tuple(bias.shape) != (cog * groups,):
        raise ValueError(f"conv_transpose2d: bias {tuple(bias.shape)} must have shape "
                         f"({cog * groups},) for weight {tuple(weight.shape)} and groups={groups}")
    stride, padding = pair_arg(stride, "stride", "conv_transpose2d"), pair_arg(padding, "padding", "conv_transpose2d")
    dilation, out_pad = pair_arg(dilation, "dilation", "conv_transpose2d"), pair_arg(output_padding, "output_padding", "conv_transpose2d")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(out_pad) < 0:
        raise ValueError(f"conv_transpose2d: stride {stride} and dilation {dilation} must be positive, "
                         f"padding {padding} and output_padding {out_pad} non-negative")
    for op, s in zip(out_pad, stride):
        if op >= s:
            raise ValueError(f"conv_transpose2d: output_padding {out_pad} must be smaller than "
                             f"stride {stride}")
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, s, p, d, k, op in
                   zip(input.shape[2:], stride, padding, dilation, (kh, kw), out_pad))
    if min(out_hw) < 1:
        raise ValueError(f"conv_transpose2d: input {tuple(input.shape)} with padding {padding} gives "
                         f"an empty output {out_hw}")
    out = ConvTranspose2dFunction.apply(input, weight, bias, stride, padding, dilation, groups, out_hw)
    return out.squeeze(0) if unbatched else out
