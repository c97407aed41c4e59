"""The backward machinery: deep graphs without recursion, freeing and retaining the graph,
higher-order gradients (create_graph, gradgradcheck), hooks, retain_grad, detach, accumulation
into leaves, non-scalar backward, engine.grad and multi-output ops."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import engine
from engine import Function, Scalar, Tensor
from engine.testing import shapes, tensors

SETTINGS = settings(deadline=None, max_examples=30,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = dict(max_dims=3, max_side=3)


def _w(shape, k=1):
    n = int(np.prod(shape))
    return np.sin(k * np.arange(1, n + 1, dtype=np.float64)).reshape(shape)


# -- deep graphs ---------------------------------------------------------------------------------

def test_million_node_scalar_chain_backprops_without_recursion():
    n = 1_000_000
    c = 1.0 + 1e-6
    x = Scalar(1.0)
    y = x
    for _ in range(n):
        y = y * c
    y.backward()
    # y = x · cⁿ, so dy/dx = cⁿ (≈ e)
    assert math.isclose(x.grad, c ** n, rel_tol=1e-9)
    assert math.isclose(y.data, c ** n, rel_tol=1e-9)


def test_deep_tensor_chain_and_graph_walk_without_recursion():
    n = 30_000
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(n):
        y = y + x  # y = (n + 1) x; x feeds every node
    nodes = list(engine.graph.walk(y))
    assert sum(1 for v in nodes if v.kind == "op") == n
    assert sum(1 for v in nodes if v.kind == "leaf") == 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [n + 1.0])


# -- freeing and retaining the graph -------------------------------------------------------------

def test_retain_graph_allows_a_second_backward_and_without_it_raises():
    x = Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    np.testing.assert_allclose(first, np.exp(x.data) * (1 + x.data))
    y.backward()  # allowed: the graph was retained; frees it now
    np.testing.assert_allclose(x.grad.data, 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    # engine.grad frees the graph too unless retain_graph
    z = (x.sin() * x).sum()
    engine.grad(z, x)
    with pytest.raises(RuntimeError, match="second time"):
        engine.grad(z, x)


def test_freed_graph_releases_saved_values():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x.exp() * x
    mul = y.grad_fn
    assert mul.saved_shapes() and not mul.is_freed
    y.sum().backward()
    assert mul.is_freed and mul.saved_shapes() == []


# -- higher-order gradients ----------------------------------------------------------------------

ELEMENTWISE_SECOND = {  # f, f'' as NumPy
    "tanh": (lambda t: t.tanh(), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    "sin": (lambda t: t.sin(), lambda x: -np.sin(x)),
    "exp": (lambda t: t.exp(), np.exp),
    "cube": (lambda t: t ** 3, lambda x: 6 * x),
    "sigmoid": (lambda t: t.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
    "log": (lambda t: (t * t + 1).log(), lambda x: (2 - 2 * x ** 2) / (x ** 2 + 1) ** 2),
    "div": (lambda t: 1 / (t * t + 1), lambda x: (6 * x ** 2 - 2) / (x ** 2 + 1) ** 3),
    "sqrt": (lambda t: (t * t + 1).sqrt(), lambda x: (x ** 2 + 1) ** -1.5),
}


@pytest.mark.parametrize("name", ELEMENTWISE_SECOND)
@SETTINGS
@given(x=tensors(shape=shapes(**SMALL)))
def test_create_graph_second_derivative_elementwise(name, x):
    f, f2 = ELEMENTWISE_SECOND[name]
    (g,) = engine.grad(f(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = engine.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, f2(x.data), rtol=1e-9, atol=1e-9)
    # the same through .backward(create_graph=True): x.grad is differentiable
    x.grad = None
    f(x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (h2,) = engine.grad(x.grad.sum(), x)
    np.testing.assert_allclose(h2.data, f2(x.data), rtol=1e-9, atol=1e-9)


def test_third_derivative():
    x = Tensor(np.array([0.7, -1.3]), requires_grad=True)
    (g,) = engine.grad((x ** 4).sum(), x, create_graph=True)
    (h,) = engine.grad(g.sum(), x, create_graph=True)
    (k,) = engine.grad(h.sum(), x)
    np.testing.assert_allclose(k.data, 24 * x.data)


@SETTINGS
@given(n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), data=st.data())
def test_create_graph_matmul_hessian_vector_product(n, k, m, data):
    x = data.draw(tensors(shape=(n, k)))
    W = _w((k, m))
    v = _w((n, k), 2)
    # f = Σ (x W)²  ⇒  ∇f = 2 (x W) Wᵀ,  H·v = 2 v W Wᵀ
    (g,) = engine.grad(((x @ Tensor(W)) ** 2).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * x.data @ W @ W.T, rtol=1e-10, atol=1e-12)
    (hv,) = engine.grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, 2 * v @ W @ W.T, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(x=tensors(shape=shapes(min_dims=1, max_dims=2, min_side=2, max_side=4)))
def test_create_graph_reductions(x):
    a = x.numpy()
    n = a.size
    v = _w(a.shape, 3)
    # (Σx)²: ∇ = 2Σx·1, H·v = 2 (Σv) 1
    (g,) = engine.grad(x.sum() ** 2, x, create_graph=True)
    (hv,) = engine.grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, np.full(a.shape, 2 * v.sum()), rtol=1e-10, atol=1e-10)
    # mean(x)²: H·v = 2 mean(v) / n
    (g,) = engine.grad(x.mean() ** 2, x, create_graph=True)
    (hv,) = engine.grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, np.full(a.shape, 2 * v.mean() / n), rtol=1e-10, atol=1e-10)
    # var (unbiased): H = 2/(n−1) (I − 11ᵀ/n)  ⇒  H·v = 2/(n−1) (v − mean v)
    (g,) = engine.grad(x.var(), x, create_graph=True)
    (hv,) = engine.grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, 2 / (n - 1) * (v - v.mean()), rtol=1e-9, atol=1e-10)
    # logsumexp: H = diag(p) − ppᵀ  ⇒  H·v = p v − p (p·v)
    p = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    (g,) = engine.grad(x.logsumexp(), x, create_graph=True)
    (hv,) = engine.grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, p * v - p * (p * v).sum(), rtol=1e-9, atol=1e-10)


GRADGRAD = {
    "mul_div": (lambda a, b: a * b / (b * b + 1), [(2, 3), (3,)]),
    "pow": (lambda a, b: (a * a + 0.5) ** b, [(2, 2), (2, 2)]),
    "exp_log_sqrt": (lambda a: (a.exp() + 1).log() * (a * a + 1).sqrt(), [(3,)]),
    "trig_tanh_sigmoid": (lambda a: a.sin() * a.cos() + a.tanh() * a.sigmoid(), [(2, 2)]),
    "matmul": (lambda a, b: (a @ b).tanh(), [(2, 3), (3, 2)]),
    "matmul_batched_vec": (lambda a, b: a @ b, [(2, 2, 3), (3,)]),
    "reductions": (lambda a: a.sum(1) * a.mean(0).sum() + a.var(1) + a.std(0) * 2, [(3, 3)]),
    "softmax": (lambda a: a.softmax(1) * a.log_softmax(0), [(2, 3)]),
    "logsumexp": (lambda a: a.logsumexp(1, keepdim=True) * a, [(2, 3)]),
    "max": (lambda a: a.max(dim=1).values * a.max() + a.amin(0).sum(), [(2, 3)]),
    "abs_relu_clamp": (lambda a: a.abs() * a + a.relu() * a + a.clamp(-0.5, 0.5) * a, [(2, 3)]),
    "maximum_where": (lambda a, b: engine.maximum(a, b) * a + engine.where(a > 0, a * b, b * b), [(2, 3), (3,)]),
    "shape_ops": (lambda a: (a.reshape(3, 2).T.unsqueeze(0).expand(2, 2, 3) ** 2).permute(2, 0, 1).flatten(), [(2, 3)]),
    "getitem": (lambda a: (a[np.array([0, 0, 1])] ** 2).sum(0) + a[a > 0].sum() * a[1, :] ** 2, [(2, 3)]),
    "pad": (lambda a: engine.pad(a, (1, 1), mode="reflect") ** 2 + engine.pad(a, (2, 0), value=1.0) * 2
            + engine.pad(a, (1, 2, 0, 1), mode="circular").sum() * engine.pad(a, (1, 1), mode="replicate"),
            [(2, 3)]),
    "cat_stack": (lambda a, b: engine.cat([a * a, b * a], 0) + (engine.stack([a, b], 0) ** 2).sum(0),
                  [(1, 3), (1, 3)]),
}


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    fn, in_shapes = GRADGRAD[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    inputs = [Tensor(rng.uniform(-1.5, 1.5, s), requires_grad=True) for s in in_shapes]
    if name == "abs_relu_clamp":  # away from the kinks at 0 and ±0.5
        for t in inputs:
            t.data[np.abs(t.data) < 0.05] = 0.3
            t.data[np.abs(np.abs(t.data) - 0.5) < 0.05] = 0.7
    assert engine.gradcheck(fn, inputs)
    assert engine.gradgradcheck(fn, inputs)


# -- hooks, retain_grad, detach --------------------------------------------------------------------

def test_hook_on_leaf_sees_and_can_replace_the_gradient():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h2 = x.register_hook(lambda g: g * 10)
    (x.exp() * 2).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * np.exp(x.data))
    np.testing.assert_allclose(x.grad.data, 20 * np.exp(x.data))
    h2.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0, 3.0])
    assert len(seen) == 2
    h1.remove()
    h1.remove()  # removing twice is harmless
    (x * 3).sum().backward()
    assert len(seen) == 2


def test_leaf_hook_runs_once_on_the_total_gradient_of_a_backward():
    """PyTorch semantics: a leaf used several times in a graph gets its gradient contributions
    summed first; its hooks then run once on the total (so a non-linear hook such as clipping
    sees 2x here, not x twice)."""
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g.clamp(-3.0, 3.0))
    (x * x).sum().backward()  # d/dx Σx² = 2x, delivered as x (from a) + x (from b)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], 2 * x.data)
    np.testing.assert_array_equal(x.grad.data, np.clip(2 * x.data, -3, 3))


def test_hook_on_non_leaf_modifies_what_flows_upstream():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    h = x * 3
    seen = []

    def hook(g):
        seen.append(g.numpy().copy())
        return g * 0.5

    handle = h.register_hook(hook)
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 0.5 * 2 * h.data * 3)
    assert h.grad is None  # non-leaf: no .grad without retain_grad
    handle.remove()
    x.grad = None
    h = x * 3
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, 18 * x.data)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        Tensor(np.ones(2)).register_hook(lambda g: g)


def test_retain_grad_keeps_non_leaf_gradient():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    h = x.exp()
    h.retain_grad()
    y = (h * h).sum()
    y.backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(2 * x.data))
    x.retain_grad()  # a leaf: no-op
    assert x.is_leaf and not h.is_leaf


def test_detach_cuts_the_graph_and_shares_storage():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, x.data)
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad.data, x.data)  # not 2x: d is a constant
    y = (x * 2).detach()
    assert y.grad_fn is None and not y.requires_grad
    z = x * 2
    z.detach_()
    assert z.grad_fn is None and not z.requires_grad


def test_gradient_accumulation_into_leaves_and_reset():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x + x).sum().backward()  # x used twice in one graph
    np.testing.assert_array_equal(x.grad.data, 2 * x.data + 1)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * x.data + 4)
    x.grad.zero_()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])


def test_leaf_grad_does_not_alias_another_leaf_or_upstream_buffer():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()  # both receive the very same gradient array
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.data, np.ones(3))


def test_grads_of_leaves_have_leaf_shapes_and_dtypes():
    x = Tensor(np.ones((2, 1), dtype=np.float32), requires_grad=True)
    y = Tensor(np.ones(3), requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.shape == (2, 1) and x.grad.dtype == np.float32
    assert y.grad.shape == (3,) and y.grad.dtype == np.float64


# -- non-scalar backward, engine.grad ----------------------------------------------------------------

@SETTINGS
@given(x=tensors(shape=shapes(min_dims=1, **SMALL)), data=st.data())
def test_backward_with_gradient_for_non_scalar_outputs(x, data):
    g = data.draw(tensors(shape=x.shape, requires_grad=False))
    y = x * x
    y.backward(gradient=g)
    np.testing.assert_allclose(x.grad.data, 2 * x.data * g.data, atol=1e-12)
    x.grad = None
    (x * x).backward(g.data)  # an ndarray works too
    np.testing.assert_allclose(x.grad.data, 2 * x.data * g.data, atol=1e-12)
    if x.numpy().size > 1:
        with pytest.raises(RuntimeError, match="only for scalar outputs"):
            (x * x).backward()
    with pytest.raises(RuntimeError, match="shape"):
        (x * x).backward(np.ones(x.shape + (2,)))


def test_engine_grad_allow_unused_and_leaves_grad_untouched():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    u = Tensor(np.array([3.0]), requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        engine.grad(y, [x, u], retain_graph=True)
    gx, gu = engine.grad(y, [x, u], allow_unused=True)
    np.testing.assert_array_equal(gx.data, 2 * x.data)
    assert gu is None
    assert x.grad is None and u.grad is None
    (gx_single,) = engine.grad((x ** 3).sum(), x)
    np.testing.assert_array_equal(gx_single.data, 3 * x.data ** 2)
    # several outputs with grad_outputs
    a, b = x * 2, x * x
    ga, = engine.grad([a, b], [x], grad_outputs=[Tensor(np.ones(2)), Tensor(np.array([1.0, -1.0]))])
    np.testing.assert_array_equal(ga.data, 2 + 2 * x.data * np.array([1.0, -1.0]))


def test_backward_inputs_restricts_accumulation():
    x = Tensor(np.array([1.0]), requires_grad=True)
    w = Tensor(np.array([2.0]), requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.data, x.data)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).sum().backward()


# -- multi-output ops ------------------------------------------------------------------------------

def test_max_with_dim_returns_values_and_indices():
    a = np.array([[1.0, 5.0, 3.0], [7.0, -1.0, 2.0]])
    x = Tensor(a, requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.data, a.max(1))
    np.testing.assert_array_equal(indices.data, a.argmax(1))
    assert values.grad_fn is not None and indices.grad_fn is None and not indices.requires_grad
    (values * Tensor(np.array([2.0, 3.0]))).sum().backward()
    expected = np.zeros_like(a)
    expected[0, 1], expected[1, 0] = 2.0, 3.0
    np.testing.assert_array_equal(x.grad.data, expected)
    # min with keepdim, gradient through values only
    x.grad = None
    res = x.min(dim=0, keepdim=True)
    assert res.values.shape == (1, 3) and res.indices.shape == (1, 3)
    res.values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, (a == a.min(0, keepdims=True)).astype(float))


class _SplitTwo(Function):
    """Two outputs: (2x, x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, g1, g2):
        (x,) = ctx.saved_tensors
        return g1 * 2 + g2 * 2 * x


def test_multi_output_function_with_one_output_unused():
    x = Tensor(np.array([1.0, -3.0]), requires_grad=True)
    a, b = _SplitTwo.apply(x)
    assert a.grad_fn is b.grad_fn
    b.sum().backward()  # a's gradient is taken as zero
    np.testing.assert_array_equal(x.grad.data, 2 * x.data)
    x.grad = None
    a, b = _SplitTwo.apply(x)
    (a * 3 + b).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 6 + 2 * x.data)
    assert engine.gradcheck(lambda t: _SplitTwo.apply(t), [x])


def test_grad_fn_names_and_next_functions():
    x = Tensor(np.array([1.0]), requires_grad=True)
    c = Tensor(np.array([2.0]))
    y = x.exp() * c
    assert y.grad_fn.name() == "MulBackward"
    (e, nr), none = y.grad_fn.next_functions
    assert e.name() == "ExpBackward" and nr == 0 and none is None
    assert e.next_functions == ((x, -1),)


def test_autograd_backward_of_several_roots_accumulates_their_weighted_sum():
    """torch.autograd.backward([y1, y2], [g1, g2]): the leaves get J1ᵀg1 + J2ᵀg2 (NumPy reference);
    ``inputs=`` limits which leaves receive it; gradients accumulate onto existing ones."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    g1, g2 = rng.standard_normal((3, 2)), np.float64(rng.standard_normal())
    x, w = Tensor(a.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    y1, y2 = x * w, (x.tanh() ** 2).sum()
    engine.autograd.backward([y1, y2], [Tensor(g1), Tensor(g2)])
    dx = g1 * b + g2 * 2 * np.tanh(a) * (1 - np.tanh(a) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), dx, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), (g1 * a).sum(0), rtol=1e-12)
    x2, w2 = Tensor(a.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    engine.autograd.backward((x2 * w2).sum(), inputs=[w2])
    assert x2.grad is None
    np.testing.assert_allclose(w2.grad.numpy(), a.sum(0), rtol=1e-12)
    engine.autograd.backward((x2 * w2).sum(), inputs=[w2])
    np.testing.assert_allclose(w2.grad.numpy(), 2 * a.sum(0), rtol=1e-12)
