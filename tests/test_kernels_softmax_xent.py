"""engine.kernels.softmax_xent: fused log-softmax + cross-entropy vs the NumPy twin and finite differences."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import softmax_xent as X
from tiers import kernels_from_the_first_call  # noqa: F401  (the kernels, not their NumPy tier)
from finite_differences import central_differences as _fd

SETTINGS = settings(deadline=None, max_examples=30)


@st.composite
def xent_cases(draw, dtype=np.float64):
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.standard_normal((n, c) + extra) * draw(st.floats(0.1, 20))).astype(dtype)
    t = rng.integers(0, c, (n,) + extra)
    ignore = draw(st.sampled_from([-100, 0]))
    if draw(st.booleans()):
        t[rng.random(t.shape) < 0.3] = -100 if ignore == -100 else 0
    w = rng.uniform(0.1, 2, c).astype(dtype) if draw(st.booleans()) else None
    kw = dict(weight=w, ignore_index=ignore, label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.7])),
              reduction=draw(st.sampled_from(["mean", "sum", "none"])))
    return x, t, kw


@SETTINGS
@given(xent_cases())
def test_forward_and_backward_match_reference(case):
    x, t, kw = case
    loss, lse = X.cross_entropy_forward(x, t, **kw)
    ref = X.cross_entropy_forward_reference(x, t, **kw)
    np.testing.assert_allclose(loss, ref, rtol=1e-10, atol=1e-10)
    if x.ndim == 2:
        g = np.random.default_rng(0).standard_normal(loss.shape) if kw["reduction"] == "none" else 1.3
        np.testing.assert_allclose(X.cross_entropy_backward(g, x, t, lse, **kw),
                                   X.cross_entropy_backward_reference(g, x, t, **kw), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(xent_cases(np.float32))
def test_float32_keeps_dtype(case):
    x, t, kw = case
    loss, lse = X.cross_entropy_forward(x, t, **kw)
    assert loss.dtype == np.float32
    ref = X.cross_entropy_forward_reference(x.astype(np.float64), t, **kw)
    np.testing.assert_allclose(loss, ref, rtol=1e-4, atol=1e-4)
    g = np.ones(loss.shape, np.float32)
    assert X.cross_entropy_backward(g, x, t, lse, **kw).dtype == np.float32


@SETTINGS
@given(xent_cases())
def test_backward_matches_finite_differences(case):
    x, t, kw = case
    x = x / max(1.0, np.abs(x).max() / 5)
    loss, lse = X.cross_entropy_forward(x, t, **kw)
    if not np.all(np.isfinite(loss)):  # 'mean' with every target ignored is NaN, as in PyTorch
        return
    gy = np.random.default_rng(1).standard_normal(loss.shape)
    f = lambda: float((X.cross_entropy_forward_reference(x, t, **kw) * gy).sum())  # noqa: E731
    np.testing.assert_allclose(X.cross_entropy_backward(gy, x, t, lse, **kw), _fd(f, x), rtol=1e-5, atol=1e-7)


@SETTINGS
@given(xent_cases())
def test_no_smoothing_is_minus_log_softmax_at_target(case):
    x, t, kw = case
    x2, t2 = x.reshape(x.shape[0], x.shape[1], -1)[:, :, 0], t.reshape(t.shape[0], -1)[:, 0]
    t2 = np.where(t2 == kw["ignore_index"], 0, t2) if kw["ignore_index"] == -100 else t2
    loss, _ = X.cross_entropy_forward(x2, t2, ignore_index=-100, reduction="none")
    logp = x2 - x2.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    np.testing.assert_allclose(loss, -logp[np.arange(len(t2)), t2], rtol=1e-10, atol=1e-12)


def test_all_ignored_mean_is_nan_and_bad_target_raises():
    x = np.zeros((2, 3))
    assert np.isnan(X.cross_entropy_forward(x, np.array([-100, -100]))[0])
    with pytest.raises(IndexError):
        X.cross_entropy_forward(x, np.array([0, 3]))
    with pytest.raises(ValueError):
        X.cross_entropy_forward(x, np.array([0, 1]), reduction="avg")
