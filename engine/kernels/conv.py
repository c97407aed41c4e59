"""2-D convolution (cross-correlation, as PyTorch) on NCHW ndarrays: im2col/col2im in Numba + BLAS GEMM.

Shapes: ``x (N, C_in, H, W)``, ``weight (C_out, C_in/groups, kH, kW)``, ``bias (C_out,)``,
``out (N, C_out, H_out, W_out)`` with ``H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1`` (same for W).

Design (measured on the 2-core dev box, 32x64x32x32, 3x3, float32): the batch is processed in
chunks of samples whose im2col buffer ``(C*kH*kW, m, L)`` is ~CHUNK_BYTES (L2-resident; one
75 MB buffer was ~4x slower to fill), and each chunk is one OpenBLAS SGEMM per group
(``_blas.matmul``: GEMMs below ~24M multiply-adds run on one BLAS thread, see ``_blas``).
im2col/col2im are Numba loops, ``parallel`` over the (sample, channel) planes: with the
``workqueue`` threading layer (``engine/kernels/__init__.py``) a parallel region between BLAS calls
no longer fights OpenBLAS's spinning workers (with the OpenMP layer it did, 10x slow-downs), and
the Conv2d(64,64,3,p=1) layer went from 1.7-2.1x to 1.3-1.4x PyTorch. Stride-1 convs with
W_out == W copy each plane as one shifted block (then zero the padding entries) instead of row by
row; "same" convs on small planes (<= SAME_IM2COL_MAX_PLANE, the 16x16 / 8x8 CIFAR layers) use a
channel-major layout where one shifted copy covers all samples of a channel (2-3x faster than
8-16-float rows). A 1x1 / stride 1 / no-padding conv skips im2col (a reshape).
On several threads, once the product is large enough, the chunks run side by side
(``_threads``): each thread runs the serial im2col/col2im (compiled ``nogil``) and its GEMMs on one
BLAS thread, so a batch of skinny GEMMs (LeNet's 6x25x50176) uses both cores without a
parallel-region wake-up or a 2-thread BLAS sync per call.
"""
from __future__ import annotations

import numpy as np

from . import _datamove, _par, _threads, winograd
from ._window import pair as _pair
from ._par import nb  # Numba, imported at the first kernel call
from ._blas import matmul as _matmul


def conv2d_output_size(h, w, kernel_size, stride=1, padding=0, dilation=1) -> tuple[int, int]:
    """``(H_out, W_out)`` with ``H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1`` (same for W)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel_size, stride, padding, dilation))
    return (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1


def _im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # pragma: no mutate block
    """cols[(c*kH + i)*kW + j, n, y*W_out + z] = xpad[n, c, y*sH + i*dH, z*sW + j*dW].

    Flat arrays indexed by uint64: Numba then skips its negative-index wrap-around test and the
    copy loops vectorize (3-5x faster than signed indices)."""
    n_, c_, h, w = x.shape
    xf, cf = x.reshape(-1), cols.reshape(-1)
    zero = cf.dtype.type(0)
    ust = np.uint64(sw)
    plane = ho * wo
    # Fast path (every stride-1 "same-width" conv, e.g. 3x3/pad 1): the output row oh of offset
    # (i, j) is the input row oh + i*dH - pH shifted by j*dW - pW, and since W_out == W the whole
    # plane is one shifted copy of the input plane: one long vectorized copy, then the few entries
    # that fell outside the padded input (edge columns, top/bottom rows) are set to zero. Rows of
    # only 8-16 floats (the deep CIFAR layers) made the row-by-row loop 5-9x slower than memcpy.
    fast = sh == 1 and sw == 1 and wo == w
    for nc in nb.prange(n_ * c_):
        n, c = nc // c_, nc % c_
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pw  # iw = ow*sw + off must lie in [0, w)
                lo = min(wo, max(0, -(off // sw)))
                hi = max(lo, min(wo, (w - 1 - off) // sw + 1))
                if fast:
                    roff = i * dh - ph  # ih = oh + roff must lie in [0, h)
                    r0, r1 = min(ho, max(0, -roff)), max(0, min(ho, h - roff))
                    r1 = max(r0, r1)
                    d0 = np.uint64((((c * kh + i) * kw + j) * n_ + n) * plane)
                    delta = roff * w + off  # cols[t] = xplane[t + delta] for valid t
                    t0 = min(plane, max(r0 * wo, -delta))  # (an all-padding plane: t0 = plane)
                    t1 = max(t0, min(r1 * wo, h * w - delta))
                    for t in range(t0):
                        cf[d0 + np.uint64(t)] = zero
                    src = np.uint64(nc * h * w + t0 + delta)
                    dst = d0 + np.uint64(t0)
                    for t in range(t1 - t0):
                        cf[dst + np.uint64(t)] = xf[src + np.uint64(t)]
                    for t in range(t1, plane):
                        cf[d0 + np.uint64(t)] = zero
                    if lo > 0 or hi < wo:
                        for oh in range(r0, r1):
                            rb = d0 + np.uint64(oh * wo)
                            for k in range(lo):
                                cf[rb + np.uint64(k)] = zero
                            for k in range(hi, wo):
                                cf[rb + np.uint64(k)] = zero
                    continue
                for oh in range(ho):
                    ih = oh * sh - ph + i * dh
                    d = np.uint64(((((c * kh + i) * kw + j) * n_) + n) * ho * wo + oh * wo)
                    if ih < 0 or ih >= h:
                        for k in range(wo):
                            cf[d + np.uint64(k)] = zero
                        continue
                    for k in range(lo):
                        cf[d + np.uint64(k)] = zero
                    for k in range(hi, wo):
                        cf[d + np.uint64(k)] = zero
                    src = np.uint64((nc * h + ih) * w + off + lo * sw)
                    d += np.uint64(lo)
                    if sw == 1:
                        for k in range(hi - lo):
                            cf[d + np.uint64(k)] = xf[src + np.uint64(k)]
                    else:
                        for k in range(hi - lo):
                            cf[d + np.uint64(k)] = xf[src + np.uint64(k) * ust]


_im2col = _par.twins(_im2col, nogil=True)  # (parallel, serial); _par.pick chooses per call


def _col2im(cols, gx, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # pragma: no mutate block
    """The adjoint of _im2col: gx[n, c, p, q] = sum of every cols entry that im2col copied from it."""
    n_, c_, h, w = gx.shape
    gf, cf = gx.reshape(-1), cols.reshape(-1)
    gf[:] = 0
    ust = np.uint64(sw)
    plane = ho * wo
    zero = cf.dtype.type(0)
    fast = sh == 1 and sw == 1 and wo == w  # as in _im2col: one shifted add per plane
    for nc in nb.prange(n_ * c_):
        n, c = nc // c_, nc % c_
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pw
                lo = min(wo, max(0, -(off // sw)))
                hi = max(lo, min(wo, (w - 1 - off) // sw + 1))
                if fast:
                    roff = i * dh - ph
                    r0, r1 = min(ho, max(0, -roff)), max(0, min(ho, h - roff))
                    r1 = max(r0, r1)
                    d0 = np.uint64((((c * kh + i) * kw + j) * n_ + n) * plane)
                    if lo > 0 or hi < wo:  # entries that im2col took from the padding carry no gradient:
                        for oh in range(r0, r1):  # zero them in the (scratch) cols first
                            rb = d0 + np.uint64(oh * wo)
                            for k in range(lo):
                                cf[rb + np.uint64(k)] = zero
                            for k in range(hi, wo):
                                cf[rb + np.uint64(k)] = zero
                    delta = roff * w + off
                    t0 = max(r0 * wo, -delta)
                    t1 = max(t0, min(r1 * wo, h * w - delta))
                    dst = np.uint64(nc * h * w + t0 + delta)
                    src = d0 + np.uint64(t0)
                    for t in range(t1 - t0):
                        gf[dst + np.uint64(t)] += cf[src + np.uint64(t)]
                    continue
                for oh in range(ho):
                    ih = oh * sh - ph + i * dh
                    if ih < 0 or ih >= h:
                        continue
                    src = np.uint64(((((c * kh + i) * kw + j) * n_) + n) * ho * wo + oh * wo + lo)
                    d = np.uint64((nc * h + ih) * w + off + lo * sw)
                    if sw == 1:
                        for k in range(hi - lo):
                            gf[d + np.uint64(k)] += cf[src + np.uint64(k)]
                    else:
                        for k in range(hi - lo):
                            gf[d + np.uint64(k) * ust] += cf[src + np.uint64(k)]


_col2im = _par.twins(_col2im, nogil=True)  # (parallel, serial); _par.pick chooses per call


@nb.njit(cache=True, nogil=True)
def _im2col_same(xt, cols, kh, kw, ph, pw, dh, dw):
    """_im2col for a stride-1 conv whose output has the input's size (e.g. 3x3, padding 1), on the
    channel-major input ``xt (C, m, H, W)``: cols[(c*kH + i)*kW + j].flat[t] = xt[c].flat[t + delta]
    with delta = (i*dH - pH)*W + (j*dW - pW). Per (c, i, j) that is ONE long copy across all m
    samples, then the entries that lie in the padding (top/bottom rows, edge columns; the long
    copy wrapped them into neighbouring rows/samples) are zeroed. On the 8x8 and 16x16 planes of
    the deep CIFAR layers this is 2-4x faster than row-by-row copies of 8-16 floats."""
    c_, m, h, w = xt.shape
    xf, cf = xt.reshape(-1), cols.reshape(-1)
    zero = cf.dtype.type(0)
    plane = h * w
    total = m * plane
    for c in range(c_):
        for i in range(kh):
            roff = i * dh - ph  # input row = output row + roff
            r0, r1 = min(h, max(0, -roff)), max(0, min(h, h - roff))
            r1 = max(r0, r1)
            for j in range(kw):
                off = j * dw - pw  # input column = output column + off
                lo, hi = min(w, max(0, -off)), max(0, min(w, w - off))
                hi = max(lo, hi)
                delta = roff * w + off
                d0 = np.uint64(((c * kh + i) * kw + j) * total)
                t0 = min(total, max(0, -delta))
                t1 = max(t0, min(total, total - delta))
                for t in range(t0):
                    cf[d0 + np.uint64(t)] = zero
                src = np.uint64(c * total + t0 + delta)
                dst = d0 + np.uint64(t0)
                for t in range(t1 - t0):
                    cf[dst + np.uint64(t)] = xf[src + np.uint64(t)]
                for t in range(t1, total):
                    cf[d0 + np.uint64(t)] = zero
                _zero_padding_entries(cf, d0, m, h, w, r0, r1, lo, hi, zero)


@nb.njit(cache=True, nogil=True)
def _zero_padding_entries(cf, d0, m, h, w, r0, r1, lo, hi, zero):
    """Zero, in each of the m planes starting at cf[d0], the rows outside [r0, r1) and the columns
    outside [lo, hi) of the rows inside."""
    for n in range(m):
        pb = d0 + np.uint64(n * h * w)
        for t in range(r0 * w):
            cf[pb + np.uint64(t)] = zero
        for t in range(r1 * w, h * w):
            cf[pb + np.uint64(t)] = zero
        if lo > 0 or hi < w:
            for oh in range(r0, r1):
                rb = pb + np.uint64(oh * w)
                for k in range(lo):
                    cf[rb + np.uint64(k)] = zero
                for k in range(hi, w):
                    cf[rb + np.uint64(k)] = zero


@nb.njit(cache=True, nogil=True)
def _col2im_same(cols, gxt, kh, kw, ph, pw, dh, dw):
    """The adjoint of _im2col_same into the channel-major ``gxt (C, m, H, W)``. ``cols`` is scratch:
    its padding entries are zeroed first (they carry no gradient), then one long shifted add per
    (c, i, j)."""
    c_, m, h, w = gxt.shape
    gf, cf = gxt.reshape(-1), cols.reshape(-1)
    gf[:] = 0
    zero = cf.dtype.type(0)
    total = m * h * w
    for c in range(c_):
        for i in range(kh):
            roff = i * dh - ph
            r0, r1 = min(h, max(0, -roff)), max(0, min(h, h - roff))
            r1 = max(r0, r1)
            for j in range(kw):
                off = j * dw - pw
                lo, hi = min(w, max(0, -off)), max(0, min(w, w - off))
                hi = max(lo, hi)
                delta = roff * w + off
                d0 = np.uint64(((c * kh + i) * kw + j) * total)
                _zero_padding_entries(cf, d0, m, h, w, r0, r1, lo, hi, zero)
                t0 = max(0, -delta)
                t1 = max(t0, min(total, total - delta))
                dst = np.uint64(c * total + t0 + delta)
                src = d0 + np.uint64(t0)
                for t in range(t1 - t0):
                    gf[dst + np.uint64(t)] += cf[src + np.uint64(t)]


def _is_same(x_shape, geo) -> bool:
    """Stride 1 and output size == input size: the channel-major shifted-copy im2col applies."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    return sh == sw == 1 and ho == x_shape[2] and wo == x_shape[3]


def _setup(x, weight, stride, padding, dilation, groups):
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    weight = np.ascontiguousarray(weight, dtype=x.dtype)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected 4-D input and weight, got {x.shape} and {weight.shape}")
    n, c, h, w = x.shape
    co, cig, kh, kw = weight.shape
    if c % groups or co % groups or cig * groups != c:
        raise ValueError(f"conv2d: input {x.shape}, weight {weight.shape}, groups={groups} do not match")
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    ho, wo = conv2d_output_size(h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: input {x.shape} too small for kernel {(kh, kw)} (output {(ho, wo)})")
    geo = (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    return x, weight, geo


#: Winograd F(2x2, 3x3) runs 3x3 / stride 1 / dilation 1 / groups 1 float32 convolutions with at
#: least this many input and output channels (measured on the dev box, one thread, 32 samples:
#: 16->16 on 32x32 forward 16.5 vs 36 ms direct; the 3-channel stem is faster direct). float64 keeps
#: the direct path, whose sums are exact to the last bits the tests check.
WINOGRAD_MIN_CHANNELS = 16


#: ... and outputs of at least this many rows and columns: on 4x4 planes (4 tiles) the transforms
#: cost more than they save (64x32x4x4 -> 64 channels fwd+bwd: 2.4 ms vs 2.0 ms direct; 8x8: a tie).
WINOGRAD_MIN_SIDE = 6


def _use_winograd(x, weight, geo, groups) -> bool:
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    return (x.dtype == np.float32 and groups == 1 and kh == kw == 3 and sh == sw == dh == dw == 1
            and min(x.shape[1], weight.shape[0]) >= WINOGRAD_MIN_CHANNELS and min(ho, wo) >= WINOGRAD_MIN_SIDE)


def _is_pointwise(geo) -> bool:
    """A 1x1 kernel without padding: a plain GEMM per sample, no im2col (strided: on the
    subsampled input ``x[:, :, ::sH, ::sW]``, e.g. ResNet's projection shortcuts)."""
    kh, kw, sh, sw, ph, pw = geo[:6]
    return kh == kw == 1 and ph == pw == 0


def _subsampled(x, geo):
    """``x[:, :, ::sH, ::sW]`` as a contiguous array (``x`` itself for stride 1)."""
    sh, sw = geo[2:4]
    return x if sh == sw == 1 else np.ascontiguousarray(x[:, :, ::sh, ::sw])


def _chunks(n, row_bytes, macs):
    """``(spans, step, threads)``: sample ranges whose im2col buffer (C*kH*kW, m, L) stays near
    CHUNK_BYTES (cache-friendly, bounded memory, each chunk still one large GEMM per group), and
    the number of threads that run them side by side (``_threads``: each thread im2col's its chunk
    with the serial kernel and multiplies on one BLAS thread). Threads are used once the ``macs``
    multiply-adds reach the size where a second thread pays off (``_par``'s ``"chunks"`` row); the
    batch is then cut into at least two chunks per thread (a thread slowed by load takes fewer)."""
    step = max(1, min(n, CHUNK_BYTES // max(1, row_bytes)))
    threads = _threads.workers(n) if _par.parallel_worth(macs, "chunks") else 1
    if threads > 1:
        step = min(step, -(-n // (2 * threads)))
    spans = [(a, min(n, a + step)) for a in range(0, n, step)]
    return spans, step, (_threads.workers(len(spans)) if threads > 1 else 1)


def _fill_cols(xc, cols, geo, same, serial=False, kernel=True):
    """im2col of the samples ``xc`` into ``cols (C*kH*kW, m, L)`` (channel-major copy + shifted
    planes when ``same``; row-by-row otherwise; the serial kernel when ``serial``). With
    ``kernel=False`` (the first convolution calls of a process, see ``_par.Tier``: one decision per
    call, not per chunk) it copies in NumPy: same bits, no compilation."""
    if not kernel:
        _datamove.im2col(xc, cols, geo)
    elif same and xc.shape[2] * xc.shape[3] <= SAME_IM2COL_MAX_PLANE:
        kh, kw, sh, sw, ph, pw, dh, dw = geo[:8]
        if (sh, sw) != (1, 1) or xc.shape[2:] != tuple(geo[-2:]):  # the kernel would write out of bounds
            raise RuntimeError(f"conv2d: the same-size im2col needs stride 1 and an output of the input's "
                               f"size, got stride {(sh, sw)}, input {xc.shape[2:]}, output {tuple(geo[-2:])}")
        _im2col_same(np.ascontiguousarray(xc.transpose(1, 0, 2, 3)), cols, kh, kw, ph, pw, dh, dw)
    else:
        (_im2col[1] if serial else _par.pick(_im2col, cols.size))(xc, cols, *geo)


_IM2COL_TIER, _COL2IM_TIER = _par.Tier("im2col"), _par.Tier("col2im")
#: im2col buffer bytes per chunk: a quarter of the 2 MB per-core L2 cache of the dev box, so the
#: GEMM reads the buffer im2col just wrote from L2, and small enough that glibc serves it from the
#: heap instead of mapping (and page-faulting) fresh memory at every call. Measured against the
#: former 8 MB (fwd / bwd ms, 2 threads): LeNet-5's conv 64x1x28x28 -> 6, 5x5, padding 2:
#: 2.16 / 2.89 -> 0.59 / 0.79; its conv 64x6x14x14 -> 16: a tie (1.0-1.5 / 1.7-2.2 either way);
#: the projection-shortcut ResNet step: a tie (91-100 ms either way).
CHUNK_BYTES = 512 << 10
#: im2col takes the channel-major path only up to this plane size: on 32x32 planes the row-wise
#: copy (rows of 32 floats) is already at memcpy speed and the transposed copy of x would cost more
#: (measured: 0.19 vs 0.28 ms per 8 MB chunk); on 16x16 / 8x8 planes it is 1.4x / 2.6x faster.
SAME_IM2COL_MAX_PLANE = 512


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``out[n, o, y, z] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * xpad[n, g*Cg + c, y*sH + i*dH, z*sW + j*dW]``
    where ``g = o // (C_out/groups)``, ``Cg = C_in/groups`` and ``xpad`` is ``x`` zero-padded by ``padding``.

    ``stride``, ``padding``, ``dilation`` are ints or pairs. Returns ``(N, C_out, H_out, W_out)`` in x's dtype.
    """
    x, weight, geo = _setup(x, weight, stride, padding, dilation, groups)
    if _use_winograd(x, weight, geo, groups):
        return winograd.conv3x3_forward(x, weight, bias, geo[4:6])
    n, co, kg, ho, wo = x.shape[0], weight.shape[0], weight[0].size, geo[-2], geo[-1]
    wmat = weight.reshape(groups, co // groups, kg)
    if _is_pointwise(geo):
        out = _matmul(wmat, _subsampled(x, geo).reshape(n, groups, kg, ho * wo))
    else:
        out = np.empty((n, co, ho * wo), dtype=x.dtype)
        spans, step, threads = _chunks(n, groups * kg * ho * wo * x.itemsize, co * kg * n * ho * wo)
        bufs = [np.empty(groups * kg * step * ho * wo, dtype=x.dtype) for _ in range(threads)]
        same, one = _is_same(x.shape, geo), threads > 1
        kernel = _IM2COL_TIER.kernel_due()

        def chunk(worker, i):
            a, b = spans[i]
            cols = bufs[worker][:groups * kg * (b - a) * ho * wo].reshape(groups * kg, b - a, ho * wo)
            _fill_cols(x[a:b], cols, geo, same, serial=one, kernel=kernel)
            y = _matmul(wmat, cols.reshape(groups, kg, (b - a) * ho * wo), one_thread=one)  # a GEMM per group
            out[a:b] = y.reshape(co, b - a, ho * wo).transpose(1, 0, 2)

        _threads.run(chunk, len(spans), threads)
    out = out.reshape(n, co, ho, wo)
    if bias is not None:
        out += np.asarray(bias, dtype=x.dtype).reshape(co, 1, 1)
    return out


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    needs_input_grad=(True, True, True)):
    """Gradients of :func:`conv2d_forward`: ``(grad_input, grad_weight, grad_bias)``.

    ``grad_weight[o, c, i, j] = sum_{n, y, z} grad_out[n, o, y, z] * xpad[n, g*Cg + c, y*sH + i*dH, z*sW + j*dW]``,
    ``grad_bias[o] = sum_{n, y, z} grad_out[n, o, y, z]``, and ``grad_input`` is the transposed
    convolution: col2im of ``weight^T @ grad_out`` (every input pixel collects the products of the
    outputs it fed). Entries of ``needs_input_grad`` that are False come back as ``None``.
    """
    x, weight, geo = _setup(x, weight, stride, padding, dilation, groups)
    need = tuple(needs_input_grad) + (True,) * (3 - len(needs_input_grad))
    if _use_winograd(x, weight, geo, groups):
        return winograd.conv3x3_backward(grad_out, x, weight, geo[4:6], need)
    n, c, h, w = x.shape
    co, kg, ho, wo = weight.shape[0], weight[0].size, geo[-2], geo[-1]
    kh, kw, _, _, ph, pw, dh, dw = geo[:8]
    gy = np.ascontiguousarray(grad_out, dtype=x.dtype).reshape(n, groups, co // groups, ho * wo)
    wt = weight.reshape(groups, co // groups, kg).transpose(0, 2, 1)
    gx = np.empty((n, c, h, w), dtype=x.dtype) if need[0] else None
    gw = np.zeros((groups, co // groups, kg), dtype=x.dtype) if need[1] else None
    if _is_pointwise(geo):
        if need[0]:
            if geo[2] == geo[3] == 1:
                _matmul(wt, gy, out=gx.reshape(n, groups, kg, ho * wo))
            else:  # only the sampled pixels get a gradient
                gx[...] = 0
                gx[:, :, ::geo[2], ::geo[3]] = _matmul(wt, gy).reshape(n, c, ho, wo)
        if need[1]:
            xs = _subsampled(x, geo).reshape(n, groups, kg, ho * wo)
            gw += _matmul(gy, xs.transpose(0, 1, 3, 2)).sum(axis=0)
    elif need[0] or need[1]:
        spans, step, threads = _chunks(n, groups * kg * ho * wo * x.itemsize, 2 * co * kg * n * ho * wo)
        bufs = [np.empty(groups * kg * step * ho * wo, dtype=x.dtype) for _ in range(threads)]
        same, one = _is_same(x.shape, geo), threads > 1
        gxts = [np.empty((c, step, h, w), dtype=x.dtype) if same and need[0] else None for _ in range(threads)]
        parts = [None] * len(spans)  # grad_weight per chunk, summed in chunk order: same bits every run
        im2col_kernel = need[1] and _IM2COL_TIER.kernel_due()
        col2im_kernel = need[0] and _COL2IM_TIER.kernel_due()

        def chunk(worker, i):
            a, b = spans[i]
            m = b - a
            cols = bufs[worker][:groups * kg * m * ho * wo].reshape(groups * kg, m, ho * wo)
            gyt = np.ascontiguousarray(gy[a:b].transpose(1, 2, 0, 3)).reshape(groups, co // groups, m * ho * wo)
            if need[1]:
                _fill_cols(x[a:b], cols, geo, same, serial=one, kernel=im2col_kernel)
                parts[i] = _matmul(gyt, cols.reshape(groups, kg, m * ho * wo).transpose(0, 2, 1),
                                   one_thread=one)
            if need[0]:
                _matmul(wt, gyt, out=cols.reshape(groups, kg, m * ho * wo), one_thread=one)
                if not col2im_kernel:  # NumPy, same bits (see _par.Tier)
                    _datamove.col2im(cols, gx[a:b], geo)
                elif same:
                    g = gxts[worker].reshape(-1)[:c * m * h * w].reshape(c, m, h, w)
                    _col2im_same(cols, g, kh, kw, ph, pw, dh, dw)
                    gx[a:b] = g.transpose(1, 0, 2, 3)
                else:
                    (_col2im[1] if one else _par.pick(_col2im, cols.size))(cols, gx[a:b], *geo)

        _threads.run(chunk, len(spans), threads)
        if need[1] and parts:  # an empty batch has no chunks: gw stays 0
            gw += _threads.sum_in_order(parts)
    gb = gy.sum(axis=(0, 3)).reshape(co) if need[2] else None
    return gx, (gw.reshape(weight.shape) if need[1] else None), gb


# ----------------------------------------------------------------------------- reference twins
def _ref_setup(x, weight, stride, padding, dilation, groups):
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    co, cig, kh, kw = weight.shape
    ho, wo = conv2d_output_size(h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    wg = weight.reshape(groups, co // groups, cig, kh, kw)

    def window(i, j):  # the slice of xp that kernel offset (i, j) sees, for every output position
        return (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))

    return xp, wg, window, (n, c, h, w, co, cig, kh, kw, ho, wo, ph, pw)


def conv2d_forward_reference(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Plain-NumPy twin of :func:`conv2d_forward`: a sum over kernel offsets of einsum products."""
    xp, wg, window, (n, c, h, w, co, cig, kh, kw, ho, wo, ph, pw) = _ref_setup(
        x, weight, stride, padding, dilation, groups)
    out = np.zeros((n, groups, co // groups, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[window(i, j)].reshape(n, groups, cig, ho, wo)
            out += np.einsum("ngchw,goc->ngohw", patch, wg[:, :, :, i, j])
    out = out.reshape(n, co, ho, wo)
    if bias is not None:
        out += bias.reshape(co, 1, 1)
    return out


def conv2d_backward_reference(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1):
    """Plain-NumPy twin of :func:`conv2d_backward` (all three gradients)."""
    xp, wg, window, (n, c, h, w, co, cig, kh, kw, ho, wo, ph, pw) = _ref_setup(
        x, weight, stride, padding, dilation, groups)
    gy = grad_out.reshape(n, groups, co // groups, ho, wo)
    gxp = np.zeros_like(xp)
    gw = np.zeros((groups, co // groups, cig, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[window(i, j)].reshape(n, groups, cig, ho, wo)
            gw[:, :, :, i, j] = np.einsum("ngohw,ngchw->goc", gy, patch)
            gxp[window(i, j)] += np.einsum("ngohw,goc->ngchw", gy, wg[:, :, :, i, j]).reshape(n, c, ho, wo)
    gx = gxp[:, :, ph:ph + h, pw:pw + w]
    return gx, gw.reshape(weight.shape), grad_out.sum(axis=(0, 2, 3))
