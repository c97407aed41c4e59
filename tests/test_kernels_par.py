"""engine.kernels._par: the parallel twins of the kernels (the other tests' small inputs run the
serial twins) give the reference results too."""
import numba
import numpy as np
import pytest

from engine.kernels import _par, batchnorm, conv, pool
from tiers import kernels_from_the_first_call  # noqa: F401  (the kernels, not their NumPy tier)


@pytest.fixture(params=[0, 1 << 62], ids=["parallel", "serial"])
def threshold(request, monkeypatch):
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", request.param)
    return request.param


def test_twins_are_distinct_dispatchers():
    par, ser = pool._max_fwd
    assert par is not ser and par.targetoptions.get("parallel") and not ser.targetoptions.get("parallel")
    many = _par.PARALLEL_MIN_ELEMENTS
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        if numba.get_num_threads() > 1:
            assert _par.pick(pool._max_fwd, many).dispatcher is par
        assert _par.pick(pool._max_fwd, many - 1) is ser
        numba.set_num_threads(1)  # one Numba thread: a parallel launch would only add a hand-off
        assert _par.pick(pool._max_fwd, many) is ser
    finally:
        numba.set_num_threads(threads)


def test_forced_parallel_ignores_the_thread_count(monkeypatch):
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert _par.pick(pool._max_fwd, 1).dispatcher is pool._max_fwd[0]
    finally:
        numba.set_num_threads(threads)


def test_kernels_match_references(threshold):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 7, 6))
    out, ind = pool.maxpool2d_forward(x, 3, 2, 1)
    ref_out, ref_ind = pool.maxpool2d_forward_reference(x, 3, 2, 1)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(ind, ref_ind)
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(pool.maxpool2d_backward(g, ind, x.shape),
                               pool.maxpool2d_backward_reference(g, ind, x.shape), rtol=1e-12)
    np.testing.assert_allclose(pool.avgpool2d_forward(x, 2, 1, 1), pool.avgpool2d_forward_reference(x, 2, 1, 1),
                               rtol=1e-12)
    np.testing.assert_allclose(pool.adaptive_avgpool2d_forward(x, (3, 2)),
                               pool.adaptive_avgpool2d_forward_reference(x, (3, 2)), rtol=1e-12)
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    got, ref = batchnorm.batchnorm_forward(x, w, b), batchnorm.batchnorm_forward_reference(x, w, b)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-10, atol=1e-12)
    gb = batchnorm.batchnorm_backward(x, x, w, got[1], got[2])
    for a, r in zip(gb, batchnorm.batchnorm_backward_reference(x, x, w, got[1], got[2])):
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)
    wt = rng.standard_normal((5, 4, 3, 2))
    for kw in (dict(stride=2, padding=1), dict(stride=1, padding=(1, 0)), dict(padding=(0, 1), dilation=(2, 1))):
        y = conv.conv2d_forward(x, wt, **kw)
        np.testing.assert_allclose(y, conv.conv2d_forward_reference(x, wt, **kw), rtol=1e-12, atol=1e-12)
        gy = rng.standard_normal(y.shape)
        for a, r in zip(conv.conv2d_backward(gy, x, wt, **kw), conv.conv2d_backward_reference(gy, x, wt, **kw)):
            np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-11)
