"""F.linear / nn.Linear / nn.Maxout: forward vs NumPy, gradients (gradcheck, double backward),
shapes, dtypes and error messages."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=20)
side = st.integers(1, 4)


def rand(rng, *shape):
    return engine.Tensor(rng.standard_normal(shape), requires_grad=True)


@SETTINGS
@given(st.lists(side, max_size=2), side, side, st.booleans(), st.integers(0, 2 ** 31))
def test_linear_forward_and_gradients(lead, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    x, w = rand(rng, *lead, n_in), rand(rng, n_out, n_in)
    b = rand(rng, n_out) if bias else None
    out = F.linear(x, w, b)
    ref = np.einsum("...i,oi->...o", x.numpy(), w.numpy()) + (b.numpy() if bias else 0)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
    inputs = [x, w] + ([b] if bias else [])
    assert engine.gradcheck(lambda *a: F.linear(*a), inputs)


def test_linear_double_backward():
    """gradcheck of the first derivative <d linear / d(x, w, b), v> (built with create_graph)."""
    rng = np.random.default_rng(0)
    x, w, b = rand(rng, 3, 4), rand(rng, 2, 4), rand(rng, 2)
    v = engine.Tensor(rng.standard_normal((3, 2)))

    def first_derivative(x, w, b):
        with engine.enable_grad():
            out = F.linear(x, w, b)
            return engine.grad([out], [x, w], grad_outputs=[v], create_graph=True)

    assert engine.gradcheck(first_derivative, [x, w, b])


@SETTINGS
@given(side, side, st.integers(1, 5), st.integers(0, 2 ** 31))
def test_linear_module(n_in, n_out, batch, seed):
    engine.manual_seed(seed)
    lin = nn.Linear(n_in, n_out, dtype=np.float64)
    assert dict(lin.named_parameters()).keys() == {"weight", "bias"}
    assert lin.weight.shape == (n_out, n_in) and lin.bias.shape == (n_out,)
    x = rand(np.random.default_rng(seed), batch, n_in)
    np.testing.assert_allclose(lin(x).numpy(), x.numpy() @ lin.weight.numpy().T + lin.bias.numpy())
    assert engine.gradcheck(lambda x, w, b: lin(x), [x, lin.weight, lin.bias])


def test_linear_no_bias_and_dtype():
    lin = nn.Linear(3, 2, bias=False)
    assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ["weight"]
    out = lin(engine.randn(5, 3))
    assert out.dtype == np.float32 and out.shape == (5, 2)
    assert "in_features=3, out_features=2, bias=False" in repr(lin)


def test_linear_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(32, 784\).*\(10, 100\)"):
        nn.Linear(100, 10)(engine.zeros(32, 784))


@SETTINGS
@given(st.integers(1, 3), side, side, st.integers(1, 4), st.integers(0, 2 ** 31))
def test_maxout_is_max_of_pieces(batch, n_in, n_out, k, seed):
    engine.manual_seed(seed)
    m = nn.Maxout(n_in, n_out, k, dtype=np.float64)
    assert m.weight.shape == (k * n_out, n_in)
    x = rand(np.random.default_rng(seed), batch, n_in)
    W, b = m.weight.numpy(), m.bias.numpy()
    pieces = [x.numpy() @ W[i * n_out:(i + 1) * n_out].T + b[i * n_out:(i + 1) * n_out] for i in range(k)]
    np.testing.assert_allclose(m(x).numpy(), np.max(pieces, axis=0))
    assert engine.gradcheck(lambda x, w, b: m(x), [x, m.weight, m.bias])


def test_maxout_bad_pieces():
    with pytest.raises(ValueError):
        nn.Maxout(3, 2, 0)
