"""Properties every correct reverse-mode engine has, checked over Hypothesis-drawn shapes:
backward is linear in the output gradient, gradients accumulate additively, ``no_grad`` records
nothing, reshapes round-trip (values and gradients), and the gradient of a broadcast summed is
the number of copies."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Tensor
from engine.testing import broadcastable_shapes, shapes, tensors

SETTINGS = settings(deadline=None, max_examples=25,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = dict(max_dims=3, max_side=3)
FLOATS = st.floats(-3, 3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
COEF = st.floats(-4, 4, allow_nan=False, allow_infinity=False)


def _w(shape):
    """A fixed, non-trivial array of ``shape`` (deterministic)."""
    n = int(np.prod(shape))
    return np.sin(np.arange(1, n + 1, dtype=np.float64)).reshape(shape)


# functions x -> y (any shape) that exercise many ops, broadcasting and reductions
PIPELINES = {
    "elementwise": lambda x: x.sin() * x.exp() - x.tanh() / 2 + x.sigmoid() ** 2,
    "broadcast": lambda x: x * Tensor(_w((2,) + x.shape)) + x.cos(),
    "reductions": lambda x: engine.stack([x.sum(), x.mean(), (x * x).logsumexp(), x.abs().max()]),
    "softmax": lambda x: x.reshape(-1).softmax(0) * 3 + x.reshape(1, -1).log_softmax(1),
    "matmul": lambda x: x.reshape(-1, 1) @ Tensor(_w((1, 3))) @ Tensor(_w((3, 2))),
    "indexing": lambda x: x.reshape(-1)[np.array([0, 0, -1])] * x.reshape(-1)[:1],
    "pad_cat": lambda x: engine.cat([engine.pad(x.reshape(1, -1), (1, 2), mode="replicate"),
                                     x.reshape(1, -1).exp()], dim=1),
}


@pytest.mark.parametrize("name", PIPELINES)
@SETTINGS
@given(x=tensors(shape=shapes(**SMALL)), a=COEF, b=COEF, data=st.data())
def test_backward_is_linear_in_the_output_gradient(name, x, a, b, data):
    fn = PIPELINES[name]
    y = fn(x)
    g1 = data.draw(hnp.arrays(np.float64, y.shape, elements=FLOATS), label="g1")
    g2 = data.draw(hnp.arrays(np.float64, y.shape, elements=FLOATS), label="g2")
    (d1,) = engine.grad(y, x, grad_outputs=Tensor(g1), retain_graph=True)
    (d2,) = engine.grad(y, x, grad_outputs=Tensor(g2), retain_graph=True)
    (d12,) = engine.grad(y, x, grad_outputs=Tensor(a * g1 + b * g2))
    np.testing.assert_allclose(d12.numpy(), a * d1.numpy() + b * d2.numpy(), rtol=1e-9, atol=1e-9)
    # and .backward(gradient=...) accumulates the same thing
    fn(x).backward(Tensor(a * g1 + b * g2))
    np.testing.assert_allclose(x.grad.numpy(), d12.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", PIPELINES)
@SETTINGS
@given(x=tensors(shape=shapes(**SMALL)))
def test_gradients_accumulate_additively(name, x):
    fn = PIPELINES[name]
    seed = Tensor(np.cos(np.arange(fn(x).numpy().size, dtype=np.float64)).reshape(fn(x).shape))
    (single,) = engine.grad(fn(x), x, grad_outputs=seed)
    # the same graph twice (retain_graph)
    y = fn(x)
    y.backward(seed, retain_graph=True)
    y.backward(seed)
    np.testing.assert_allclose(x.grad.numpy(), 2 * single.numpy(), rtol=1e-12, atol=1e-12)
    # two separate graphs on top of that
    fn(x).backward(seed)
    np.testing.assert_allclose(x.grad.numpy(), 3 * single.numpy(), rtol=1e-12, atol=1e-12)
    # a value used twice in one graph: its gradients add up
    x.grad = None
    (fn(x) + fn(x)).backward(seed)
    np.testing.assert_allclose(x.grad.numpy(), 2 * single.numpy(), rtol=1e-12, atol=1e-12)


NO_GRAD_OPS = {
    **PIPELINES,
    "add": lambda x: x + x, "rsub": lambda x: 1 - x, "pow": lambda x: x ** 2, "neg": lambda x: -x,
    "max_dim": lambda x: x.reshape(-1).max(dim=0).values, "var": lambda x: x.var(unbiased=False),
    "clamp": lambda x: x.clamp(-1, 1), "maximum": lambda x: engine.maximum(x, 0.0),
    "where": lambda x: engine.where(x > 0, x, -x), "transpose": lambda x: x.T,
    "expand": lambda x: x.unsqueeze(0).expand(2, *x.shape), "stack": lambda x: engine.stack([x, x]),
    "cast": lambda x: x.float(), "relu": lambda x: x.relu(), "sqrt_log": lambda x: (x * x + 1).sqrt().log(),
    "squeeze_flatten": lambda x: x.unsqueeze(-1).squeeze(-1).flatten(),
}


@pytest.mark.parametrize("name", NO_GRAD_OPS)
@settings(deadline=None, max_examples=10)
@given(x=tensors(shape=shapes(**SMALL)))
def test_no_grad_builds_no_graph(name, x):
    fn = NO_GRAD_OPS[name]
    with engine.no_grad():
        assert not engine.is_grad_enabled()
        y = fn(x)
    outs = y if isinstance(y, tuple) else (y,)
    for o in outs:
        assert o.grad_fn is None and not o.requires_grad and o.is_leaf
    assert engine.is_grad_enabled()
    # the same op with grad on records (so the check above can fail)
    assert fn(x).grad_fn is not None

    @engine.no_grad()
    def decorated(t):
        return fn(t)

    assert decorated(x).grad_fn is None
    with engine.set_grad_enabled(False):
        assert fn(x).grad_fn is None
        with engine.enable_grad():
            assert fn(x).grad_fn is not None
    with engine.no_grad():
        with engine.set_grad_enabled(True):
            assert fn(x).requires_grad


@st.composite
def shape_and_reshape(draw):
    shape = draw(shapes(max_dims=4, max_side=3))
    target = list(draw(st.permutations(shape)))
    for _ in range(draw(st.integers(0, 2))):
        target.insert(draw(st.integers(0, len(target))), 1)
    return shape, tuple(target)


@SETTINGS
@given(st_=shape_and_reshape(), data=st.data())
def test_reshape_round_trips_values_and_gradients(st_, data):
    shape, target = st_
    x = data.draw(tensors(shape=shape))
    w = data.draw(hnp.arrays(np.float64, shape, elements=FLOATS), label="upstream gradient")
    for there, back in ((lambda t: t.reshape(target), lambda t: t.reshape(x.shape)),
                        (lambda t: t.view(target), lambda t: t.view(*x.shape)),
                        (lambda t: t.flatten(), lambda t: t.reshape(x.shape)),
                        (lambda t: t.unsqueeze(0), lambda t: t.squeeze(0)),
                        (lambda t: t.T, lambda t: t.T),
                        (lambda t: t.permute(*reversed(range(t.ndim))), lambda t: t.permute(*reversed(range(t.ndim))))):
        x.grad = None
        y = back(there(x))
        assert y.shape == x.shape
        np.testing.assert_array_equal(y.numpy(), x.numpy())
        (y * Tensor(w)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), w)


@SETTINGS
@given(data=st.data())
def test_gradient_of_a_summed_broadcast_is_the_number_of_copies(data):
    shape = data.draw(shapes(**SMALL), label="shape")
    other = data.draw(broadcastable_shapes(shape, **SMALL), label="other")
    big = np.broadcast_shapes(shape, other)
    copies = int(np.prod(big)) // int(np.prod(shape))
    x = data.draw(tensors(shape=shape))
    for make in (lambda t: t.expand(*big), lambda t: t + Tensor(np.zeros(other)),
                 lambda t: Tensor(np.ones(other)) * t, lambda t: engine.maximum(t, Tensor(np.full(other, -10.0)))):
        x.grad = None
        y = make(x)
        assert y.shape == big
        y.sum().backward()
        assert x.grad.shape == shape
        np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, float(copies)))
    # and a weighted sum: the gradient is the upstream gradient summed over the copies
    w = data.draw(hnp.arrays(np.float64, big, elements=FLOATS), label="w")
    x.grad = None
    (x.expand(*big) * Tensor(w)).sum().backward()
    lead = len(big) - len(shape)
    expected = w.sum(axis=tuple(range(lead))) if lead else w
    expected = expected.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected.reshape(shape), rtol=1e-12, atol=1e-12)
