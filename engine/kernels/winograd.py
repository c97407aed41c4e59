"""Winograd F(2x2, 3x3) convolution (Lavin & Gray 2015) for 3x3 / stride 1 / dilation 1 / groups 1.

Each 2x2 block ("tile") of the output is computed from the 4x4 input patch that covers it:

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d Bᵀᵀ) ] A        (one 4x4 elementwise product per (out, in) channel pair)

with the constant matrices :data:`BT` (4x4), :data:`G` (4x3) and :data:`AT` (2x4) below. Summed over
input channels, the 16 positions of the 4x4 product become 16 independent GEMMs
``M[k] = U[k] @ V[k]`` with ``U[k] = (G g Gᵀ)[k]`` of shape ``(C_out, C_in)`` and
``V[k] = (Bᵀ d B)[k]`` of shape ``(C_in, tiles)``: 16·C_out·C_in multiplies per 4 outputs instead
of 36·C_out·C_in, i.e. 2.25x fewer than the direct (im2col) convolution, and the input transform
writes 16/4 = 4 floats per input pixel instead of im2col's 9.

Backward, with the gradient ``gy`` of the output:
``dM[k] = (A gy Aᵀ)[k]`` (the adjoint of the output transform), ``dU[k] = Σ_tiles dM[k] V[k]ᵀ``,
``grad_weight = Gᵀ dU G``, ``dV[k] = U[k]ᵀ dM[k]`` and ``grad_input`` = the scatter-add of
``B dV Bᵀ`` over the (overlapping) input patches (the adjoint of the input transform).

The four transforms are serial Numba loops (``nogil``), each with a plain-NumPy twin
(``*_reference``) written with the matrices. The work is split into chunks of samples, and on
several threads the chunks run side by side (``_threads``): each thread transforms its chunk, runs
the 16 products on one BLAS thread and transforms back while the chunk is still in its cache. Used for float32 only (float64 keeps
the exact direct path); the error against the direct convolution is tested.
"""
from __future__ import annotations

import numpy as np

from . import _par, _threads
from ._par import nb  # Numba, imported at the first kernel call
from ._blas import matmul as _matmul

#: Input transform Bᵀ (4x4), weight transform G (4x3), output transform Aᵀ (2x4).
BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)

#: Samples per chunk: the transformed input of one chunk (16 * C * tiles floats) stays near this.
CHUNK_BYTES = 1 << 20


def tiles(ho, wo) -> tuple[int, int]:
    """Number of 2x2 output tiles per column and row: ``(ceil(H_out/2), ceil(W_out/2))``."""
    return (ho + 1) // 2, (wo + 1) // 2


# --------------------------------------------------------------------------------- Numba kernels
@nb.njit(cache=True, nogil=True)
def _input_transform(x, v, ph, pw, th, tw):
    """v[4r + s, c*T + n*th*tw + i*tw + j] = (Bᵀ d B)[r, s] (T = N*th*tw), d = the 4x4 patch of
    x[n, c] at (2i - pH, 2j - pW) (zero outside x); ``v`` is the row-major (16, >= C*T) store.
    Per plane: a zero-padded copy, then per tile row the row combination t = Bᵀ d for all columns
    at once and the column combination per tile, each a loop over contiguous memory."""
    n_, c_, h, w = x.shape
    t_ = th * tw
    cols = n_ * t_
    p = np.zeros((2 * th + 2, 2 * tw + 2), x.dtype)  # >= (H + 2pH, W + 2pW); the border stays 0
    t = np.empty((4, 2 * tw + 2), x.dtype)
    wp = 2 * tw + 2
    for n in range(n_):
        for c in range(c_):
            for y in range(h):
                for z in range(w):
                    p[ph + y, pw + z] = x[n, c, y, z]
            base = c * cols + n * t_
            for i in range(th):
                for z in range(wp):  # t = Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
                    a0, a1, a2, a3 = p[2 * i, z], p[2 * i + 1, z], p[2 * i + 2, z], p[2 * i + 3, z]
                    t[0, z] = a0 - a2
                    t[1, z] = a1 + a2
                    t[2, z] = a2 - a1
                    t[3, z] = a1 - a3
                o = base + i * tw
                for r in range(4):  # v = t B: the same combination along each row
                    for j in range(tw):
                        e0, e1, e2, e3 = t[r, 2 * j], t[r, 2 * j + 1], t[r, 2 * j + 2], t[r, 2 * j + 3]
                        v[4 * r, o + j] = e0 - e2
                        v[4 * r + 1, o + j] = e1 + e2
                        v[4 * r + 2, o + j] = e2 - e1
                        v[4 * r + 3, o + j] = e1 - e3


@nb.njit(cache=True, nogil=True)
def _output_transform(m, out, th, tw):
    """out[n, o, 2i + a, 2j + b] = (Aᵀ M A)[a, b] with M[r, s] = m[4r + s, o*T + n*th*tw + i*tw + j]
    (outputs beyond H_out/W_out of the last tiles are dropped); ``m`` is the (16, >= C_out*T) store.
    Each output row is computed as its even and odd columns (contiguous loops) and interleaved
    into ``out`` in one pass (1.2-3x faster per chunk than assembling it in a scratch row and
    copying that, measured on the ResNet's shapes; the same sums, the same bits)."""
    n_, o_, ho, wo = out.shape
    t_ = th * tw
    cols = n_ * t_
    u = np.empty((2, 4, tw), out.dtype)
    even = np.empty(tw, out.dtype)
    odd = np.empty(tw, out.dtype)
    for n in range(n_):
        for o in range(o_):
            base = o * cols + n * t_
            for i in range(th):
                q = base + i * tw
                for s in range(4):  # u = Aᵀ M
                    m0, m1, m2, m3 = m[s, q:q + tw], m[4 + s, q:q + tw], m[8 + s, q:q + tw], m[12 + s, q:q + tw]
                    u0, u1 = u[0, s], u[1, s]
                    for j in range(tw):
                        u0[j] = m0[j] + m1[j] + m2[j]
                        u1[j] = m1[j] - m2[j] - m3[j]
                for a in range(2):  # y = u A
                    y = 2 * i + a
                    if y < ho:
                        ua0, ua1, ua2, ua3 = u[a, 0], u[a, 1], u[a, 2], u[a, 3]
                        for j in range(tw):
                            even[j] = ua0[j] + ua1[j] + ua2[j]
                            odd[j] = ua1[j] - ua2[j] - ua3[j]
                        row = out[n, o, y]
                        for j in range(wo // 2):
                            row[2 * j] = even[j]
                            row[2 * j + 1] = odd[j]
                        if wo % 2:
                            row[wo - 1] = even[wo // 2]


@nb.njit(cache=True, nogil=True)
def _output_adjoint(gy, dm, th, tw):
    """The adjoint of :func:`_output_transform`: dm[4r + s, o*T + tile] = (A g Aᵀ)[r, s], g = the
    2x2 block of gy at (2i, 2j) (zero beyond H_out/W_out)."""
    n_, o_, ho, wo = gy.shape
    t_ = th * tw
    cols = n_ * t_
    g = np.zeros((2, 2 * tw), gy.dtype)
    u = np.empty((4, 2 * tw), gy.dtype)
    for n in range(n_):
        for o in range(o_):
            base = o * cols + n * t_
            for i in range(th):
                for a in range(2):
                    y = 2 * i + a
                    if y < ho:
                        for z in range(wo):
                            g[a, z] = gy[n, o, y, z]
                    else:
                        for z in range(wo):
                            g[a, z] = 0
                for z in range(2 * tw):  # u = A g  (A's rows (1,0), (1,1), (1,-1), (0,-1))
                    g0, g1 = g[0, z], g[1, z]
                    u[0, z] = g0
                    u[1, z] = g0 + g1
                    u[2, z] = g0 - g1
                    u[3, z] = -g1
                q = base + i * tw
                for r in range(4):  # dm = u Aᵀ
                    for j in range(tw):
                        e0, e1 = u[r, 2 * j], u[r, 2 * j + 1]
                        dm[4 * r, q + j] = e0
                        dm[4 * r + 1, q + j] = e0 + e1
                        dm[4 * r + 2, q + j] = e0 - e1
                        dm[4 * r + 3, q + j] = -e1


@nb.njit(cache=True, nogil=True)
def _input_adjoint(dv, gx, ph, pw, th, tw):
    """The adjoint of :func:`_input_transform`: gx[n, c] = Σ_tiles of (B dV Bᵀ) added into the 4x4
    patch at (2i - pH, 2j - pW) (entries in the padding dropped). Overwrites gx. Per plane the sums
    go into a zero-padded scratch plane kept as its even and odd columns (``pe[y, k] = p[y, 2k]``,
    ``po[y, k] = p[y, 2k + 1]``), so every pass reads and writes contiguous memory and vectorizes
    (with the stride-2 scatter into one plane it ran 1.5-2x slower, measured on the ResNet's
    chunks); each entry receives the same additions in the same order as before (same bits)."""
    n_, c_, h, w = gx.shape
    t_ = th * tw
    cols = n_ * t_
    pe = np.empty((2 * th + 2, tw + 1), gx.dtype)
    po = np.empty((2 * th + 2, tw + 1), gx.dtype)
    row = np.empty(2 * tw + 2, gx.dtype)
    e = np.empty((4, 4, tw), gx.dtype)
    for n in range(n_):
        for c in range(c_):
            pe[:] = 0
            po[:] = 0
            base = c * cols + n * t_
            for i in range(th):
                q = base + i * tw
                for s in range(4):  # e = B z  (B = BT transposed), z[r, s] = dv[4r + s]
                    d0, d1, d2, d3 = dv[s, q:q + tw], dv[4 + s, q:q + tw], dv[8 + s, q:q + tw], dv[12 + s, q:q + tw]
                    e0, e1, e2, e3 = e[0, s], e[1, s], e[2, s], e[3, s]
                    for j in range(tw):
                        z0, z1, z2, z3 = d0[j], d1[j], d2[j], d3[j]
                        e0[j] = z0
                        e1[j] = z1 - z2 + z3
                        e2[j] = z1 + z2 - z0
                        e3[j] = -z3
                for r in range(4):  # patch = e Bᵀ: columns 2j, 2j+1 from tile j, then 2j+2, 2j+3
                    pey, poy = pe[2 * i + r], po[2 * i + r]
                    er0, er1, er2, er3 = e[r, 0], e[r, 1], e[r, 2], e[r, 3]
                    for j in range(tw):
                        pey[j] += er0[j]
                        poy[j] += er1[j] - er2[j] + er3[j]
                    for j in range(tw):
                        pey[j + 1] += er1[j] + er2[j] - er0[j]
                        poy[j + 1] -= er3[j]
            for y in range(h):
                pey, poy = pe[ph + y], po[ph + y]
                for k in range(tw + 1):
                    row[2 * k] = pey[k]
                    row[2 * k + 1] = poy[k]
                gx[n, c, y] = row[pw:pw + w]


# --------------------------------------------------------------------------------- the convolution
#: ``GG[3a + b, 4r + s] = G[r, a] G[s, b]``: the weight transform as one (9, 16) matrix.
GG = np.einsum("ra,sb->abrs", G, G).reshape(9, 16)


def weight_transform(weight):
    """``U[4r + s, o, c] = (G g Gᵀ)[r, s]`` for ``g = weight[o, c]`` (3x3): shape ``(16, C_out, C_in)``.
    One GEMM ``(C_out*C_in, 9) @ GG``: the broadcast ``G @ g @ Gᵀ`` over C_out*C_in tiny
    matrices cost ~40 us per call."""
    u = GG.T.astype(weight.dtype) @ weight.reshape(-1, 9).T  # (16, C_out*C_in), C-ordered
    return u.reshape(16, weight.shape[0], weight.shape[1])


def weight_transform_adjoint(du, shape):
    """The adjoint of :func:`weight_transform`: ``grad_weight[o, c] = Gᵀ dU[:, o, c] G`` (3x3)."""
    return (GG.astype(du.dtype) @ du.reshape(16, -1)).T.reshape(shape)


def _geometry(x, weight, padding):
    """Output size, tiles, the sample chunks and the worker count. A chunk's transformed input
    (16 * C * tiles floats) stays near CHUNK_BYTES; with several workers there are at least two
    chunks per worker (a thread slowed by other load takes fewer) once the 16 products reach the
    size where a second thread pays off (``_par``'s ``"chunks"`` row)."""
    n, c, h, w = x.shape
    co = weight.shape[0]
    ph, pw = padding
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    th, tw = tiles(ho, wo)
    step = max(1, min(n, CHUNK_BYTES // max(1, 16 * max(c, co) * th * tw * x.itemsize)))
    threads = _threads.workers(n) if _par.parallel_worth(16 * co * c * n * th * tw, "chunks") else 1
    if threads > 1:
        step = min(step, -(-n // (2 * threads)))
    spans = [(a, min(n, a + step)) for a in range(0, n, step)]
    return ho, wo, th, tw, spans, _threads.workers(len(spans)) if threads > 1 else 1


def _buffer(rows, cols, dtype):
    """``(store, view)``: an uninitialised row-major ``store (16, rows*cols + pad)`` that the Numba
    transforms index as ``store[k, r*cols + col]``, and ``view (16, rows, cols)`` of it for the
    GEMMs. Its 16 slabs are NOT a multiple of 4 KiB apart: the transforms touch the 16 slabs at
    once, and 16 streams at 4 KiB-multiple distances all fall into the same L1/L2 cache sets
    (measured: the input transform ran 10-15x slower)."""
    size = np.dtype(dtype).itemsize
    pad = ((64 - (rows * cols * size) % 4096) % 4096) // size
    store = np.empty((16, rows * cols + pad), dtype)
    return store, store[:, :rows * cols].reshape(16, rows, cols)


class _Buffers:
    """Per (worker, chunk size) scratch: ``get(worker, m, rows)`` is a :func:`_buffer` pair for
    ``m`` samples' tiles, allocated once per call and reused across that worker's chunks."""

    def __init__(self, tiles_per_sample, dtype):
        self.t, self.dtype, self.store = tiles_per_sample, dtype, {}

    def get(self, key, m, rows):
        buf = self.store.get((key, m, rows))
        if buf is None:
            buf = self.store[(key, m, rows)] = _buffer(rows, m * self.t, self.dtype)
        return buf


def _check(x, weight, padding, name):
    """Validate at the Python boundary: the kernels index without bounds checks."""
    if not (isinstance(x, np.ndarray) and isinstance(weight, np.ndarray)):
        raise TypeError(f"{name}: x and weight must be ndarrays")
    if x.ndim != 4 or weight.ndim != 4 or weight.shape[2:] != (3, 3) or weight.shape[1] != x.shape[1]:
        raise ValueError(f"{name}: expected x (N, C, H, W) and weight (C_out, C, 3, 3), got "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    if x.dtype != weight.dtype or x.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: x and weight must share a float32/float64 dtype, got {x.dtype}, {weight.dtype}")
    ph, pw = padding
    if min(ph, pw) < 0 or x.shape[2] + 2 * ph < 3 or x.shape[3] + 2 * pw < 3:
        raise ValueError(f"{name}: input {tuple(x.shape)} with padding {tuple(padding)} is smaller than the 3x3 kernel")
    return np.ascontiguousarray(x), np.ascontiguousarray(weight)


def conv3x3_forward(x, weight, bias=None, padding=(1, 1)):
    """``out[n, o, y, z] = bias[o] + Σ_{c,i,j} weight[o, c, i, j] · xpad[n, c, y + i, z + j]`` (3x3,
    stride 1) by Winograd F(2x2, 3x3), in chunks of samples: input transform, 16 GEMMs, output
    transform (chunks side by side on ``_threads`` threads when the problem is large). Returns
    ``(N, C_out, H + 2pH − 2, W + 2pW − 2)`` in x's dtype."""
    x, weight = _check(x, weight, padding, "conv3x3_forward")
    n, c = x.shape[:2]
    co = weight.shape[0]
    ho, wo, th, tw, spans, threads = _geometry(x, weight, padding)
    u = weight_transform(weight)
    out = np.empty((n, co, ho, wo), x.dtype)
    bufs = _Buffers(th * tw, x.dtype)
    ph, pw = padding

    def chunk(worker, i):
        a, b = spans[i]
        (vs, v), (ms, m) = bufs.get(worker, b - a, c), bufs.get(("m", worker), b - a, co)
        _input_transform(x[a:b], vs, ph, pw, th, tw)
        _matmul(u, v, out=m, one_thread=threads > 1)
        _output_transform(ms, out[a:b], th, tw)

    _threads.run(chunk, len(spans), threads)
    if bias is not None:
        out += np.asarray(bias, dtype=x.dtype).reshape(co, 1, 1)
    return out


def conv3x3_backward(grad_out, x, weight, padding=(1, 1), needs_input_grad=(True, True, True)):
    """Gradients of :func:`conv3x3_forward`: ``(grad_input, grad_weight, grad_bias)`` (``None``
    where ``needs_input_grad`` is False), by the adjoint transforms (see the module docstring);
    chunks of samples side by side on ``_threads`` threads as in the forward."""
    x, weight = _check(x, weight, padding, "conv3x3_backward")
    n, c, h, w = x.shape
    co = weight.shape[0]
    ho, wo, th, tw, spans, threads = _geometry(x, weight, padding)
    gy = np.ascontiguousarray(grad_out, dtype=x.dtype)
    if gy.shape != (n, co, ho, wo):
        raise ValueError(f"conv3x3_backward: grad_out {tuple(gy.shape)} does not match the output "
                         f"{(n, co, ho, wo)}")
    need = tuple(needs_input_grad) + (True,) * (3 - len(needs_input_grad))
    u_t = weight_transform(weight).transpose(0, 2, 1) if need[0] else None
    du = [None] * len(spans)  # per chunk, summed in chunk order: the same bits on every run
    gx = np.empty_like(x) if need[0] else None
    bufs = _Buffers(th * tw, x.dtype)
    ph, pw = padding
    one = threads > 1

    def chunk(worker, i):
        a, b = spans[i]
        (vs, v), (dms, dm) = bufs.get(worker, b - a, c), bufs.get(("m", worker), b - a, co)
        _output_adjoint(gy[a:b], dms, th, tw)
        if need[1]:
            _input_transform(x[a:b], vs, ph, pw, th, tw)
            du[i] = _matmul(dm, v.transpose(0, 2, 1), one_thread=one)
        if need[0]:
            _matmul(u_t, dm, out=v, one_thread=one)
            _input_adjoint(vs, gx[a:b], ph, pw, th, tw)

    if need[0] or need[1]:
        _threads.run(chunk, len(spans), threads)
    gw = None
    if need[1]:  # an empty batch (no chunks) has a zero weight gradient
        gw = (weight_transform_adjoint(_threads.sum_in_order(du), weight.shape).astype(x.dtype) if du
              else np.zeros(weight.shape, x.dtype))
    gb = gy.sum(axis=(0, 2, 3)) if need[2] else None
    return gx, gw, gb


# --------------------------------------------------------------------------------- NumPy twins
def _patches(x, ph, pw, th, tw):
    """(N, C, th, tw, 4, 4): the 4x4 input patch of every tile (zero padding)."""
    n, c, h, w = x.shape
    xp = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)  # >= (H + 2pH, W + 2pW): x fits
    xp[:, :, ph:ph + h, pw:pw + w] = x
    win = np.lib.stride_tricks.sliding_window_view(xp, (4, 4), axis=(2, 3))
    return win[:, :, ::2, ::2][:, :, :th, :tw]


def input_transform_reference(x, ph, pw, th, tw):
    """Twin of the input transform: ``V (16, C, N*th*tw)``, ``V[4r+s] = (Bᵀ d B)[r, s]``."""
    d = _patches(x, ph, pw, th, tw)
    bt = BT.astype(x.dtype)
    v = np.einsum("ra,ncijab,sb->rscnij", bt, d, bt)
    return v.reshape(16, x.shape[1], -1)


def output_transform_reference(m, n, ho, wo, th, tw):
    """Twin of the output transform: ``out (N, C_out, H_out, W_out)`` from ``M (16, C_out, N*th*tw)``."""
    co = m.shape[1]
    at = AT.astype(m.dtype)
    mm = m.reshape(4, 4, co, n, th, tw)
    y = np.einsum("ar,rsonij,bs->noiajb", at, mm, at).reshape(n, co, 2 * th, 2 * tw)
    return np.ascontiguousarray(y[:, :, :ho, :wo])


def conv3x3_forward_reference(x, weight, bias=None, padding=(1, 1)):
    """Plain-NumPy twin of :func:`conv3x3_forward` (the same algorithm with the matrices)."""
    n = x.shape[0]
    ho, wo = x.shape[2] + 2 * padding[0] - 2, x.shape[3] + 2 * padding[1] - 2
    th, tw = tiles(ho, wo)
    m = np.matmul(weight_transform(weight), input_transform_reference(x, padding[0], padding[1], th, tw))
    out = output_transform_reference(m, n, ho, wo, th, tw)
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    return out


def conv3x3_backward_reference(grad_out, x, weight, padding=(1, 1)):
    """Plain-NumPy twin of :func:`conv3x3_backward` (all three gradients), with the adjoint
    transforms written as matrix products."""
    n, c, h, w = x.shape
    co = weight.shape[0]
    ho, wo = h + 2 * padding[0] - 2, w + 2 * padding[1] - 2
    th, tw = tiles(ho, wo)
    at, bt = AT.astype(x.dtype), BT.astype(x.dtype)
    gyp = np.zeros((n, co, 2 * th, 2 * tw), x.dtype)
    gyp[:, :, :ho, :wo] = grad_out
    gt = gyp.reshape(n, co, th, 2, tw, 2)
    dm = np.einsum("ar,noiajb,bs->rsonij", at, gt, at).reshape(16, co, -1)
    v = input_transform_reference(x, padding[0], padding[1], th, tw)
    gw = weight_transform_adjoint(np.matmul(dm, v.transpose(0, 2, 1)), weight.shape)
    dv = np.matmul(weight_transform(weight).transpose(0, 2, 1), dm).reshape(4, 4, c, n, th, tw)
    e = np.einsum("ra,rscnij,sb->ncijab", bt, dv, bt)  # (N, C, th, tw, 4, 4) patch gradients
    gxp = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)
    for a in range(4):
        for b in range(4):
            gxp[:, :, a:a + 2 * th:2, b:b + 2 * tw:2] += e[..., a, b]
    ph, pw = padding
    return gxp[:, :, ph:ph + h, pw:pw + w].copy(), gw, grad_out.sum(axis=(0, 2, 3))
