"""engine.kernels.conv: Numba im2col/col2im + GEMM vs the plain-NumPy twin, finite differences, linearity."""
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from engine.kernels import _par, _threads, conv as K
from tiers import kernels_from_the_first_call  # noqa: F401  (the kernels, not their NumPy tier)
from finite_differences import central_differences as _fd

SETTINGS = settings(deadline=None, max_examples=25)


@st.composite
def conv_cases(draw, dtype=np.float64):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    hmin = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
    wmin = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(hmin, hmin + 5)), draw(st.integers(wmin, wmin + 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, cin, h, w)).astype(dtype)
    weight = rng.standard_normal((cout, cin // groups, kh, kw)).astype(dtype)
    bias = rng.standard_normal(cout).astype(dtype) if draw(st.booleans()) else None
    return x, weight, bias, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@SETTINGS
@given(conv_cases())
def test_forward_and_backward_match_reference_float64(case):
    x, w, b, kw = case
    out = K.conv2d_forward(x, w, b, **kw)
    np.testing.assert_allclose(out, K.conv2d_forward_reference(x, w, b, **kw), rtol=1e-12, atol=1e-12)
    gy = np.random.default_rng(1).standard_normal(out.shape)
    for got, ref in zip(K.conv2d_backward(gy, x, w, **kw), K.conv2d_backward_reference(gy, x, w, **kw)):
        np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-11)


@settings(deadline=None, max_examples=15)
@given(conv_cases(np.float32))
def test_float32_keeps_dtype_and_matches(case):
    x, w, b, kw = case
    out = K.conv2d_forward(x, w, b, **kw)
    assert out.dtype == np.float32
    ref = K.conv2d_forward_reference(x.astype(np.float64), w.astype(np.float64),
                                     None if b is None else b.astype(np.float64), **kw)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    gy = np.ones(out.shape, np.float32)
    gx, gw, gb = K.conv2d_backward(gy, x, w, **kw)
    assert gx.dtype == gw.dtype == gb.dtype == np.float32
    rx, rw, rb = K.conv2d_backward_reference(gy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), **kw)
    np.testing.assert_allclose(gx, rx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, rw, rtol=1e-4, atol=1e-4)


@settings(deadline=None, max_examples=8)
@given(conv_cases())
def test_backward_matches_finite_differences(case):
    x, w, b, kw = case
    b = np.zeros(w.shape[0]) if b is None else b
    gy = np.random.default_rng(2).standard_normal(K.conv2d_forward(x, w, b, **kw).shape)
    loss = lambda: float((K.conv2d_forward_reference(x, w, b, **kw) * gy).sum())  # noqa: E731
    gx, gw, gb = K.conv2d_backward(gy, x, w, **kw)
    np.testing.assert_allclose(gx, _fd(loss, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw, _fd(loss, w), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, _fd(loss, b), rtol=1e-5, atol=1e-6)


@SETTINGS
@given(conv_cases(), st.floats(-3, 3), st.floats(-3, 3))
def test_linear_in_the_input(case, alpha, beta):
    x, w, _, kw = case
    y = np.random.default_rng(3).standard_normal(x.shape)
    lhs = K.conv2d_forward(alpha * x + beta * y, w, None, **kw)
    rhs = alpha * K.conv2d_forward(x, w, None, **kw) + beta * K.conv2d_forward(y, w, None, **kw)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


def test_chunked_batch_equals_whole_batch(monkeypatch):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((5, 4, 6, 6)), rng.standard_normal((3, 4, 3, 3))
    whole = K.conv2d_forward(x, w, padding=1)
    grads = K.conv2d_backward(np.ones_like(whole), x, w, padding=1)
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)  # one sample per chunk
    np.testing.assert_allclose(K.conv2d_forward(x, w, padding=1), whole, rtol=1e-12)
    for a, b in zip(K.conv2d_backward(np.ones_like(whole), x, w, padding=1), grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw, shape", [(dict(padding=1), (5, 4, 6, 6)), (dict(stride=2, padding=2, groups=2), (4, 4, 7, 5)),
                                       (dict(padding=(2, 0), dilation=(1, 2)), (3, 2, 5, 9))])
def test_chunks_on_threads_equal_one_thread(monkeypatch, kw, shape):
    """The direct path with its chunks side by side on three threads (``_threads``) gives the same
    results as one thread, gradients included (per-thread weight-gradient sums)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((4, shape[1] // kw.get("groups", 1), 3, 3))
    whole = K.conv2d_forward(x, w, **kw)
    gy = rng.standard_normal(whole.shape)
    grads = K.conv2d_backward(gy, x, w, **kw)
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_threads, "workers", lambda chunks: min(chunks, 3))
    assert K._chunks(shape[0], 1, 10)[2] == 3
    np.testing.assert_allclose(K.conv2d_forward(x, w, **kw), whole, rtol=1e-12)
    for a, b in zip(K.conv2d_backward(gy, x, w, **kw), grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_pointwise_path_and_needs_input_grad():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 4, 3, 5)), rng.standard_normal((6, 2, 1, 1))
    np.testing.assert_allclose(K.conv2d_forward(x, w, groups=2),
                               K.conv2d_forward_reference(x, w, groups=2), rtol=1e-12)
    gy = rng.standard_normal((2, 6, 3, 5))
    gx, gw, gb = K.conv2d_backward(gy, x, w, groups=2, needs_input_grad=(False, True, False))
    assert gx is None and gb is None
    np.testing.assert_allclose(gw, K.conv2d_backward_reference(gy, x, w, groups=2)[1], rtol=1e-12)


def test_bad_shapes_raise():
    import pytest
    with pytest.raises(ValueError):
        K.conv2d_forward(np.zeros((1, 3, 4, 4)), np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError):
        K.conv2d_forward(np.zeros((1, 2, 2, 2)), np.zeros((2, 2, 3, 3)))


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 2), st.integers(1, 2), st.integers(0, 3),
       st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.integers(0, 2**32 - 1))
@example(5, 1, 2, 1, 2, 5, 1, 2, 0)  # a plane whose first offsets lie wholly in the padding
def test_same_width_stride1_fast_path_matches_reference(kh, kw, dh, dw, ph, h, w, n, seed):
    """Stride 1 with W_out == W takes im2col/col2im's shifted-plane path (one long copy/add per
    plane, then the padding entries fixed up); any vertical padding, kernel size and dilation."""
    pw2 = dw * (kw - 1)
    if pw2 % 2:
        return  # W_out == W needs an even total horizontal padding
    pw = pw2 // 2
    if h + 2 * ph < dh * (kh - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2, h, w))
    wt = rng.standard_normal((3, 2, kh, kw))
    kwargs = dict(stride=1, padding=(ph, pw), dilation=(dh, dw))
    out = K.conv2d_forward(x, wt, **kwargs)
    assert out.shape[3] == w
    np.testing.assert_allclose(out, K.conv2d_forward_reference(x, wt, **kwargs), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(out.shape)
    for got, ref in zip(K.conv2d_backward(gy, x, wt, **kwargs), K.conv2d_backward_reference(gy, x, wt, **kwargs)):
        np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-11)


def test_same_size_channel_major_path_matches_reference(monkeypatch):
    """Stride 1 with output size == input size ('same' convs: 3x3/pad 1, 5x5/pad 2, dilated)
    takes the channel-major shifted-copy im2col/col2im; check it with groups and with chunking."""
    rng = np.random.default_rng(7)
    for kh, kw, dh, dw, h, w, groups in [(3, 3, 1, 1, 5, 4, 1), (5, 5, 1, 1, 3, 6, 1), (3, 1, 2, 1, 4, 2, 2),
                                         (1, 3, 1, 2, 1, 7, 1), (3, 3, 1, 1, 1, 1, 2), (5, 3, 1, 1, 8, 8, 1)]:
        for chunk in (K.CHUNK_BYTES, 1):
            monkeypatch.setattr(K, "CHUNK_BYTES", chunk)
            x = rng.standard_normal((3, 2 * groups, h, w))
            wt = rng.standard_normal((2 * groups, 2, kh, kw))
            kwargs = dict(padding=(dh * (kh - 1) // 2, dw * (kw - 1) // 2), dilation=(dh, dw), groups=groups)
            out = K.conv2d_forward(x, wt, **kwargs)
            assert out.shape[2:] == x.shape[2:]
            np.testing.assert_allclose(out, K.conv2d_forward_reference(x, wt, **kwargs), rtol=1e-12, atol=1e-12)
            gy = rng.standard_normal(out.shape)
            for got, ref in zip(K.conv2d_backward(gy, x, wt, **kwargs),
                                K.conv2d_backward_reference(gy, x, wt, **kwargs)):
                np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("stride", [(2, 2), (2, 1), (3, 2)])
@pytest.mark.parametrize("groups", [1, 2])
def test_strided_pointwise_conv_is_a_gemm_on_the_subsampled_input(stride, groups):
    """1x1 strided convolutions (ResNet projection shortcuts) skip im2col; same results."""
    rng = np.random.default_rng(stride[0] * 10 + stride[1] + groups)
    x, wt = rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((6, 4 // groups, 1, 1))
    assert K._is_pointwise(K._setup(x, wt, stride, 0, 1, groups)[2])
    out = K.conv2d_forward(x, wt, stride=stride, groups=groups)
    np.testing.assert_allclose(out, K.conv2d_forward_reference(x, wt, stride=stride, groups=groups), rtol=1e-12,
                               atol=1e-12)
    gy = rng.standard_normal(out.shape)
    for got, ref in zip(K.conv2d_backward(gy, x, wt, stride=stride, groups=groups),
                        K.conv2d_backward_reference(gy, x, wt, stride=stride, groups=groups)):
        np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-11)


def _run_with_assignment(pattern):
    """A stand-in for ``_threads.run`` that hands the chunks to the workers in a fixed pattern
    (serially): what a busy machine may do to the shared counter."""
    def run(body, chunks, nworkers):
        for i in range(chunks):
            body(pattern(i, chunks, nworkers), i)
    return run


@pytest.mark.parametrize("path, shape, kw", [("im2col", (12, 6, 14, 14), dict(kernel=5)),
                                             ("winograd", (12, 16, 8, 8), dict(kernel=3, padding=1))])
def test_weight_gradient_bits_do_not_depend_on_which_thread_took_which_chunk(monkeypatch, path, shape, kw):
    """Training is reproducible run to run on several threads: the weight gradient is summed
    over chunks in chunk order, not per thread (per-thread partial sums changed the last bits
    whenever the chunks fell to the threads differently; resumed LeNet runs then drifted)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((16, shape[1], kw["kernel"], kw["kernel"])).astype(np.float32)
    pad = kw.get("padding", 0)
    monkeypatch.setattr(_par, "parallel_worth", lambda *a, **k: True)
    monkeypatch.setattr(_threads, "workers", lambda chunks: min(chunks, 3))
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)           # one sample per chunk: 12 chunks
    monkeypatch.setattr(K.winograd, "CHUNK_BYTES", 1)
    assert K._use_winograd(x, w, K._setup(x, w, 1, pad, 1, 1)[2], 1) == (path == "winograd")
    gy = rng.standard_normal(K.conv2d_forward(x, w, padding=pad).shape).astype(np.float32)
    results = []
    for pattern in (lambda i, n, t: i % t, lambda i, n, t: i * t // n, lambda i, n, t: (i * 7 + 1) % t):
        monkeypatch.setattr(_threads, "run", _run_with_assignment(pattern))
        results.append(K.conv2d_backward(gy, x, w, padding=pad))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)
