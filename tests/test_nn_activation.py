"""Activations: forward vs NumPy references, gradients by gradcheck at drawn shapes, erf's
maximum error, PReLU per channel, RReLU train/eval slopes, modules and errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=20)
ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
erf_ref = np.vectorize(math.erf)
# inputs away from the kinks at 0 (and softplus' threshold), where finite differences are wrong
xs = arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=4),
            elements=st.floats(-6, 6).filter(lambda v: abs(v) > 1e-3 and abs(v - 2.5) > 1e-3))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


CASES = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda t: F.elu(t, 0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    "selu": (F.selu, lambda x: SCALE * np.where(x > 0, x, ALPHA * (np.exp(x) - 1))),
    "softplus": (F.softplus, lambda x: np.log(1 + np.exp(x))),
    "softplus_beta": (lambda t: F.softplus(t, beta=2, threshold=5),
                      lambda x: np.where(2 * x > 5, x, np.log(1 + np.exp(2 * x)) / 2)),
    "sigmoid": (F.sigmoid, sigmoid),
    "tanh": (F.tanh, np.tanh),
    "gelu": (F.gelu, lambda x: x * 0.5 * (1 + erf_ref(x / math.sqrt(2)))),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    "erf": (F.erf, erf_ref),
    "rrelu_eval": (F.rrelu, lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2)),
    "softmax": (lambda t: F.softmax(t, dim=-1), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    "log_softmax": (lambda t: F.log_softmax(t, dim=0), lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
}
MODULES = {
    "relu": nn.ReLU(inplace=True), "leaky_relu": nn.LeakyReLU(0.2), "elu": nn.ELU(0.7), "selu": nn.SELU(),
    "softplus": nn.Softplus(), "softplus_beta": nn.Softplus(2, 5), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(),
    "gelu": nn.GELU(), "gelu_tanh": nn.GELU("tanh"), "rrelu_eval": nn.RReLU().eval(),
    "softmax": nn.Softmax(dim=-1), "log_softmax": nn.LogSoftmax(dim=0),
}


@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(x=xs)
def test_forward_matches_numpy_and_gradcheck(name, x):
    fn, ref = CASES[name]
    t = engine.Tensor(x.copy(), requires_grad=True)
    np.testing.assert_allclose(fn(t).numpy(), ref(x), rtol=1e-12, atol=1e-13)
    if name in MODULES:
        np.testing.assert_allclose(MODULES[name](t).numpy(), ref(x), rtol=1e-12, atol=1e-13)
    assert engine.gradcheck(fn, [t])


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_stays_float32(name):
    x = engine.randn(3, 4)
    assert CASES[name][0](x).dtype == np.float32


def test_erf_max_error():
    x = np.concatenate([np.linspace(-7, 7, 200001), [0.0, 1e-300, -1e-20, 1.0, -1.0, 6.0]])
    out = F.erf(engine.Tensor(x)).numpy()
    err = np.abs(out - erf_ref(x))
    assert err.max() < 1e-14
    assert F.erf(engine.Tensor(np.array([np.inf, -np.inf]))).numpy().tolist() == [1.0, -1.0]
    assert np.isnan(F.erf(engine.Tensor(np.array([np.nan]))).numpy()[0])
    np.testing.assert_allclose(F.erf(engine.Tensor(-x)).numpy(), -out)  # odd function


def test_extreme_inputs_are_finite():
    x = engine.Tensor(np.array([-1000.0, -50.0, 50.0, 1000.0]))
    for name, (fn, _) in CASES.items():
        if "softmax" not in name:
            assert np.all(np.isfinite(fn(x).numpy())), name
    np.testing.assert_allclose(F.softplus(x).numpy(), [0.0, np.log1p(np.exp(-50.0)), 50.0, 1000.0], atol=1e-300)


def test_selu_constants():
    out = F.selu(engine.Tensor(np.array([1.0, -1e9])))
    assert out.numpy()[0] == pytest.approx(1.0507009873554804934193349852946, rel=1e-15)
    assert out.numpy()[1] == pytest.approx(-1.0507009873554804934193349852946 * 1.6732632423543772848170429916717, rel=1e-15)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.lists(st.integers(1, 3), max_size=2), st.integers(0, 2 ** 31))
def test_prelu_per_channel(n, c, spatial, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *spatial))
    x[np.abs(x) < 1e-3] = 0.5
    m = nn.PReLU(num_parameters=c, init=0.1, dtype=np.float64)
    assert np.all(m.weight.numpy() == 0.1)
    with engine.no_grad():
        m.weight.copy_(rng.uniform(0, 1, c))
    slope = m.weight.numpy().reshape((c,) + (1,) * len(spatial))
    t = engine.Tensor(x, requires_grad=True)
    np.testing.assert_allclose(m(t).numpy(), np.where(x > 0, x, slope * x))
    assert engine.gradcheck(lambda t, w: F.prelu(t, w), [t, m.weight])


def test_prelu_shared_and_errors():
    m = nn.PReLU()
    assert m.weight.shape == (1,) and m.weight.numpy()[0] == pytest.approx(0.25)
    np.testing.assert_allclose(m(engine.Tensor([-4.0, 2.0])).numpy(), [-1.0, 2.0])
    with pytest.raises(ValueError, match="3 parameters"):
        nn.PReLU(3)(engine.zeros(2, 4))


def test_rrelu_train_slopes_and_eval_mean():
    engine.manual_seed(0)
    m = nn.RReLU(0.1, 0.3)
    x = engine.Tensor(-np.ones(100000))
    slopes = -m(x).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert slopes.mean() == pytest.approx(0.2, abs=5 * 0.2 / math.sqrt(12) / math.sqrt(1e5))
    assert slopes.std() == pytest.approx(0.2 / math.sqrt(12), rel=0.02)
    np.testing.assert_allclose(m(engine.Tensor([3.0])).numpy(), [3.0])
    m.eval()
    np.testing.assert_allclose(m(engine.Tensor([-2.0, 3.0])).numpy(), [-0.4, 3.0])
    engine.manual_seed(5)
    a = F.rrelu(x, training=True).numpy()
    engine.manual_seed(5)
    assert np.array_equal(a, F.rrelu(x, training=True).numpy())


def test_rrelu_train_gradient_is_the_drawn_slope():
    engine.manual_seed(1)
    x = engine.Tensor(np.array([-1.0, -2.0, 3.0]), requires_grad=True)
    out = F.rrelu(x, training=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.numpy() / x.numpy())


def test_softmax_rows_sum_to_one_and_implicit_dim_warns():
    x = engine.randn(4, 5)
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy().sum(1), 1, rtol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy().sum(1), 1, rtol=1e-6)


def test_gelu_bad_approximate():
    with pytest.raises(ValueError, match="tanh"):
        F.gelu(engine.randn(3), approximate="fast")
    with pytest.raises(ValueError):
        nn.GELU("fast")


def test_fused_activations_refuse_double_backward_clearly():
    x = engine.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="GELU.*double backward"):
        engine.grad([F.gelu(x).sum()], [x], create_graph=True)
    (g,) = engine.grad([F.erf(x).sum()], [x], create_graph=True)  # erf's backward is composite
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -4 / math.sqrt(math.pi) * x.numpy() * np.exp(-x.numpy() ** 2))
