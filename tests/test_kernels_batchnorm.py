"""engine.kernels.batchnorm: fused forward/backward vs the NumPy twin, FD gradients, normalization invariants."""
import numpy as np
from hypothesis import given, settings, strategies as st

from engine.kernels import batchnorm as B
from finite_differences import central_differences as _fd

SETTINGS = settings(deadline=None, max_examples=30)


@st.composite
def bn_cases(draw, dtype=np.float64):
    shape = (draw(st.integers(2, 5)), draw(st.integers(1, 4))) + tuple(
        draw(st.lists(st.integers(1, 4), max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.standard_normal(shape) * draw(st.floats(0.1, 10)) + draw(st.floats(-5, 5))).astype(dtype)
    affine = draw(st.booleans())
    w = rng.standard_normal(shape[1]).astype(dtype) if affine else None
    b = rng.standard_normal(shape[1]).astype(dtype) if affine else None
    return x, w, b


@SETTINGS
@given(bn_cases(), st.booleans())
def test_matches_reference_float64(case, training):
    x, w, b = case
    c = x.shape[1]
    stats = dict(running_mean=np.linspace(-1, 1, c), running_var=np.linspace(0.5, 2, c), training=training)
    got = B.batchnorm_forward(x, w, b, 1e-5, **stats)
    ref = B.batchnorm_forward_reference(x, w, b, 1e-5, **stats)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)
    gy = np.random.default_rng(0).standard_normal(x.shape)
    for g, r in zip(B.batchnorm_backward(gy, x, w, got[1], got[2], training),
                    B.batchnorm_backward_reference(gy, x, w, got[1], got[2], training)):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(bn_cases(np.float32))
def test_float32_keeps_dtype_and_matches(case):
    x, w, b = case
    out, mean, invstd, var = B.batchnorm_forward(x, w, b)
    assert out.dtype == mean.dtype == invstd.dtype == np.float32
    ref = B.batchnorm_forward_reference(x.astype(np.float64), None if w is None else w.astype(np.float64),
                                        None if b is None else b.astype(np.float64))
    np.testing.assert_allclose(out, ref[0], rtol=1e-4, atol=2e-4)
    gx, gw, gb = B.batchnorm_backward(np.ones_like(x), x, w, mean, invstd)
    assert gx.dtype == np.float32


@SETTINGS
@given(bn_cases())
def test_output_has_zero_mean_unit_variance_per_channel(case):
    x, _, _ = case
    out = B.batchnorm_forward(x, eps=0.0)[0]
    axes = (0,) + tuple(range(2, x.ndim))
    spread = x.std(axis=axes) > 1e-6 * (1 + np.abs(x).max())
    np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-9)
    np.testing.assert_allclose(out.var(axis=axes)[spread], 1, rtol=1e-8)


@settings(deadline=None, max_examples=10)
@given(bn_cases(), st.booleans())
def test_backward_matches_finite_differences(case, training):
    x, w, b = case
    c = x.shape[1]
    w = np.random.default_rng(1).standard_normal(c) if w is None else w
    b = np.zeros(c) if b is None else b
    stats = dict(running_mean=np.full(c, 0.3), running_var=np.full(c, 1.7), training=training)
    gy = np.random.default_rng(2).standard_normal(x.shape)
    loss = lambda: float((B.batchnorm_forward_reference(x, w, b, 1e-3, **stats)[0] * gy).sum())  # noqa: E731
    _, mean, invstd, _ = B.batchnorm_forward(x, w, b, 1e-3, **stats)
    gx, gw, gb = B.batchnorm_backward(gy, x, w, mean, invstd, training)
    np.testing.assert_allclose(gx, _fd(loss, x), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gw, _fd(loss, w), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, _fd(loss, b), rtol=1e-5, atol=1e-6)


def test_large_offset_is_accurate_in_float32():
    x = (np.random.default_rng(3).standard_normal((64, 2, 100)) + 1000).astype(np.float32)
    out, mean, _, var = B.batchnorm_forward(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2)), rtol=1e-4)
    np.testing.assert_allclose(out.var(axis=(0, 2)), 1, rtol=1e-3)


@settings(deadline=None, max_examples=15)
@given(bn_cases(np.float32), st.booleans(), st.integers(2, 3))
def test_channel_ranges_on_threads_give_the_same_bits(case, training, threads):
    """From the "memory_bound" size on, the channels are split into one contiguous range per
    thread: every channel is computed once, with its sums in the same order, so the outputs equal
    the one-range results bit for bit (a gap or overlap in the ranges leaves np.empty garbage)."""
    from engine.kernels import _par, _threads

    x, w, b = case
    rng = np.random.default_rng(x.size)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    stats = dict(running_mean=rng.standard_normal(x.shape[1]), running_var=rng.random(x.shape[1]) + 0.5)

    def both():
        out, mean, invstd, _ = B.batchnorm_forward(x, w, b, training=training, **stats)
        return (out,) + B.batchnorm_backward(gy, x, w, mean, invstd, training)

    saved = _par.PARALLEL_MIN_ELEMENTS, _threads.workers, _threads.run
    calls = []

    def run(body, chunks, nworkers):
        calls.append((chunks, nworkers))
        return saved[2](body, chunks, nworkers)

    try:
        _par.PARALLEL_MIN_ELEMENTS = 1 << 62
        _threads.run = run
        one = both()
        assert calls == [(1, 1), (1, 1)]
        calls.clear()
        _par.PARALLEL_MIN_ELEMENTS = 0
        _threads.workers = lambda n: max(1, min(n, threads))
        split = both()
        want = min(x.shape[1], threads)
        assert calls == [(want, want), (want, want)]
    finally:
        _par.PARALLEL_MIN_ELEMENTS, _threads.workers, _threads.run = saved
    for a, c in zip(one, split):
        np.testing.assert_array_equal(a, c)
