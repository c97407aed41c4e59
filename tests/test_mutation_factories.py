"""Mutation-testing guards for ``engine.factories`` (tensor, from_numpy, as_tensor, zeros, ones,
full, empty, arange, linspace, eye, rand, randn, randint, randperm and the ``*_like`` forms).

Each factory is compared with PyTorch over a small grid: size given as ints / one tuple / one list /
nothing, default dtype (float32, and float64 after ``set_default_dtype``), explicit ``dtype=``,
``requires_grad`` default and ``True``, values (for the deterministic factories) or range, dtype,
shape and seeding reproducibility (for the random ones), copy-vs-share semantics of
``tensor``/``from_numpy``/``as_tensor``, and the type and message of the argument errors.
"""
import numpy as np
import pytest
import torch

import engine


def _tdt(engine_dtype):
    """The torch dtype named like an engine (NumPy) dtype."""
    return getattr(torch, np.dtype(engine_dtype).name if np.dtype(engine_dtype) != np.bool_ else "bool")


def _same(e, t):
    assert e.shape == tuple(t.shape)
    assert _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    np.testing.assert_array_equal(e.numpy(), t.detach().numpy())


@pytest.fixture
def float64_default():
    engine.set_default_dtype(engine.float64)
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        engine.set_default_dtype(engine.float32)
        torch.set_default_dtype(torch.float32)


SIZES = [(2, 3), ((2, 3),), ([2, 3],), (4,), ((),)]
DTYPES = [None, engine.float64, engine.float32, engine.int64, engine.int32]


def _kwargs(dtype, rg):
    kw, tkw = {}, {}
    if dtype is not None:
        kw["dtype"], tkw["dtype"] = dtype, _tdt(dtype)
    if rg is not None:
        kw["requires_grad"] = tkw["requires_grad"] = rg
    return kw, tkw


@pytest.mark.parametrize("name", ["zeros", "ones"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rg", [None, True])
def test_zeros_ones_match_torch(name, size, dtype, rg):
    if rg and dtype is not None and np.dtype(dtype).kind != "f":
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    _same(getattr(engine, name)(*size, **kw), getattr(torch, name)(*size, **tkw))


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn", "linspace", "eye",
                                  "arange"])
def test_float_factories_follow_default_dtype(name, float64_default):
    args = {"linspace": (0, 1, 5), "eye": (3,), "arange": (0.0, 2.0, 0.5)}.get(name, (2, 3))
    e, t = getattr(engine, name)(*args), getattr(torch, name)(*args)
    assert _tdt(e.dtype) == t.dtype == torch.float64
    assert e.shape == tuple(t.shape)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rg", [None, True])
def test_empty_matches_torch_shape_dtype_grad(size, dtype, rg):
    if rg and dtype is not None and np.dtype(dtype).kind != "f":
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    e, t = engine.empty(*size, **kw), torch.empty(*size, **tkw)
    assert e.shape == tuple(t.shape)
    assert _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad


@pytest.mark.parametrize("size", [(2, 3), [2, 3], (), (4,)])
@pytest.mark.parametrize("fill", [1, 1.5, True, -2])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.int32, engine.float32])
@pytest.mark.parametrize("rg", [None, True])
def test_full_matches_torch(size, fill, dtype, rg):
    if rg and not ((dtype is not None and np.dtype(dtype).kind == "f")
                   or (dtype is None and isinstance(fill, float))):
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    _same(engine.full(size, fill, **kw), torch.full(size, fill, **tkw))


@pytest.mark.parametrize("args", [(5,), (2, 9), (2, 9, 3), (0, 1, 0.25), (0.0, 5), (1, 2.5),
                                  (-3, 4, 2), (10, 0, -3)])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.int64, engine.float32])
@pytest.mark.parametrize("rg", [None, True])
def test_arange_matches_torch(args, dtype, rg):
    floating = (dtype is not None and np.dtype(dtype).kind == "f") or (
        dtype is None and any(isinstance(a, float) for a in args))
    if rg and not floating:
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    try:
        t = torch.arange(*args, **tkw)
    except (RuntimeError, ValueError) as te:  # e.g. int64 with step 0.25: truncated to 0
        with pytest.raises(type(te)):
            engine.arange(*args, **kw)
        return
    e = engine.arange(*args, **kw)
    assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    np.testing.assert_allclose(e.numpy(), t.detach().numpy(), rtol=1e-6)


def test_arange_step_keyword_matches_torch():
    _same(engine.arange(1, 10, step=4), torch.arange(1, 10, step=4))


@pytest.mark.parametrize("args", [(0, 1, 5), (2, 10, 3), (-1.5, 4.0, 7), (3, 3, 1), (0, 1, 0)])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.float32])
@pytest.mark.parametrize("rg", [None, True])
def test_linspace_matches_torch(args, dtype, rg):
    kw, tkw = _kwargs(dtype, rg)
    e, t = engine.linspace(*args, **kw), torch.linspace(*args, **tkw)
    assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    np.testing.assert_allclose(e.numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,), (1, 1)])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.int64])
@pytest.mark.parametrize("rg", [None, True])
def test_eye_matches_torch(args, dtype, rg):
    if rg and dtype is not None and np.dtype(dtype).kind != "f":
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    _same(engine.eye(*args, **kw), torch.eye(*args, **tkw))


def test_eye_m_keyword_matches_torch():
    _same(engine.eye(2, m=5), torch.eye(2, m=5))


# -- random factories ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, lo, hi", [("rand", 0.0, 1.0), ("randn", -np.inf, np.inf)])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.float32, engine.float16])
@pytest.mark.parametrize("rg", [None, True])
def test_rand_randn_shape_dtype_grad_range_seed(name, lo, hi, size, dtype, rg):
    kw, tkw = _kwargs(dtype, rg)
    t = getattr(torch, name)(*size, **tkw)
    engine.manual_seed(123)
    e = getattr(engine, name)(*size, **kw)
    assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    assert np.all((e.numpy() >= lo) & (e.numpy() < hi))
    engine.manual_seed(123)
    np.testing.assert_array_equal(getattr(engine, name)(*size, **kw).numpy(), e.numpy())


def test_randn_is_not_uniform():
    engine.manual_seed(0)
    x = engine.randn(4000).numpy()
    assert x.min() < -1 and x.max() > 1 and abs(x.mean()) < 0.1


@pytest.mark.parametrize("args", [(10, (3, 4)), (2, (1000,)), (-5, 5, (50,)), (3, 4, [2, 2]),
                                  (0, 1, ())])
@pytest.mark.parametrize("dtype", [None, engine.int32, engine.float64, engine.float32])
@pytest.mark.parametrize("rg", [None, True, False])
def test_randint_matches_torch(args, dtype, rg):
    kw, tkw = _kwargs(dtype, rg)
    try:
        t = torch.randint(*args, **tkw)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            engine.randint(*args, **kw)
        return
    engine.manual_seed(7)
    e = engine.randint(*args, **kw)
    assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    low, high = (0, args[0]) if len(args) == 2 else args[:2]
    v = e.numpy()
    assert np.all((v >= low) & (v < high))
    if v.size >= 1000:  # every value of the range turns up, the low end included
        assert set(np.unique(v).tolist()) == set(range(low, high))
    engine.manual_seed(7)
    np.testing.assert_array_equal(engine.randint(*args, **kw).numpy(), v)


def test_randint_without_size_raises_type_error_like_torch():
    with pytest.raises(TypeError):
        torch.randint(10)
    with pytest.raises(TypeError, match=r"^randint\(\) needs size= \(a tuple\), e\.g\. "
                                        r"randint\(0, 10, \(3,\)\)$"):
        engine.randint(10)


@pytest.mark.parametrize("args, name, bad", [((1.5, 3, (2,)), "low", "1.5"),
                                             ((0, 2.5, (2,)), "high", "2.5"),
                                             ((True, 3, (2,)), "low", "True"),
                                             ((0, "3", (2,)), "high", "'3'")])
def test_randint_non_int_bounds_raise_type_error(args, name, bad):
    if not isinstance(args[0], bool):
        with pytest.raises(TypeError):
            torch.randint(*args)
    with pytest.raises(TypeError, match=rf"^randint\(\): {name} must be an int, got {bad}$"):
        engine.randint(*args)


@pytest.mark.parametrize("n", [0, 1, 7, 30])
@pytest.mark.parametrize("dtype", [None, engine.int32, engine.float32, engine.float64])
@pytest.mark.parametrize("rg", [None, True, False])
def test_randperm_matches_torch(n, dtype, rg):
    kw, tkw = _kwargs(dtype, rg)
    try:
        t = torch.randperm(n, **tkw)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            engine.randperm(n, **kw)
        return
    engine.manual_seed(3)
    e = engine.randperm(n, **kw)
    assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    np.testing.assert_array_equal(np.sort(e.numpy()), np.arange(n))
    engine.manual_seed(3)
    np.testing.assert_array_equal(engine.randperm(n, **kw).numpy(), e.numpy())


# -- tensor / from_numpy / as_tensor ---------------------------------------------------------------
@pytest.mark.parametrize("data", [[1, 2, 3], [[1.5, 2.0]], 3, 2.5, True, [True, False],
                                  np.arange(4, dtype=np.int32), np.ones(3, dtype=np.float64)])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.int64, engine.float32])
@pytest.mark.parametrize("rg", [None, True])
def test_tensor_matches_torch(data, dtype, rg):
    tdata = torch.from_numpy(data.copy()) if isinstance(data, np.ndarray) else data
    tkw0 = {} if dtype is None else {"dtype": _tdt(dtype)}
    floating = torch.tensor(tdata, **tkw0).is_floating_point()
    kw, tkw = _kwargs(dtype, rg if (rg is None or floating) else None)
    _same(engine.tensor(data, **kw), torch.tensor(tdata, **tkw))


@pytest.mark.parametrize("dtype", [None, engine.float32])
def test_tensor_copies_its_data_like_torch(dtype):
    a = np.zeros(3, dtype=np.float32)
    e = engine.tensor(a, dtype=dtype)
    t = torch.tensor(a, dtype=None if dtype is None else _tdt(dtype))
    a[0] = 5
    _same(e, t)
    assert e.numpy()[0] == 0


def test_from_numpy_shares_memory_like_torch():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    e, t = engine.from_numpy(a), torch.from_numpy(a)
    _same(e, t)
    a[0, 0] = 42
    assert e.numpy()[0, 0] == t[0, 0].item() == 42


@pytest.mark.parametrize("data", [[1, 2], [0.5, 1.5], np.arange(3, dtype=np.int32),
                                  np.ones(2, dtype=np.float32)])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.int64, engine.float32])
def test_as_tensor_matches_torch(data, dtype):
    tdata = torch.from_numpy(data.copy()) if isinstance(data, np.ndarray) else data
    _same(engine.as_tensor(data, dtype=dtype),
          torch.as_tensor(tdata, dtype=None if dtype is None else _tdt(dtype)))


def test_as_tensor_of_tensor_with_dtype_converts_like_torch():
    x, tx = engine.tensor([1, 2]), torch.tensor([1, 2])
    assert engine.as_tensor(x) is x and torch.as_tensor(tx) is tx
    _same(engine.as_tensor(x, dtype=engine.float64), torch.as_tensor(tx, dtype=torch.float64))


# -- *_like --------------------------------------------------------------------------------------
LIKE_INPUTS = [np.zeros((2, 3), np.float32), np.zeros(4, np.float64), np.zeros((3,), np.int64),
               np.zeros((), np.float32), np.zeros((2, 2), np.int32)]


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
@pytest.mark.parametrize("src", LIKE_INPUTS, ids=str)
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.float32, engine.int64, np.float64])
@pytest.mark.parametrize("rg", [None, True])
def test_like_factories_match_torch(name, src, dtype, rg):
    x, tx = engine.tensor(src), torch.from_numpy(src.copy())
    out_dt = np.dtype(dtype) if dtype is not None else src.dtype
    if rg and out_dt.kind != "f":
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    e, t = getattr(engine, name)(x, **kw), getattr(torch, name)(tx, **tkw)
    if name == "empty_like":
        assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
        assert e.requires_grad == t.requires_grad
    else:
        _same(e, t)


@pytest.mark.parametrize("src", LIKE_INPUTS, ids=str)
@pytest.mark.parametrize("fill", [2, 2.5, True])
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.int32, np.float64, np.int64])
@pytest.mark.parametrize("rg", [None, True])
def test_full_like_matches_torch(src, fill, dtype, rg):
    x, tx = engine.tensor(src), torch.from_numpy(src.copy())
    out_dt = np.dtype(dtype) if dtype is not None else src.dtype
    if rg and out_dt.kind != "f":
        rg = False
    kw, tkw = _kwargs(dtype, rg)
    _same(engine.full_like(x, fill, **kw), torch.full_like(tx, fill, **tkw))


@pytest.mark.parametrize("name, lo, hi", [("rand_like", 0.0, 1.0), ("randn_like", -np.inf, np.inf)])
@pytest.mark.parametrize("src", [s for s in LIKE_INPUTS if s.dtype.kind == "f"], ids=str)
@pytest.mark.parametrize("dtype", [None, engine.float64, engine.float32, np.float64, np.float16])
@pytest.mark.parametrize("rg", [None, True])
def test_rand_like_randn_like_match_torch(name, lo, hi, src, dtype, rg):
    x, tx = engine.tensor(src), torch.from_numpy(src.copy())
    kw, tkw = _kwargs(dtype, rg)
    t = getattr(torch, name)(tx, **tkw)
    engine.manual_seed(11)
    e = getattr(engine, name)(x, **kw)
    assert e.shape == tuple(t.shape) and _tdt(e.dtype) == t.dtype
    assert e.requires_grad == t.requires_grad
    assert np.all((e.numpy() >= lo) & (e.numpy() < hi))
    engine.manual_seed(11)
    np.testing.assert_array_equal(getattr(engine, name)(x, **kw).numpy(), e.numpy())


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "full_like",
                                  "rand_like", "randn_like"])
@pytest.mark.parametrize("bad", [[1.0, 2.0], np.zeros(2), 3.0])
def test_like_factories_reject_non_tensors_like_torch(name, bad):
    args = (bad, 1) if name == "full_like" else (bad,)
    with pytest.raises(TypeError, match=rf"^{name}\(\): argument 'input'"):
        getattr(torch, name)(*args)
    with pytest.raises(TypeError, match=rf"^{name}\(\): argument 'input' must be a Tensor, not "
                                        rf"{type(bad).__name__}$"):
        getattr(engine, name)(*args)


# -- requires_grad defaults to False everywhere -------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2), lambda m: m.ones(2), lambda m: m.empty(2), lambda m: m.full((2,), 1.0),
    lambda m: m.arange(3.0), lambda m: m.linspace(0, 1, 3), lambda m: m.eye(2), lambda m: m.rand(2),
    lambda m: m.randn(2), lambda m: m.randint(0, 3, (2,), dtype=m.float32),
    lambda m: m.randperm(3, dtype=m.float32), lambda m: m.tensor([1.0]),
    lambda m: m.zeros_like(m.ones(2)), lambda m: m.ones_like(m.ones(2)),
    lambda m: m.empty_like(m.ones(2)), lambda m: m.full_like(m.ones(2), 3.0),
    lambda m: m.rand_like(m.ones(2)), lambda m: m.randn_like(m.ones(2))])
def test_requires_grad_defaults_to_false_like_torch(call):
    assert call(engine).requires_grad is False
    assert call(torch).requires_grad is False
