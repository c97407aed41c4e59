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


def test_plain_module_carries_no_regularizer_state():
    class Plain(nn.Module):
        def forward(self, x):
            return x * 2

    m = Plain()
    names = set(vars(m)) | set(dir(type(m)))
    assert not [n for n in names if "regulariz" in n and n != "regularization_loss"]
    assert not [n for n in names if "activity" in n]
    assert not isinstance(m, regularizers.Regularized) and not m._forward_hooks
    m(engine.Tensor(np.ones(3)))
    assert set(vars(m)) == set(vars(Plain()))        # calling it adds no state
    assert m.regularization_loss().item() == 0
    # a Linear without an activity regularizer registers no hook: its calls pay nothing
    assert not nn.Linear(2, 2, kernel_regularizer=regularizers.l2(0.1))._forward_hooks


@SETTINGS
@given(st.integers(0, 2 ** 31 - 1), lams, lams, lams)
def test_mixin_penalties_match_numpy_in_a_custom_container(seed, a, b, c):
    """A user's container holding a Conv2d (activity penalty on its output) and a Maxout (kernel and
    bias penalties): regularization_loss() is the NumPy sum of all three."""
    engine.manual_seed(seed % 10000)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 2, dtype=np.float64, activity_regularizer=regularizers.l1(a))
            self.head = nn.Maxout(8, 3, dtype=np.float64, kernel_regularizer=regularizers.l2(b),
                                  bias_regularizer=regularizers.l1_l2(c, c))

        def forward(self, x):
            return self.head(self.conv(x).reshape(x.shape[0], -1))

    net = Net()
    x = np.random.default_rng(seed).standard_normal((2, 1, 3, 3))
    net(engine.Tensor(x))
    w = net.conv.weight.numpy()
    conv = np.array([[[[(x[n, 0, i:i + 2, j:j + 2] * w[o, 0]).sum() for j in range(2)] for i in range(2)]
                      for o in range(2)] for n in range(2)]) + net.conv.bias.numpy()[None, :, None, None]
    W, bias = net.head.weight.numpy(), net.head.bias.numpy()
    expected = a * np.abs(conv).sum() + b * (W ** 2).sum() + c * np.abs(bias).sum() + c * (bias ** 2).sum()
    np.testing.assert_allclose(net.regularization_loss().item(), expected, rtol=1e-10)


def test_activity_regularizer_assignment_registers_and_removes_its_hook():
    lin = nn.Linear(3, 2, dtype=np.float64)
    x = engine.Tensor(np.arange(6.0).reshape(2, 3))
    lin(x)
    assert lin.regularization_loss().item() == 0
    lin.activity_regularizer = regularizers.l2(0.5)
    assert len(lin._forward_hooks) == 1
    y = lin(x).numpy()
    assert lin.regularization_loss().item() == pytest.approx(0.5 * (y ** 2).sum())
    lin.set_regularizers()                              # all removed: no hook, no stale penalty
    assert not lin._forward_hooks and lin.regularization_loss().item() == 0
    with pytest.raises(TypeError, match="activity_regularizer"):
        lin.activity_regularizer = 0.1


def test_deepcopy_keeps_the_activity_penalty_per_copy():
    import copy
    lin = nn.Linear(2, 2, dtype=np.float64, activity_regularizer=regularizers.l1(1.0))
    twin = copy.deepcopy(lin)
    twin(engine.Tensor(np.ones((1, 2))))
    assert lin.regularization_loss().item() == 0       # the copy's hook records on the copy
    y = twin(engine.Tensor(np.ones((1, 2)))).numpy()
    assert twin.regularization_loss().item() == pytest.approx(np.abs(y).sum())
