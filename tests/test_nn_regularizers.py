"""Keras-style regularizers: penalty values vs NumPy, gradients, and Module.regularization_loss
collecting kernel/bias/activity penalties of Linear layers."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import engine
import nn
from nn import regularizers

SETTINGS = settings(deadline=None, max_examples=20)
floats = st.floats(-3, 3, allow_nan=False)
lams = st.floats(0.001, 2.0)


@SETTINGS
@given(arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=floats), lams, lams)
def test_penalty_values(x, a, b):
    t = engine.Tensor(x)
    assert regularizers.l1(a)(t).item() == pytest.approx(a * np.abs(x).sum())
    assert regularizers.l2(a)(t).item() == pytest.approx(a * (x ** 2).sum())
    assert regularizers.l1_l2(a, b)(t).item() == pytest.approx(a * np.abs(x).sum() + b * (x ** 2).sum())
    assert regularizers.l1_l2(l1=0, l2=0)(t).item() == 0


def test_defaults_and_validation():
    x = engine.Tensor(np.array([1.0, -2.0]))
    assert regularizers.l1()(x).item() == pytest.approx(0.03)
    assert regularizers.l2()(x).item() == pytest.approx(0.05)
    assert regularizers.l1_l2()(x).item() == pytest.approx(0.08)
    assert regularizers.L2(0.5).get_config() == {"l2": 0.5}
    with pytest.raises(ValueError):
        regularizers.l2(-1.0)


@SETTINGS
@given(arrays(np.float64, array_shapes(max_dims=2, max_side=4),
              elements=st.floats(0.05, 3).map(lambda v: v * np.random.default_rng(0).choice([-1, 1]))), lams, lams)
def test_penalty_gradients(x, a, b):
    t = engine.Tensor(x.copy(), requires_grad=True)
    assert engine.gradcheck(regularizers.l1_l2(a, b), [t])
    regularizers.l1_l2(a, b)(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), a * np.sign(x) + 2 * b * x)


def test_linear_regularization_loss_and_gradient():
    engine.manual_seed(0)
    lin = nn.Linear(5, 3, dtype=np.float64, kernel_regularizer=regularizers.l2(0.1),
                    bias_regularizer=regularizers.l1(0.2), activity_regularizer=regularizers.l2(0.05))
    x = engine.Tensor(np.random.default_rng(0).standard_normal((4, 5)))
    out = lin(x)
    W, b = lin.weight.numpy(), lin.bias.numpy()
    expected = 0.1 * (W ** 2).sum() + 0.2 * np.abs(b).sum() + 0.05 * ((x.numpy() @ W.T + b) ** 2).sum()
    reg = lin.regularization_loss()
    assert reg.item() == pytest.approx(expected)
    reg.backward()
    y = x.numpy() @ W.T + b
    np.testing.assert_allclose(lin.weight.grad.numpy(), 0.2 * W + 0.1 * (y.T @ x.numpy()))
    np.testing.assert_allclose(lin.bias.grad.numpy(), 0.2 * np.sign(b) + 0.1 * y.sum(0))
    assert out.shape == (4, 3)


def test_regularization_sums_over_modules():
    engine.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4, kernel_regularizer=regularizers.l1(0.3)), nn.ReLU(),
                          nn.Linear(4, 2, kernel_regularizer=regularizers.l2(0.7)), nn.Linear(2, 2))
    expected = (0.3 * np.abs(model[0].weight.numpy()).sum() + 0.7 * (model[2].weight.numpy() ** 2).sum())
    assert model.regularization_loss().item() == pytest.approx(expected, rel=1e-5)
    assert nn.Linear(2, 2).regularization_loss().item() == 0


def test_regularization_gradient_by_gradcheck():
    engine.manual_seed(2)
    lin = nn.Linear(3, 2, dtype=np.float64, kernel_regularizer=regularizers.l2(0.3),
                    bias_regularizer=regularizers.l2(0.1))
    assert engine.gradcheck(lambda w, b: lin.regularization_loss(), [lin.weight, lin.bias])
