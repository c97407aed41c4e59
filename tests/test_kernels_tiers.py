"""Tiered kernels (engine.kernels._par.Tier): the NumPy paths that answer a process's first calls
give the Numba kernels' results BIT FOR BIT (so when a process switches changes no result), and
the switch happens after TIER_CALLS calls."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import _datamove, _par, conv as K, pool as P, softmax_xent as X
from tiers import tier_and_kernel as _both, same_bits as _same_bits

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
       st.integers(1, 3), st.integers(3, 9), st.integers(3, 9), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**32 - 1))
def test_conv_numpy_tier_gives_the_kernels_bits(kh, kw, s, p, d, c, h, w, dtype, seed):
    if h + 2 * p < d * (kh - 1) + 1 or w + 2 * p < d * (kw - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, c, h, w)).astype(dtype)
    x[0, 0, 0, 0] = -0.0
    wt = rng.standard_normal((2, c, kh, kw)).astype(dtype)
    kwargs = dict(stride=s, padding=p, dilation=d)
    _same_bits(*_both(K.conv2d_forward, x, wt, **kwargs))
    gy = rng.standard_normal(K.conv2d_forward(x, wt, **kwargs).shape).astype(dtype)
    for tier, kernel in zip(*_both(K.conv2d_backward, gy, x, wt, **kwargs)):
        _same_bits(tier, kernel)


@pytest.mark.parametrize("shape,k,p", [((64, 1, 28, 28), 5, 2), ((64, 6, 14, 14), 5, 0), ((2, 3, 8, 8), 3, 1)])
def test_conv_numpy_tier_on_lenet_layers_and_the_same_size_path(shape, k, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    wt = rng.standard_normal((4, shape[1], k, k)).astype(np.float32)
    _same_bits(*_both(K.conv2d_forward, x, wt, padding=p))
    gy = rng.standard_normal(K.conv2d_forward(x, wt, padding=p).shape).astype(np.float32)
    for tier, kernel in zip(*_both(K.conv2d_backward, gy, x, wt, padding=p)):
        _same_bits(tier, kernel)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.one_of(st.none(), st.integers(1, 3)), st.integers(1, 2),
       st.booleans(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_maxpool_numpy_tier_gives_the_kernels_bits(kh, kw, stride, d, ceil_mode, dtype, seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal((2, 3, 7, 8)) * 2).astype(dtype) / 2  # many ties
    x[0, 0, :2, :2] = [[-0.0, 0.0], [0.0, -0.0]]
    x[1, 1] = -np.inf
    kwargs = dict(kernel_size=(kh, kw), stride=stride, dilation=d, ceil_mode=ceil_mode)
    (out_t, ind_t), (out_k, ind_k) = _both(P.maxpool2d_forward, x, **kwargs)
    _same_bits(out_t, out_k)
    _same_bits(ind_t, ind_k)
    gy = rng.standard_normal(out_k.shape).astype(dtype)
    _same_bits(*_both(P.maxpool2d_backward, gy, ind_k, x.shape))


def test_maxpool_numpy_tier_leaves_nan_windows_to_the_kernel():
    x = np.zeros((1, 1, 2, 4), np.float32)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = np.nan  # two NaNs in one window: the kernel (and PyTorch) take the last
    (out_t, ind_t), (out_k, ind_k) = _both(P.maxpool2d_forward, x, kernel_size=2)
    assert np.isnan(out_t[0, 0, 0, 0]) and ind_t[0, 0, 0, 0] == ind_k[0, 0, 0, 0] == 5
    assert P._max_fwd_numpy(x, P._geometry(x, 2, None, 0, 1, False, "t")[1]) is None


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 20), st.booleans(), st.sampled_from(["mean", "sum", "none"]),
       st.sampled_from([0.0, 0.1]), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_cross_entropy_numpy_tier_gives_the_kernels_bits(n, c, weighted, reduction, smoothing, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * rng.choice([1.0, 40.0])).astype(dtype)
    t = rng.integers(0, c, n)
    t[rng.random(n) < 0.2] = -100
    kw = dict(weight=rng.uniform(0.1, 3, c).astype(dtype) if weighted else None, reduction=reduction,
              label_smoothing=smoothing)
    (loss_t, lse_t), (loss_k, lse_k) = _both(X.cross_entropy_forward, x, t, **kw)
    _same_bits(loss_t, loss_k)
    g = rng.standard_normal(np.shape(loss_k)).astype(dtype)
    _same_bits(*_both(X.cross_entropy_backward, g, x, t, lse_k, **kw))


def test_cross_entropy_numpy_tier_raises_on_a_bad_target():
    with pytest.raises(IndexError, match="out of bounds"):
        _both(X.cross_entropy_forward, np.zeros((3, 4), np.float32), np.array([0, 4, 1]))


def test_the_kernel_takes_over_after_tier_calls(monkeypatch):
    calls, numpy_im2col = [], _datamove.im2col
    monkeypatch.setattr(_datamove, "im2col", lambda *a: calls.append(1) or numpy_im2col(*a))
    monkeypatch.setattr(_par, "TIER_CALLS", 3)
    monkeypatch.setattr(K, "_IM2COL_TIER", _par.Tier("im2col"))
    x, wt = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    for _ in range(5):
        K.conv2d_forward(x, wt)
    assert len(calls) == 3 and K._IM2COL_TIER.calls == 3
    np.testing.assert_allclose(K.conv2d_forward(x, wt), K.conv2d_forward_reference(x, wt))


def test_the_tier_counts_calls_not_chunks(monkeypatch):
    """A call cut into many chunks (LeNet's first conv: 11 chunks of 512 KB) is ONE call of the
    tier: counted per chunk, the first training step already loaded Numba (warm start 0.7 -> 1.3 s)."""
    calls, numpy_im2col = [], _datamove.im2col
    monkeypatch.setattr(_datamove, "im2col", lambda *a: calls.append(1) or numpy_im2col(*a))
    monkeypatch.setattr(_par, "TIER_CALLS", 3)
    monkeypatch.setattr(K, "_IM2COL_TIER", _par.Tier("im2col"))
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)              # one sample per chunk: 5 chunks a call
    x, wt = np.ones((5, 1, 4, 4)), np.ones((1, 1, 3, 3))
    K.conv2d_forward(x, wt)
    K.conv2d_backward(np.ones((5, 1, 2, 2)), x, wt)
    assert K._IM2COL_TIER.calls == 2 and len(calls) == 10   # two calls, every chunk in NumPy
