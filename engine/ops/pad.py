"""``pad(x, pad, mode="constant", value=0)`` with PyTorch's pad tuple (last dimension first):
``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two, and so on."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import run

_NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_widths(ndim: int, pad) -> list:
    """PyTorch's flat pad tuple as NumPy's per-dimension ((before, after), ...) list."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > ndim:
        raise ValueError(f"pad: padding length must be even and at most 2*ndim={2 * ndim}, "
                         f"got {len(pad)} for an input with {ndim} dims")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    widths = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        widths[ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return widths


class Pad(Function):
    """out = a padded;  da = the interior of g (constant) or g scattered back onto the source
    positions each padded element copied (reflect / replicate / circular)."""

    raw = True

    @staticmethod
    def forward(ctx, a, pad, mode, value):
        if mode not in _NUMPY_MODE:
            raise ValueError(f"pad: mode must be one of {sorted(_NUMPY_MODE)}, got {mode!r}")
        widths = pad_widths(a.ndim, pad)
        ctx.meta = (a.shape, widths, mode)
        if mode == "constant":
            return np.pad(a, widths, mode="constant", constant_values=value)
        for d, (lo, hi) in enumerate(widths):
            if mode == "reflect" and (lo >= a.shape[d] or hi >= a.shape[d]):
                raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the "
                                 f"dimension size {a.shape[d]} (input shape {a.shape})")
        return np.pad(a, widths, mode=_NUMPY_MODE[mode])

    @staticmethod
    def backward(ctx, g):
        shape, widths, mode = ctx.meta
        if mode == "constant":
            idx = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, shape))
            return g[idx], None, None, None
        return run(PadScatter, g, shape, widths, _NUMPY_MODE[mode]), None, None, None


class PadScatter(Function):
    """The adjoint of a non-constant pad: each padded position adds its gradient to its source."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, widths, np_mode):
        ctx.meta = (shape, widths, np_mode)
        out = g
        for d, ((lo, hi), n) in enumerate(zip(widths, shape)):
            if lo == hi == 0:
                continue
            src = np.pad(np.arange(n), (lo, hi), mode=np_mode)
            moved = np.moveaxis(out, d, 0)
            acc = np.zeros((n,) + moved.shape[1:], dtype=g.dtype)
            np.add.at(acc, src, moved)
            out = np.moveaxis(acc, 0, d)
        return np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, gg):
        shape, widths, np_mode = ctx.meta
        mode = {v: k for k, v in _NUMPY_MODE.items()}[np_mode]
        flat = [p for (lo, hi) in reversed(widths) for p in (lo, hi)]
        return run(Pad, gg, flat, mode, 0), None, None, None


def pad(input, pad, mode="constant", value=0):  # noqa: A002
    """Pad with PyTorch's pad tuple (last dim first); modes constant/reflect/replicate/circular."""
    return Pad.apply(input, tuple(pad), mode, value)
