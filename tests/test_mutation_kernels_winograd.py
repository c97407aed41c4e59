"""engine.kernels.winograd, the Python boundary around the Numba transforms (written against the
surviving mutants of a mutmut run over engine/kernels/):

* the float32 and float64 results are bit for bit those of a plain-NumPy replica of the documented
  operations (the transforms' row/column combinations in the kernels' order, the same GEMMs), so
  every intermediate stays in x's dtype (a float64 scratch for a float32 input changes the bits);
* ``needs_input_grad`` (any subset, short tuples padded with True) computes exactly the requested
  gradients, bit for bit those of the full backward; a float64 ``grad_out`` or bias for a float32
  input gives float32 results, as the direct path does;
* the references (``*_reference``) keep x's dtype and agree with the direct convolution;
* chunks that run side by side on threads never share scratch buffers (the chunks' phases are
  interleaved deterministically with a barrier);
* the helpers' documented contracts: ``tiles`` is ``ceil(H_out/2), ceil(W_out/2)``, ``_buffer``'s
  16 slabs start in 16 different cache lines modulo 4 KiB, ``_geometry``'s chunks are the largest
  that fit ``CHUNK_BYTES`` (smaller with several workers) and its worker count follows
  ``_par.parallel_worth`` on the 16 products' multiply-adds;
* bad arguments raise with messages naming the function and the shapes;
* an empty batch gives zero weight and bias gradients (Winograd and conv2d's direct path).
"""
import re
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import _par, _threads, conv as K, winograd as W
from tiers import same_bits as _same_bits

GG_BY_DTYPE = {dt: np.einsum("ra,sb->abrs", W.G, W.G).reshape(9, 16).astype(dt) for dt in (np.float32, np.float64)}


# ------------------------------------------------------------------ a plain-NumPy replica, same op order
def _scratch(value):
    """``value`` (16, rows, cols) copied into a view laid out as the kernels' scratch (NumPy's matmul
    picks its BLAS call, hence the bits, from the strides, those of size-1 axes included)."""
    view = W._buffer(value.shape[1], value.shape[2], value.dtype)[1]
    view[...] = value
    return view


def _replica_input(x, ph, pw, th, tw):
    """(16, C, N*th*tw): t = Bᵀ d by rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), then the same by columns."""
    n, c, h, w = x.shape
    p = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)
    p[:, :, ph:ph + h, pw:pw + w] = x
    a = [p[:, :, k:k + 2 * th:2, :] for k in range(4)]  # (n, c, th, W')
    t = [a[0] - a[2], a[1] + a[2], a[2] - a[1], a[1] - a[3]]
    v = []
    for r in range(4):
        e = [t[r][..., k:k + 2 * tw:2] for k in range(4)]  # (n, c, th, tw)
        v += [e[0] - e[2], e[1] + e[2], e[2] - e[1], e[1] - e[3]]
    return _scratch(np.stack(v).transpose(0, 2, 1, 3, 4).reshape(16, c, -1))


def _weights(weight):
    return (GG_BY_DTYPE[weight.dtype.type].T @ weight.reshape(-1, 9).T).reshape(16, weight.shape[0], weight.shape[1])


def _replica_forward(x, weight, bias, pad):
    n, c, h, w = x.shape
    co = weight.shape[0]
    ho, wo = h + 2 * pad[0] - 2, w + 2 * pad[1] - 2
    th, tw = -(-ho // 2), -(-wo // 2)
    m = W._buffer(co, n * th * tw, x.dtype)[1]
    np.matmul(_weights(weight), _replica_input(x, pad[0], pad[1], th, tw), out=m)
    m = m.reshape(16, co, n, th, tw)
    y = np.empty((n, co, 2 * th, 2 * tw), x.dtype)
    for a in range(2):
        ua = [m[s] + m[4 + s] + m[8 + s] if a == 0 else m[4 + s] - m[8 + s] - m[12 + s] for s in range(4)]
        y[:, :, a::2, 0::2] = (ua[0] + ua[1] + ua[2]).transpose(1, 0, 2, 3)
        y[:, :, a::2, 1::2] = (ua[1] - ua[2] - ua[3]).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(y[:, :, :ho, :wo])
    if bias is not None:
        out += np.asarray(bias).astype(x.dtype).reshape(co, 1, 1)
    return out


def _replica_backward(grad_out, x, weight, pad):
    n, c, h, w = x.shape
    co = weight.shape[0]
    ph, pw = pad
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    th, tw = -(-ho // 2), -(-wo // 2)
    gy = np.ascontiguousarray(grad_out, dtype=x.dtype)
    g = np.zeros((n, co, 2 * th, 2 * tw), x.dtype)
    g[:, :, :ho, :wo] = gy
    g0, g1 = g[:, :, 0::2], g[:, :, 1::2]
    u = [g0, g0 + g1, g0 - g1, -g1]
    dm = []
    for r in range(4):
        e0, e1 = u[r][..., 0::2], u[r][..., 1::2]
        dm += [e0, e0 + e1, e0 - e1, -e1]
    dm = _scratch(np.stack(dm).transpose(0, 2, 1, 3, 4).reshape(16, co, -1))
    v = _replica_input(x, ph, pw, th, tw)
    du = np.matmul(dm, v.transpose(0, 2, 1))
    gw = (GG_BY_DTYPE[x.dtype.type] @ du.reshape(16, -1)).T.reshape(weight.shape).astype(x.dtype)
    z = np.matmul(_weights(weight).transpose(0, 2, 1), dm, out=v)
    z = z.reshape(4, 4, c, n, th, tw).transpose(0, 1, 3, 2, 4, 5)
    e = [[z[0, s], z[1, s] - z[2, s] + z[3, s], z[1, s] + z[2, s] - z[0, s], -z[3, s]] for s in range(4)]
    pe = np.zeros((n, c, 2 * th + 2, tw + 1), x.dtype)
    po = np.zeros((n, c, 2 * th + 2, tw + 1), x.dtype)
    for i in range(th):
        for r in range(4):
            er = [e[s][r][:, :, i] for s in range(4)]
            pe[:, :, 2 * i + r, :tw] += er[0]
            po[:, :, 2 * i + r, :tw] += er[1] - er[2] + er[3]
            pe[:, :, 2 * i + r, 1:] += er[1] + er[2] - er[0]
            po[:, :, 2 * i + r, 1:] -= er[3]
    gxp = np.empty((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)
    gxp[..., 0::2], gxp[..., 1::2] = pe, po
    return gxp[:, :, ph:ph + h, pw:pw + w].copy(), gw, gy.sum(axis=(0, 2, 3))


@st.composite
def cases(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, c, co = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, 3 - 2 * ph), 8))
    w = draw(st.integers(max(1, 3 - 2 * pw), 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    x[0, 0, 0, 0] = -0.0
    if draw(st.booleans()):
        x[-1, -1, -1, -1] = np.inf
    wt = rng.standard_normal((co, c, 3, 3)).astype(dtype)
    bias = rng.standard_normal(co)  # float64: added in x's dtype
    return x, wt, bias, (ph, pw), rng


@settings(deadline=None, max_examples=30)
@given(case=cases())
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the inf case: inf - inf
def test_forward_and_backward_bits_equal_a_numpy_replica_in_the_input_dtype(case):
    x, wt, bias, pad, rng = case
    out = W.conv3x3_forward(x, wt, bias, pad)
    _same_bits(out, _replica_forward(x, wt, bias, pad))
    _same_bits(W.conv3x3_forward(x, wt, bias.astype(x.dtype), pad), out)
    gy = rng.standard_normal(out.shape)  # float64 for a float32 x: cast to x's dtype
    gy[0, 0, 0, 0] = -0.0
    got = W.conv3x3_backward(gy, x, wt, pad)
    for a, b in zip(got, _replica_backward(gy, x, wt, pad)):
        _same_bits(a, b)
    for a, b in zip(W.conv3x3_backward(gy.astype(x.dtype), x, wt, list(pad)), got):
        _same_bits(a, b)


@pytest.mark.parametrize("need", [(), (True,), (False,), (True, False), (False, True), (False, False),
                                  (True, True, False), (True, False, True), (False, True, True),
                                  (False, True, False), (True, False, False), (False, False, True),
                                  (False, False, False), (True, True, True)])
def test_needs_input_grad_computes_exactly_the_requested_gradients(need):
    rng = np.random.default_rng(len(need) * 8 + sum(need))
    x = rng.standard_normal((2, 3, 5, 6), dtype=np.float32)
    wt = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    gy = rng.standard_normal((2, 4, 5, 4), dtype=np.float32)
    full = W.conv3x3_backward(gy, x, wt, (1, 0))
    got = W.conv3x3_backward(gy, x, wt, (1, 0), need)
    wanted = tuple(need) + (True,) * (3 - len(need))
    for g, f, want in zip(got, full, wanted):
        if want:
            _same_bits(g, f)
        else:
            assert g is None


@settings(deadline=None, max_examples=20)
@given(case=cases())
def test_references_keep_the_dtype_and_equal_the_direct_convolution(case):
    x, wt, bias, pad, rng = case
    x = np.where(np.isfinite(x), x, 1.0).astype(x.dtype)
    bias = bias.astype(x.dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if x.dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    x64, w64 = x.astype(np.float64), wt.astype(np.float64)
    out = W.conv3x3_forward_reference(x, wt, bias, pad)
    assert out.dtype == x.dtype and out.flags.c_contiguous
    np.testing.assert_allclose(out, K.conv2d_forward_reference(x64, w64, bias.astype(np.float64), padding=pad), **tol)
    gy = rng.standard_normal(out.shape).astype(x.dtype)
    want = K.conv2d_backward_reference(gy.astype(np.float64), x64, w64, padding=pad)
    for got, ref in zip(W.conv3x3_backward_reference(gy, x, wt, pad), want):
        assert got.dtype == x.dtype
        np.testing.assert_allclose(got, ref, **tol)
    ho, wo = out.shape[2:]
    th, tw = W.tiles(ho, wo)
    v = W.input_transform_reference(x, pad[0], pad[1], th, tw)
    assert v.dtype == x.dtype and v.shape == (16, x.shape[1], x.shape[0] * th * tw)
    y = W.output_transform_reference(np.matmul(W.weight_transform(wt), v), x.shape[0], ho, wo, th, tw)
    assert y.dtype == x.dtype and y.flags.c_contiguous
    np.testing.assert_allclose(y + bias.reshape(-1, 1, 1), out, rtol=1e-5 if x.dtype == np.float32 else 1e-12,
                               atol=1e-5 if x.dtype == np.float32 else 1e-12)


def test_chunks_side_by_side_on_threads_do_not_share_scratch(monkeypatch):
    """Two one-sample chunks on two threads, each chunk's phases held at a barrier until the other
    thread's chunk reached the same phase: a scratch buffer shared by the threads would then hold
    the other chunk's data. Equals the one-thread result."""
    rng = np.random.default_rng(11)
    x, wt = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((3, 3, 3, 3))
    gy = rng.standard_normal((2, 3, 6, 5))
    want_out = W.conv3x3_forward(x, wt, None, (1, 1))
    want_grads = W.conv3x3_backward(gy, x, wt, (1, 1))
    assert W._geometry(x, wt, (1, 1))[5] == 1  # the reference ran on one thread
    barrier, met = threading.Barrier(2, timeout=20), []

    def meet():
        try:
            barrier.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)

    def after(fn):
        def wrapped(*args):
            fn(*args)
            meet()
        return wrapped

    def before(fn):
        def wrapped(*args):
            meet()
            fn(*args)
        return wrapped

    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_threads, "workers", lambda chunks: max(1, min(chunks, 2)))
    monkeypatch.setattr(W, "CHUNK_BYTES", 1)
    assert len(W._geometry(x, wt, (1, 1))[4]) == 2 and W._geometry(x, wt, (1, 1))[5] == 2
    monkeypatch.setattr(W, "_input_transform", after(W._input_transform))
    monkeypatch.setattr(W, "_output_adjoint", after(W._output_adjoint))
    monkeypatch.setattr(W, "_output_transform", before(W._output_transform))
    np.testing.assert_allclose(W.conv3x3_forward(x, wt, None, (1, 1)), want_out, rtol=1e-12, atol=1e-12)
    for got, ref in zip(W.conv3x3_backward(gy, x, wt, (1, 1)), want_grads):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert met and all(met)  # the chunks did run side by side


def test_tiles_are_the_ceiling_halves():
    for ho in range(1, 12):
        for wo in range(1, 12):
            th, tw = W.tiles(ho, wo)
            assert type(th) is int and type(tw) is int
            assert (th, tw) == (-(-ho // 2), -(-wo // 2))


def test_buffer_slabs_start_in_distinct_cache_lines_modulo_4k():
    for dtype in (np.float32, np.float64):
        for cols in list(range(1, 1100)) + [2040, 2047, 2048, 2049, 4096, 4097, 6000]:
            rows = 1 + cols % 3
            store, view = W._buffer(rows, cols, dtype)
            assert store.dtype == dtype and store.ndim == 2 and store.shape[0] == 16
            assert store.shape[1] >= rows * cols and view.shape == (16, rows, cols)
            assert np.shares_memory(store, view) and view.base is not None
            assert view.strides == (store.strides[0], cols * store.itemsize, store.itemsize)
            lines = {(k * store.strides[0]) % 4096 // 64 for k in range(16)}
            assert len(lines) == 16, (dtype, rows, cols, store.strides)
    store, view = W._buffer(2, 3, np.float32)
    store[5, :6] = np.arange(6)
    np.testing.assert_array_equal(view[5], [[0, 1, 2], [3, 4, 5]])


def test_buffers_are_reused_per_worker_and_size():
    bufs = W._Buffers(6, np.float32)
    a = bufs.get(0, 2, 3)
    assert a[1].shape == (16, 3, 12) and a[1].dtype == np.float32
    assert bufs.get(0, 2, 3) is a
    for other in (bufs.get(1, 2, 3), bufs.get(0, 1, 3), bufs.get(0, 2, 4), bufs.get(("m", 0), 2, 3)):
        assert other is not a and not np.shares_memory(other[0], a[0])


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 9), c=st.integers(1, 5), co=st.integers(1, 5), h=st.integers(1, 12), w=st.integers(1, 12),
       ph=st.integers(0, 2), pw=st.integers(0, 2), dtype=st.sampled_from([np.float32, np.float64]),
       fit=st.integers(0, 10), extra=st.sampled_from([-1, 0, 1]), cap=st.integers(1, 4),
       factor=st.sampled_from([0.5, 0.999, 1.001, 2.0, None]))
def test_geometry_chunks_fill_chunk_bytes_and_split_for_the_workers(n, c, co, h, w, ph, pw, dtype, fit, extra,
                                                                      cap, factor):
    h, w = max(h, 3 - 2 * ph), max(w, 3 - 2 * pw)
    x, wt = np.zeros((n, c, h, w), dtype), np.zeros((co, c, 3, 3), dtype)
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    th, tw = -(-ho // 2), -(-wo // 2)
    per_sample = 16 * max(c, co) * th * tw * x.itemsize  # the transformed input of one sample
    work = 16 * co * c * n * th * tw  # multiply-adds of the 16 products
    chunk_bytes = max(1, fit * per_sample + extra)
    pme = 1 << 62 if factor is None else work / _par.WORK_SCALE["chunks"] * factor
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(W, "CHUNK_BYTES", chunk_bytes)
        mp.setattr(_par, "PARALLEL_MIN_ELEMENTS", pme)
        mp.setattr(_threads, "workers", lambda chunks: max(1, min(chunks, cap)))
        got = W._geometry(x, wt, (ph, pw))
    assert got[:4] == (ho, wo, th, tw)
    spans, threads = got[4], got[5]
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(type(a) is int and type(b) is int and a < b for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    size = spans[0][1] - spans[0][0]
    assert all(b - a == size for a, b in spans[:-1]) and spans[-1][1] - spans[-1][0] <= size
    largest = max(1, min(n, chunk_bytes // per_sample))  # the most samples that fit, at least one
    assert largest == 1 or largest * per_sample <= chunk_bytes
    assert largest == n or (largest + 1) * per_sample > chunk_bytes
    parallel = min(n, cap) > 1 and factor is not None and factor < 1
    if parallel:  # at most ceil(n / (2 workers)) samples per chunk
        assert size == min(largest, -(-n // (2 * min(n, cap))))
        assert threads == min(len(spans), cap)
    else:
        assert size == largest
        assert threads == 1


@pytest.mark.parametrize("fn", ["conv3x3_forward", "conv3x3_backward"])
def test_bad_arguments_raise_with_the_function_name_and_shapes(fn):
    x, wt = np.zeros((1, 2, 5, 6)), np.zeros((3, 2, 3, 3))
    gy = np.zeros((1, 3, 3, 4))

    def call(x, wt, pad):
        if fn == "conv3x3_forward":
            return W.conv3x3_forward(x, wt, None, pad)
        return W.conv3x3_backward(gy, x, wt, pad)

    call(x, wt, (0, 0))  # the valid call
    with pytest.raises(TypeError, match=f"^{fn}: x and weight must be ndarrays"):
        call(x.tolist(), wt, (0, 0))
    with pytest.raises(TypeError, match=f"^{fn}: x and weight must be ndarrays"):
        call(x, wt.tolist(), (0, 0))
    with pytest.raises(ValueError, match=rf"^{fn}: expected .* got \(1, 2, 5, 6\) and \(3, 3, 3, 3\)$"):
        call(x, np.zeros((3, 3, 3, 3)), (0, 0))
    with pytest.raises(ValueError, match=rf"^{fn}: expected .* got \(1, 2, 5, 6\) and \(3, 2, 3, 2\)$"):
        call(x, np.zeros((3, 2, 3, 2)), (0, 0))
    for xs in [(1, 2, 5), (1, 2, 5, 6, 1)]:  # x's channel axis matches the weight's, its rank does not
        with pytest.raises(ValueError, match=rf"^{fn}: expected .* got {re.escape(str(xs))} and \(3, 2, 3, 3\)$"):
            call(np.zeros(xs), wt, (0, 0))
    dtypes = f"^{fn}: x and weight must share a float32/float64 dtype, got"
    with pytest.raises(ValueError, match=f"{dtypes} float64, float32"):
        call(x, wt.astype(np.float32), (0, 0))
    with pytest.raises(ValueError, match=f"{dtypes} float16"):
        call(x.astype(np.float16), wt.astype(np.float16), (0, 0))
    for shape, pad in [((1, 2, 2, 6), (0, 0)), ((1, 2, 5, 2), (0, 0)), ((1, 2, 5, 6), (-1, 1)),
                       ((1, 2, 5, 6), (1, -1)), ((1, 2, 1, 6), (0, 1)), ((1, 2, 5, 1), (1, 0)),
                       ((1, 2, 0, 6), (1, 1)), ((1, 2, 6, 0), (1, 1))]:
        with pytest.raises(ValueError, match=rf"^{fn}: input \(1, 2, {shape[2]}, {shape[3]}\) with padding "
                                             rf"\({pad[0]}, {pad[1]}\) is smaller than the 3x3 kernel$"):
            call(np.zeros(shape), wt, pad)


@pytest.mark.parametrize("shape, pad", [((1, 2, 3, 7), (0, 0)), ((1, 2, 6, 3), (0, 0)), ((2, 3, 1, 5), (1, 0)),
                                        ((1, 3, 4, 1), (0, 1)), ((1, 2, 1, 1), (1, 1)), ((2, 3, 3, 3), (0, 0))])
def test_the_smallest_inputs_work(shape, pad):
    """H + 2pH == 3 (or W + 2pW == 3) is a valid 3x3 convolution: one output row (column)."""
    rng = np.random.default_rng(sum(shape))
    x, wt = rng.standard_normal(shape), rng.standard_normal((2, shape[1], 3, 3))
    out = W.conv3x3_forward(x, wt, None, pad)
    np.testing.assert_allclose(out, K.conv2d_forward_reference(x, wt, padding=pad), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(out.shape)
    for got, ref in zip(W.conv3x3_backward(gy, x, wt, pad), K.conv2d_backward_reference(gy, x, wt, padding=pad)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_backward_grad_shape_message_names_both_shapes():
    x, wt = np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"^conv3x3_backward: grad_out \(1, 3, 4, 4\) does not match the output "
                                         r"\(1, 3, 2, 2\)$"):
        W.conv3x3_backward(np.zeros((1, 3, 4, 4)), x, wt, (0, 0))


@pytest.mark.parametrize("dtype, channels", [(np.float32, K.WINOGRAD_MIN_CHANNELS), (np.float64, 2)])
def test_an_empty_batch_has_zero_weight_and_bias_gradients(dtype, channels):
    """N = 0 (the Winograd path and conv2d's direct path): an empty output and zero gradients for the
    weight and the bias, as in PyTorch (both paths raised IndexError summing no chunks)."""
    x = np.zeros((0, channels, 7, 6), dtype)
    wt = np.ones((channels + 1, channels, 3, 3), dtype)
    gy = np.zeros((0, channels + 1, 7, 6), dtype)
    for fwd, bwd in [(lambda: W.conv3x3_forward(x, wt, None, (1, 1)), lambda: W.conv3x3_backward(gy, x, wt, (1, 1))),
                     (lambda: K.conv2d_forward(x, wt, padding=1), lambda: K.conv2d_backward(gy, x, wt, padding=1))]:
        assert fwd().shape == (0, channels + 1, 7, 6)
        gx, gw, gb = bwd()
        assert gx.shape == x.shape and gx.dtype == dtype
        _same_bits(gw, np.zeros(wt.shape, dtype))
        _same_bits(gb, np.zeros(channels + 1, dtype))
