"""2-D pooling on NCHW ndarrays: MaxPool2d (with argmax), AvgPool2d, AdaptiveAvgPool2d; forward + backward.

One Numba task per (n, c) plane. Planes are indexed flat with uint64 offsets so Numba skips its
negative-index wrap-around test in the inner loops. Output sizes follow PyTorch exactly:
``out = floor_or_ceil((H + 2p - d*(k-1) - 1) / s) + 1``, and in ceil mode the last window must
start inside the input or the left padding.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from . import _checks, _par
from ._window import pair as _pair
from ._par import nb  # Numba, imported at the first kernel call

_FLAGS = dict(fastmath={"reassoc", "contract"})  # + cache=True, parallel twin: see _par


def pool_output_size(size, kernel, stride, pad, dilation=1, ceil_mode=False) -> int:
    """PyTorch's ``pooling_output_shape`` for one spatial dimension."""
    num = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = num // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, name):
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D (N, C, H, W) input, got {x.shape}")
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sh, sw = _pair(kernel_size if stride is None or stride == () else stride)
    for p, k, d in ((ph, kh, dh), (pw, kw, dw)):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{name}: padding {p} should be at most half of the kernel size {k}")
    ho = pool_output_size(x.shape[2], kh, sh, ph, dh, ceil_mode)
    wo = pool_output_size(x.shape[3], kw, sw, pw, dw, ceil_mode)
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: input {x.shape} too small (output {(ho, wo)})")
    return x, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)


# ----------------------------------------------------------------------------- max pool
@functools.lru_cache(maxsize=256)
def _clip_offsets(n_out, stride, pad, dil, k, size):
    """Per output position o: the range [a, b) of kernel offsets t with 0 <= o*stride - pad + t*dil < size
    (empty when a >= b), computed in NumPy once per geometry (a Numba helper with ``np.empty`` cost
    ~0.4 s of compilation in a cold start) and passed to the kernel, which only reads it, as an
    ``(n_out, 2)`` int64 array."""
    s0 = np.arange(n_out, dtype=np.int64) * stride - pad
    r = np.empty((n_out, 2), np.int64)
    r[:, 0] = np.where(s0 >= 0, 0, (dil - 1 - s0) // dil)
    r[:, 1] = np.where(s0 <= size - 1, np.minimum(k, (size - 1 - s0) // dil + 1), 0)
    return r


def _max_fwd(x, out, ind, rows, cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # pragma: no mutate block
    """``rows``/``cols``: :func:`_clip_offsets` of the two axes. The window's valid offsets are
    clipped once per output (no per-element bounds tests), the
    running max starts at the window's first element, and the compare-and-take is written as
    selects (branch-free on random data: the branchy version ran ~18 ns per output)."""
    n_, c_, h, w = x.shape
    xf, of, jf = x.reshape(-1), out.reshape(-1), ind.reshape(-1)
    ninf = -np.inf
    # MaxPool2d(2) whose windows all lie inside x (no padding, no ceil_mode overhang): the full 2x2
    # block at (2*oh, 2*ow), the same four selects in the general loop's order, unrolled (the
    # general loop ran ~13 ns per output on LeNet's pools)
    pool2 = (kh == kw == 2 and sh == sw == 2 and ph == pw == 0 and dh == dw == 1
             and 2 * ho <= h and 2 * wo <= w)
    for nc in nb.prange(n_ * c_):
        base = nc * h * w
        obase = nc * ho * wo
        if pool2:
            for oh in range(ho):
                r0 = 2 * oh * w
                ob = np.uint64(obase + oh * wo)
                for ow in range(wo):
                    q = r0 + 2 * ow
                    best, arg = xf[np.uint64(base + q)], q
                    for q2 in (q + 1, q + w, q + w + 1):
                        v = xf[np.uint64(base + q2)]
                        take = (v > best) | (v != v)
                        best = v if take else best
                        arg = q2 if take else arg
                    of[ob + np.uint64(ow)] = best
                    jf[ob + np.uint64(ow)] = arg
            continue
        for oh in range(ho):
            h0 = oh * sh - ph
            i0, i1 = rows[oh, 0], rows[oh, 1]
            for ow in range(wo):
                w0 = ow * sw - pw
                j0, j1 = cols[ow, 0], cols[ow, 1]
                o = np.uint64(obase + oh * wo + ow)
                if i0 >= i1 or j0 >= j1:  # only padding (dilated windows): -inf, no argmax
                    of[o] = ninf
                    jf[o] = -1
                    continue
                arg = (h0 + i0 * dh) * w + w0 + j0 * dw
                best = xf[np.uint64(base + arg)]
                for i in range(i0, i1):
                    r = (h0 + i * dh) * w + w0
                    for j in range(j0, j1):
                        q = r + j * dw
                        v = xf[np.uint64(base + q)]
                        take = (v > best) | (v != v)  # PyTorch: a larger value or a NaN wins
                        best = v if take else best
                        arg = q if take else arg
                of[o] = best
                jf[o] = arg


_max_fwd = _par.twins(_max_fwd, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


def _max_bwd(gy, ind, gx):  # pragma: no mutate block
    n_, c_, h, w = gx.shape
    ho, wo = gy.shape[2], gy.shape[3]
    gf, yf, jf = gx.reshape(-1), gy.reshape(-1), ind.reshape(-1)
    for nc in nb.prange(n_ * c_):
        base = nc * h * w
        for k in range(h * w):
            gf[np.uint64(base + k)] = 0
        for k in range(ho * wo):
            o = np.uint64(nc * ho * wo + k)
            j = jf[o]
            if j >= 0:  # -1 marks a window that lies entirely in the padding: no gradient
                gf[np.uint64(base + j)] += yf[o]


_max_bwd = _par.twins(_max_bwd, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


def _max_fwd_numpy(x, geo):
    """The kernel's result in NumPy, bit for bit, when every window lies inside the input (no
    padding, no ceil-mode overhang) and no NaN is involved: the window entries stacked in the
    kernel's (i, j) order, ``argmax`` (first maximum, as the kernel's strict ``>``; a ``-0.0``
    before a ``0.0`` stays, both compare equal), the value taken at it. Returns None where it does
    not apply (the caller runs the kernel: NaN windows, whose last NaN wins there)."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    n, c, h, w = x.shape
    if ph or pw or (ho - 1) * sh + (kh - 1) * dh >= h or (wo - 1) * sw + (kw - 1) * dw >= w:
        return None
    win = np.stack([x[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                    for i in range(kh) for j in range(kw)], axis=-1)
    k = win.argmax(axis=-1)
    out = np.take_along_axis(win, k[..., None], -1)[..., 0]
    if np.isnan(out).any():
        return None
    i, j = np.divmod(k, kw)
    rows = (np.arange(ho) * sh).reshape(ho, 1)
    cols = np.arange(wo) * sw
    ind = (rows + i * dh) * w + (cols + j * dw)
    return out, ind.astype(np.int64, copy=False)


def _max_bwd_numpy(gy, ind, gx):
    """The kernel's result in NumPy, bit for bit: ``gx`` zeroed, then ``np.add.at`` adds the
    gradients in output order (as the kernel's loop; one add per entry when windows do not overlap)."""
    n, c, h, w = gx.shape
    g2, i2 = gy.reshape(n * c, gy.shape[2] * gy.shape[3]), ind.reshape(n * c, gy.shape[2] * gy.shape[3])
    gx2 = gx.reshape(n * c, h * w)
    gx2[...] = 0
    rows = np.broadcast_to(np.arange(n * c).reshape(-1, 1), i2.shape)
    keep = i2 >= 0
    if keep.all():
        np.add.at(gx2, (rows, i2), g2)
    else:
        np.add.at(gx2, (rows[keep], i2[keep]), g2[keep])


_MAX_FWD_TIER, _MAX_BWD_TIER = _par.Tier("max_pool_forward"), _par.Tier("max_pool_backward")


def maxpool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``out[n, c, y, z] = max_{i, j} xpad[n, c, y*sH + i*dH, z*sW + j*dW]`` (padding is -inf; NaN wins).

    Returns ``(out, indices)``; ``indices`` (int64, like ``return_indices=True`` in PyTorch) is the
    flat position ``h*W + w`` of each maximum within its (n, c) plane. ``stride`` defaults to ``kernel_size``.
    """
    x, geo = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    n, c = x.shape[:2]
    out = np.empty((n, c, geo[-2], geo[-1]), x.dtype)
    ind = np.empty(out.shape, np.int64)
    if not _MAX_FWD_TIER.kernel_due():  # the first calls: NumPy, same bits (see _par.Tier)
        res = _max_fwd_numpy(x, geo)
        if res is not None:
            return res
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    rows = _clip_offsets(ho, sh, ph, dh, kh, x.shape[2])
    cols = _clip_offsets(wo, sw, pw, dw, kw, x.shape[3])
    _par.pick(_max_fwd, x.size)(x, out, ind, rows, cols, *geo)
    return out, ind


def maxpool2d_backward(grad_out, indices, input_shape):
    """``grad_input[n, c].flat[indices[n, c, y, z]] += grad_out[n, c, y, z]`` (zeros elsewhere)."""
    gy = _checks.float_array(grad_out, "max_pool2d_backward", "grad_out")
    shape = _checks.shape_4d(input_shape, "max_pool2d_backward", "input_shape")
    ind = np.ascontiguousarray(indices, np.int64)
    _checks.expect_shape(ind, gy.shape, "max_pool2d_backward", "indices")
    if gy.ndim != 4 or gy.shape[:2] != shape[:2]:
        raise ValueError(f"max_pool2d_backward: grad_out {tuple(gy.shape)} does not match input_shape {shape}")
    if ind.size and (ind.min() < -1 or ind.max() >= shape[2] * shape[3]):  # -1: an all-padding window
        raise ValueError(f"max_pool2d_backward: indices must lie in [-1, {shape[2] * shape[3]}) for planes "
                         f"of {shape[2:]}, got [{ind.min()}, {ind.max()}]")
    gx = np.empty(shape, gy.dtype)
    if _MAX_BWD_TIER.kernel_due():
        _par.pick(_max_bwd, gx.size)(gy, ind, gx)
    else:  # the first calls: NumPy, same bits (see _par.Tier)
        _max_bwd_numpy(gy, ind, gx)
    return gx


# ----------------------------------------------------------------------------- average pool
def _avg(x, y, forward, include_pad, divisor, kh, kw, sh, sw, ph, pw, ho, wo):  # pragma: no mutate block
    """forward: y[n,c,oh,ow] = window sum / divisor; else x (=grad_input) += y (=grad_out) / divisor."""
    n_, c_, h, w = x.shape
    xf, yf = x.reshape(-1), y.reshape(-1)
    for nc in nb.prange(n_ * c_):
        base = nc * h * w
        if not forward:
            for k in range(h * w):
                xf[np.uint64(base + k)] = 0
        for oh in range(ho):
            h0 = oh * sh - ph
            h1 = min(h0 + kh, h + ph)
            for ow in range(wo):
                w0 = ow * sw - pw
                w1 = min(w0 + kw, w + pw)
                size = (h1 - h0) * (w1 - w0)
                a, b = max(h0, 0), min(h1, h)
                c0, c1 = max(w0, 0), min(w1, w)
                div = divisor if divisor > 0 else (size if include_pad else (b - a) * (c1 - c0))
                o = np.uint64((nc * ho + oh) * wo + ow)
                if forward:
                    s = 0.0
                    for ih in range(a, b):
                        for iw in range(c0, c1):
                            s += xf[np.uint64(base + ih * w + iw)]
                    yf[o] = s / div if b > a and c1 > c0 else 0.0
                elif b > a and c1 > c0:
                    g = yf[o] / div
                    for ih in range(a, b):
                        for iw in range(c0, c1):
                            xf[np.uint64(base + ih * w + iw)] += g


_avg = _par.twins(_avg, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


def avgpool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None):
    """``out[n, c, y, z] = sum_{window} x / D`` over the window ``[y*sH - pH, y*sH - pH + kH)`` x (same for W)
    clipped to the input; ``D`` = window size clipped to the padded input (``count_include_pad``),
    the number of real input elements (otherwise), or ``divisor_override``."""
    x, geo = _geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    kh, kw, sh, sw, ph, pw, _, _, ho, wo = geo
    out = np.empty(x.shape[:2] + (ho, wo), x.dtype)
    _par.pick(_avg, x.size)(x, out, True, bool(count_include_pad), int(divisor_override or 0), kh, kw, sh, sw, ph, pw, ho, wo)
    return out


def avgpool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """``grad_input[window(y, z)] += grad_out[n, c, y, z] / D`` with the windows and ``D`` of the forward."""
    gy = _checks.float_array(grad_out, "avg_pool2d_backward", "grad_out")
    gx = np.empty(_checks.shape_4d(input_shape, "avg_pool2d_backward", "input_shape"), gy.dtype)
    _, geo = _geometry(gx, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    kh, kw, sh, sw, ph, pw, _, _, ho, wo = geo
    _checks.expect_shape(gy, gx.shape[:2] + (ho, wo), "avg_pool2d_backward", "grad_out")
    _par.pick(_avg, gx.size)(gx, gy, False, bool(count_include_pad), int(divisor_override or 0), kh, kw, sh, sw, ph, pw, ho, wo)
    return gx


# ----------------------------------------------------------------------------- adaptive average pool
def _adaptive(x, y, forward):  # pragma: no mutate block
    """Bins start = floor(o*In/Out), end = ceil((o+1)*In/Out); forward: y = bin mean, else x = grad."""
    n_, c_, h, w = x.shape
    ho, wo = y.shape[2], y.shape[3]
    xf, yf = x.reshape(-1), y.reshape(-1)
    for nc in nb.prange(n_ * c_):
        base = nc * h * w
        if not forward:
            for k in range(h * w):
                xf[np.uint64(base + k)] = 0
        for oh in range(ho):
            a, b = (oh * h) // ho, ((oh + 1) * h + ho - 1) // ho
            for ow in range(wo):
                c0, c1 = (ow * w) // wo, ((ow + 1) * w + wo - 1) // wo
                o = np.uint64((nc * ho + oh) * wo + ow)
                cnt = (b - a) * (c1 - c0)
                if forward:
                    s = 0.0
                    for ih in range(a, b):
                        for iw in range(c0, c1):
                            s += xf[np.uint64(base + ih * w + iw)]
                    yf[o] = s / cnt
                else:
                    g = yf[o] / cnt
                    for ih in range(a, b):
                        for iw in range(c0, c1):
                            xf[np.uint64(base + ih * w + iw)] += g


_adaptive = _par.twins(_adaptive, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


def _adaptive_size(x_shape, output_size):
    oh, ow = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    return (x_shape[2] if oh is None else int(oh)), (x_shape[3] if ow is None else int(ow))


def adaptive_avgpool2d_forward(x, output_size):
    """``out[n, c, i, j] = mean(x[n, c, floor(i*H/Ho):ceil((i+1)*H/Ho), floor(j*W/Wo):ceil((j+1)*W/Wo)])``.
    ``output_size`` is an int or a pair (None keeps the input size)."""
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected a 4-D input, got {x.shape}")
    ho, wo = _adaptive_size(x.shape, output_size)
    out = np.empty(x.shape[:2] + (ho, wo), x.dtype)
    _par.pick(_adaptive, x.size)(x, out, True)
    return out


def adaptive_avgpool2d_backward(grad_out, input_shape):
    """Each input pixel gets ``grad_out / bin_size`` from every bin that contains it."""
    gy = _checks.float_array(grad_out, "adaptive_avg_pool2d_backward", "grad_out")
    gx = np.empty(_checks.shape_4d(input_shape, "adaptive_avg_pool2d_backward", "input_shape"), gy.dtype)
    if gy.ndim != 4 or gy.shape[:2] != gx.shape[:2] or min(gy.shape[2:]) < 1:
        raise ValueError(f"adaptive_avg_pool2d_backward: grad_out {tuple(gy.shape)} does not match "
                         f"input_shape {gx.shape}")
    _par.pick(_adaptive, gx.size)(gx, gy, False)
    return gx


# ----------------------------------------------------------------------------- reference twins
def _windows(xp, geo):
    """All pooling windows of an already padded array: (N, C, Ho, Wo, kH*kW), offsets i-major."""
    kh, kw, sh, sw, _, _, dh, dw, ho, wo = geo
    return np.stack([xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                     for i in range(kh) for j in range(kw)], axis=-1)


def _pad_for(x, geo, value):
    """Pad by ``padding`` plus whatever extra the ceil-mode windows reach beyond the right edge."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    eh = max(0, (ho - 1) * sh + (kh - 1) * dh + 1 - (x.shape[2] + 2 * ph))
    ew = max(0, (wo - 1) * sw + (kw - 1) * dw + 1 - (x.shape[3] + 2 * pw))
    return np.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=value)


def maxpool2d_forward_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Plain-NumPy twin of :func:`maxpool2d_forward` (first maximum wins ties, as the kernel)."""
    x, geo = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    plane = np.arange(x.shape[2] * x.shape[3]).reshape(1, 1, x.shape[2], x.shape[3])
    win = _windows(_pad_for(x, geo, -np.inf), geo)
    idx = np.broadcast_to(_windows(_pad_for(plane, geo, -1), geo), win.shape)
    arg = win.argmax(axis=-1)
    # a window whose entries are all -inf: the kernel keeps its first REAL entry, not a padding one
    # (which argmax would take when the window starts in the padding)
    real = idx >= 0
    arg = np.where(np.isneginf(np.take_along_axis(win, arg[..., None], -1)[..., 0]) & real.any(axis=-1),
                   real.argmax(axis=-1), arg)[..., None]
    return np.take_along_axis(win, arg, -1)[..., 0], np.take_along_axis(idx, arg, -1)[..., 0]


def maxpool2d_backward_reference(grad_out, indices, input_shape):
    """Plain-NumPy twin of :func:`maxpool2d_backward` via ``np.add.at``."""
    n, c, h, w = input_shape
    gx = np.zeros((n * c, h * w), grad_out.dtype)
    rows = np.repeat(np.arange(n * c), indices[0, 0].size)
    cols, g = indices.reshape(-1), grad_out.reshape(-1)
    keep = cols >= 0  # -1: a window entirely in the padding passes no gradient
    np.add.at(gx, (rows[keep], cols[keep]), g[keep])
    return gx.reshape(input_shape)


def _avg_divisor(shape, geo, count_include_pad, divisor_override):
    if divisor_override:
        return float(divisor_override)
    kh, kw, sh, sw, ph, pw = geo[:6]
    ones = np.ones((1, 1) + tuple(shape[2:]))
    if count_include_pad:  # ones over the padded input, zeros beyond it (ceil-mode overhang)
        ones = np.pad(ones, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=1.0)
        geo = geo[:4] + (0, 0) + geo[6:]
    return _windows(_pad_for(ones, geo, 0.0), geo).sum(axis=-1)


def avgpool2d_forward_reference(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                                count_include_pad=True, divisor_override=None):
    """Plain-NumPy twin of :func:`avgpool2d_forward`."""
    x, geo = _geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    total = _windows(_pad_for(x, geo, 0.0), geo).sum(axis=-1)
    return (total / _avg_divisor(x.shape, geo, count_include_pad, divisor_override)).astype(x.dtype)


def avgpool2d_backward_reference(grad_out, input_shape, kernel_size, stride=None, padding=0,
                                 ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Plain-NumPy twin of :func:`avgpool2d_backward`: scatter ``grad / D`` over each window."""
    _, geo = _geometry(np.zeros(input_shape), kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    g = grad_out / _avg_divisor(input_shape, geo, count_include_pad, divisor_override)
    gxp = _pad_for(np.zeros(input_shape, grad_out.dtype), geo, 0.0)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += g
    return gxp[:, :, ph:ph + input_shape[2], pw:pw + input_shape[3]]


def adaptive_avgpool2d_forward_reference(x, output_size):
    """Plain-NumPy twin of :func:`adaptive_avgpool2d_forward` (loops over the bins)."""
    h, w = x.shape[2:]
    ho, wo = _adaptive_size(x.shape, output_size)
    out = np.empty(x.shape[:2] + (ho, wo), x.dtype)
    for i in range(ho):
        for j in range(wo):
            hs, he = math.floor(i * h / ho), math.ceil((i + 1) * h / ho)
            ws, we = math.floor(j * w / wo), math.ceil((j + 1) * w / wo)
            out[:, :, i, j] = x[:, :, hs:he, ws:we].mean(axis=(2, 3))
    return out


def adaptive_avgpool2d_backward_reference(grad_out, input_shape):
    """Plain-NumPy twin of :func:`adaptive_avgpool2d_backward`."""
    h, w = input_shape[2:]
    ho, wo = grad_out.shape[2:]
    gx = np.zeros(input_shape, grad_out.dtype)
    for i in range(ho):
        for j in range(wo):
            hs, he = math.floor(i * h / ho), math.ceil((i + 1) * h / ho)
            ws, we = math.floor(j * w / wo), math.ceil((j + 1) * w / wo)
            gx[:, :, hs:he, ws:we] += grad_out[:, :, i:i + 1, j:j + 1] / ((he - hs) * (we - ws))
    return gx
