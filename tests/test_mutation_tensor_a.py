"""Mutation-testing guards for engine/tensor.py (first half of the Tensor dunder surface).

What this file pins down, each compared with PyTorch where PyTorch has the feature:

* unary/bitwise operators ``abs``, ``~``, ``&``, ``|``; ``bool()``, ``float()``, ``hash``,
  ``len``/``iter`` (0-d errors and their messages), ``@`` with a list on the left, ``__array__``
  with a dtype, ``__setitem__``, ``Tensor(..., dtype=)``;
* the augmented assignments ``+= -= *= /=`` (in place without grad, recorded with grad);
* ``repr`` (body, dtype suffix, grad_fn / requires_grad suffixes);
* ``copy.deepcopy`` (memo, error message for non-leaves);
* leaf gradient accumulation: hooks, create_graph accumulation, dtype casts, no aliasing between
  leaves' ``.grad``, writable grads, in-place accumulation keeps the grad object;
* in-place broadcasting checks (``x.add_(y)`` with ``y`` broadcastable).
"""
import copy

import numpy as np
import pytest
import torch

import engine
from engine import Tensor


def T(a, **kw):
    return Tensor(np.array(a, dtype=np.float32), **kw)


def tt(a, **kw):
    return torch.tensor(np.array(a, dtype=np.float32), **kw)


def close(e, t):
    np.testing.assert_allclose(np.asarray(e._data if isinstance(e, Tensor) else e),
                               t.detach().numpy(), rtol=1e-6, atol=1e-6)


# -- operators ------------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [[-1.5, 0.0, 2.0], -3.0, [[1.0, -2.0], [-3.0, 4.0]]])
def test_abs_value_and_grad(a):
    x, y = T(a, requires_grad=True), tt(a, requires_grad=True)
    ex, ty = abs(x), abs(y)
    close(ex, ty)
    (ex * 2).sum().backward()
    (ty * 2).sum().backward()
    close(x.grad, y.grad)


@pytest.mark.parametrize("dt", [np.bool_, np.int64, np.int32])
def test_bitwise_ops_match_torch(dt):
    a = np.array([0, 1, 1, 0, 3][: 4 if dt is np.bool_ else 5]).astype(dt)
    b = np.array([1, 1, 0, 0, 5][: 4 if dt is np.bool_ else 5]).astype(dt)
    ea, eb, ta, tb = Tensor(a), Tensor(b), torch.from_numpy(a), torch.from_numpy(b)
    np.testing.assert_array_equal((ea & eb)._data, (ta & tb).numpy())
    np.testing.assert_array_equal((ea | eb)._data, (ta | tb).numpy())
    np.testing.assert_array_equal((~ea)._data, (~ta).numpy())


def test_bool_float_hash():
    for v in [[1.0], 0.0, 2.5, [[0.0]]]:
        assert bool(T(v)) == bool(tt(v))
    for v in [[1.0, 2.0], []]:
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(tt(v))
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(T(v))
    assert float(T([2.5])) == float(tt([2.5]))
    a, b = T([1.0]), T([1.0])
    assert hash(a) == id(a) and hash(a) != hash(b)
    assert len({a, b}) == 2


def test_len_iter_and_0d_errors_match_torch():
    for v in [[1.0, 2.0, 3.0], [[1.0, 2.0]], [5.0]]:
        assert len(T(v)) == len(tt(v))
        assert [float(e) for e in T(v).reshape(-1)] == [float(e) for e in tt(v).reshape(-1)]
        assert len(list(iter(T(v)))) == len(list(iter(tt(v))))
    for f in (len, iter):
        with pytest.raises(TypeError) as te:
            f(tt(1.0))
        with pytest.raises(TypeError) as ee:
            f(T(1.0))
        assert str(ee.value) == str(te.value)


def test_rmatmul_order():
    a = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = Tensor(b.copy(), requires_grad=True)
    out = x.__rmatmul__(Tensor(np.array(a, np.float32)))
    np.testing.assert_allclose(out._data, np.array(a, np.float32) @ b)
    out.sum().backward()
    y = torch.tensor(b, requires_grad=True)
    (torch.tensor(a) @ y).sum().backward()
    close(x.grad, y.grad)


@pytest.mark.parametrize("dt", [np.float16, np.int32, np.float64])
def test_array_with_dtype(dt):
    x, y = T([1.5, 2.0]), tt([1.5, 2.0])
    assert x.__array__(dt).dtype == y.__array__(dt).dtype == np.dtype(dt)
    assert x.__array__().dtype == np.float32


def test_numpy_ufunc_methods_other_than_call_are_refused():
    with pytest.raises(TypeError):
        np.add.reduce(T([1.0, 2.0]))


def test_setitem_matches_torch():
    x, y = T([[1.0, 2.0], [3.0, 4.0]]), tt([[1.0, 2.0], [3.0, 4.0]])
    x[1] = 7.0
    y[1] = 7.0
    x[0, 1] = T(9.0)
    y[0, 1] = tt(9.0)
    close(x, y)


def test_constructor_dtype():
    for dt, tdt in [(engine.float64, torch.float64), (engine.int32, torch.int32)]:
        assert str(Tensor([1, 2], dtype=dt).dtype).split(".")[-1] == str(
            torch.tensor([1, 2], dtype=tdt).dtype).split(".")[-1]


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
def test_augmented_assignment(op):
    a, b = [1.0, 2.0, 4.0], [2.0, 4.0, 8.0]
    x, y = T(a), tt(a)
    x0 = x
    x = getattr(x, op)(T(b))
    y = getattr(y, op)(tt(b))
    assert x is x0
    close(x, y)
    x = getattr(x, op)(3.0)
    y = getattr(y, op)(3.0)
    close(x, y)
    # recorded when the tensor requires grad
    lx, ly = T(a, requires_grad=True), tt(a, requires_grad=True)
    wx, wy = T(b, requires_grad=True), tt(b, requires_grad=True)
    ex, ty = lx * 1.0, ly * 1.0
    ex = getattr(ex, op)(wx)
    ty = getattr(ty, op)(wy)
    close(ex, ty)
    ex.sum().backward()
    ty.sum().backward()
    close(lx.grad, ly.grad)
    close(wx.grad, wy.grad)


def test_inplace_broadcast_arg():
    x, y = T(np.ones((3, 4))), tt(np.ones((3, 4)))
    x.add_(T(np.arange(4.0).reshape(1, 4)))
    y.add_(tt(np.arange(4.0).reshape(1, 4)))
    x.mul_(T(np.arange(3.0).reshape(3, 1)))
    y.mul_(tt(np.arange(3.0).reshape(3, 1)))
    close(x, y)
    with pytest.raises(RuntimeError):
        y.add_(tt(np.ones((2, 4))))
    with pytest.raises(RuntimeError):
        x.add_(T(np.ones((2, 4))))


# -- repr -----------------------------------------------------------------------------------------
def _norm(s):
    return s.replace("torch.", "")


@pytest.mark.parametrize("a, dt", [([1.0, 2.0], np.float32), ([1.23456], np.float32),
                                   (np.arange(6.0).reshape(2, 3), np.float32),
                                   ([1.0, 2.0], np.float64), ([1, 2], np.int32), ([1, 2], np.int64),
                                   ([True, False], np.bool_), (3.0, np.float32)])
def test_repr_matches_torch(a, dt):
    arr = np.array(a, dtype=dt)
    assert _norm(repr(Tensor(arr.copy()))) == _norm(repr(torch.from_numpy(arr.copy())))


def test_repr_grad_suffixes():
    for dt in (np.float32, np.float64):
        x = Tensor(np.array([1.0, 2.0], dtype=dt), requires_grad=True)
        y = torch.tensor(np.array([1.0, 2.0], dtype=dt), requires_grad=True)
        assert _norm(repr(x)) == _norm(repr(y))
        ex, ty = x * 2, y * 2
        expect = _norm(repr(ty)).split(", grad_fn")[0] + f", grad_fn=<{ex.grad_fn.name()}>)"
        assert repr(ex) == expect


# -- deepcopy -------------------------------------------------------------------------------------
def test_deepcopy_memo_and_nonleaf_message():
    x = T([1.0, 2.0], requires_grad=True)
    a, b = copy.deepcopy([x, x])
    assert a is b and a is not x
    close(a, tt([1.0, 2.0]))
    with pytest.raises(RuntimeError) as te:
        copy.deepcopy(tt([1.0], requires_grad=True) * 2)
    with pytest.raises(RuntimeError) as ee:
        copy.deepcopy(x * 2)
    prefix = "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol"
    assert str(te.value).startswith(prefix) and str(ee.value).startswith(prefix)
    assert str(ee.value) == prefix + "; call .detach() first"


# -- leaf gradient accumulation -------------------------------------------------------------------
def test_leaf_hooks_change_the_gradient():
    x, y = T([1.0, 2.0], requires_grad=True), tt([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 3)
    y.register_hook(lambda g: g * 3)
    (x * x).sum().backward()
    (y * y).sum().backward()
    close(x.grad, y.grad)


def test_leaf_hook_with_create_graph_keeps_graph():
    x, y = T([1.0, 2.0], requires_grad=True), tt([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 2)
    y.register_hook(lambda g: g * 2)
    (x * x * x).sum().backward(create_graph=True)
    (y * y * y).sum().backward(create_graph=True)
    close(x.grad, y.grad)
    assert x.grad.requires_grad == y.grad.requires_grad
    gx, gy = x.grad, y.grad
    x.grad, y.grad = None, None
    gx.sum().backward()
    gy.sum().backward()
    close(x.grad, y.grad)


def test_create_graph_accumulates_twice():
    x, y = T([1.0, 2.0], requires_grad=True), tt([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        (x * x * x).sum().backward(create_graph=True)
        (y * y * y).sum().backward(create_graph=True)
    close(x.grad, y.grad)


def test_gradient_cast_to_leaf_dtype():
    x, y = T([1.0, 2.0], requires_grad=True), tt([1.0, 2.0], requires_grad=True)
    x.backward(Tensor(np.array([0.5, 1.5])))
    y.backward(torch.tensor([0.5, 1.5], dtype=torch.float64))
    assert x.grad._data.dtype == np.float32 and y.grad.dtype == torch.float32
    close(x.grad, y.grad)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (2, 1), (3,)])
def test_broadcast_shapes_leaf_grads(shape):
    a = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape).astype(np.float32)
    x, y = Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    o = np.ones((2, 3), np.float32)
    for _ in range(2):
        (x * Tensor(o)).sum().backward()
        (y * torch.tensor(o)).sum().backward()
        (x.expand(2, 3) if len(shape) else x.expand(2, 3)).sum().backward()
        (y.expand(2, 3)).sum().backward()
        x.sum().backward()
        y.sum().backward()
    assert x.grad.shape == tuple(y.grad.shape)
    close(x.grad, y.grad)


def test_leaf_grads_do_not_alias():
    w = np.array([1.0, 2.0, 3.0], np.float32)
    a, b = T([1.0, 1.0, 1.0], requires_grad=True), T([2.0, 2.0, 2.0], requires_grad=True)
    ta, tb = tt([1.0, 1.0, 1.0], requires_grad=True), tt([2.0, 2.0, 2.0], requires_grad=True)
    for _ in range(2):
        ((a + b) * Tensor(w)).sum().backward()
        ((ta + tb) * torch.tensor(w)).sum().backward()
        close(a.grad, ta.grad)
        close(b.grad, tb.grad)
    a.grad.mul_(2.0)
    ta.grad.mul_(2.0)
    close(b.grad, tb.grad)
    close(a.grad, ta.grad)


def test_leaf_grads_from_shared_views_do_not_alias():
    w = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    x, z = T(np.ones((2, 3)), requires_grad=True), T(np.ones((2, 3)), requires_grad=True)
    tx, tz = tt(np.ones((2, 3)), requires_grad=True), tt(np.ones((2, 3)), requires_grad=True)
    ((x.t() + z.t()) * Tensor(w)).sum().backward()
    ((tx.t() + tz.t()) * torch.tensor(w)).sum().backward()
    x.grad.mul_(2.0)
    tx.grad.mul_(2.0)
    close(x.grad, tx.grad)
    close(z.grad, tz.grad)


def test_leaf_grad_is_writable_and_kept_on_accumulation():
    x, y = T([1.0, 2.0], requires_grad=True), tt([1.0, 2.0], requires_grad=True)
    x.sum().backward()
    y.sum().backward()
    x.grad.add_(1.0)
    y.grad.add_(1.0)
    close(x.grad, y.grad)
    gx, gy = x.grad, y.grad
    (x * 3).sum().backward()
    (y * 3).sum().backward()
    assert (x.grad is gx) == (y.grad is gy) == True
    close(x.grad, y.grad)


def test_accumulation_into_readonly_user_grad_makes_a_new_array():
    x = T([1.0, 2.0], requires_grad=True)
    arr = np.array([10.0, 20.0], np.float32)
    arr.flags.writeable = False
    x.grad = Tensor(arr)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(arr, [10.0, 20.0])
    np.testing.assert_allclose(x.grad._data, [12.0, 22.0])
