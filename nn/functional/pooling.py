"""2-D pooling: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d`` as raw Functions over the
Numba kernels of ``engine.kernels.pool`` (NCHW, or unbatched CHW)."""
from __future__ import annotations

import numpy as np

from engine import Function, Tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _kpool():
    from engine.kernels import pool  # lazy: importing nn compiles nothing

    return pool


class MaxPool2dFunction(Function):
    """out = max over each (dilated) window of the −∞-padded input;  dx[argmax] += g.
    ``sink`` (a list) receives the int64 argmax indices (flat h·W + w within each plane; −1 for a
    dilated window that holds only padding: its output is −∞ and it passes no gradient)."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode, sink):
        out, ind = _kpool().maxpool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        if sink is not None:
            sink.append(ind)
        ctx.shape = x.shape
        ctx.save_for_backward(ind)       # a saved value: released by backward (not a ctx attribute)
        return out

    @staticmethod
    def backward(ctx, g):
        if not isinstance(g, np.ndarray):
            raise RuntimeError("max_pool2d does not support double backward (create_graph=True)")
        (ind,) = ctx.saved_tensors
        # the kernel skips index -1 (an all-padding window passes no gradient)
        return _kpool().maxpool2d_backward(g, ind, ctx.shape), None, None, None, None, None, None


class AvgPool2dFunction(Function):
    """out = Σ_window x / D;  dx[window] += g / D (D: window size, real elements, or override)."""

    raw = True

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        ctx.args = (x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return _kpool().avgpool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                          divisor_override)

    @staticmethod
    def backward(ctx, g):
        if not isinstance(g, np.ndarray):
            raise RuntimeError("avg_pool2d does not support double backward (create_graph=True)")
        return (_kpool().avgpool2d_backward(g, *ctx.args),) + (None,) * 6


class AdaptiveAvgPool2dFunction(Function):
    """out[i, j] = mean of bin [⌊iH/Ho⌋, ⌈(i+1)H/Ho⌉) × [⌊jW/Wo⌋, ⌈(j+1)W/Wo⌉);  dx += g / |bin|."""

    raw = True

    @staticmethod
    def forward(ctx, x, output_size):
        ctx.shape = x.shape
        return _kpool().adaptive_avgpool2d_forward(x, output_size)

    @staticmethod
    def backward(ctx, g):
        if not isinstance(g, np.ndarray):
            raise RuntimeError("adaptive_avg_pool2d does not support double backward (create_graph=True)")
        return _kpool().adaptive_avgpool2d_backward(g, ctx.shape), None


def _pair(v, name="argument", fn="pool2d", minimum=None):
    """An int or a pair of ints (a 1-tuple repeats) as a pair; TypeError for anything else
    (2.5 is not silently 2) and ValueError below ``minimum``."""
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in vals):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {v!r}")
    vals = (int(vals[0]), int(vals[1]))
    if minimum is not None and min(vals) < minimum:
        raise ValueError(f"{fn}: {name} must be {'positive' if minimum == 1 else 'non-negative'}, got {v!r}")
    return vals


def _window(fn, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Validated (kernel, stride, padding, dilation) pairs, as PyTorch checks them: kernel, stride
    and dilation ≥ 1, 0 ≤ padding ≤ half the effective kernel, and an output of at least 1×1."""
    k = _pair(kernel_size, "kernel_size", fn, 1)
    s = _pair(kernel_size if stride is None or stride == () else stride, "stride", fn, 1)
    p = _pair(padding, "padding", fn, 0)
    d = _pair(dilation, "dilation", fn, 1)
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
    if not isinstance(input, Tensor):
        input = Tensor(input)  # noqa: A001
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
    sink = [] if return_indices else None
    out = MaxPool2dFunction.apply(x, k, s, p, d, bool(ceil_mode), sink)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    ind = sink[0][0] if unbatched else sink[0]
    return out, Tensor(ind)


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
