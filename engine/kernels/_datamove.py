"""NumPy im2col/col2im that give the Numba kernels' results BIT FOR BIT (the first calls of a
process run these, see ``_par.Tier``; the kernels take over once they pay for their compilation).

im2col is pure data movement (copies and zeros), so any correct implementation gives the same
bits. col2im sums: every input pixel receives ``0 + c(0,0) + c(0,1) + ... `` over the kernel
offsets ``(i, j)`` that reach it, in i-major order, one contribution per offset; the kernels add
in exactly that order, and so does the loop below (one shifted ``+=`` per offset on a zero-padded
accumulator), hence the same rounding. Measured on LeNet-5's layers at batch 64: 0.6 / 0.7 ms
here vs 0.3 / 0.8 ms for the kernels (im2col), 2.0 vs 0.9 ms (col2im of conv2).
"""
from __future__ import annotations

import numpy as np


def _window(geo, i, j):
    """The slice of the padded input that kernel offset (i, j) reads, for every output position."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    return (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def im2col(x, cols, geo):
    """``cols[(c*kH + i)*kW + j, n, y*W_out + z] = xpad[n, c, y*sH + i*dH, z*sW + j*dW]`` for
    ``x (m, C, H, W)`` into ``cols (C*kH*kW, m, H_out*W_out)`` (``geo`` as in ``conv._setup``)."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    m, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    c6 = cols.reshape(c, kh, kw, m, ho, wo)
    for i in range(kh):
        for j in range(kw):
            c6[:, i, j] = xp[_window(geo, i, j)].transpose(1, 0, 2, 3)


def col2im(cols, gx, geo):
    """The adjoint of :func:`im2col`: ``gx[n, c, p, q]`` = the sum, over kernel offsets in i-major
    order, of the ``cols`` entries that im2col copied from that pixel (``gx`` is overwritten)."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    m, c, h, w = gx.shape
    gxp = np.zeros((m, c, h + 2 * ph, w + 2 * pw), gx.dtype)
    c6 = cols.reshape(c, kh, kw, m, ho, wo)
    for i in range(kh):
        for j in range(kw):
            gxp[_window(geo, i, j)] += c6[:, i, j].transpose(1, 0, 2, 3)
    gx[...] = gxp[:, :, ph:ph + h, pw:pw + w]
