"""Mutation-testing guards for the reductions and softmax (engine/ops/reduction.py,
reduction_forms.py, softmax.py).

What this file pins down (each test kills mutants that the rest of the suite let survive):

* every reduction (``sum mean var std amax amin logsumexp max min argmax argmin``) as a function
  and as a method, over each kind of ``dim`` (None, int, negative, tuple) with ``keepdim``
  given, omitted, or spelled ``axis=``/``keepdims=``: values, shapes and gradients of a
  NON-uniform upstream gradient, compared with PyTorch in float64;
* second derivatives (``engine.grad(..., create_graph=True)``) of ``std var max(dim) amax
  logsumexp softmax log_softmax`` against ``torch.autograd.grad``, including constant slices of
  ``std`` (gradient 0, not NaN);
* the edge cases of var/std: constant slices (exactly 0, gradient 0), ``correction >= n`` and
  empty slices (NaN as PyTorch, and no NumPy warning), integer input (a float result, never
  truncated);
* ``max``/``min``: ties share the gradient, NaN extremes pass it to the NaN elements, ``other=``
  is ``maximum``/``minimum``, the 0-d form, ``MaxResult``, the empty-tensor error, and the
  saved indices guarded against in-place edits (as PyTorch);
* float32 inputs get float32 gradients; ``sum(dtype=)``; the ``softmax``/``log_softmax`` error
  for a missing ``dim``.
"""
import warnings

import numpy as np
import pytest
import torch

import engine

RNG = np.random.default_rng(1234)
X3 = RNG.standard_normal((3, 4, 5))          # distinct values: no ties unless a test makes them
DIMS = [None, 0, 1, -1, (0, 2)]


def pair(a, requires_grad=True):
    a = np.array(a)
    return (engine.tensor(a.copy(), requires_grad=requires_grad),
            torch.tensor(a.copy(), requires_grad=requires_grad))


def close(e, t, rtol=1e-10, atol=1e-12):
    t = t.detach().numpy()
    e = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    assert e.shape == t.shape
    assert e.dtype == t.dtype
    np.testing.assert_allclose(e, t, rtol=rtol, atol=atol, equal_nan=True)


def tdim(dim, ndim):
    return tuple(range(ndim)) if dim is None else dim


def call(lib, form, op, x, *args, **kwargs):
    return getattr(x, op)(*args, **kwargs) if form == "method" else getattr(lib, op)(x, *args, **kwargs)


def check_grad(e_out, t_out, ex, tx, seed=0):
    g = np.random.default_rng(seed).standard_normal(t_out.shape)
    e_out.backward(engine.tensor(g))
    t_out.backward(torch.tensor(g))
    close(ex.grad, tx.grad)


# -- the reductions over dims ---------------------------------------------------------------------
@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("keepdim", [False, True, "omitted"])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp"])
def test_reduction_values_and_gradient_match_torch(op, dim, keepdim, form):
    ex, tx = pair(X3)
    kw = {} if keepdim == "omitted" else {"keepdim": keepdim}
    e_out = call(engine, form, op, ex, dim, **kw)
    t_out = call(torch, form, op, tx, tdim(dim, 3), **kw)
    close(e_out, t_out)
    check_grad(e_out, t_out, ex, tx)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "logsumexp"])
def test_numpy_aliases_axis_keepdims(op, keepdim):
    ex, tx = pair(X3)
    for form in ("function", "method"):
        e_out = call(engine, form, op, ex, axis=(1, 2), keepdims=keepdim)
        close(e_out, call(torch, form, op, tx, (1, 2), keepdim=keepdim))
        close(call(engine, form, op, ex, 1, keepdims=keepdim), call(torch, form, op, tx, 1, keepdim=keepdim))


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp"])
def test_zero_dim_tensor_reduces_over_nothing(op):
    ex, tx = pair(np.float64(1.5))
    for dim in (0, -1):
        e_out, t_out = getattr(engine, op)(ex, dim), getattr(torch, op)(tx, dim)
        close(e_out, t_out)
        if op not in ("var", "std"):     # var/std of one element: NaN gradients on both sides
            ex.grad = tx.grad = None
            check_grad(e_out, t_out, ex, tx)


def test_sum_dtype_argument():
    a = np.arange(12).reshape(3, 4)
    e = engine.sum(engine.tensor(a), 1, dtype=engine.float64)
    close(e, torch.sum(torch.tensor(a), 1, dtype=torch.float64))
    ex, tx = pair(X3.astype(np.float32))
    e_out, t_out = ex.sum(dtype=engine.float64), tx.sum(dtype=torch.float64)
    close(e_out, t_out, rtol=1e-6)
    check_grad(e_out, t_out, ex, tx)


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp",
                                "max", "min", "softmax", "log_softmax"])
def test_float32_input_gets_float32_gradient(op):
    ex, tx = pair(X3.astype(np.float32))
    e_out, t_out = getattr(engine, op)(ex, 1), getattr(torch, op)(tx, 1)
    if op in ("max", "min"):
        e_out, t_out = e_out[0], t_out[0]
    close(e_out, t_out, rtol=1e-5, atol=1e-6)
    g = RNG.standard_normal(t_out.shape).astype(np.float32)
    e_out.backward(engine.tensor(g))
    t_out.backward(torch.tensor(g))
    close(ex.grad, tx.grad, rtol=1e-5, atol=1e-6)


# -- var / std edge cases ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"unbiased": True}, {"unbiased": False}, {"correction": 0},
                                {"correction": 2}])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_correction_forms(op, kw):
    ex, tx = pair(X3)
    e_out, t_out = getattr(engine, op)(ex, 1, **kw), getattr(torch, op)(tx, 1, **kw)
    close(e_out, t_out)
    check_grad(e_out, t_out, ex, tx)


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_keyword_keepdim_defaults_like_torch(op):
    ex, tx = pair(X3)
    close(getattr(ex, op)(dim=2), getattr(tx, op)(dim=2))
    close(getattr(engine, op)(ex, 2, True), getattr(torch, op)(tx, 2, True))     # positional unbiased
    close(getattr(engine, op)(ex, 2, False, True), getattr(torch, op)(tx, 2, False, True))


@pytest.mark.parametrize("dim", [1, (1, 2)])
def test_std_of_constant_slices_is_zero_with_zero_gradient(dim):
    # rows of one repeated value next to rows of large, very different values: a mean taken over
    # the wrong axis (or corrected over the wrong axis) leaves an ulp in the constant rows.
    a = RNG.standard_normal((6, 3, 3)) * 1e3
    for k, v in enumerate([0.1, 1 / 3, 7.7, -2.2, 1e-3]):
        a[k] = v
    ex, tx = pair(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no 0/0 warning from the masked-out slices
        e_out, t_out = engine.std(ex, dim), torch.std(tx, dim)
        assert np.all(e_out.detach().numpy()[:5] == 0)
        close(e_out, t_out, rtol=1e-9)
        check_grad(e_out, t_out, ex, tx)
    assert np.all(ex.grad.numpy()[:5] == 0)


@pytest.mark.parametrize("correction", [0, 1])
def test_std_first_derivative_with_create_graph_over_constant_slices(correction):
    # the recorded (double-backward) form of std's backward: 0 on constant slices, and a slice
    # whose std is exactly 1 ([0, 1, 2] unbiased) is an ordinary slice
    a = np.array([[0.0, 1.0, 2.0], [0.3, 0.3, 0.3], [4.0, -1.0, 2.5], [-7.0, -7.0, -7.0]])
    ex, tx = pair(a)
    w = np.array([1.0, -2.0, 0.5, 3.0])
    (eg,) = engine.grad((engine.std(ex, 1, correction=correction) * engine.tensor(w)).sum(), ex,
                        create_graph=True)
    (tg,) = torch.autograd.grad((torch.std(tx, 1, correction=correction) * torch.tensor(w)).sum(),
                                tx, create_graph=True)
    close(eg, tg)
    assert np.all(eg.detach().numpy()[[1, 3]] == 0)


def test_var_std_with_correction_at_least_n_are_nan_without_warnings():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    for op in ("var", "std"):
        for correction in (3,):   # (above n PyTorch's backward divides by n - correction < 0)
            ex, tx = pair(a)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                e_out = getattr(engine, op)(ex, 1, correction=correction)
                g = np.array([1.0, 2.0])
                e_out.backward(engine.tensor(g))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_out = getattr(torch, op)(tx, 1, correction=correction)
                t_out.backward(torch.tensor(g))
            close(e_out, t_out)
            close(ex.grad, tx.grad)


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_of_empty_slices_are_nan_like_torch(op):
    ex, tx = pair(np.zeros((0, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e_out = getattr(engine, op)(ex, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = getattr(torch, op)(tx, 0)
    close(e_out, t_out)


@pytest.mark.parametrize("dim", [None, 0])
def test_var_of_integers_is_not_truncated(dim):
    # PyTorch refuses integer var/std; the library, like its mean and std, gives a float result
    # (NumPy's ddof=1 variance). It used to cast the variance back to int64 (7/3 -> 2).
    a = np.array([1, 2, 4])
    out = engine.var(engine.tensor(a), dim)
    np.testing.assert_allclose(out.numpy(), np.var(a, ddof=1), rtol=1e-15)
    assert out.dtype == engine.std(engine.tensor(a), dim).dtype == engine.float64
    np.testing.assert_allclose(engine.std(engine.tensor(a), dim).numpy() ** 2, np.var(a, ddof=1))


# -- max / min ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("keepdim", [False, True, "omitted", "keepdims"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_along_dim_match_torch(op, dim, keepdim, form):
    ex, tx = pair(X3)
    if keepdim == "keepdims":
        e_res = call(engine, form, op, ex, axis=dim, keepdims=True)
        t_res = call(torch, form, op, tx, dim, keepdim=True)
    else:
        kw = {} if keepdim == "omitted" else {"keepdim": keepdim}
        e_res, t_res = call(engine, form, op, ex, dim, **kw), call(torch, form, op, tx, dim, **kw)
    close(e_res.values, t_res.values)
    close(e_res.indices, t_res.indices)
    assert e_res[0] is e_res.values and e_res[1] is e_res.indices
    check_grad(e_res.values, t_res.values, ex, tx)


@pytest.mark.parametrize("keepdim", [False, True, "omitted"])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_over_a_tuple_of_dims_is_amax_amin(op, keepdim):
    ex, tx = pair(X3)
    kw = {} if keepdim == "omitted" else {"keepdim": keepdim}
    for dim in ((0, 2), (1,), (-1, 0)):
        ex.grad = tx.grad = None
        e_out = getattr(engine, op)(ex, dim, **kw)
        t_out = getattr(torch, "a" + op)(tx, dim, **kw)
        close(e_out, t_out)
        check_grad(e_out, t_out, ex, tx)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_max_min_without_dim_share_the_gradient_among_ties(op):
    a = np.array([[1.0, 5.0, 5.0], [-3.0, -3.0, 0.0]])
    ex, tx = pair(a)
    e_out, t_out = getattr(engine, op)(ex), getattr(torch, op)(tx)
    close(e_out, t_out)
    check_grad(e_out, t_out, ex, tx)
    ex2 = engine.tensor(a, requires_grad=True)
    e2 = ex2.max(axis=None, keepdims=True) if op == "max" else getattr(ex2, op)()
    assert e2.shape == ()


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_nan_extreme_in_one_row_keeps_the_other_rows_gradient(op):
    # A NaN extreme passes its gradient evenly to the NaN elements, as torch's max() without dim
    # (torch.amax(dim=) itself gives the whole row a NaN gradient); the other rows are untouched.
    a = np.array([[1.0, np.nan, np.nan, 2.0], [3.0, 7.0, 7.0, -1.0], [0.5, 0.25, -4.0, 9.0]])
    ex, tx = pair(a)
    e_out, t_out = getattr(engine, op)(ex, 1), getattr(torch, op)(tx, 1)
    close(e_out, t_out)
    g = np.random.default_rng(0).standard_normal(3)
    e_out.backward(engine.tensor(g))
    t_out.backward(torch.tensor(g))
    close(ex.grad[1:], tx.grad[1:])
    t_row = torch.tensor(a[0], requires_grad=True)
    g0 = np.random.default_rng(0).standard_normal(3)[0]
    (t_row.max() if op == "amax" else t_row.min()).backward(torch.tensor(g0))
    close(ex.grad[0], t_row.grad)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_of_a_zero_dim_tensor_along_dim(op, keepdim):
    ex, tx = pair(np.float64(-2.5))
    e_res, t_res = getattr(ex, op)(0, keepdim), getattr(tx, op)(0, keepdim)
    close(e_res.values, t_res.values)
    close(e_res.indices, t_res.indices)
    check_grad(e_res.values, t_res.values, ex, tx)


@pytest.mark.parametrize("op, ref", [("max", "maximum"), ("min", "minimum")])
def test_max_min_with_other_are_elementwise(op, ref):
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4,))
    ex, tx = pair(a)
    ey, ty = pair(b)
    for form in ("function", "method"):
        ex.grad = tx.grad = ey.grad = ty.grad = None
        e_out = call(engine, form, op, ex, other=ey)
        t_out = getattr(torch, ref)(tx, ty)
        close(e_out, t_out)
        check_grad(e_out, t_out, ex, tx)
        close(ey.grad, ty.grad)


def test_max_min_of_an_empty_tensor_raise():
    x = engine.zeros(0, 3)
    for op in ("max", "min"):
        with pytest.raises(RuntimeError) as e:
            getattr(x, op)()
        assert str(e.value) == "max()/min() of an empty tensor has no identity"
        with pytest.raises(RuntimeError):
            getattr(torch.zeros(0, 3), op)()


def test_max_result_repr_and_fields():
    x = engine.tensor([[1.0, 3.0, 2.0], [0.0, -1.0, 4.0]])
    res = x.max(dim=1)
    assert isinstance(res, tuple) and len(res) == 2
    assert repr(res) == f"(values={res.values!r}, indices={res.indices!r})"
    assert repr(res) != f"(values={res.indices!r}, indices={res.indices!r})"
    v, i = res
    assert v is res.values and i is res.indices


def test_saved_indices_of_max_dim_are_guarded_against_inplace_edits():
    ex, tx = pair(X3)
    ev, ei = ex.max(dim=1, keepdim=True)
    tv, ti = tx.max(dim=1, keepdim=True)
    ti.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tv.sum().backward()
    ei.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ev.sum().backward()


# -- argmax / argmin ----------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(op, form):
    ex, tx = pair(X3, requires_grad=False)
    close(call(engine, form, op, ex), call(torch, form, op, tx))
    for dim in (0, 1, -1):
        close(call(engine, form, op, ex, dim), call(torch, form, op, tx, dim))
        for keepdim in (False, True):
            t = call(torch, form, op, tx, dim, keepdim=keepdim)
            close(call(engine, form, op, ex, dim, keepdim), t)
            close(call(engine, form, op, ex, axis=dim, keepdims=keepdim), t)


# -- second derivatives ------------------------------------------------------------------------------
def _double(fe, ft, a, seed=3, square=False):
    """∂/∂x of Σ v·(∂ Σ w·f(x) / ∂x)²: exercises each backward run as a recorded op (f(x)² in
    place of f(x) when the first derivative of f does not depend on x)."""
    r = np.random.default_rng(seed)
    ex, tx = pair(a)
    e_out, t_out = fe(ex), ft(tx)
    if square:
        e_out, t_out = e_out * e_out, t_out * t_out
    w = r.standard_normal(t_out.shape)
    v = r.standard_normal(a.shape)
    (eg,) = engine.grad((e_out * engine.tensor(w)).sum(), ex, create_graph=True)
    (tg,) = torch.autograd.grad((t_out * torch.tensor(w)).sum(), tx, create_graph=True)
    close(eg, tg)
    (eh,) = engine.grad((eg * eg * engine.tensor(v)).sum(), ex)
    (th,) = torch.autograd.grad((tg * tg * torch.tensor(v)).sum(), tx)
    close(eh, th, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
@pytest.mark.parametrize("op", ["std", "var", "amax", "logsumexp"])
def test_second_derivative_matches_torch(op, dim, keepdim):
    _double(lambda x: getattr(engine, op)(x, dim, keepdim=keepdim),
            lambda x: getattr(torch, op)(x, tdim(dim, 3), keepdim=keepdim), X3, square=op == "amax")


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_second_derivative_of_std_with_constant_slices(correction):
    a = RNG.standard_normal((4, 3)) * 10
    a[1] = 0.3
    a[3] = -7.0
    _double(lambda x: engine.std(x, 1, correction=correction),
            lambda x: torch.std(x, 1, correction=correction), a)


def test_second_derivative_of_std_with_correction_n_is_nan_like_torch():
    a = np.array([[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _double(lambda x: engine.std(x, 1, correction=3), lambda x: torch.std(x, 1, correction=3), a)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["max", "min"])
def test_second_derivative_of_max_min_along_dim(op, dim, keepdim):
    _double(lambda x: getattr(x, op)(dim, keepdim).values,
            lambda x: getattr(x, op)(dim, keepdim).values, X3, square=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_second_derivative_of_softmax(op, dim):
    _double(lambda x: getattr(engine, op)(x, dim), lambda x: getattr(torch, op)(x, dim), X3)


# -- softmax / log_softmax ---------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_values_and_gradient_match_torch(op, dim):
    for form in ("function", "method", "axis"):
        ex, tx = pair(X3)
        if form == "axis":
            e_out = getattr(engine, op)(ex, axis=dim)
        else:
            e_out = call(engine, form, op, ex, dim)
        t_out = getattr(torch, op)(tx, dim)
        close(e_out, t_out)
        check_grad(e_out, t_out, ex, tx)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_without_dim_names_itself(op):
    with pytest.raises(TypeError) as e:
        getattr(engine, op)(engine.tensor(X3))
    assert str(e.value) == f"{op}() needs dim= (PyTorch's implicit dim is deprecated)"


@pytest.mark.parametrize("a", [
    [[0.039512206018200824] * 3, [-12.083186322821716, -0.044541331200832285, 6.564749350763358]],
    [[58.11181041963531] * 3, [-0.01303157231604361, 0.009053558666731177, 0.004463745723640113]]])
def test_std_of_a_constant_row_next_to_a_spread_row_is_exactly_zero(a):
    # the centring of a constant row must use that row's own mean and its own correction: over the
    # whole tensor, either leaves an ulp (-2.2e-16, resp. 2.9e-19, from the other row's rounding)
    # in the constant row, hence a tiny std and a gradient of ~0.58 instead of 0.
    ex, tx = pair(a)
    e_out, t_out = engine.std(ex, 1), torch.std(tx, 1)
    assert e_out.detach().numpy()[0] == 0 == t_out.detach().numpy()[0]
    close(e_out, t_out)
    check_grad(e_out, t_out, ex, tx)
    assert np.all(ex.grad.numpy()[0] == 0)
