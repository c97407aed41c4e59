"""Dropout family: expected value kept (statistical tests, several standard errors), eval is
the identity, whole channels for Dropout2d, mean 0 / variance 1 for AlphaDropout, DropConnect
masks weights, and engine.manual_seed makes every mask reproducible."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=10)
N = 200_000


@SETTINGS
@given(st.floats(0.05, 0.95), st.integers(0, 2 ** 31))
def test_dropout_keeps_expectation(p, seed):
    engine.manual_seed(seed)
    out = F.dropout(engine.ones(N, dtype=np.float64), p).numpy()
    kept = out != 0
    # kept values are scaled by 1/(1-p); the fraction dropped is Binomial(N, p)/N
    np.testing.assert_allclose(out[kept], 1 / (1 - p))
    assert abs((~kept).mean() - p) < 5 * math.sqrt(p * (1 - p) / N)
    assert abs(out.mean() - 1) < 5 * math.sqrt(p / (1 - p) / N)


def test_dropout_eval_identity_and_edge_p():
    x = engine.randn(50, 20)
    m = nn.Dropout(0.4)
    m.eval()
    assert np.array_equal(m(x).numpy(), x.numpy())
    assert np.array_equal(F.dropout(x, 0.4, training=False).numpy(), x.numpy())
    assert np.array_equal(F.dropout(x, 0.0).numpy(), x.numpy())
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)


def test_dropout_gradient_uses_the_mask():
    x = engine.Tensor(np.random.default_rng(0).standard_normal((6, 7)), requires_grad=True)

    def fn(t):
        engine.manual_seed(3)
        return F.dropout(t, 0.3)

    assert engine.gradcheck(fn, [x])
    out = fn(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (out.numpy() != 0) / 0.7)


@pytest.mark.parametrize("shape", [(64, 50, 3, 4), (3000, 3, 4)])
def test_dropout2d_zeros_whole_channels(shape):
    engine.manual_seed(1)
    p = 0.3
    x = engine.Tensor(np.random.default_rng(0).uniform(1, 2, shape))
    out = nn.Dropout2d(p)(x).numpy()
    lead = len(shape) - 2
    chans = out.reshape(shape[:lead] + (-1,))
    dropped = np.all(chans == 0, axis=-1)
    kept = np.all(np.isclose(chans, x.numpy().reshape(chans.shape) / (1 - p)), axis=-1)
    assert np.all(dropped | kept)
    n = dropped.size
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    m = nn.Dropout2d(p).eval()
    assert np.array_equal(m(x).numpy(), x.numpy())


def test_dropout2d_rejects_other_ranks():
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        F.dropout2d(engine.zeros(4, 5))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_keeps_mean_and_variance(p):
    engine.manual_seed(2)
    x = engine.Tensor(np.random.default_rng(1).standard_normal(N))
    out = nn.AlphaDropout(p)(x).numpy()
    assert abs(out.mean()) < 0.02
    assert out.var() == pytest.approx(1.0, abs=0.03)
    # dropped units sit at a·α' + b, α' = -λα of SELU
    a = ((1 - p) * (1 + p * 1.7580993408473766 ** 2)) ** -0.5
    low = a * -1.7580993408473766 + (a * 1.7580993408473766 * p)
    assert abs(np.isclose(out, low).mean() - p) < 5 * math.sqrt(p * (1 - p) / N)
    assert np.array_equal(F.alpha_dropout(x, p).numpy(), x.numpy())  # functional default: training=False
    assert np.array_equal(nn.AlphaDropout(p).eval()(x).numpy(), x.numpy())


def test_manual_seed_reproducible():
    x = engine.randn(30, 4, 5, 5)
    lin = nn.Linear(5, 3)
    results = []
    for _ in range(2):
        engine.manual_seed(42)
        results.append([F.dropout(x).numpy(), F.dropout2d(x).numpy(), F.alpha_dropout(x, training=True).numpy(),
                        nn.DropConnect(lin, 0.5)(x).numpy()])
    for a, b in zip(*results):
        assert np.array_equal(a, b)
    assert not np.array_equal(F.dropout(x).numpy(), results[0][0])


def test_dropconnect_masks_weights():
    engine.manual_seed(0)
    lin = nn.Linear(40, 30, dtype=np.float64)
    dc = nn.DropConnect(lin, p=0.25)
    eye = engine.Tensor(np.eye(40))
    W_eff = (dc(eye).numpy() - lin.bias.numpy()).T  # row i of the output is column i of W_eff
    kept = ~np.isclose(W_eff, 0)
    np.testing.assert_allclose(W_eff[kept], lin.weight.numpy()[kept] / 0.75)
    assert abs((~kept).mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / kept.size)
    W2 = (dc(eye).numpy() - lin.bias.numpy()).T
    assert not np.array_equal(kept, ~np.isclose(W2, 0))  # a fresh mask per forward
    dc.eval()
    np.testing.assert_allclose(dc(eye).numpy(), lin(eye).numpy())
    assert [n for n, _ in dc.named_parameters()] == ["module.weight", "module.bias"]


def test_dropconnect_gradient_only_through_kept_weights():
    engine.manual_seed(4)
    lin = nn.Linear(3, 2, dtype=np.float64)
    dc = nn.DropConnect(lin, 0.5)
    x = engine.Tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)

    def fn(x, w, b):
        engine.manual_seed(9)
        return dc(x)

    assert engine.gradcheck(fn, [x, lin.weight, lin.bias])
    with pytest.raises(TypeError):
        nn.DropConnect(nn.ReLU())
