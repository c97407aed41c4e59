"""Mutation-testing guards for ``engine.ops.scan``, ``engine.ops.surface_methods``,
``engine.ops.erf`` and ``engine.ops.arithmetic`` (the mutants the rest of the suite let survive).

What this file pins down, against PyTorch wherever it has the same feature:

* ``cumsum`` / ``prod``: result dtypes (integers and bools give int64, ``dtype=`` casts first),
  0-d inputs, ``keepdim``'s default, empty inputs and dims, and gradients along every dim of a
  3-D tensor (with zeros in the input for ``prod``), including the second order of ``cumsum``
  (its backward ``RevCumSum`` differentiated again).
* ``erf``: values on both sides of the branch points |x| = 1 and 6 (to ~1e-15), the dtype kept for
  float32 input and a floating result for integer input.
* ``Pow``'s gradients: the b = 0 / b = 1 special cases, tensor exponents with zeros, bases ≤ 0
  (``d/db`` is 0 there by the library's contract), ``create_graph=True`` (the recorded backward)
  and the second order, float32 gradients staying float32, and no NumPy floating-point warnings
  from the backward where the gradient is legitimately inf/nan.
* Tensor methods of ``surface_methods``: ``addmm`` with ``beta``/``alpha``, ``type_as`` /
  ``reshape_as`` errors naming the method and the argument, ``__format__`` of a one-element
  1-D tensor, ``masked_fill_``.
"""
import math
import warnings

import numpy as np
import pytest
import torch

import engine


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _same(ours, theirs, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=rtol, atol=atol, equal_nan=True)


def _pair(a, grad=True):
    a = np.asarray(a, dtype=np.float64)
    return (engine.tensor(a, dtype=engine.float64, requires_grad=grad),
            torch.tensor(a, dtype=torch.float64, requires_grad=grad))


# -- cumsum ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["uint8", "int32", "int16", "bool"])
def test_cumsum_of_integers_and_bools_is_int64(dtype):
    a = np.array([[1, 0, 3], [2, 5, 1]]).astype(dtype)
    ours = engine.cumsum(engine.tensor(a), 1)
    ref = torch.cumsum(torch.tensor(a), 1)
    assert str(ours.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parametrize("value, dtype", [(3, "int32"), (7, "int64"), (True, "bool"), (2.5, "float32")])
def test_cumsum_of_0d_tensor(value, dtype):
    ours = engine.cumsum(engine.tensor(np.array(value, dtype=dtype)), 0)
    ref = torch.cumsum(torch.tensor(np.array(value, dtype=dtype)), 0)
    assert ours.shape == () and str(ours.dtype) == str(ref.dtype).replace("torch.", "")
    assert ours.item() == ref.item()


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cumsum_gradients_first_and_second_order_match_torch(dim):
    rng = np.random.default_rng(dim + 5)
    a = rng.normal(size=(2, 3, 4))
    w = rng.normal(size=(2, 3, 4))
    x, tx = _pair(a)
    y = (engine.cumsum(x, dim) ** 2 * engine.tensor(w)).sum()
    ty = (torch.cumsum(tx, dim) ** 2 * torch.tensor(w)).sum()
    (g,) = engine.autograd.grad(y, x, create_graph=True)
    (tg,) = torch.autograd.grad(ty, tx, create_graph=True)
    _same(g, tg)
    # second order: the recorded backward (RevCumSum) is differentiated in turn
    (h,) = engine.autograd.grad((engine.cumsum(g, dim) * engine.tensor(w)).sum(), x)
    (th,) = torch.autograd.grad((torch.cumsum(tg, dim) * torch.tensor(w)).sum(), tx)
    _same(h, th)


# -- prod ------------------------------------------------------------------------------------------
def test_prod_keepdim_defaults_to_false():
    a = np.arange(1.0, 7.0).reshape(2, 3)
    assert engine.tensor(a).prod(1).shape == tuple(torch.tensor(a).prod(1).shape) == (2,)
    assert engine.prod(engine.tensor(a), 0).shape == (3,)
    assert engine.prod(engine.tensor(a), 0, True).shape == (1, 3)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "bool"])
def test_prod_of_integers_and_bools_is_int64(dtype):
    a = np.array([[1, 2, 3], [2, 1, 1]]).astype(dtype)
    for args in [(), (1,)]:
        ours = engine.tensor(a).prod(*args)
        ref = torch.tensor(a).prod(*args)
        assert str(ours.dtype) == str(ref.dtype).replace("torch.", "") == "int64"
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())


def test_prod_dtype_argument_casts_first():
    a = np.array([[1.5, 2.0], [3.0, 0.5]], dtype=np.float32)
    for kwargs in [{}, {"dim": 1}]:
        ours = engine.tensor(a).prod(dtype=engine.float64, **kwargs)
        ref = torch.tensor(a).prod(dtype=torch.float64, **kwargs)
        assert ours.dtype == engine.float64
        _same(ours, ref)
    ours = engine.prod(engine.tensor(np.array([[1, 2], [3, 4]])), 1, dtype=engine.float32)
    assert ours.dtype == engine.float32
    np.testing.assert_array_equal(ours.numpy(), [2.0, 12.0])


@pytest.mark.parametrize("value, dtype", [(3, "int32"), (5, "int64"), (2.5, "float64")])
def test_prod_of_0d_tensor(value, dtype):
    ours = engine.tensor(np.array(value, dtype=dtype)).prod()
    ref = torch.tensor(np.array(value, dtype=dtype)).prod()
    assert ours.shape == () and str(ours.dtype) == str(ref.dtype).replace("torch.", "")
    assert ours.item() == ref.item()


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, False), (2, False),
                                          (1, True), (-1, True)])
def test_prod_gradient_with_zeros_matches_torch(dim, keepdim):
    rng = np.random.default_rng(11)
    a = rng.uniform(0.5, 1.5, size=(2, 3, 4)) * rng.choice([-1.0, 1.0], size=(2, 3, 4))
    a[0, 1, 2] = 0.0
    a[1, 2, 0] = a[1, 2, 3] = 0.0       # two zeros in one row: every gradient there is 0
    x, tx = _pair(a)
    args = () if dim is None else (dim, keepdim)
    y, ty = x.prod(*args), tx.prod(*args)
    assert y.shape == tuple(ty.shape)
    _same(y, ty)
    w = rng.normal(size=tuple(ty.shape))
    (y * engine.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    _same(x.grad, tx.grad)


@pytest.mark.parametrize("shape, dim", [((0,), None), ((2, 0, 3), None), ((2, 0, 3), 1),
                                        ((2, 0, 3), 0)])
def test_prod_of_empty_input_and_its_gradient(shape, dim):
    x, tx = _pair(np.zeros(shape))
    args = () if dim is None else (dim,)
    y, ty = x.prod(*args), tx.prod(*args)
    assert y.shape == tuple(ty.shape)
    _same(y, ty)
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.shape == tuple(tx.grad.shape) == shape
    (g,) = engine.autograd.grad(x.prod(*args).sum(), x)
    assert g.shape == shape and g.dtype == x.dtype == engine.float64


# -- erf -------------------------------------------------------------------------------------------
ERF_POINTS = [0.0, 1e-3, 0.3, -0.7, 0.999999, 1.0, -1.0, 1.000001, 1.5, -1.99, 2.0, 2.5, 3.7,
              -5.9, 5.999999, 6.0, -6.0, 6.5, 7.0, 30.0]


def test_erf_matches_math_erf_on_every_branch():
    a = np.array(ERF_POINTS)
    ours = engine.erf(engine.tensor(a, dtype=engine.float64)).numpy()
    np.testing.assert_allclose(ours, [math.erf(v) for v in a], rtol=0, atol=4e-15)
    np.testing.assert_allclose(ours, torch.erf(torch.tensor(a)).numpy(), rtol=0, atol=4e-15)


def test_erf_keeps_float32_and_gives_floats_for_integers():
    a = np.array([-1.5, -0.25, 0.5, 1.0, 2.0], dtype=np.float32)
    ours = engine.tensor(a).erf()
    assert ours.dtype == engine.float32
    _same(ours, torch.erf(torch.tensor(a)), rtol=1e-6, atol=1e-7)
    i = np.array([-2, -1, 0, 1, 3])
    ours = engine.erf(engine.tensor(i))
    assert np.dtype(ours.dtype).kind == "f"
    np.testing.assert_allclose(ours.numpy(), [math.erf(v) for v in i], rtol=0, atol=1e-7)


def test_erf_gradient_matches_torch():
    x, tx = _pair([-2.0, -0.5, 0.0, 0.8, 1.0, 3.0])
    x.erf().sum().backward()
    torch.erf(tx).sum().backward()
    _same(x.grad, tx.grad)


# -- pow's gradients -------------------------------------------------------------------------------
BASES = [-1.5, -0.5, 0.0, 0.5, 2.0]


def _torch_grad_or_zeros(out, inp, **kw):
    """torch.autograd.grad, but zeros where PyTorch's backward returns a constant (x ** 0)."""
    if not out.requires_grad:
        return (torch.zeros_like(inp),)
    return torch.autograd.grad(out, inp, allow_unused=True, **kw)


@pytest.mark.parametrize("b", [0, 1, 2, 3, 0.0, 2.5])
def test_pow_number_exponent_first_and_second_order_match_torch(b):
    bases = [v for v in BASES if isinstance(b, int) or v > 0]
    x, tx = _pair(bases)
    w = np.linspace(0.5, 1.5, len(bases))
    x2 = engine.tensor(np.array(bases), dtype=engine.float64, requires_grad=True)
    (x2 ** b * engine.tensor(w)).sum().backward()          # fast (ndarray) backward
    (g,) = engine.autograd.grad((x ** b * engine.tensor(w)).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad((tx ** b * torch.tensor(w)).sum(), tx, create_graph=True)
    _same(x2.grad, tg)
    _same(g, tg)
    (h,) = engine.autograd.grad((g * engine.tensor(w)).sum(), x, allow_unused=True)
    (th,) = _torch_grad_or_zeros((tg * torch.tensor(w)).sum(), tx)
    _same(torch.zeros_like(tx) if h is None else h, th)


@pytest.mark.parametrize("create_graph", [False, True])
def test_pow_tensor_exponent_with_zeros_matches_torch(create_graph):
    # bases ≥ 0 (PyTorch's d/db is nan below 0); b = 0 entries at x = 0 and x ≠ 0
    a = np.array([0.0, 0.0, 0.0, 0.25, 0.5, 2.0, 3.0, 0.7])
    e = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 1.5, 0.0, -1.0])
    x, tx = _pair(a)
    b, tb = _pair(e)
    w = np.linspace(0.5, 2.0, a.size)
    gx, gb = engine.autograd.grad((x ** b * engine.tensor(w)).sum(), (x, b), create_graph=create_graph)
    tgx, tgb = torch.autograd.grad((tx ** tb * torch.tensor(w)).sum(), (tx, tb), create_graph=True)
    _same(gx, tgx)
    _same(gb, tgb)
    if create_graph:                    # second order, where the function is smooth (x > 0)
        pos = torch.tensor(a > 0)
        hx, hb = engine.autograd.grad((gx * engine.tensor(w) + gb * engine.tensor(w[::-1].copy()))
                                      [engine.tensor(a > 0)].sum(), (x, b))
        thx, thb = torch.autograd.grad((tgx * torch.tensor(w) + tgb * torch.tensor(w[::-1].copy()))
                                       [pos].sum(), (tx, tb))
        _same(hx.numpy()[a > 0], thx[pos])     # (at x = 0 the second order is not defined)
        _same(hb.numpy()[a > 0], thb[pos])


@pytest.mark.parametrize("create_graph", [False, True])
def test_pow_exponent_gradient_at_nonpositive_bases_is_torchs(create_graph):
    # Pow's docstring, as PyTorch's pow_backward_exponent: d(aᵇ)/db = 0 where a = 0 and b ≥ 0,
    # NaN where a < 0 (no real derivative in b; it used to be a silent 0); d/da matches too
    a = np.array([-2.0, -0.5, -3.0, 0.0, 0.0, 2.0])
    e = np.array([2.0, 3.0, 1.0, 2.0, 0.0, 1.5])
    x, tx = _pair(a)
    b, tb = _pair(e)
    gx, gb = engine.autograd.grad((x ** b).sum(), (x, b), create_graph=create_graph)
    tgx, tgb = torch.autograd.grad((tx ** tb).sum(), (tx, tb))
    _same(gx, tgx)
    _same(gb, tgb)
    assert np.isnan(gb.numpy()[:3]).all() and (gb.numpy()[3:5] == 0).all()


def test_pow_backward_raises_no_numpy_warnings():
    # inf (0 ** -0.5), nan ((-1) ** -0.5) and overflow (1e200 ** 2) in the gradient are expected
    a = np.array([0.0, -1.0, 1e200, 4.0])
    e = np.array([0.5, 0.5, 3.0, 0.5])
    x, tx = _pair(a)
    with np.errstate(all="ignore"):
        y = (x ** engine.tensor(e)).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="warn", invalid="warn", over="warn"):
            y.backward()
    (tx ** torch.tensor(e)).sum().backward()
    _same(x.grad, tx.grad)


def test_pow_float32_gradient_stays_float32_with_zero_exponents():
    a = np.array([0.0, 1.5, 2.0, 0.5], dtype=np.float32)
    e = np.array([0.0, 2.0, 0.0, 3.0], dtype=np.float32)
    x = engine.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    (x ** engine.tensor(e)).sum().backward()
    (tx ** torch.tensor(e)).sum().backward()
    assert x.grad.dtype == engine.float32
    _same(x.grad, tx.grad, rtol=1e-6, atol=1e-7)
    (g,) = engine.autograd.grad((x ** engine.tensor(e)).sum(), x)   # no accumulation cast here
    assert g.dtype == engine.float32
    _same(g, tx.grad, rtol=1e-6, atol=1e-7)


# -- Tensor methods of surface_methods -------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"beta": 0.5}, {"alpha": -2.0}, {"beta": 3.0, "alpha": 0.25}])
def test_addmm_method_matches_torch(kwargs):
    rng = np.random.default_rng(3)
    c, m1, m2 = rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    ours = engine.tensor(c).addmm(engine.tensor(m1), engine.tensor(m2), **kwargs)
    ref = torch.tensor(c).addmm(torch.tensor(m1), torch.tensor(m2), **kwargs)
    _same(ours, ref)


@pytest.mark.parametrize("method", ["type_as", "reshape_as"])
def test_type_as_and_reshape_as_name_themselves_in_errors(method):
    with pytest.raises(TypeError):
        getattr(torch.ones(2), method)(3)
    with pytest.raises(TypeError) as e:
        getattr(engine.ones(2), method)(3)
    assert str(e.value) == f"{method}(): argument 'other' must be a Tensor, not int"


def test_type_as_and_reshape_as_work():
    x = engine.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert x.type_as(engine.tensor([1], dtype=engine.int32)).dtype == engine.int32
    assert x.reshape_as(engine.zeros(4, 1)).shape == (4, 1)


def test_format_of_one_element_1d_tensor_rejects_a_spec_like_torch():
    with pytest.raises(TypeError):
        format(torch.tensor([1.5]), ".2f")
    with pytest.raises(TypeError, match="only 0-d tensors take a format spec"):
        format(engine.tensor([1.5]), ".2f")
    assert format(engine.tensor(1.5), ".2f") == format(torch.tensor(1.5), ".2f") == "1.50"


@pytest.mark.parametrize("value", [0.0, -7.5])
def test_masked_fill_in_place_matches_torch(value):
    a = np.arange(6.0).reshape(2, 3)
    mask = np.array([[True, False, True], [False, False, True]])
    x, tx = engine.tensor(a.copy()), torch.tensor(a.copy())
    r = x.masked_fill_(engine.tensor(mask), value)
    tx.masked_fill_(torch.tensor(mask), value)
    assert r is x
    _same(x, tx)
