"""nn.utils.widen_linear: function preserved, parameters keep identity, optimizer state padded and
updates matching a NumPy reference, gradients by central differences, all-or-nothing errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
import optim
from nn.utils import widen_linear

dims = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3),
                 st.integers(0, 10 ** 6))


def _net(n_in, hidden, n_out, seed, dtype=None):
    engine.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, hidden, dtype=dtype), nn.Tanh(), nn.Linear(hidden, n_out, dtype=dtype))


@settings(deadline=None, max_examples=20)
@given(dims)
def test_function_preserved_and_identity_kept(d):
    n_in, hidden, n_out, n_new, seed = d
    model = _net(n_in, hidden, n_out, seed)
    x = engine.tensor(np.random.default_rng(seed).standard_normal((6, n_in)).astype(np.float32))
    before = model(x).numpy().copy()
    w0, b0, w2 = model[0].weight, model[0].bias, model[2].weight
    old_w, old_w2 = w0.numpy().copy(), w2.numpy().copy()
    new = widen_linear(model[0], n_new, next_layer=model[2])
    assert list(new) == list(range(hidden, hidden + n_new))
    assert model[0].weight is w0 and model[0].bias is b0 and model[2].weight is w2
    assert w0.shape == (hidden + n_new, n_in) and b0.shape == (hidden + n_new,)
    assert w2.shape == (n_out, hidden + n_new)
    assert model[0].out_features == model[2].in_features == hidden + n_new
    np.testing.assert_array_equal(w0.numpy()[:hidden], old_w)
    np.testing.assert_array_equal(w2.numpy()[:, :hidden], old_w2)
    np.testing.assert_array_equal(w2.numpy()[:, hidden:], 0)
    bound = 1 / np.sqrt(n_in)
    assert np.all(np.abs(w0.numpy()[hidden:]) <= bound)
    np.testing.assert_allclose(model(x).numpy(), before, rtol=1e-6, atol=1e-6)
    assert len(list(model.parameters())) == 4


@settings(deadline=None, max_examples=10)
@given(dims)
def test_gradients_of_widened_net(d):
    n_in, hidden, n_out, n_new, seed = d
    model = _net(n_in, hidden, n_out, seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    widen_linear(model[0], n_new, next_layer=model[2], next_weight=rng.standard_normal((n_out, n_new)))
    x = engine.tensor(rng.standard_normal((3, n_in)), dtype=np.float64, requires_grad=True)
    assert engine.gradcheck(lambda inp: model(inp), [x])
    assert engine.gradcheck(lambda w: nn.functional.linear(x, w, model[0].bias).tanh(),
                            [engine.tensor(model[0].weight.numpy().copy(), requires_grad=True)])


@settings(deadline=None, max_examples=15)
@given(dims, st.floats(0.1, 0.95))
def test_sgd_momentum_state_padded_matches_numpy(d, mu):
    n_in, hidden, n_out, n_new, seed = d
    model = _net(n_in, hidden, n_out, seed, dtype=np.float64)
    lr = 0.1
    opt = optim.SGD(model.parameters(), lr=lr, momentum=mu)
    rng = np.random.default_rng(seed)
    x = engine.tensor(rng.standard_normal((4, n_in)))
    model(x).sum().backward()
    opt.step()
    buf_old = np.array(opt.state[model[0].weight]["momentum_buffer"], copy=True)
    widen_linear(model[0], n_new, next_layer=model[2], optimizer=opt)
    assert model[0].weight.grad is None
    for p in model.parameters():
        if p in opt.state and "momentum_buffer" in opt.state[p]:
            assert np.asarray(opt.state[p]["momentum_buffer"]).shape == tuple(p.shape)
    w_before = model[0].weight.numpy().copy()
    opt.zero_grad()
    model(x).sum().backward()
    g = model[0].weight.grad.numpy().copy()
    opt.step()
    ref = w_before.copy()
    ref[:hidden] -= lr * (mu * buf_old + g[:hidden])
    ref[hidden:] -= lr * g[hidden:]               # fresh (zero) buffer: buf = g
    np.testing.assert_allclose(model[0].weight.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_adam_state_padded_and_training_continues():
    model = _net(4, 3, 2, 0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    x, y = engine.randn(8, 4), engine.tensor(np.arange(8) % 2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    m_old = np.array(opt.state[model[2].weight]["exp_avg"], copy=True)
    widen_linear(model[0], 2, next_layer=model[2], optimizer=opt)
    st_ = opt.state[model[2].weight]
    assert np.asarray(st_["exp_avg"]).shape == (2, 5) and np.asarray(st_["exp_avg_sq"]).shape == (2, 5)
    np.testing.assert_array_equal(np.asarray(st_["exp_avg"])[:, :3], m_old)
    np.testing.assert_array_equal(np.asarray(st_["exp_avg"])[:, 3:], 0)
    assert st_["step"] == 3
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert np.any(model[2].weight.numpy()[:, 3:] != 0)         # the new units are being trained


def test_errors_change_nothing():
    model = _net(3, 4, 2, 0)
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    with pytest.raises(TypeError, match="nn.Linear"):
        widen_linear(model[1], 1)
    with pytest.raises(ValueError, match="positive integer"):
        widen_linear(model[0], 0)
    with pytest.raises(ValueError, match=r"weight must have shape \(2, 3\), got \(2, 4\)"):
        widen_linear(model[0], 2, next_layer=model[2], weight=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"next_weight must have shape \(2, 1\)"):
        widen_linear(model[0], 1, next_layer=model[2], next_weight=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="in_features=4 but layer has out_features=2"):
        widen_linear(model[2], 1, next_layer=model[2])
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p.numpy(), before[n])
    assert model[0].out_features == 4 and model[2].in_features == 4
