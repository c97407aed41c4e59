"""``conv2d``: 2-D cross-correlation (PyTorch's convolution) on NCHW tensors, as one raw Function
over the Numba im2col + BLAS kernels in ``engine.kernels.conv``."""
from __future__ import annotations

from engine import Function, Tensor, as_tensor
from engine import pad as _pad

from ..validation import pair_arg

__all__ = ["conv2d"]


def _kconv():
    from engine.kernels import conv  # lazy: importing nn compiles nothing

    return conv


class Conv2dFunction(Function):
    """out[n,o] = bias[o] + Σ_{c,i,j} W[o,c,i,j] · xpad[n, g·C_g + c, y·s + i·d, z·s + j·d].

    Backward: dW = Σ_{n,y,z} g · xpad patch, db = Σ_{n,y,z} g, dx = col2im(Wᵀ g) (the transposed
    convolution). Only first derivatives (no ``create_graph``)."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        out = _kconv().conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
        ctx.meta = (stride, padding, dilation, groups)
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx, gw, gb = _kconv().conv2d_backward(g, x, w, *ctx.meta,
                                              needs_input_grad=(need[0], need[1], need[2]))
        return gx, gw, gb, None, None, None, None


def _same_padding(kernel, dilation):
    """'same' padding per dim: total d·(k−1), the odd extra element on the right/bottom (PyTorch)."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation) of ``input (N, C_in, H, W)`` (or unbatched
    ``(C_in, H, W)``) with ``weight (C_out, C_in/groups, kH, kW)``:

        out[n, o, y, z] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · xpad[n, g·C_in/groups + c,
                                                                    y·sH + i·dH, z·sW + j·dW]

    with ``g = o // (C_out/groups)`` and ``H_out = ⌊(H + 2·pH − dH·(kH−1) − 1)/sH⌋ + 1``.
    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output size = input
    size; stride must be 1; an odd total padding puts the extra row/column at the bottom/right).
    """
    input = as_tensor(input)  # noqa: A001
    if not isinstance(weight, Tensor) or not (bias is None or isinstance(bias, Tensor)):
        raise TypeError(f"conv2d: weight must be a Tensor and bias a Tensor or None, got "
                        f"{type(weight).__name__} and {type(bias).__name__}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)  # noqa: A001
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D input (N, C, H, W) or 3-D unbatched input and a "
                         f"4-D weight, got input {tuple(input.shape)} and weight {tuple(weight.shape)}")
    groups = int(groups)
    co, cig, kh, kw = weight.shape
    if min(co, cig, kh, kw) < 1:
        raise ValueError(f"conv2d: weight {tuple(weight.shape)} has an empty dimension")
    c = input.shape[1]
    if groups < 1 or co % groups:
        raise ValueError(f"conv2d: out_channels {co} of weight {tuple(weight.shape)} must be "
                         f"divisible by groups={groups}")
    if c != cig * groups:
        raise ValueError(f"conv2d: input {tuple(input.shape)} has {c} channels but weight "
                         f"{tuple(weight.shape)} expects {cig * groups} (groups={groups})")
    if bias is not None and tuple(bias.shape) != (co,):
        raise ValueError(f"conv2d: bias {tuple(bias.shape)} must have shape ({co},) for weight "
                         f"{tuple(weight.shape)}")
    stride, dilation = pair_arg(stride, "stride", "conv2d"), pair_arg(dilation, "dilation", "conv2d")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
            (t, b), (lft, r) = _same_padding((kh, kw), dilation)
            if t != b or lft != r:
                input = _pad(input, (lft, r, t, b))  # noqa: A001
                padding = (0, 0)
            else:
                padding = (t, lft)
        else:
            raise ValueError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    padding = pair_arg(padding, "padding", "conv2d")
    if min(padding) < 0:
        raise ValueError(f"conv2d: negative padding {padding}")
    h, w = input.shape[2] + 2 * padding[0], input.shape[3] + 2 * padding[1]
    if h < dilation[0] * (kh - 1) + 1 or w < dilation[1] * (kw - 1) + 1:
        raise ValueError(f"conv2d: input {tuple(input.shape)} (padded to {h}x{w}) is smaller than "
                         f"the dilated kernel of weight {tuple(weight.shape)} (dilation={dilation})")
    out = Conv2dFunction.apply(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out
