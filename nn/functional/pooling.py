"""2-D pooling: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d`` as raw Functions over the
Numba kernels of ``engine.kernels.pool`` (NCHW, or unbatched CHW)."""
from __future__ import annotations

from engine import Function, as_tensor

from ..validation import pair_arg

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _kpool():
    from engine.kernels import pool  # lazy: importing nn compiles nothing

    return pool


class MaxPool2dFunction(Function):
    """out = max over each (dilated) window of the −∞-padded input;  dx[argmax] += g.
    With ``return_indices`` the int64 argmax indices are a second output without gradient (flat
    h·W + w within each plane; −1 for a dilated window that holds only padding: its output is −∞
    and it passes no gradient)."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        out, ind = _kpool().maxpool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        ctx.meta = x.shape
        ctx.save_for_backward(ind)       # a saved value: released by backward
        if return_indices:
            ctx.mark_non_differentiable(ind)
            return out, ind
        return out

    @staticmethod
    def backward(ctx, g, *_):
        (ind,) = ctx.saved_tensors
        # the kernel skips index -1 (an all-padding window passes no gradient)
        return _kpool().maxpool2d_backward(g, ind, ctx.meta), None, None, None, None, None, None


class AvgPool2dFunction(Function):
    """out = Σ_window x / D;  dx[window] += g / D (D: window size, real elements, or override)."""

    raw = True
    twice_differentiable = False  # backward is a kernel on payloads

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        ctx.meta = (x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return _kpool().avgpool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                          divisor_override)

    @staticmethod
    def backward(ctx, g):
        return (_kpool().avgpool2d_backward(g, *ctx.meta),) + (None,) * 6


class AdaptiveAvgPool2dFunction(Function):
    """out[i, j] = mean of bin [⌊iH/Ho⌋, ⌈(i+1)H/Ho⌉) × [⌊jW/Wo⌋, ⌈(j+1)W/Wo⌉);  dx += g / |bin|."""

    raw = True
    twice_differentiable = False  # backward is a kernel on payloads

    @staticmethod
    def forward(ctx, x, output_size):
        ctx.meta = x.shape
        return _kpool().adaptive_avgpool2d_forward(x, output_size)

    @staticmethod
    def backward(ctx, g):
        return _kpool().adaptive_avgpool2d_backward(g, ctx.meta), None


def _window(fn, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Validated (kernel, stride, padding, dilation) pairs, as PyTorch checks them: kernel, stride
    and dilation ≥ 1, 0 ≤ padding ≤ half the effective kernel, and an output of at least 1×1."""
    k = pair_arg(kernel_size, "kernel_size", fn, 1)
    s = pair_arg(kernel_size if stride is None or stride == () else stride, "stride", fn, 1)
    p = pair_arg(padding, "padding", fn, 0)
    d = pair_arg(dilation, "dilation", fn, 1)
    for i in range(2):
        eff = d[i] * (k[i] - 1) + 1
        if p[i] > eff // 2:
            raise ValueError(f"{fn}: padding {p} should be at most half of the effective kernel size "
                             f"(kernel_size={k}, dilation={d})")
        size = x.shape[2 + i] + 2 * p[i] - eff
        out = (-(-size // s[i]) if ceil_mode else size // s[i]) + 1
        if out < 1:
            raise ValueError(f"{fn}: input {tuple(x.shape)} is too small for kernel_size={k}, "
                             f"stride={s}, padding={p}, dilation={d} (output size would be {out})")
    return k, s, p, d


def _batched(input, name):  # noqa: A002
    input = as_tensor(input)  # noqa: A001
    if input.ndim == 3:
        return input.unsqueeze(0), True
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {tuple(input.shape)}")
    return input, False


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """2-D max pooling: ``out[n, c, y, z] = max_{i, j} xpad[n, c, y·sH + i·dH, z·sW + j·dW]``
    (−∞ padding), ``stride`` defaulting to ``kernel_size``, output size
    ``⌊(H + 2p − d(k−1) − 1)/s⌋ + 1`` (⌈·⌉ with ``ceil_mode``). With ``return_indices`` also the
    int64 argmax (flat ``h·W + w`` within each plane, as PyTorch)."""
    x, unbatched = _batched(input, "max_pool2d")
    k, s, p, d = _window("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        out = MaxPool2dFunction.apply(x, k, s, p, d, bool(ceil_mode), False)
        return out.squeeze(0) if unbatched else out
    out, ind = MaxPool2dFunction.apply(x, k, s, p, d, bool(ceil_mode), True)
    return (out.squeeze(0), ind.squeeze(0)) if unbatched else (out, ind)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """2-D average pooling: ``out[n, c, y, z] = Σ_{window} x / D`` where ``D`` is the window size
    (zero padding counted, ``count_include_pad=True``), the number of real input elements in the
    window (``False``), or ``divisor_override``. ``stride`` defaults to ``kernel_size``."""
    x, unbatched = _batched(input, "avg_pool2d")
    k, s, p, _ = _window("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and int(divisor_override) <= 0:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    out = AvgPool2dFunction.apply(x, k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Adaptive average pooling to ``output_size`` (int, pair, or None entries keeping the input
    size): ``out[i, j] = mean(x[⌊iH/Ho⌋:⌈(i+1)H/Ho⌉, ⌊jW/Wo⌋:⌈(j+1)W/Wo⌉])``."""
    x, unbatched = _batched(input, "adaptive_avg_pool2d")
    if isinstance(output_size, (tuple, list)):
        size = tuple(None if s is None else int(s) for s in output_size)
    else:
        size = (int(output_size), int(output_size))
    if any(s is not None and s < 1 for s in size):
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    if 0 in x.shape[1:]:
        raise ValueError(f"adaptive_avg_pool2d: expected input to have non-zero size for non-batch "
                         f"dimensions, got {tuple(input.shape)}")
    out = AdaptiveAvgPool2dFunction.apply(x, size)
    return out.squeeze(0) if unbatched else out
