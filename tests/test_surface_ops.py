"""The Tensor methods of DESIGN's PYTORCH SURFACE added in engine/ops (linalg, tiling, sorting,
scan, logic, gather, rounding): each forward equals a NumPy expression at Hypothesis-drawn shapes,
each differentiable one passes gradcheck in float64 (and gradgradcheck where exact), methods equal
their functional forms, and bad arguments raise errors that name the problem."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Tensor

SETTINGS = settings(deadline=None, max_examples=15,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FLOATS = st.floats(-3, 3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
# distinct grid values: no ties (sort/topk/inf-norm) closer than finite differences see
GRID = st.integers(-300, 300).map(lambda k: k / 100)
SIDE = st.integers(1, 3)


def arrays(shape, elements=FLOATS, unique=False):
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


def leaf(a):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def shapes(min_dims=1, max_dims=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=3)


# -- linalg -------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), SIDE, SIDE, SIDE, SIDE)
def test_matrix_products_match_numpy_and_gradcheck(data, b, n, m, p):
    A = data.draw(arrays((n, m)))
    B = data.draw(arrays((m, p)))
    C = data.draw(arrays((n, p)))
    v = data.draw(arrays((m,)))
    w = data.draw(arrays((m,)))
    X = data.draw(arrays((b, n, m)))
    Y = data.draw(arrays((b, m, p)))
    cases = [
        (lambda a, c: a.mm(c), A @ B, (A, B)), (engine.mm, A @ B, (A, B)),
        (engine.bmm, X @ Y, (X, Y)), (lambda x, y: x.bmm(y), X @ Y, (X, Y)),
        (engine.mv, A @ v, (A, v)), (lambda a, u: a.mv(u), A @ v, (A, v)),
        (engine.dot, np.dot(v, w), (v, w)), (lambda u, z: u.dot(z), np.dot(v, w), (v, w)),
        (lambda a: a.t(), A.T, (A,)), (engine.t, A.T, (A,)),
        (lambda c, a, bb: engine.addmm(c, a, bb, beta=0.5, alpha=2.0), 0.5 * C + 2 * (A @ B), (C, A, B)),
        (lambda c, a, bb: c.addmm(a, bb), C + A @ B, (C, A, B)),
    ]
    for fn, ref, args in cases:
        ts = [leaf(x) for x in args]
        out = fn(*ts)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
        assert engine.gradcheck(fn, ts)
    assert engine.t(leaf(v)).shape == (m,)


@pytest.mark.parametrize("fn, shapes_, words", [
    (engine.mm, [(2, 3), (3,)], "mat2 must be a 2-D"), (engine.mm, [(2, 3, 1), (3, 2)], "input must be a 2-D"),
    (engine.mm, [(2, 3), (4, 2)], "inner dimensions 3 != 4"),
    (engine.bmm, [(2, 2, 3), (3, 3, 2)], "batch sizes differ"), (engine.bmm, [(2, 3), (3, 2)], "3-D"),
    (engine.mv, [(2, 3), (3, 1)], "vec must be a 1-D"), (engine.dot, [(3,), (4,)], "different lengths"),
    (engine.t, [(2, 2, 2)], "<= 2 dimensions")])
def test_matrix_products_reject_wrong_shapes(fn, shapes_, words):
    with pytest.raises((RuntimeError, ValueError), match=words):
        fn(*[engine.ones(*s) for s in shapes_])


NORM_PS = [1, 2, 3, 0.5, math.inf, -math.inf, "fro"]


@SETTINGS
@given(st.data(), shapes(), st.sampled_from(NORM_PS), st.booleans())
def test_norm_matches_numpy_vector_norm_and_gradcheck(data, shape, p, keepdim):
    a = data.draw(arrays(shape, st.one_of(st.floats(0.3, 3), st.floats(-3, -0.3)).filter(
        lambda x: True), unique=True).filter(lambda x: len(np.unique(np.abs(x))) == x.size))
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                              st.just(tuple(range(len(shape))))))
    order = 2 if p == "fro" else p
    axis = None if dim is None else (dim if isinstance(dim, tuple) else (dim,))
    ref = np.linalg.vector_norm(a, ord=order, axis=axis, keepdims=keepdim if dim is not None else False)
    x = leaf(a)
    out = x.norm(p, dim, keepdim) if dim is not None else engine.norm(x, p)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)
    assert engine.gradcheck(lambda t: engine.norm(t, p, dim, keepdim), [x], atol=1e-4)


def test_norm_gradient_at_zero_is_zero_and_errors():
    x = engine.zeros(3, dtype=engine.float64, requires_grad=True)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))
    y = Tensor(np.array([0.0, 3.0, -4.0]), requires_grad=True)
    y.norm(1).backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, -1.0])
    assert engine.norm(Tensor(np.array([0.0, 2.0, -1.0])), 0).item() == 2.0
    with pytest.raises(ValueError, match="p must be"):
        engine.ones(2).norm("nuc")
    with pytest.raises(RuntimeError, match="floating point"):
        engine.arange(3).norm()


# -- tiling -------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
def test_chunk_split_unbind_match_numpy_and_gradcheck(data, shape):
    a = data.draw(arrays(shape))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    chunks = data.draw(st.integers(1, 6))
    step = -(-n // chunks)
    want = np.split(a, list(range(step, n, step)), axis=d)
    for got in (engine.chunk(Tensor(a), chunks, d), Tensor(a).chunk(chunks, dim=d)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    size = data.draw(st.integers(1, 5))
    want = np.split(a, list(range(size, n, size)), axis=d)
    got = Tensor(a).split(size, d)
    assert [g.shape for g in got] == [w.shape for w in want]
    cut = data.draw(st.integers(0, n))
    got = engine.split(Tensor(a), [cut, n - cut], dim=d)
    np.testing.assert_array_equal(got[1].numpy(), np.split(a, [cut], axis=d)[1])
    parts = Tensor(a).unbind(d)
    assert len(parts) == n
    for i, part in enumerate(parts):
        np.testing.assert_array_equal(part.numpy(), np.take(a, i, axis=d))
    x = leaf(a)
    assert engine.gradcheck(lambda t: t.chunk(chunks, d)[-1] * 2, [x])
    assert engine.gradcheck(lambda t: engine.unbind(t, d)[0], [x])
    assert engine.gradgradcheck(lambda t: (t.split(size, d)[0] ** 2), [x])


@SETTINGS
@given(st.data(), shapes(0, 3))
def test_repeat_and_flip_match_numpy_and_gradcheck(data, shape):
    a = data.draw(arrays(shape))
    extra = data.draw(st.integers(0, 1))
    reps = tuple(data.draw(st.lists(st.integers(1, 3), min_size=len(shape) + extra,
                                    max_size=len(shape) + extra)))
    x = leaf(a)
    np.testing.assert_array_equal(x.repeat(*reps).numpy(), np.tile(a, reps) if reps else a)
    np.testing.assert_array_equal(x.repeat(reps).numpy(), np.tile(a, reps) if reps else a)
    assert engine.gradcheck(lambda t: t.repeat(*reps), [x])
    assert engine.gradgradcheck(lambda t: t.repeat(*reps) ** 2, [x])
    if shape:
        dims = tuple(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1)))
        np.testing.assert_array_equal(x.flip(*dims).numpy(), np.flip(a, dims))
        np.testing.assert_array_equal(engine.flip(x, dims).numpy(), np.flip(a, dims))
        assert engine.gradcheck(lambda t: t.flip(dims) * t, [x])
        assert engine.gradgradcheck(lambda t: t.flip(dims) ** 2, [x])


def test_tiling_errors():
    x = engine.ones(4, 3)
    with pytest.raises(RuntimeError, match="add up to 4"):
        x.split([1, 2])
    with pytest.raises(RuntimeError, match="positive int"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match="at least as many"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="twice"):
        x.flip(0, -2)
    with pytest.raises(IndexError, match="out of range"):
        x.unbind(2)
    with pytest.raises(RuntimeError, match="0-d"):
        engine.tensor(1.0).split(1)


# -- sorting ------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), shapes(), st.booleans())
def test_sort_argsort_topk_match_numpy_and_gradcheck(data, shape, descending):
    a = data.draw(arrays(shape, GRID, unique=True))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    order = np.argsort(-a if descending else a, axis=d, kind="stable")
    values, indices = engine.sort(Tensor(a), d, descending)
    np.testing.assert_array_equal(indices.numpy(), order)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(a, order, d))
    res = Tensor(a).sort(dim=d, descending=descending)
    np.testing.assert_array_equal(res.values.numpy(), values.numpy())
    np.testing.assert_array_equal(Tensor(a).argsort(d, descending).numpy(), order)
    k = data.draw(st.integers(0, shape[d]))
    top = Tensor(a).topk(k, d, largest=not descending)
    want = np.take(np.argsort(a if descending else -a, axis=d, kind="stable"), np.arange(k), axis=d)
    np.testing.assert_array_equal(top.indices.numpy(), want)
    np.testing.assert_array_equal(top.values.numpy(), np.take_along_axis(a, want, d))
    assert top.indices.dtype == np.int64 and not top.indices.requires_grad
    x = leaf(a)
    assert engine.gradcheck(lambda t: t.sort(d, descending).values, [x])
    assert engine.gradcheck(lambda t: engine.topk(t, k, d).values * 3, [x])


def test_sort_keeps_ties_in_order_and_topk_errors():
    x = engine.tensor([2.0, 1.0, 2.0, 1.0])
    np.testing.assert_array_equal(x.sort().indices.numpy(), [1, 3, 0, 2])
    np.testing.assert_array_equal(x.sort(descending=True).indices.numpy(), [0, 2, 1, 3])
    np.testing.assert_array_equal(engine.tensor([True, False]).argsort().numpy(), [1, 0])
    with pytest.raises(RuntimeError, match="k=5"):
        x.topk(5)


# -- scan ---------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), shapes(), st.booleans())
def test_cumsum_prod_match_numpy_and_gradcheck(data, shape, keepdim):
    a = data.draw(arrays(shape, st.sampled_from([-2.0, -1.5, -0.5, 0.0, 0.5, 1.0, 1.25, 2.0])))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = leaf(a)
    np.testing.assert_allclose(x.cumsum(d).numpy(), np.cumsum(a, axis=d), rtol=1e-12)
    np.testing.assert_allclose(engine.prod(x).numpy(), np.prod(a), rtol=1e-12)
    np.testing.assert_allclose(x.prod(d, keepdim).numpy(), np.prod(a, axis=d, keepdims=keepdim),
                               rtol=1e-12)
    assert engine.gradcheck(lambda t: engine.cumsum(t, d), [x])
    assert engine.gradgradcheck(lambda t: t.cumsum(d) ** 2, [x])
    # the product is a polynomial: finite differences are exact even where an element is 0
    assert engine.gradcheck(lambda t: t.prod(d, keepdim), [x])
    assert engine.gradcheck(lambda t: t.prod(), [x])


def test_scan_dtypes_follow_torch():
    assert engine.tensor([1, 2, 3]).cumsum(0).dtype == np.int64
    assert engine.tensor([True, True]).cumsum(0).tolist() == [1, 2]
    assert engine.tensor([1, 2, 3], dtype=engine.int32).prod().dtype == np.int64
    assert engine.tensor([1.0, 2.0]).cumsum(0, dtype=engine.float64).dtype == np.float64


# -- logic --------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), shapes(0, 3))
def test_comparisons_and_truth_reductions_match_numpy(data, shape):
    a = data.draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([-1.0, 0.0, 1.0])))
    b = data.draw(hnp.arrays(np.float32, hnp.broadcastable_shapes(shape, max_dims=3, max_side=3),
                             elements=st.sampled_from([-1.0, 0.0, 1.0])))
    x, y = Tensor(a), Tensor(b)
    for name, ref in (("eq", np.equal), ("ne", np.not_equal), ("gt", np.greater), ("lt", np.less),
                      ("ge", np.greater_equal), ("le", np.less_equal)):
        want = ref(a, b)
        for got in (getattr(x, name)(y), getattr(engine, name)(x, y), getattr(x, name)(b),
                    getattr(engine, name)(x, 0.0)):
            assert got.dtype == np.bool_ and not got.requires_grad
        np.testing.assert_array_equal(getattr(x, name)(y).numpy(), want)
        np.testing.assert_array_equal(getattr(engine, name)(x, 0.0).numpy(), ref(a, 0.0))
    dim = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1)) if shape else None
    keep = data.draw(st.booleans())
    for name in ("any", "all"):
        ref = getattr(np, name)(a, axis=dim, keepdims=keep)
        np.testing.assert_array_equal(getattr(x, name)(dim, keep).numpy(), ref)
        np.testing.assert_array_equal(getattr(engine, name)(x, dim=dim, keepdim=keep).numpy(), ref)


def test_comparison_broadcast_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"\(2,\) and \(3,\)"):
        engine.ones(2).gt(engine.ones(3))


# -- gather / scatter_add / index_select / masked_fill -----------------------------------------
def _gather_ref(a, dim, idx):
    out = np.empty(idx.shape, a.dtype)
    for pos in np.ndindex(idx.shape):
        src = list(pos)
        src[dim] = idx[pos]
        out[pos] = a[tuple(src)]
    return out


def _scatter_add_ref(a, dim, idx, src):
    out = a.copy()
    for pos in np.ndindex(idx.shape):
        dst = list(pos)
        dst[dim] = idx[pos]
        out[tuple(dst)] += src[pos]
    return out


@SETTINGS
@given(st.data(), shapes())
def test_gather_scatter_add_index_select_match_loops_and_gradcheck(data, shape):
    a = data.draw(arrays(shape))
    d = data.draw(st.integers(0, len(shape) - 1))
    ishape = tuple(data.draw(st.integers(1, s)) if i != d else data.draw(st.integers(1, 4))
                   for i, s in enumerate(shape))
    idx = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))
    src = data.draw(arrays(ishape))
    x, s = leaf(a), leaf(src)
    index = Tensor(idx)
    np.testing.assert_array_equal(x.gather(d, index).numpy(), _gather_ref(a, d, idx))
    np.testing.assert_array_equal(engine.gather(x, d, index).numpy(), _gather_ref(a, d, idx))
    np.testing.assert_allclose(x.scatter_add(d, index, s).numpy(), _scatter_add_ref(a, d, idx, src),
                               rtol=1e-12)
    assert engine.gradcheck(lambda t: engine.gather(t, d, index), [x])
    assert engine.gradgradcheck(lambda t: engine.gather(t, d, index) ** 2, [x])
    assert engine.gradcheck(lambda t, u: engine.scatter_add(t, d, index, u), [x, s])
    sel = idx.reshape(-1)[:4]
    np.testing.assert_array_equal(x.index_select(d, Tensor(sel)).numpy(), np.take(a, sel, axis=d))
    assert engine.gradcheck(lambda t: engine.index_select(t, d, Tensor(sel)), [x])


@SETTINGS
@given(st.data(), shapes())
def test_masked_fill_matches_numpy_where_and_gradcheck(data, shape):
    a = data.draw(arrays(shape))
    mshape = data.draw(hnp.broadcastable_shapes(shape, max_dims=len(shape), max_side=3).filter(
        lambda s: np.broadcast_shapes(s, shape) == shape))
    mask = data.draw(hnp.arrays(np.bool_, mshape))
    value = data.draw(FLOATS)
    x = leaf(a)
    np.testing.assert_array_equal(x.masked_fill(Tensor(mask), value).numpy(), np.where(mask, value, a))
    np.testing.assert_array_equal(engine.masked_fill(x, Tensor(mask), engine.tensor(value)).numpy(),
                                  np.where(mask, np.float64(np.float32(value)), a))
    assert engine.gradcheck(lambda t: t.masked_fill(Tensor(mask), value), [x])
    y = Tensor(a.copy())
    assert y.masked_fill_(Tensor(mask), value) is y
    np.testing.assert_array_equal(y.numpy(), np.where(mask, value, a))


def test_index_ops_reject_bad_indices():
    x = engine.ones(2, 3)
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, engine.tensor([[3]]))
    with pytest.raises(TypeError, match="integer"):
        x.gather(1, engine.tensor([[0.0]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, engine.tensor([0]))
    with pytest.raises(RuntimeError, match="exceeds"):
        x.gather(1, engine.zeros(3, 1, dtype=engine.int64))
    with pytest.raises(RuntimeError, match="1-D"):
        x.index_select(0, engine.zeros(1, 1, dtype=engine.int64))
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.index_select(0, engine.tensor([2]))
    with pytest.raises(TypeError, match="bool"):
        x.masked_fill(engine.ones(2, 3), 0.0)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        x.masked_fill(engine.ones(4, 1, dtype=engine.bool), 0.0)
    with pytest.raises(RuntimeError, match="larger than src"):
        x.scatter_add(1, engine.zeros(2, 3, dtype=engine.int64), engine.ones(2, 2))


# -- rounding -----------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), shapes(0, 3))
def test_rounding_matches_numpy_with_zero_gradient(data, shape):
    a = data.draw(arrays(shape, st.floats(-5, 5, allow_subnormal=False)))
    x = leaf(a)
    for name, ref in (("floor", np.floor(a)), ("ceil", np.ceil(a)), ("round", np.round(a)),
                      ("sign", np.sign(a))):
        for out in (getattr(x, name)(), getattr(engine, name)(x)):
            np.testing.assert_array_equal(out.numpy(), ref)
            assert out.requires_grad and out.dtype == np.float64
        x.grad = None
        getattr(x, name)().sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(shape))
    np.testing.assert_array_equal(x.round(decimals=2).numpy(), np.round(a, 2))
    assert engine.round(engine.tensor([0.5, 1.5, 2.5])).tolist() == [0.0, 2.0, 2.0]
    assert engine.floor(engine.tensor([3, -2])).tolist() == [3, -2]


@SETTINGS
@given(st.data(), shapes(0, 3))
def test_nan_to_num_and_tests_match_numpy(data, shape):
    a = data.draw(arrays(shape, st.one_of(FLOATS, st.sampled_from([np.nan, np.inf, -np.inf]))))
    x = leaf(a)
    for name in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(np, name)(a))
        np.testing.assert_array_equal(getattr(engine, name)(x).numpy(), getattr(np, name)(a))
    np.testing.assert_array_equal(x.nan_to_num().numpy(), np.nan_to_num(a))
    np.testing.assert_array_equal(engine.nan_to_num(x, 1.0, 2.0, -3.0).numpy(),
                                  np.nan_to_num(a, nan=1.0, posinf=2.0, neginf=-3.0))
    x.nan_to_num().backward(engine.ones_like(x))
    np.testing.assert_array_equal(x.grad.numpy(), np.isfinite(a).astype(np.float64))
    if np.isfinite(a).all():
        assert engine.gradcheck(lambda t: t.nan_to_num() * t, [x])


# -- small methods and Python protocols ---------------------------------------------------------
def test_format_index_len_iter_and_casts():
    w = engine.tensor(1.23456)
    assert "{:+.2f}".format(w) == "+1.23" and f"{w:.1e}" == "1.2e+00" and format(w) == "1.2345600128173828"
    assert format(engine.ones(2)) == repr(engine.ones(2))
    with pytest.raises(TypeError, match="format"):
        "{:.2f}".format(engine.ones(2))
    assert [10, 20, 30][engine.tensor(2)] == 30 and range(5)[engine.tensor([1])] == 1
    with pytest.raises(TypeError, match="integer tensors of a single element"):
        [1, 2][engine.tensor(1.0)]
    x = engine.arange(6).reshape(2, 3)
    assert len(x) == 2 and [r.tolist() for r in x] == [[0, 1, 2], [3, 4, 5]]
    assert x.numel() == 6 and x.dim() == 2 and x.size(1) == 3 and x.size(-1) == 3 and x.size() == (2, 3)
    f = engine.ones(3, dtype=engine.float64)
    assert x.type_as(f).dtype == np.float64 and x.float().reshape_as(engine.ones(6, 1)).shape == (6, 1)
    assert (f.half().dtype, f.long().dtype, f.int().dtype, f.bool().dtype) == (
        np.float16, np.int64, np.int32, np.bool_)
    g = leaf(np.arange(6.0))
    assert engine.gradcheck(lambda t: t.reshape_as(engine.ones(2, 3)) * 2, [g])


def test_view_as_type_as_expand_as_match_numpy_and_gradcheck():
    a = np.arange(6.0).reshape(2, 3) / 7
    x = leaf(a)
    np.testing.assert_array_equal(x.view_as(engine.ones(3, 2)).numpy(), a.reshape(3, 2))
    np.testing.assert_array_equal(x.expand_as(engine.ones(4, 2, 3)).numpy(), np.broadcast_to(a, (4, 2, 3)))
    y = x.type_as(engine.ones(1, dtype=engine.float32))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), a.astype(np.float32))
    assert engine.gradcheck(lambda t: t.view_as(engine.ones(3, 2)) ** 2, [x])
    assert engine.gradcheck(lambda t: t.expand_as(engine.ones(4, 2, 3)) * t, [x])
    assert engine.gradcheck(lambda t: t.type_as(engine.ones(1, dtype=engine.float64)) ** 3, [x])


def test_numel_and_int_dtype_exist_as_in_torch():
    x = engine.zeros(2, 3, 4)
    assert engine.numel(x) == x.numel() == 24 and isinstance(engine.numel(x), int)
    assert engine.numel(engine.tensor(5.0)) == 1 and engine.numel(engine.zeros(0, 3)) == 0
    assert engine.int == np.int32 and engine.ones(2, dtype=engine.int).dtype == np.int32
    assert engine.numel([[1, 2, 3]]) == 3   # functional forms take array-likes (engine.functional)
    namespace = {}
    exec("from engine import *", namespace)
    assert "int" not in namespace and "float" not in namespace and "numel" in namespace
