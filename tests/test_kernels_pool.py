"""engine.kernels.pool: max/avg/adaptive-avg pooling kernels vs their NumPy twins, FD gradients, invariants."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import pool as P
from tiers import kernels_from_the_first_call  # noqa: F401  (the kernels, not their NumPy tier)
from finite_differences import central_differences as _fd

SETTINGS = settings(deadline=None, max_examples=30)


@st.composite
def pool_cases(draw, dilation=True):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    ph = draw(st.integers(0, (dh * (kh - 1) + 1) // 2 if dilation else kh // 2))
    pw = draw(st.integers(0, (dw * (kw - 1) + 1) // 2 if dilation else kw // 2))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 8))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.permutation(2 * 3 * h * w).reshape(2, 3, h, w) * 0.1 + rng.uniform(0, 0.01, (2, 3, h, w))  # no ties
    kw_ = dict(kernel_size=(kh, kw), stride=stride, padding=(ph, pw), ceil_mode=draw(st.booleans()))
    if dilation:
        kw_["dilation"] = (dh, dw)
    return x, kw_


@pytest.mark.parametrize("shape", [(2, 3, 4, 6), (1, 2, 5, 7), (3, 1, 2, 2)])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_maxpool2_fast_path_keeps_ties_nan_and_overhang(shape, ceil_mode):
    """MaxPool2d(2)'s unrolled path: the first maximum wins a tie, a NaN wins, and odd sizes with
    ceil_mode (windows hanging over the edge) take the general path; all equal the twin."""
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(0, 3, shape).astype(np.float32)  # many ties
    x.flat[rng.integers(0, x.size)] = np.nan  # (one: with two NaNs in a window the kernels keep the last)
    out, ind = P.maxpool2d_forward(x, 2, ceil_mode=ceil_mode)
    ref, rind = P.maxpool2d_forward_reference(x, 2, ceil_mode=ceil_mode)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(ind, rind)


@SETTINGS
@given(pool_cases(), st.sampled_from([np.float64, np.float32]))
def test_maxpool_matches_reference(case, dtype):
    x, kw = case
    x = x.astype(dtype)
    out, ind = P.maxpool2d_forward(x, **kw)
    ref, rind = P.maxpool2d_forward_reference(x, **kw)
    assert out.dtype == dtype and ind.dtype == np.int64
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(ind, rind)
    gy = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    gx = P.maxpool2d_backward(gy, ind, x.shape)
    np.testing.assert_allclose(gx, P.maxpool2d_backward_reference(gy, ind, x.shape), rtol=1e-6)
    # every gradient lands somewhere, except from windows that hold only padding (index -1)
    np.testing.assert_allclose(gx.sum(), gy[ind >= 0].sum(), rtol=1e-5, atol=1e-5)


@settings(deadline=None, max_examples=10)
@given(pool_cases())
def test_maxpool_backward_matches_finite_differences(case):
    x, kw = case
    out, ind = P.maxpool2d_forward(x, **kw)
    gy = np.random.default_rng(1).standard_normal(out.shape)
    gy[ind < 0] = 0  # a window entirely in the padding outputs -inf and depends on no input
    loss = lambda: float((np.where(ind < 0, 0, P.maxpool2d_forward_reference(x, **kw)[0]) * gy).sum())  # noqa: E731
    np.testing.assert_allclose(P.maxpool2d_backward(gy, ind, x.shape), _fd(loss, x), atol=1e-6)


@SETTINGS
@given(pool_cases(dilation=False), st.booleans(), st.sampled_from([None, 3]), st.sampled_from([np.float64, np.float32]))
def test_avgpool_matches_reference(case, include_pad, divisor, dtype):
    x, kw = case
    x = x.astype(dtype)
    kw.update(count_include_pad=include_pad, divisor_override=divisor)
    out = P.avgpool2d_forward(x, **kw)
    assert out.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, P.avgpool2d_forward_reference(x, **kw), rtol=tol, atol=tol)
    gy = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(P.avgpool2d_backward(gy, x.shape, **kw),
                               P.avgpool2d_backward_reference(gy, x.shape, **kw), rtol=tol, atol=tol)


@settings(deadline=None, max_examples=10)
@given(pool_cases(dilation=False), st.booleans())
def test_avgpool_backward_matches_finite_differences(case, include_pad):
    x, kw = case
    kw["count_include_pad"] = include_pad
    gy = np.random.default_rng(3).standard_normal(P.avgpool2d_forward(x, **kw).shape)
    loss = lambda: float((P.avgpool2d_forward_reference(x, **kw) * gy).sum())  # noqa: E731
    np.testing.assert_allclose(P.avgpool2d_backward(gy, x.shape, **kw), _fd(loss, x), rtol=1e-6, atol=1e-7)


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.one_of(st.none(), st.integers(1, 5)),
       st.sampled_from([np.float64, np.float32]))
def test_adaptive_avgpool_matches_reference(h, w, oh, ow, dtype):
    x = np.random.default_rng(h * 10 + w).standard_normal((2, 3, h, w)).astype(dtype)
    out = P.adaptive_avgpool2d_forward(x, (oh, ow))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, P.adaptive_avgpool2d_forward_reference(x, (oh, ow)), rtol=tol, atol=tol)
    gy = np.ones(out.shape, dtype)
    gx = P.adaptive_avgpool2d_backward(gy, x.shape)
    np.testing.assert_allclose(gx, P.adaptive_avgpool2d_backward_reference(gy, x.shape), rtol=tol, atol=tol)
    if oh <= h and (ow or w) <= w and h % oh == 0 and w % (ow or w) == 0:  # disjoint bins: mass is kept
        np.testing.assert_allclose(out.mean(axis=(2, 3)), x.mean(axis=(2, 3)), rtol=1e-4, atol=1e-5)


def test_adaptive_backward_matches_finite_differences():
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 7))
    gy = np.random.default_rng(5).standard_normal((1, 2, 3, 4))
    loss = lambda: float((P.adaptive_avgpool2d_forward_reference(x, (3, 4)) * gy).sum())  # noqa: E731
    np.testing.assert_allclose(P.adaptive_avgpool2d_backward(gy, x.shape), _fd(loss, x), atol=1e-7)


def test_pytorch_output_sizes_and_nan():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    assert P.maxpool2d_forward(x, 2)[0].shape == (1, 1, 2, 2)
    assert P.maxpool2d_forward(x, 2, ceil_mode=True)[0].shape == (1, 1, 3, 3)
    assert P.avgpool2d_forward(x, 3, 2, padding=1, ceil_mode=True).shape == (1, 1, 3, 3)
    x[0, 0, 1, 1] = np.nan
    assert np.isnan(P.maxpool2d_forward(x, 2)[0][0, 0, 0, 0])
    with pytest.raises(ValueError):
        P.maxpool2d_forward(x, 2, padding=2)
