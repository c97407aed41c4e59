"""Guards PyTorch 2.13 compatibility fixes in hooks and ops, each checked against torch:

* ``engine.grad`` applies the ``register_hook`` hooks of its inputs (leaf or not) to the gradient it
  returns (called once per input, with the summed gradient; a non-None return replaces it);
  ``backward(inputs=...)`` applies them once;
* ``register_post_accumulate_grad_hook`` runs whenever the backward reaches the leaf, also when the
  gradient it receives is None (``.grad`` unchanged), and for the leaves of ``backward(inputs=...)``;
  never for ``grad()`` nor for unreached / excluded leaves;
* the gradient of ``norm`` at an infinite entry is NaN (p=2, p=1, p=inf);
* reductions with ``dim=()``;
* ``gather``-family ops refuse negative indices (exception type as torch, message naming the
  argument and the index);
* ``scatter_add``/``scatter`` refuse mixed dtypes between self and src;
* ``relu`` keeps the sign of -0.0 as torch does (Tensor and Scalar);
* ``clamp`` with tensor bounds sends gradients to the bounds (torch's ``clamp_backward_min_max``,
  crossed bounds included) and ``masked_fill`` with a 0-d tensor value to the value, out of place
  and in place (both were silently dropped);
* ``backward(inputs=[h])`` on a non-leaf ``h`` that retains its grad stores the gradient once;
* a user Function's gradient of another floating dtype is cast to its input's dtype.
"""
import numpy as np
import pytest
import torch

import engine
from engine import Function, Tensor


def _t(a, requires_grad=False):
    return engine.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def _tt(a, requires_grad=False):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def _np(v):
    return None if v is None else np.asarray(v.detach().numpy())


# -- 1. grad() applies the inputs' hooks -------------------------------------------------------

def _hooked_grad_run(lib, grad_fn, make, case):
    """Run ``case`` on library ``lib``; return the gradients and what the hooks saw."""
    x = make([1.0, -2.0, 0.5], True)
    seen = []

    def times10(g):
        seen.append(_np(g).copy())
        return g * 10

    if case == "leaf":
        x.register_hook(times10)
        return grad_fn((x * 3).sum(), [x]), seen
    if case == "leaf_two_hooks_chain":
        x.register_hook(times10)
        x.register_hook(lambda g: g + 1)
        return grad_fn((x * 3).sum(), [x]), seen
    if case == "leaf_hook_returns_none":
        x.register_hook(lambda g: seen.append(_np(g).copy()))
        return grad_fn((x * 3).sum(), [x]), seen
    if case == "leaf_used_twice":
        x.register_hook(times10)
        return grad_fn((x * 3).sum() + (x * x).sum(), [x]), seen
    if case == "leaf_listed_twice":
        x.register_hook(times10)
        return grad_fn((x * x).sum(), [x, x]), seen
    if case == "leaf_is_the_output":
        x.register_hook(times10)
        return grad_fn(x, [x], grad_outputs=[make([1.0, 2.0, 3.0])]), seen
    if case == "non_leaf":
        h = x * 2
        h.register_hook(times10)
        return grad_fn((h * h).sum(), [h]), seen
    if case == "non_leaf_above_another_input":
        # torch's engine quirk: h's node must run for x, so h's captured gradient is unhooked
        # (the hook still applies to what flows on to x)
        h = x * 2
        h.register_hook(times10)
        return grad_fn((h * h).sum(), [h, x]), seen
    if case == "hooked_leaf_not_an_input":
        w = make([0.5, 0.25, 2.0], True)
        x.register_hook(times10)
        return grad_fn((x * w).sum(), [w]), seen
    raise AssertionError(case)


CASES = ["leaf", "leaf_two_hooks_chain", "leaf_hook_returns_none", "leaf_used_twice",
         "leaf_listed_twice", "leaf_is_the_output", "non_leaf", "non_leaf_above_another_input",
         "hooked_leaf_not_an_input"]


@pytest.mark.parametrize("case", CASES)
def test_grad_applies_the_hooks_of_its_inputs_as_torch(case):
    got, seen = _hooked_grad_run(engine, engine.grad, _t, case)
    ref, tseen = _hooked_grad_run(torch, torch.autograd.grad, _tt, case)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(_np(g), _np(r), rtol=1e-12)
    assert len(seen) == len(tseen)
    for s, r in zip(seen, tseen):
        np.testing.assert_allclose(s, r, rtol=1e-12)


def test_grad_with_create_graph_returns_the_hooked_gradient_differentiably():
    x0 = [0.5, -1.0, 2.0]
    out = []
    for lib_grad, make in ((engine.grad, _t), (torch.autograd.grad, _tt)):
        x = make(x0, True)
        x.register_hook(lambda g, x=x: g * x)      # d/dx (3 * x) = 3 x after the hook
        (g,) = lib_grad((x * 3).sum(), [x], create_graph=True)
        (gg,) = lib_grad(g.sum(), [x])
        out.append((_np(g), _np(gg), x.grad))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)
    assert out[0][2] is None and out[1][2] is None


@pytest.mark.parametrize("inputs", ["leaf", "leaf_and_other"])
def test_backward_with_inputs_applies_a_leaf_hook_once(inputs):
    res = []
    for make in (_t, _tt):
        x, w = make([1.0, 2.0], True), make([3.0, -1.0], True)
        calls = []
        x.register_hook(lambda g: (calls.append(1), g * 10)[1])
        (x * w).sum().backward(inputs=[x] if inputs == "leaf" else [x, w])
        res.append((_np(x.grad), _np(w.grad), len(calls)))
    np.testing.assert_allclose(res[0][0], res[1][0])
    assert (res[0][1] is None) == (res[1][1] is None)
    if res[1][1] is not None:
        np.testing.assert_allclose(res[0][1], res[1][1])
    assert res[0][2] == res[1][2]


@pytest.mark.parametrize("inputs", ["h", "h_and_x"])
def test_backward_with_a_non_leaf_input_accumulates_the_hooked_gradient(inputs):
    res = []
    for make in (_t, _tt):
        x = make([1.0, -2.0, 0.5], True)
        h = x * 2
        h.register_hook(lambda g: g * 10)
        (h * h).sum().backward(inputs=[h] if inputs == "h" else [h, x])
        res.append((_np(h.grad), _np(x.grad)))
    np.testing.assert_allclose(res[0][0], res[1][0])
    assert (res[0][1] is None) == (res[1][1] is None)
    if res[1][1] is not None:
        np.testing.assert_allclose(res[0][1], res[1][1])


# -- 2. post-accumulate-grad hooks run whenever the leaf is reached ----------------------------

class _NoneForSecond(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b * 0

    @staticmethod
    def backward(ctx, g):
        return g * 2, None


class _TNoneForSecond(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b * 0

    @staticmethod
    def backward(ctx, g):
        return g * 2, None


def _post_hook_run(lib, make, none_fn, case):
    a, b = make([1.0, 2.0], True), make([3.0, 4.0], True)
    calls = []
    for name, v in (("a", a), ("b", b)):
        v.register_post_accumulate_grad_hook(
            lambda t, name=name: calls.append((name, None if t.grad is None else _np(t.grad).tolist())))
    grad_fn = engine.grad if lib is engine else torch.autograd.grad
    if case == "function_returns_none":
        none_fn.apply(a, b).sum().backward()
    elif case == "none_through_an_intermediate":
        none_fn.apply(a, b * 3).sum().backward()
    elif case == "none_and_another_path":
        (none_fn.apply(a, b).sum() + b.sum()).backward()
    elif case == "zero_gradient":
        (a * 2 + b * 0).sum().backward()
    elif case == "unreached":
        (a * 2).sum().backward()
    elif case == "leaf_is_the_output":
        a.backward(make([1.0, 1.0]))
    elif case == "inputs_a":
        (a * b).sum().backward(inputs=[a])
    elif case == "inputs_b_gets_none":
        none_fn.apply(a, b).sum().backward(inputs=[b])
    elif case == "inputs_both_b_unreached":
        (a * 2).sum().backward(inputs=[a, b])
    elif case == "inputs_root_leaf":
        a.backward(make([1.0, 1.0]), inputs=[a])
    elif case == "grad":
        grad_fn((a * b).sum(), [a])
    else:
        raise AssertionError(case)
    return sorted(calls, key=lambda c: c[0]), _np(a.grad), _np(b.grad)


POST_CASES = ["function_returns_none", "none_through_an_intermediate", "none_and_another_path",
              "zero_gradient", "unreached", "leaf_is_the_output", "inputs_a", "inputs_b_gets_none",
              "inputs_both_b_unreached", "inputs_root_leaf", "grad"]


@pytest.mark.parametrize("case", POST_CASES)
def test_post_accumulate_hook_runs_when_torch_runs_it(case):
    got = _post_hook_run(engine, _t, _NoneForSecond, case)
    ref = _post_hook_run(torch, _tt, _TNoneForSecond, case)
    assert got[0] == ref[0]
    for g, r in zip(got[1:], ref[1:]):
        assert (g is None) == (r is None)
        if r is not None:
            np.testing.assert_allclose(g, r)


# -- 3. norm's gradient at non-finite entries -------------------------------------------------

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("p", [2, "fro", 1, INF, -INF, 3, 1.5, 0.5, -1])
@pytest.mark.parametrize("vals", [[INF, 1.0, -2.0], [-INF, 1.0], [INF, -INF], [NAN, 1.0],
                                  [0.0, 0.0], [0.0, 3.0, -4.0]])
def test_norm_gradient_at_non_finite_entries_is_torchs(p, vals):
    x = _t(vals, True)
    y = engine.norm(x, p)
    y.backward()
    tx = _tt(vals, True)
    ty = torch.norm(tx, p)
    ty.backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("p", [2, 1, INF, 3, 0.5])
def test_norm_gradient_along_a_dim_with_an_infinite_row_is_torchs(p):
    vals = [[INF, 1.0, -2.0], [0.5, -1.5, 2.0]]
    x = _t(vals, True)
    engine.norm(x, p, dim=1).sum().backward()
    tx = _tt(vals, True)
    torch.norm(tx, p, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, 0.5, -1])
def test_norm_gradient_on_finite_inputs_matches_central_differences(p):
    rng = np.random.default_rng(7)
    a = rng.uniform(0.2, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x = _t(a, True)
    engine.norm(x, p, dim=1).sum().backward()
    fd = np.zeros_like(a)
    eps = 1e-6
    for idx in np.ndindex(a.shape):
        hi, lo = a.copy(), a.copy()
        hi[idx] += eps
        lo[idx] -= eps
        f = lambda v: torch.norm(torch.tensor(v), p, dim=1).sum().item()  # noqa: E731
        fd[idx] = (f(hi) - f(lo)) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6, atol=1e-8)


# -- 4. dim=() --------------------------------------------------------------------------------

def _reduce(lib, name, x, dim, keepdim):
    if name == "norm":
        return lib.norm(x, 2, dim=dim, keepdim=keepdim)
    return getattr(lib, name)(x, dim=dim, keepdim=keepdim)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [(), []])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std", "norm"])
def test_an_empty_dim_reduces_over_every_dim_as_torch(name, dim, keepdim):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    x, tx = _t(a, True), _tt(a, True)
    y, ty = _reduce(engine, name, x, dim, keepdim), _reduce(torch, name, tx, dim, keepdim)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    # the gradient: torch's over every dim (dim=None). torch 2.13's own var/std backward with
    # dim=() disagrees with its forward (it returns ±inf, as if no dim were reduced, n - 1 = 0);
    # for the other ops it equals the dim=None gradient
    _reduce(torch, name, tx, None, keepdim).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_an_empty_dim_of_logsumexp_reduces_over_every_dim():
    # torch 2.13: keepdim=True reduces over every dim; keepdim=False fails inside torch with a
    # shape mismatch ("output with shape [] doesn't match the broadcast shape [1, 1]"): we reduce
    a = np.random.default_rng(4).standard_normal((2, 3))
    x, tx = _t(a, True), _tt(a, True)
    y, ty = engine.logsumexp(x, dim=(), keepdim=True), torch.logsumexp(tx, dim=(), keepdim=True)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    y0 = engine.logsumexp(_t(a), dim=())
    assert y0.shape == () and np.isclose(y0.item(), ty.item(), rtol=1e-12)


@pytest.mark.parametrize("name", ["any", "all"])
def test_an_empty_dim_of_any_all_reduces_over_no_dim_as_torch(name):
    a = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
    y = getattr(engine, name)(_t(a) != 0, dim=())
    ty = getattr(torch, name)(_tt(a) != 0, dim=())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_prod_refuses_a_tuple_dim_as_torch():
    a = np.arange(1.0, 7.0).reshape(2, 3)
    for dim in ((), (0, 1), (1,)):
        with pytest.raises(TypeError):
            torch.prod(_tt(a), dim=dim)
        with pytest.raises(TypeError, match="prod"):
            engine.prod(_t(a), dim=dim)


# -- 5. negative indices are refused ----------------------------------------------------------

X23 = np.arange(6.0).reshape(2, 3)


def _index_cases(lib, make):
    x = make(X23)
    t = lib.tensor
    return {
        "gather": lambda: lib.gather(x, 1, t(np.array([[0, -1], [1, 0]]))),
        "gather_0d": lambda: lib.gather(make(1.0), 0, t(np.array(-1))),
        "index_select": lambda: lib.index_select(x, 1, t(np.array([0, -1]))),
        "index_select_dim0": lambda: lib.index_select(x, 0, t(np.array([-2]))),
        "index_select_0d": lambda: lib.index_select(make(1.0), 0, t(np.array([-1]))),
        "scatter_add": lambda: lib.scatter_add(x, 1, t(np.array([[0, -1], [1, 0]])), make(np.ones((2, 2)))),
        "gather_too_large": lambda: lib.gather(x, 1, t(np.array([[0, 3]]))),
        "index_select_too_large": lambda: lib.index_select(x, 0, t(np.array([2]))),
    }


@pytest.mark.parametrize("case", list(_index_cases(torch, _tt)))
def test_out_of_range_and_negative_indices_raise_like_torch(case):
    with pytest.raises(Exception) as te:
        _index_cases(torch, _tt)[case]()
    with pytest.raises(Exception) as e:
        _index_cases(engine, _t)[case]()
    if case.startswith("index_select"):
        # torch's type depends on dim and layout (IndexError for dim 0 / 0-d / 1-D, RuntimeError
        # for dim 1 of a 2-D input): ours is both
        assert isinstance(e.value, IndexError) and isinstance(e.value, RuntimeError)
        assert isinstance(e.value, type(te.value))
    else:
        assert type(e.value) is type(te.value)
    bad = "3" if case == "gather_too_large" else "2" if case == "index_select_too_large" else \
        "-2" if case == "index_select_dim0" else "-1"
    assert f"{case.split('_')[0]}" in str(e.value) and f"index {bad} " in str(e.value)


def test_valid_indices_still_work_with_gradients():
    idx = np.array([[0, 2], [1, 0]])
    x, tx = _t(X23, True), _tt(X23, True)
    (engine.gather(x, 1, engine.tensor(idx)) * _t([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    (torch.gather(tx, 1, torch.tensor(idx)) * _tt([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# -- 6. scatter_add refuses mixed dtypes ------------------------------------------------------

@pytest.mark.parametrize("self_dtype, src_dtype", [("float32", "float64"), ("float64", "float32"),
                                                   ("float32", "int64"), ("int64", "float32")])
def test_scatter_add_refuses_mixed_dtypes_like_torch(self_dtype, src_dtype):
    idx = np.array([[0, 1], [1, 0]])
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        torch.scatter_add(torch.zeros(2, 3, dtype=getattr(torch, self_dtype)), 1, torch.tensor(idx),
                          torch.ones(2, 2, dtype=getattr(torch, src_dtype)))
    x = engine.tensor(np.zeros((2, 3), dtype=self_dtype))
    src = engine.tensor(np.ones((2, 2), dtype=src_dtype))
    with pytest.raises(RuntimeError, match="scatter_add\\(\\): Expected self.dtype to be equal to src.dtype"):
        engine.scatter_add(x, 1, engine.tensor(idx), src)
    with pytest.raises(RuntimeError, match="src.dtype"):
        x.scatter_add(1, engine.tensor(idx), src)


def test_scatter_add_with_equal_dtypes_matches_torch():
    idx = np.array([[0, 1], [1, 1]])
    src = np.array([[1.5, 2.0], [3.0, 4.0]], dtype=np.float32)
    got = engine.scatter_add(engine.tensor(X23.astype(np.float32)), 1, engine.tensor(idx), engine.tensor(src))
    ref = torch.scatter_add(torch.tensor(X23.astype(np.float32)), 1, torch.tensor(idx), torch.tensor(src))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


# -- 7. relu keeps -0.0 (and NaN) -------------------------------------------------------------

VALS = [-0.0, 0.0, -1.5, 2.0, float("nan"), float("-inf"), float("inf")]


def _bits(v):
    return np.signbit(v), np.isnan(v)


@pytest.mark.parametrize("v", VALS)
def test_scalar_relu_is_torchs_bit_for_bit(v):
    got = engine.Scalar(v).relu().data
    ref = torch.relu(torch.tensor(v, dtype=torch.float64)).item()
    assert _bits(got) == _bits(ref)
    assert got == ref or (np.isnan(got) and np.isnan(ref))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tensor_relu_is_torchs_bit_for_bit(dtype):
    a = np.array(VALS, dtype=dtype)
    got = engine.tensor(a).relu().numpy()
    ref = torch.relu(torch.tensor(a)).numpy()
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    np.testing.assert_array_equal(got, ref)
    got0 = engine.tensor(np.array(-0.0, dtype=dtype)).relu().numpy()
    assert got0.shape == () and np.signbit(got0) == np.signbit(torch.relu(torch.tensor(-0.0)).numpy())


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "strided", "transposed"])
@pytest.mark.parametrize("n", [1, 7, 8, 33, 257])
def test_tensor_relu_keeps_signs_on_every_length_and_layout(dtype, layout, n):
    """relu's fast float path (np.maximum with the zero first) must keep -0.0 in SIMD bodies and
    tails, on strided and transposed views, and float16 (whose tie rule differs) too."""
    base = np.array((VALS * (3 * n))[:3 * n], dtype=dtype).reshape(n, 3)
    a = {"contiguous": np.ascontiguousarray(base[:, 0]), "strided": base[:, 1], "transposed": base.T}[layout]
    got = engine.tensor(a).relu().numpy()
    ref = torch.relu(torch.tensor(np.ascontiguousarray(a))).numpy()
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    np.testing.assert_array_equal(got, ref)


G_UP = [float("inf"), 1.0, float("nan"), -2.0, float("nan"), 5.0, float("-inf")]
X_AT = [-1.0, 2.0, 0.0, -0.0, 3.0, float("nan"), -3.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_tensor_relu_backward_is_torchs_threshold_backward(dtype):
    """0 (+0.0) where out <= 0 even for an infinite or NaN upstream gradient, g where out > 0 or
    out is NaN: g * [out > 0] gave NaN, -0.0 and 0 there."""
    x, g = np.array(X_AT, dtype=dtype), np.array(G_UP, dtype=dtype)
    ex = engine.tensor(x, requires_grad=True)
    ex.relu().backward(engine.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).backward(torch.tensor(g))
    got, ref = ex.grad.numpy(), tx.grad.numpy()
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))


def test_tensor_relu_backward_on_strided_and_0d_gradients():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    ex = engine.tensor(x, requires_grad=True)
    ex.relu().backward(engine.tensor(np.array([[np.inf, 1.0], [2.0, np.nan]], np.float32).T))
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).backward(torch.tensor(np.array([[np.inf, 1.0], [2.0, np.nan]], np.float32).T))
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
    e0 = engine.tensor(np.array(-1.0), requires_grad=True)
    e0.relu().backward(engine.tensor(np.array(np.inf)))
    assert e0.grad.numpy() == 0.0


@pytest.mark.parametrize("v, up", list(zip(X_AT, G_UP)))
def test_scalar_relu_backward_is_torchs_threshold_backward(v, up):
    x = engine.Scalar(v)
    (x.relu() * engine.Scalar(up, requires_grad=False)).backward()
    tx = _tt(v, True)
    (torch.relu(tx) * up).backward()
    ref = tx.grad.item()
    assert (np.isnan(x.grad) and np.isnan(ref)) or x.grad == ref


def test_relu_double_backward_is_torchs():
    """Under create_graph the mask is applied to a Tensor gradient and stays differentiable."""
    x = np.array([-1.5, 0.5, 2.0, 0.0], np.float64)
    ex = engine.tensor(x, requires_grad=True)
    (gx,) = engine.autograd.grad((ex.relu() ** 2).sum(), ex, create_graph=True)
    gx.sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.relu(tx) ** 2).sum(), tx, create_graph=True)
    tg.sum().backward()
    np.testing.assert_array_equal(gx.detach().numpy(), tg.detach().numpy())
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


def test_relu_gradient_at_minus_zero_is_torchs():
    for make in (lambda v: engine.Scalar(v), lambda v: _t(v, True)):
        x = make(-0.0)
        x.relu().backward()
        tx = _tt(-0.0, True)
        torch.relu(tx).backward()
        assert float(x.grad.item() if hasattr(x.grad, "item") else x.grad) == tx.grad.item()


# -- 8. gradients reaching clamp's tensor bounds and masked_fill's value ------------------------

@pytest.mark.parametrize("needs", [(True, True, False), (True, False, True), (False, True, True),
                                   (True, True, True)])
@pytest.mark.parametrize("bounds", ["both", "min", "max", "crossed"])
def test_clamp_tensor_bound_gradients_are_torchs(needs, bounds):
    rng = np.random.default_rng(len(bounds) + 3 * sum(needs))
    a = rng.standard_normal((3, 4))
    lo = rng.standard_normal(4) * 0.5 - 0.3
    hi = rng.standard_normal((3, 1)) * 0.5 + 0.3
    if bounds == "crossed":  # lo > hi somewhere: torch gives max there, and its gradient
        lo[:2] = hi[0, 0] + 0.4
    weight = rng.standard_normal((3, 4))
    results = []
    for make, lib in ((_t, engine), (_tt, torch)):
        x, l, h = make(a, needs[0]), make(lo, needs[1]), make(hi, needs[2])
        args = {"min": (l, None), "max": (None, h)}.get(bounds, (l, h))
        out = lib.clamp(x, *args)
        if out.requires_grad:
            (out * make(weight)).sum().backward()
        results.append([_np(out)] + [_np(v.grad) for v in (x, l, h)])
    for ours, theirs in zip(*results):
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_array_equal(ours, theirs)


def test_clamp_tensor_bounds_pass_gradcheck():
    rng = np.random.default_rng(5)
    a, lo, hi = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal((3, 1)) + 0.5
    assert engine.gradcheck(lambda x, l, h: engine.clamp(x, l, h),
                            (_t(a, True), _t(lo, True), _t(hi, True)))


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("value_dtype", [np.float64, np.float32])
def test_masked_fill_sends_the_value_its_gradient_as_torch(inplace, value_dtype):
    rng = np.random.default_rng(7)
    a, mask = rng.standard_normal((3, 4)), rng.random((1, 4)) > 0.4
    weight = rng.standard_normal((3, 4))
    results = []
    for lib, make in ((engine, _t), (torch, _tt)):
        x = make(a, not inplace)
        v = lib.tensor(np.array(0.7, dtype=value_dtype), requires_grad=True)
        m = lib.tensor(mask)
        out = x.masked_fill_(m, v) if inplace else x.masked_fill(m, v)
        (out * make(weight)).sum().backward()
        results.append((_np(out), _np(v.grad), str(v.grad.dtype).split(".")[-1], _np(x.grad)))
    (o1, v1, d1, x1), (o2, v2, d2, x2) = results
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_allclose(v1, v2, rtol=1e-6)
    assert d1 == d2
    if not inplace:
        np.testing.assert_array_equal(x1, x2)


@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("calls", [1, 2])
def test_backward_inputs_on_a_non_leaf_stores_its_gradient_once_as_torch(retain, calls):
    got = []
    for make in (_t, _tt):
        x = make([1.0, -2.0, 0.5], True)
        h = x * 2
        if retain:
            h.retain_grad()
        y = (h * make([3.0, 1.0, -1.0])).sum()
        for _ in range(calls):
            y.backward(inputs=[h], retain_graph=True)
        got.append((_np(h.grad), x.grad))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    assert got[0][1] is None and got[1][1] is None


@pytest.mark.parametrize("in_dtype,grad_dtype", [("float64", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("how", ["backward", "grad", "create_graph"])
def test_a_user_backward_of_another_float_dtype_is_cast_to_the_inputs_as_torch(in_dtype, grad_dtype, how):
    got = []
    for lib in (engine, torch):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return (g * 2).to(getattr(lib, grad_dtype))

        x = lib.tensor(np.array([0.5, -1.0, 3.0], dtype=in_dtype), requires_grad=True)
        leaf = x if how == "backward" else x * 1
        y = (Twice.apply(leaf) ** 2).sum()
        if how == "backward":
            y.backward()
            g = x.grad
        else:
            (g,) = lib.autograd.grad(y, leaf, create_graph=how == "create_graph")
        got.append((str(g.dtype).split(".")[-1], _np(g)))
    assert got[0][0] == got[1][0] == in_dtype
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-6)
