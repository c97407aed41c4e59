"""nn.init: gains, fans, the documented bounds/variances of every initialiser (statistical
tests on large samples), orthogonality, reproducibility, and why zero init fails (symmetry)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
from nn import init

SETTINGS = settings(deadline=None, max_examples=20)


def param(*shape):
    return nn.Parameter(np.zeros(shape, dtype=np.float64))


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(2 ** 0.5)
    assert init.calculate_gain("leaky_relu") == pytest.approx((2 / (1 + 0.01 ** 2)) ** 0.5)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx((2 / 1.04) ** 0.5)
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", "x")


@SETTINGS
@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_fans(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(param(*shape))
    rf = int(np.prod(shape[2:]))
    assert (fan_in, fan_out) == (shape[1] * rf, shape[0] * rf)


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2"):
        init._calculate_fan_in_and_fan_out(param(5))


def _check_uniform(w, bound):
    d = w.numpy().ravel()
    assert d.min() >= -bound and d.max() <= bound
    assert d.min() < -0.99 * bound and d.max() > 0.99 * bound
    # Var U(-b, b) = b²/3; the sample variance of n = 10⁶ draws is within ~0.3 % (4 SE)
    assert d.var() == pytest.approx(bound ** 2 / 3, rel=0.01)
    assert abs(d.mean()) < 5 * bound / math.sqrt(3 * d.size)


def _check_normal(w, std):
    d = w.numpy().ravel()
    assert d.std() == pytest.approx(std, rel=0.01)
    assert abs(d.mean()) < 5 * std / math.sqrt(d.size)


def test_linear_default_init_bounds_and_variance():
    engine.manual_seed(0)
    lin = nn.Linear(1000, 1000)
    assert lin.weight.dtype == np.float32
    _check_uniform(lin.weight, 1 / math.sqrt(1000))
    b = lin.bias.numpy()
    assert b.min() >= -1 / math.sqrt(1000) and b.max() <= 1 / math.sqrt(1000)
    assert b.std() > 0


@pytest.mark.parametrize("mode,nonlin,a", [("fan_in", "relu", 0), ("fan_out", "leaky_relu", 0.2),
                                           ("fan_in", "tanh", 0)])
def test_kaiming(mode, nonlin, a):
    engine.manual_seed(1)
    w = param(800, 1250)
    fan = 1250 if mode == "fan_in" else 800
    gain = {"relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + a * a)), "tanh": 5 / 3}[nonlin]
    assert init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlin) is w
    _check_uniform(w, gain * math.sqrt(3 / fan))
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlin)
    _check_normal(w, gain / math.sqrt(fan))


def test_kaiming_bad_mode():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(param(3, 3), mode="fan_avg")


def test_xavier():
    engine.manual_seed(2)
    w = param(600, 1400)
    init.xavier_uniform_(w, gain=2.0)
    _check_uniform(w, 2.0 * math.sqrt(6 / 2000))
    init.xavier_normal_(w)
    _check_normal(w, math.sqrt(2 / 2000))


def test_uniform_normal_constant():
    engine.manual_seed(3)
    w = param(1000, 1000)
    init.uniform_(w, -2, 3)
    assert w.numpy().min() >= -2 and w.numpy().max() <= 3
    assert w.numpy().mean() == pytest.approx(0.5, abs=0.01)
    init.normal_(w, 1.5, 0.5)
    _check_normal(w - 1.5, 0.5)
    for fn, val in ((init.zeros_, 0.0), (init.ones_, 1.0), (lambda t: init.constant_(t, 0.3), 0.3)):
        assert fn(w) is w
        assert np.all(w.numpy() == val)
    init.eye_(w)
    assert np.array_equal(w.numpy(), np.eye(1000))


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 3), st.floats(0.5, 2.0))
def test_orthogonal(rows, cols, extra, gain):
    w = param(rows, cols, extra)
    init.orthogonal_(w, gain=gain)
    m = w.numpy().reshape(rows, -1)
    small = m @ m.T if rows <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, gain ** 2 * np.eye(small.shape[0]), atol=1e-10)


def test_orthogonal_needs_2d():
    with pytest.raises(ValueError):
        init.orthogonal_(param(4))


def test_manual_seed_makes_init_reproducible_and_no_graph():
    engine.manual_seed(7)
    a = nn.Linear(20, 30)
    engine.manual_seed(7)
    b = nn.Linear(20, 30)
    c = nn.Linear(20, 30)
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(b.weight.numpy(), c.weight.numpy())
    assert a.weight.is_leaf and a.weight.requires_grad


def test_zero_init_never_breaks_symmetry():
    """All-zero init: every hidden unit computes and learns the same thing, forever."""
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64), nn.Sigmoid(), nn.Linear(6, 3, dtype=np.float64))
    for p in model.parameters():
        init.zeros_(p)
    x = engine.Tensor(np.random.default_rng(0).standard_normal((16, 4)))
    y = engine.Tensor(np.random.default_rng(1).integers(0, 3, 16))
    for _ in range(5):
        model.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        w1, w2 = model[0].weight, model[2].weight
        # identical gradients for every hidden unit: rows of dW1, columns of dW2
        assert np.allclose(w1.grad.numpy(), w1.grad.numpy()[:1])
        assert np.allclose(w2.grad.numpy(), w2.grad.numpy()[:, :1])
        with engine.no_grad():
            for p in model.parameters():
                p.sub_(0.5 * p.grad)
    assert np.allclose(model[0].weight.numpy(), model[0].weight.numpy()[:1])
    assert np.allclose(model[2].weight.numpy(), model[2].weight.numpy()[:, :1])
    assert np.abs(model[2].weight.numpy()).max() > 0  # it did learn, but symmetrically
