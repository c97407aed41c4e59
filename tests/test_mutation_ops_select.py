"""Mutation-testing guards for engine/ops/logic.py, sorting.py, selection.py and rounding.py.

What this file pins down (each test kills mutants that the rest of the suite let survive), always
against PyTorch where it has the feature:

* comparisons ``eq ne gt lt ge le``: the broadcast error names the op;
  ``any``/``all``: ``dim``/``keepdim`` (default and explicit) on n-d and 0-d tensors, and an
  out-of-range ``dim`` raises IndexError also on a 0-d tensor.
* ``sort argsort topk``: ties keep their order (stable) on long arrays, descending order of bool,
  uint8, int64 (its minimum), uint64 and NaN exactly as PyTorch, 0-d inputs, the default of
  ``largest``, ``k`` checks, the ``repr`` of the ``(values, indices)`` pair.
* ``clamp``: the gradient at the bounds (1, as PyTorch) and the no-bound error;
  ``maximum``/``minimum``: the gradient split 1/2 on ties and the gradient dtypes;
  ``where``: a uint8 condition, gradients of each branch with broadcasting, the method form, the
  broadcast error.
* ``floor ceil round sign nan_to_num`` on integer/bool tensors (dtype and value kept), ``round``'s
  default and its ``decimals`` type check.
"""
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import engine
from engine import Tensor

SETTINGS = settings(deadline=None, max_examples=20,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def T(a, **kw):
    return Tensor(np.array(a), **kw)


def tt(a, **kw):
    return torch.from_numpy(np.array(a)).requires_grad_(kw.get("requires_grad", False))


def same(ours, theirs):
    """Same dtype, shape and values (NaN equal to NaN)."""
    o = ours.numpy()
    t = theirs.detach().numpy()
    assert o.dtype == t.dtype, (o.dtype, t.dtype)
    assert o.shape == t.shape, (o.shape, t.shape)
    np.testing.assert_array_equal(o, t)


# -- logic ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["eq", "ne", "gt", "lt", "ge", "le"])
def test_comparison_broadcast_error_names_the_op(name):
    with pytest.raises(RuntimeError):
        getattr(torch, name)(torch.ones(3), torch.ones(4))
    with pytest.raises(RuntimeError, match=rf"^{name}\(\): shapes \(3,\) and \(4,\) cannot be"):
        getattr(engine, name)(engine.ones(3), engine.ones(4))


A3 = np.array([[[0., 1.], [0., 0.], [2., 3.]], [[0., 0.], [0., 5.], [1., 0.]]])


@pytest.mark.parametrize("fn", ["any", "all"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", ["default", True, False])
def test_any_all_dim_and_keepdim_match_torch(fn, dim, keepdim):
    kw = {} if dim is None else {"dim": dim}
    if keepdim != "default":
        if dim is None:
            return  # torch has no (input, keepdim=) overload without dim
        kw["keepdim"] = keepdim
    same(getattr(engine, fn)(T(A3), **kw), getattr(torch, fn)(tt(A3), **kw))
    same(getattr(engine, fn)(T(A3 != 0), **kw), getattr(torch, fn)(tt(A3 != 0), **kw))


@pytest.mark.parametrize("fn", ["any", "all"])
@pytest.mark.parametrize("v", [0.0, 2.0])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [True, False])
def test_any_all_on_a_0d_tensor_match_torch(fn, v, dim, keepdim):
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    same(getattr(engine, fn)(T(v), **kw), getattr(torch, fn)(tt(v), **kw))


@pytest.mark.parametrize("call", [
    lambda m, x: m.any(x, dim=1), lambda m, x: m.all(x, dim=-2), lambda m, x: m.sort(x, dim=1),
    lambda m, x: m.argsort(x, dim=3), lambda m, x: m.topk(x, 1, dim=1),
    lambda m, x: m.topk(x, 1, dim=-2)])
def test_bugfix_out_of_range_dim_on_a_0d_tensor_raises_index_error(call):
    with pytest.raises(IndexError):
        call(torch, torch.tensor(1.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        call(engine, engine.tensor(1.0))


# -- sorting -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.uint8, np.bool_])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_keeps_ties_in_order_on_long_arrays_as_torch_stable(dtype, descending):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(3, 600)).astype(dtype)
    for dim in (1, 0, -1):
        ref = torch.sort(tt(a), dim=dim, descending=descending, stable=True)
        got = engine.sort(T(a), dim=dim, descending=descending)
        same(got.values, ref.values)
        same(got.indices, ref.indices)
        same(engine.argsort(T(a), dim=dim, descending=descending), ref.indices)
        if descending:
            k = a.shape[dim] // 2
            tk = engine.topk(T(a), k, dim=dim)
            same(tk.indices, ref.indices.narrow(dim, 0, k))


@pytest.mark.parametrize("a", [
    np.array([True, False, True, False, False]),
    np.array([3, 0, 200, 0, 255, 1], dtype=np.uint8)])
def test_descending_sort_of_bool_and_uint8_matches_torch(a):
    ref = torch.sort(tt(a), descending=True, stable=True)
    got = engine.sort(T(a), descending=True)
    same(got.values, ref.values)
    same(got.indices, ref.indices)
    top = engine.topk(T(a), 3)  # torch.topk has no bool: its reference is the sort's head
    same(top.values, ref.values[:3])
    same(top.indices, ref.indices[:3])


@pytest.mark.parametrize("a", [
    np.array([3, -2**63, 5, -2**63, 2**63 - 1], dtype=np.int64),
    np.array([2**63 + 5, 3, 2**63 + 1, 0, 2**64 - 1], dtype=np.uint64),
    np.array([1.0, np.nan, 2.0, np.nan, -np.inf, 0.0], dtype=np.float32)])
def test_bugfix_descending_sort_and_topk_extremes_match_torch(a):
    """Descending order was ``argsort(-a)``: wrong for int64's minimum (its negation overflows),
    for uint64 above 2**63 (cast to int64) and for NaN (PyTorch ranks it largest)."""
    ref = torch.sort(torch.from_numpy(a), descending=True, stable=True)
    got = engine.sort(Tensor(a), descending=True)
    same(got.values, ref.values)
    same(got.indices, ref.indices)
    asc = engine.sort(Tensor(a))
    same(asc.indices, torch.sort(torch.from_numpy(a), stable=True).indices)
    tk = engine.topk(Tensor(a), 3)  # torch.topk has no uint64: the sort's head is the reference
    same(tk.values, ref.values[:3])
    same(tk.indices, ref.indices[:3])


@SETTINGS
@given(st.lists(st.integers(-40, 40).map(lambda k: k / 8), min_size=2, max_size=12),
       st.booleans())
def test_sort_and_topk_of_fractional_floats_match_torch(vals, descending):
    a = np.array(vals + [0.25, 0.75, -0.5, 0.5])
    ref = torch.sort(torch.from_numpy(a), descending=descending, stable=True)
    got = engine.sort(Tensor(a), descending=descending)
    same(got.values, ref.values)
    same(got.indices, ref.indices)
    top = engine.topk(Tensor(a), 3, largest=not descending)
    same(top.values, ref.values[-3:].flip(0))


def test_descending_sort_of_uint64_beyond_float_precision_matches_torch():
    a = np.array([2**60 + 1, 2**60, 2**60 + 3, 2**60 + 1], dtype=np.uint64)
    ref = torch.sort(torch.from_numpy(a), descending=True, stable=True)
    got = engine.sort(Tensor(a), descending=True)
    same(got.values, ref.values)
    same(got.indices, ref.indices)


@pytest.mark.parametrize("v", [2.5, 7, np.uint8(9), np.int32(-3), np.float32(0.5)])
def test_sort_argsort_topk_of_a_0d_tensor_match_torch(v):
    _check_0d_sort_argsort_topk(v)


def test_bugfix_sort_and_topk_of_a_0d_bool_tensor_keep_bool():
    """The 0-d values were ``input * 1``: int64 for a bool tensor (PyTorch keeps bool)."""
    _check_0d_sort_argsort_topk(True)


def _check_0d_sort_argsort_topk(v):
    x = np.array(v)
    same(engine.argsort(T(x)), torch.argsort(tt(x)))
    same(engine.argsort(T(x), descending=True), torch.argsort(tt(x), descending=True))
    xt = tt(x).float() if x.dtype == np.bool_ else tt(x)  # torch.topk has no bool
    pairs = [(engine.sort(T(x)), torch.sort(tt(x)))]
    for k in (1, 0):
        got, ref = engine.topk(T(x), k), torch.topk(xt, k)
        pairs.append((got, (ref.values.to(tt(x).dtype), ref.indices)))
    for ours, ref in pairs:
        same(ours.values, ref[0])
        same(ours.indices, ref[1])


def test_sort_of_a_0d_tensor_passes_the_gradient_through():
    x = Tensor(np.array(1.25), requires_grad=True)
    xt = torch.tensor(1.25, dtype=torch.float64, requires_grad=True)
    (engine.sort(x).values * 3).backward()
    (torch.sort(xt).values * 3).backward()
    same(x.grad, xt.grad)
    x.grad = None
    xt.grad = None
    (engine.topk(x, 1).values * 5).backward()
    (torch.topk(xt, 1).values * 5).backward()
    same(x.grad, xt.grad)


def test_topk_defaults_to_the_largest_as_torch():
    a = np.array([[0.5, -1.0, 3.0, 2.0], [4.0, 1.0, -2.0, 0.0]])
    for k in (1, 2, 4):
        got, ref = engine.topk(T(a), k), torch.topk(tt(a), k)
        same(got.values, ref.values)
        same(got.indices, ref.indices)
    for k in (1, 2):
        got, ref = engine.topk(T(a), k, 0), torch.topk(tt(a), k, 0)
        same(got.values, ref.values)
        same(got.indices, ref.indices)


@pytest.mark.parametrize("k", [2, -1])
def test_topk_of_a_0d_tensor_rejects_k_outside_0_1(k):
    with pytest.raises(RuntimeError):
        torch.topk(torch.tensor(1.0), k)
    with pytest.raises(RuntimeError, match=r"k=-?\d must be an int in \[0, 1\] \(the size of "
                                           r"dimension 0 of shape \(\)\)"):
        engine.topk(engine.tensor(1.0), k)


@pytest.mark.parametrize("k", [True, False, 2.0])
def test_topk_rejects_a_k_that_is_not_an_int(k):
    with pytest.raises(TypeError):
        torch.topk(torch.arange(5.0), k)
    with pytest.raises((RuntimeError, TypeError), match="must be an int"):
        engine.topk(engine.arange(5.0), k)


def test_values_indices_repr_names_each_field():
    r = engine.sort(engine.tensor([3.0, 1.0, 2.0]))
    s = repr(r)
    assert s.startswith("(") and s.endswith(")")
    assert f"values={r.values!r}" in s and f"indices={r.indices!r}" in s
    assert s.index("values=") < s.index("indices=")


# -- selection -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lo, hi", [(-1.0, 2.0), (-1.0, None), (None, 2.0)])
def test_clamp_gradient_at_the_bounds_matches_torch(lo, hi):
    a = np.array([-3.0, -1.0, 0.5, 2.0, 4.0, -1.0, 2.0])
    x = Tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    g = np.arange(1.0, 8.0)
    (engine.clamp(x, lo, hi) * Tensor(g)).sum().backward()
    (torch.clamp(xt, lo, hi) * torch.tensor(g)).sum().backward()
    same(x.grad, xt.grad)


def test_clamp_without_bounds_raises_as_torch():
    with pytest.raises(RuntimeError) as te:
        torch.clamp(torch.ones(2))
    with pytest.raises(RuntimeError) as ee:
        engine.clamp(engine.ones(2))
    ours, theirs = str(ee.value), str(te.value).removeprefix("torch.")
    assert ours.lower() == theirs.lower()
    assert re.search(r"'min' or 'max' must not be None$", ours)


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_minimum_split_the_gradient_on_ties_as_torch(fn):
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    b = np.array([1.0, 0.0, 5.0])
    g = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, ref = getattr(engine, fn)(x, y), getattr(torch, fn)(xt, yt)
    same(out, ref)
    (out * Tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    same(x.grad, xt.grad)
    same(y.grad, yt.grad)


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
@pytest.mark.parametrize("da, db", [(np.float32, np.float32), (np.float32, np.float64),
                                    (np.float64, np.float32), (np.float16, np.float32)])
def test_maximum_minimum_gradient_dtypes_match_torch(fn, da, db):
    a = np.array([1.0, 2.0, 3.0, 0.5], dtype=da)
    b = np.array([1.0, 0.0, 5.0, 0.5], dtype=db)
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    xt = torch.from_numpy(a).requires_grad_(True)
    yt = torch.from_numpy(b).requires_grad_(True)
    out, ref = getattr(engine, fn)(x, y), getattr(torch, fn)(xt, yt)
    same(out, ref)
    out.sum().backward()
    ref.sum().backward()
    same(x.grad, xt.grad)
    same(y.grad, yt.grad)


def test_where_with_a_uint8_condition_matches_torch():
    c = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.uint8)
    a, b = np.arange(6.0).reshape(2, 3), -np.arange(3.0)
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.where(torch.from_numpy(c), xt, yt)
    out = engine.where(Tensor(c), x, y)
    same(out, ref)
    g = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    (out * Tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    same(x.grad, xt.grad)
    same(y.grad, yt.grad)


@pytest.mark.parametrize("sa, sb", [((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((2, 3), ())])
@pytest.mark.parametrize("method", [False, True])
def test_where_gradients_of_both_branches_match_torch(sa, sb, method):
    rng = np.random.default_rng(1)
    c = np.array([[True, False, True], [False, False, True]])
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    g = rng.standard_normal((2, 3))
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = x.where(Tensor(c), y) if method else engine.where(Tensor(c), x, y)
    ref = xt.where(torch.from_numpy(c), yt) if method else torch.where(torch.from_numpy(c), xt, yt)
    same(out, ref)
    (out * Tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert x.grad.shape == sa and y.grad.shape == sb


def test_where_gradient_only_for_the_branch_that_requires_it():
    c = np.array([True, False, True])
    for req_a in (True, False):
        x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=req_a)
        y = Tensor(np.array([4.0, 5.0, 6.0]), requires_grad=not req_a)
        xt = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=req_a)
        yt = torch.tensor([4.0, 5.0, 6.0], dtype=torch.float64, requires_grad=not req_a)
        engine.where(Tensor(c), x, y).sum().backward()
        torch.where(torch.from_numpy(c), xt, yt).sum().backward()
        for ours, theirs in ((x, xt), (y, yt)):
            assert (ours.grad is None) == (theirs.grad is None)
            if theirs.grad is not None:
                same(ours.grad, theirs.grad)


def test_where_broadcast_error_names_the_op():
    with pytest.raises(RuntimeError):
        torch.where(torch.tensor([True, False, True]), torch.ones(3), torch.ones(4))
    with pytest.raises((RuntimeError, ValueError), match=r"^where: shapes \(3,\) and \(4,\)"):
        engine.where(engine.tensor([True, False, True]), engine.ones(3), engine.ones(4))


# -- rounding ------------------------------------------------------------------------------------
INTS = [np.array([-7, 0, 3, 12], dtype=np.int64), np.array([5, -2, 0], dtype=np.int32),
        np.array([0, 7, 255], dtype=np.uint8), np.array(-4, dtype=np.int64)]


@pytest.mark.parametrize("a", INTS, ids=lambda a: str(a.dtype) + str(a.ndim))
@pytest.mark.parametrize("fn", ["floor", "ceil", "round", "nan_to_num", "sign"])
def test_integer_tensors_keep_dtype_and_values_as_torch(fn, a):
    same(getattr(engine, fn)(Tensor(a)), getattr(torch, fn)(torch.from_numpy(a)))


@pytest.mark.parametrize("a", INTS, ids=lambda a: str(a.dtype) + str(a.ndim))
@pytest.mark.parametrize("decimals", [0, 1, 3])
def test_round_of_integers_with_nonnegative_decimals_is_the_identity(a, decimals):
    # torch.round(int, decimals=) is not implemented; NumPy's round is the reference
    out = engine.round(Tensor(a), decimals=decimals)
    ref = np.round(a, decimals)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out.numpy(), ref)


@pytest.mark.parametrize("decimals", [None, 0, 2])
def test_bugfix_round_of_a_bool_tensor_is_the_identity(decimals):
    """Was ``input * 1``: int64. torch.round has no bool kernel; invariant: rounding integer-valued
    data to >= 0 decimals changes nothing (NumPy's round would make float16 or fail)."""
    b = np.array([[True, False, True]])
    out = engine.round(Tensor(b)) if decimals is None else engine.round(Tensor(b), decimals)
    assert out.dtype == np.bool_ and out.shape == b.shape
    np.testing.assert_array_equal(out.numpy(), b)


def test_bugfix_nan_to_num_floor_ceil_of_a_bool_tensor_keep_bool():
    b = np.array([True, False, True])
    same(engine.nan_to_num(Tensor(b)), torch.nan_to_num(torch.from_numpy(b)))
    for fn in ("floor", "ceil"):  # no torch kernel for bool; integer data: the identity
        out = getattr(engine, fn)(Tensor(b))
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out.numpy(), b)


def test_integer_results_are_new_tensors():
    a = np.array([1, 2, 3])
    x = Tensor(a)
    for out in (engine.floor(x), engine.ceil(x), engine.round(x), engine.round(x, decimals=2),
                engine.nan_to_num(x), engine.sign(engine.tensor([True, False]))):
        assert out is not x
    np.testing.assert_array_equal(x.numpy(), a)


def test_sign_of_a_bool_tensor_is_itself_as_torch():
    b = np.array([[True, False], [False, True]])
    out, ref = engine.sign(Tensor(b)), torch.sign(torch.from_numpy(b))
    same(out, ref)
    assert not np.shares_memory(out.numpy(), b)


@SETTINGS
@given(st.lists(st.integers(-400, 400).map(lambda k: k / 8), min_size=1, max_size=8))
def test_round_default_decimals_is_zero_halves_to_even_as_torch(vals):
    a = np.array(vals + [0.5, 1.5, 2.5, -0.5, 0.26])
    same(engine.round(Tensor(a)), torch.round(torch.from_numpy(a)))
    same(engine.sign(Tensor(a)), torch.sign(torch.from_numpy(a)))


@pytest.mark.parametrize("decimals", [1.5, True, "2", None])
def test_round_rejects_decimals_that_are_not_ints(decimals):
    with pytest.raises(TypeError):
        torch.round(torch.ones(2), decimals=decimals)
    with pytest.raises(TypeError, match=r"decimals must be an int, got "):
        engine.round(engine.ones(2), decimals=decimals)
