"""engine.kernels.winograd: F(2x2, 3x3) convolution equals the direct convolution (exactly up to
rounding in float64; its float32 error is no worse than the direct float32 convolution's), its
Numba transforms equal their NumPy twins, the backward is the adjoint, bad input raises."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import _par, _threads, conv as K, winograd as W


@st.composite
def cases(draw, dtype=np.float64):
    n, c, co = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, 3 - 2 * ph), 9))
    w = draw(st.integers(max(1, 3 - 2 * pw), 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((co, c, 3, 3)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    return x, wt, b, (ph, pw), rng


@pytest.fixture(params=["one thread", "chunks on threads"])
def threads(request, monkeypatch):
    """Run on one thread, or in one-sample chunks on three threads (small inputs use one)."""
    if request.param != "one thread":
        monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)
        monkeypatch.setattr(_threads, "workers", lambda chunks: min(chunks, 3))


@settings(deadline=None, max_examples=30)
@given(case=cases())
def test_float64_equals_direct_convolution_and_numpy_twin(case):
    x, wt, b, pad, rng = case
    direct = K.conv2d_forward_reference(x, wt, b, padding=pad)
    out = W.conv3x3_forward(x, wt, b, pad)
    np.testing.assert_allclose(out, direct, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(W.conv3x3_forward_reference(x, wt, b, pad), direct, rtol=1e-10, atol=1e-10)
    gy = rng.standard_normal(out.shape)
    want = K.conv2d_backward_reference(gy, x, wt, padding=pad)
    for got, twin_value, ref in zip(W.conv3x3_backward(gy, x, wt, pad), W.conv3x3_backward_reference(gy, x, wt, pad),
                                    want):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(twin_value, ref, rtol=1e-10, atol=1e-10)


def test_one_thread_and_chunks_on_threads_agree(threads):
    rng = np.random.default_rng(3)
    x, wt = rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((5, 4, 3, 3))
    out = W.conv3x3_forward(x, wt, None, (1, 0))
    np.testing.assert_allclose(out, K.conv2d_forward_reference(x, wt, padding=(1, 0)), rtol=1e-10, atol=1e-10)
    gy = rng.standard_normal(out.shape)
    for got, ref in zip(W.conv3x3_backward(gy, x, wt, (1, 0)), K.conv2d_backward_reference(gy, x, wt, padding=(1, 0))):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


@settings(deadline=None, max_examples=15)
@given(case=cases())
def test_backward_is_the_adjoint(case):
    """<conv(x), gy> = <x, grad_input> = <weight, grad_weight> (the forward is bilinear)."""
    x, wt, _, pad, rng = case
    out = W.conv3x3_forward(x, wt, None, pad)
    gy = rng.standard_normal(out.shape)
    gx, gw, _ = W.conv3x3_backward(gy, x, wt, pad)
    lhs = np.vdot(out, gy)
    np.testing.assert_allclose(np.vdot(x, gx), lhs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.vdot(wt, gw), lhs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape, co", [((4, 16, 12, 12), 16), ((2, 64, 8, 8), 32), ((2, 32, 17, 9), 24)])
def test_float32_error_no_worse_than_the_direct_convolution(shape, co):
    """Against the exact (float64) result, Winograd's float32 error is at most twice the direct
    float32 convolution's (plus one float32 ulp of the output scale), forward and backward."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape, dtype=np.float32)
    wt = (rng.standard_normal((co, shape[1], 3, 3)) / np.sqrt(9 * shape[1])).astype(np.float32)
    gy = rng.standard_normal((shape[0], co, shape[2], shape[3]), dtype=np.float32)
    exact = K.conv2d_forward_reference(x.astype(np.float64), wt.astype(np.float64), padding=1)
    exact_grads = K.conv2d_backward_reference(gy.astype(np.float64), x.astype(np.float64), wt.astype(np.float64),
                                              padding=1)
    direct32 = K.conv2d_forward_reference(x, wt, padding=1)
    direct32_grads = K.conv2d_backward_reference(gy, x, wt, padding=1)
    wino = W.conv3x3_forward(x, wt, None, (1, 1))
    assert wino.dtype == np.float32
    pairs = [(wino, direct32, exact)] + list(zip(W.conv3x3_backward(gy, x, wt, (1, 1)), direct32_grads, exact_grads))
    for got, direct, ref in pairs:
        scale = np.abs(ref).max()
        err, direct_err = np.abs(got - ref).max(), np.abs(direct - ref).max()
        assert err <= 2 * direct_err + scale * np.finfo(np.float32).eps, (err, direct_err)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * scale)


def test_conv2d_uses_winograd_for_float32_3x3_with_enough_channels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, K.WINOGRAD_MIN_CHANNELS, 6, 6), dtype=np.float32)
    wt = rng.standard_normal((K.WINOGRAD_MIN_CHANNELS, K.WINOGRAD_MIN_CHANNELS, 3, 3), dtype=np.float32)
    np.testing.assert_array_equal(K.conv2d_forward(x, wt, padding=1), W.conv3x3_forward(x, wt, None, (1, 1)))
    gy = rng.standard_normal((2, K.WINOGRAD_MIN_CHANNELS, 6, 6), dtype=np.float32)
    for a, b in zip(K.conv2d_backward(gy, x, wt, padding=1), W.conv3x3_backward(gy, x, wt, (1, 1))):
        np.testing.assert_array_equal(a, b)
    # float64 and strided convolutions keep the direct path
    assert not K._use_winograd(x.astype(np.float64), wt.astype(np.float64), K._setup(x, wt, 1, 1, 1, 1)[2], 1)
    assert not K._use_winograd(x, wt, K._setup(x, wt, 2, 1, 1, 1)[2], 1)


@pytest.mark.parametrize("args, match", [
    ((np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 5, 5))), "3, 3"),
    ((np.zeros((1, 2, 4, 4)), np.zeros((3, 4, 3, 3))), "weight"),
    ((np.zeros((1, 2, 4, 4), np.float32), np.zeros((3, 2, 3, 3))), "dtype"),
    ((np.zeros((2, 4, 4)), np.zeros((3, 2, 3, 3))), "expected"),
    ((np.zeros((1, 2, 2, 2)), np.zeros((3, 2, 3, 3))), "smaller"),
])
def test_bad_input_raises_value_error(args, match):
    with pytest.raises(ValueError, match=match):
        W.conv3x3_forward(*args, None, (0, 0))


def test_backward_rejects_a_wrong_grad_shape():
    x, wt = np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match="grad_out"):
        W.conv3x3_backward(np.zeros((1, 3, 4, 4)), x, wt, (0, 0))
