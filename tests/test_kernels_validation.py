"""Every public kernel function validates its arrays before a Numba kernel runs: a wrong size or
an index out of range raises ValueError naming the argument (never a memory overrun)."""
import numpy as np
import pytest

from engine.kernels import batchnorm, conv, pool

X = np.zeros((2, 3, 4, 4))
G2 = np.zeros((2, 3, 2, 2))
IND = np.zeros((2, 3, 2, 2), np.int64)


@pytest.mark.parametrize("call, match", [
    (lambda: pool.maxpool2d_backward(G2, IND, (2, 3, 4)), "input_shape"),
    (lambda: pool.maxpool2d_backward(G2, IND[:, :, :1], X.shape), "indices"),
    (lambda: pool.maxpool2d_backward(G2, IND + 16, X.shape), r"\[-1, 16\)"),
    (lambda: pool.maxpool2d_backward(G2, IND - 2, X.shape), r"\[-1, 16\)"),
    (lambda: pool.maxpool2d_backward(G2, IND, (2, 4, 4, 4)), "does not match"),
    (lambda: pool.avgpool2d_backward(np.zeros((2, 3, 3, 3)), X.shape, 2), "grad_out"),
    (lambda: pool.avgpool2d_backward(G2, (2, 3, 4), 2), "input_shape"),
    (lambda: pool.adaptive_avgpool2d_backward(np.zeros((2, 4, 2, 2)), X.shape), "does not match"),
    (lambda: batchnorm.batchnorm_backward(np.zeros((2, 3, 4, 5)), X, None, np.zeros(3), np.ones(3)), "grad_out"),
    (lambda: batchnorm.batchnorm_backward(X, X, None, np.zeros(2), np.ones(3)), "mean"),
    (lambda: batchnorm.batchnorm_backward(X, X, None, np.zeros(3), np.ones(4)), "invstd"),
    (lambda: batchnorm.batchnorm_backward(X, X, np.ones(5), np.zeros(3), np.ones(3)), "weight"),
    (lambda: batchnorm.batchnorm_forward(X, None, np.zeros(2)), "bias"),
    (lambda: batchnorm.batchnorm_forward(X, None, None, 1e-5, np.zeros(2), np.ones(3), training=False),
     "running_mean"),
    (lambda: conv.conv2d_forward(X, np.zeros((2, 4, 3, 3))), "do not match"),
    (lambda: conv.conv2d_forward(X, np.zeros((2, 3, 5, 5))), "too small"),
])
def test_wrong_sizes_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_valid_calls_still_work():
    """The checks reject only wrong input: the same functions accept the matching arrays."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(X.shape)
    out, ind = pool.maxpool2d_forward(x, 2)
    gx = pool.maxpool2d_backward(np.ones_like(out), ind, x.shape)
    assert gx.sum() == out.size  # each window's maximum receives its gradient once
    y, mean, invstd, _ = batchnorm.batchnorm_forward(x, None, None)
    gx, gw, gb = batchnorm.batchnorm_backward(np.ones_like(x), x, None, mean, invstd)
    np.testing.assert_allclose(gx, 0, atol=1e-12)  # a constant upstream gradient: d/dx of a normalised sum
    np.testing.assert_allclose(gb, x[:, :, :, :].size / 3)
