"""Mutation-testing guards for Tensor's in-place methods, graph controls and leaf accumulation.

What this file pins down (compared with PyTorch wherever PyTorch has the feature):

* in-place arithmetic (``add_``/``sub_``/``mul_``/``div_``, ``alpha``, dtype-category rules,
  cross-kind integer casts), ``clamp_``, ``copy_``, ``fill_``, ``zero_`` and the errors (each
  names the method and the argument), the version counter they bump;
* ``x op= y`` (in place, or rebinding while recording, or the leaf error);
* ``uniform_`` / ``normal_`` defaults and per-element sampling;
* ``requires_grad_``, ``detach`` (shared version counter), ``detach_``, ``clone``, ``astype``,
  ``float``, ``item`` errors;
* ``backward(gradient=...)`` seeding (lists, a gradient that itself requires grad) and leaf
  ``.grad`` accumulation (hooks on leaves, accumulation into a ``.grad`` that is a view,
  ``create_graph``), anomaly mode on integer outputs.
"""
import numpy as np
import pytest
import torch

import engine
from engine import Tensor


def E(a, dtype=None, rg=False):
    return Tensor(np.array(a, dtype=dtype), requires_grad=rg)


def T(a, dtype=None, rg=False):
    return torch.tensor(np.array(a, dtype=dtype), requires_grad=rg)


def same(e, t):
    e = e._data if isinstance(e, Tensor) else np.asarray(e)
    t = t.detach().numpy()
    assert e.shape == t.shape and e.dtype == t.dtype, (e, t)
    np.testing.assert_allclose(e, t, rtol=1e-6)


# -- in-place arithmetic ---------------------------------------------------------------------
@pytest.mark.parametrize("op, a, b, kw", [
    ("add_", [1.0, 2.0], [3.0, 4.0], {}), ("add_", [1.0, 2.0], [3.0, 4.0], {"alpha": 2}),
    ("sub_", [1.0, 2.0], [3.0, 4.0], {"alpha": 3}), ("sub_", [1, 2], [3, 4], {}),
    ("mul_", [1.0, 2.0], [3.0, 4.0], {}), ("div_", [1.0, 2.0], [3.0, 4.0], {}),
    ("add_", [True, False], [True, True], {}), ("mul_", [True, False], [True, True], {}),
    ("add_", [1.0, 2.0], [True, False], {}),
    ("add_", [250, 3], [10, -5], {}),          # uint8 += int8: int16 result cast back
    ("sub_", [250, 3], [10, -5], {"alpha": 2}),
    ("add_", [1, 2], [5, 6], {"alpha": 2}),
])
def test_arith_inplace_matches_torch(op, a, b, kw):
    da, db = (np.uint8, np.int8) if a == [250, 3] else (None, None)
    x, tx = E(a, da), T(a, da)
    r = getattr(x, op)(E(b, db), **kw)
    getattr(tx, op)(T(b, db), **kw)
    assert r is x
    same(x, tx)


@pytest.mark.parametrize("a, b, kw, op", [
    ([1, 2], [1, 1], {"alpha": 2.5}, "add_"),     # float alpha into int
    ([1, 2], [0.5, 0.5], {"alpha": 2}, "add_"),   # float other into int
    ([1, 2], [0.5, 0.5], {}, "mul_"),
    ([1, 2], [2, 2], {}, "div_"),                 # true division into int
])
def test_arith_inplace_category_errors_like_torch(a, b, kw, op):
    with pytest.raises(RuntimeError):
        getattr(T(a), op)(T(b), **kw)
    with pytest.raises(RuntimeError, match=rf"^{op}: result type "):
        getattr(E(a), op)(E(b), **kw)


@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
def test_arith_inplace_broadcast_error_names_op_and_arg(op):
    with pytest.raises(RuntimeError):
        getattr(torch.ones(2), op)(torch.ones(3))
    with pytest.raises(RuntimeError) as e:
        getattr(E([1.0, 2.0]), op)(E([1.0, 2.0, 3.0]))
    assert str(e.value) == f"{op}: other of shape (3,) does not broadcast to the tensor's shape (2,)"


def test_version_counter_counts_every_inplace_edit():
    x, tx = E([1.0, 2.0]), T([1.0, 2.0])
    for t in (x, tx):
        t.add_(1)
        t.mul_(2)
        t.zero_()
    assert x._version == tx._version == 3
    same(x, tx)


def test_inplace_errors_on_graph_tensors():
    x = E([1.0, 2.0], rg=True)
    with pytest.raises(RuntimeError) as e:
        x.add_(1)
    assert str(e.value) == ("a leaf Variable that requires grad is being used in an in-place "
                            "operation; wrap it in `with engine.no_grad():`")
    y = x * 2
    with pytest.raises(RuntimeError) as e:
        y.add_(1)
    assert str(e.value) == (f"in-place operation on a tensor produced by {y.grad_fn.name()} "
                            f"is not supported; use the out-of-place op")


# -- clamp_ / copy_ / fill_ / zero_ ------------------------------------------------------------
def test_clamp_inplace_matches_torch():
    a = [250, 3, 100]
    x, tx = E(a, np.uint8), T(a, np.uint8)
    x.clamp_(min=E([10, 10, 10], np.int8), max=E([200, 200, 200], np.uint8))
    tx.clamp_(min=T([10, 10, 10], np.int8), max=T([200, 200, 200], np.uint8))
    same(x, tx)
    f, tf = E([-1.0, 0.5, 3.0]), T([-1.0, 0.5, 3.0])
    f.clamp_(max=1.0)
    tf.clamp_(max=1.0)
    same(f, tf)


@pytest.mark.parametrize("which", ["min", "max"])
def test_clamp_inplace_bound_shape_error(which):
    with pytest.raises(RuntimeError):
        torch.ones(2).clamp_(**{which: torch.ones(3)})
    with pytest.raises(RuntimeError) as e:
        E([1.0, 2.0]).clamp_(**{which: E([1.0, 2.0, 3.0])})
    assert str(e.value) == f"clamp_: {which} of shape (3,) does not broadcast to the tensor's shape (2,)"


def test_clamp_inplace_needs_a_bound():
    with pytest.raises(RuntimeError):
        torch.ones(2).clamp_()
    with pytest.raises(RuntimeError) as e:
        E([1.0]).clamp_()
    assert str(e.value) == "clamp_: at least one of 'min' or 'max' must not be None"


def test_copy_inplace_casts_like_torch_and_checks_shape():
    x, tx = E([0, 0], np.int32), T([0, 0], np.int32)
    x.copy_(E([1.7, -2.7]))
    tx.copy_(T([1.7, -2.7]))
    same(x, tx)
    u, tu = E([0, 0], np.uint8), T([0, 0], np.uint8)
    u.copy_(E([5, 7], np.int8))
    tu.copy_(T([5, 7], np.int8))
    same(u, tu)
    with pytest.raises(RuntimeError):
        torch.ones(2).copy_(torch.ones(3))
    with pytest.raises(RuntimeError) as e:
        E([1.0, 2.0]).copy_(E([1.0, 2.0, 3.0]))
    assert str(e.value) == "copy_: src of shape (3,) does not broadcast to the tensor's shape (2,)"


def test_fill_zero_div_float_match_torch():
    for shape in [(), (0,), (2, 3)]:
        x, tx = Tensor(np.ones(shape, np.float32)), torch.ones(shape)
        same(x.fill_(2.5), tx.fill_(2.5))
        same(x.fill_(E(3.0)), tx.fill_(T(3.0)))
        same(x.zero_(), tx.zero_())
    x, tx = E([1.0, 4.0]), T([1.0, 4.0])
    same(x.div_(E([2.0, 8.0])), tx.div_(T([2.0, 8.0])))
    same(E([1, 2], np.int64).float(), T([1, 2], np.int64).float())
    with pytest.raises(RuntimeError) as e:
        E([1.0, 2.0]).fill_(E([1.0, 2.0]))
    assert str(e.value).endswith("of shape (2,)")


def test_item_error_message():
    # item() raises RuntimeError as PyTorch; float()/int() keep PyTorch's ValueError
    with pytest.raises(RuntimeError, match=r"^a Tensor with 2 elements cannot be converted to Scalar$"):
        E([1.0, 2.0]).item()
    with pytest.raises(ValueError, match=r"^only one element tensors can be converted to Python "
                                         r"scalars \(shape \(2,\)\)$"):
        float(E([1.0, 2.0]))


# -- x op= y -----------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
def test_augmented_assignment_matches_torch(op):
    # plain tensors: in place (same object, aliases see it)
    x, tx = E([1.0, 2.0]), T([1.0, 2.0])
    alias = x
    r, tr = getattr(x, op)(E([2.0, 4.0])), getattr(tx, op)(T([2.0, 4.0]))
    assert r is alias and x._version == tx._version == 1
    same(r, tr)
    # non-leaf while recording: the result stays in the graph with the right gradient
    a, ta = E([1.0, 2.0], rg=True), T([1.0, 2.0], rg=True)
    y, ty = a * 3, ta * 3
    y = getattr(y, op)(E([2.0, 4.0]))
    ty = getattr(ty, op)(T([2.0, 4.0]))
    same(y, ty)
    y.sum().backward()
    ty.sum().backward()
    same(a.grad, ta.grad)
    # a leaf that requires grad cannot be edited while recording
    with pytest.raises(RuntimeError):
        getattr(T([1.0], rg=True), op)(T([1.0]))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(E([1.0], rg=True), op)(E([1.0]))
    # ... but can under no_grad, in place
    b, tb = E([1.0, 2.0], rg=True), T([1.0, 2.0], rg=True)
    with engine.no_grad():
        rb = getattr(b, op)(E([2.0, 2.0]))
    with torch.no_grad():
        getattr(tb, op)(T([2.0, 2.0]))
    assert rb is b and b.requires_grad
    same(b, tb)


# -- random fills ------------------------------------------------------------------------------
def test_uniform_and_normal_defaults():
    engine.manual_seed(0)
    u = Tensor(np.zeros(4000, np.float32)).uniform_()
    assert 0.0 <= u._data.min() < 0.01 and 0.99 < u._data.max() < 1.0
    n = Tensor(np.zeros((40, 100), np.float32)).normal_()
    assert abs(n._data.mean()) < 0.1 and abs(n._data.std() - 1.0) < 0.1
    assert len(np.unique(n._data)) > 3000
    s = Tensor(np.zeros(5, np.float32)).uniform_(2.0, 2.0)
    same(s, torch.zeros(5).uniform_(2.0, 2.0))
    with pytest.raises(RuntimeError):
        torch.zeros(2).uniform_(3.0, 2.0)
    with pytest.raises(RuntimeError):
        Tensor(np.zeros(2, np.float32)).uniform_(3.0, 2.0)


# -- graph controls ----------------------------------------------------------------------------
def test_requires_grad_flag_rules_match_torch():
    for lib, mk in ((engine, E), (torch, T)):
        x = mk([1.0, 2.0], rg=True)
        assert x.requires_grad_(False) is x and not x.requires_grad
        x.requires_grad_()
        y = x * 2
        assert y.requires_grad_(True) is y and y.requires_grad
    y = E([1.0], rg=True) * 2
    with pytest.raises(RuntimeError):
        (T([1.0], rg=True) * 2).requires_grad_(False)
    with pytest.raises(RuntimeError) as e:
        y.requires_grad_(False)
    assert str(e.value) == ("you can only change requires_grad flags of leaf variables; use "
                            ".detach() for a non-leaf")


def test_detach_shares_version_counter():
    x, tx = E([1.0, 2.0], rg=True), T([1.0, 2.0], rg=True)
    y, ty = x.exp(), tx.exp()
    d, td = y.detach(), ty.detach()
    d.add_(1)
    td.add_(1)
    assert d.grad_fn is None and not d.requires_grad
    assert y._version == ty._version == 1
    with pytest.raises(RuntimeError):
        ty.sum().backward()
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_detach_inplace_and_clone_match_torch():
    for lib, mk in ((engine, E), (torch, T)):
        x = mk([1.0, 2.0], rg=True)
        y = x * 2
        assert y.detach_() is y
        assert y.grad_fn is None and y.requires_grad is False and y.is_leaf
    x, tx = E([1.0, 2.0], rg=True), T([1.0, 2.0], rg=True)
    c, tc = x.clone(), tx.clone()
    assert c.requires_grad and c.grad_fn is not None
    same(c, tc)
    (c * c).sum().backward()
    (tc * tc).sum().backward()
    same(x.grad, tx.grad)
    p = E([1.0, 2.0])
    q = p.clone()
    q.add_(1)
    same(p, T([1.0, 2.0]))
    same(q, T([2.0, 3.0]))
    assert not q.requires_grad


@pytest.mark.parametrize("dt", [np.int32, np.float64, np.bool_, "float16"])
def test_astype_matches_torch_to(dt):
    x, tx = E([[0.0, 1.5], [-2.5, 3.0]]), T([[0.0, 1.5], [-2.5, 3.0]])
    tdt = {np.dtype(np.int32): torch.int32, np.dtype(np.float64): torch.float64,
           np.dtype(np.bool_): torch.bool, np.dtype("float16"): torch.float16}[np.dtype(dt)]
    same(x.astype(dt), tx.to(tdt))
    same(x.T.astype(dt), tx.T.to(tdt))


def test_type_cast_with_non_blocking():
    x = E([1.5, 2.0])
    same(x.type(engine.float64, True), T([1.5, 2.0]).type(torch.float64, True))
    assert x.type() == T([1.5, 2.0]).type()


# -- backward seeding and accumulation ---------------------------------------------------------
def test_backward_gradient_ndarray_equals_tensor():
    for g in ([1.0, 2.0], [1, 2], [True, False]):
        x, tx = E([1.0, 3.0], rg=True), T([1.0, 3.0], rg=True)
        (-x).backward(np.array(g))
        (-tx).backward(torch.tensor(np.array(g, np.float64)))
        same(x.grad, tx.grad)


def test_backward_seed_errors():
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (T([1.0, 2.0], rg=True) * 2).backward()
    with pytest.raises(RuntimeError, match=r"^grad can be implicitly created only for scalar outputs"):
        (E([1.0, 2.0], rg=True) * 2).backward()
    with pytest.raises(RuntimeError):
        (T([1.0, 2.0], rg=True) * 2).backward(torch.ones(3))
    with pytest.raises(RuntimeError, match=r"^backward: gradient has shape \(3,\) but the tensor has shape"):
        (E([1.0, 2.0], rg=True) * 2).backward(E([1.0, 1.0, 1.0]))


def test_backward_with_gradient_that_requires_grad():
    x, tx = E([1.0, 3.0], rg=True), T([1.0, 3.0], rg=True)
    v, tv = E([2.0, 5.0], rg=True), T([2.0, 5.0], rg=True)
    (x * x).backward(v, create_graph=True)
    (tx * tx).backward(tv, create_graph=True)
    same(x.grad, tx.grad)
    assert x.grad.requires_grad and tx.grad.requires_grad
    x.grad.sum().backward()
    tx.grad.sum().backward()
    same(v.grad, tv.grad)


def test_leaf_hooks_run_on_wrapped_leaves():
    for lib, mk in ((engine, E), (torch, T)):
        x = (mk([1.0, 2.0]) * 1).detach().requires_grad_()
        x.register_hook(lambda g: g * 10)
        (x * 3).sum().backward()
        (x * 3).sum().backward(create_graph=True)
        if lib is engine:
            ex = x.grad
        else:
            same(ex, x.grad)


def test_grad_accumulates_into_a_view_grad():
    for lib, mk in ((engine, E), (torch, T)):
        x = mk([1.0, 2.0, 3.0], rg=True)
        x.grad = (mk([[4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]) * 1).detach()[1]
        (x * 2).sum().backward()
        (x * x).sum().backward()
        if lib is engine:
            ex = x.grad
        else:
            same(ex, x.grad)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_create_graph_grad_accumulation_matches_torch(shape):
    data = np.arange(1, 1 + int(np.prod(shape)), dtype=np.float32).reshape(shape)
    for lib, mk in ((engine, E), (torch, T)):
        x = mk(data, rg=True)
        b = mk(np.float32(2.0), rg=True)
        ((x * b) ** 2).sum().backward(create_graph=True)
        ((x * b) ** 2).sum().backward(create_graph=True)
        with lib.no_grad():
            gx = x.grad * 1
            gb = b.grad * 1
            x.grad.mul_(0.5)
        if lib is engine:
            res = (gx, gb, x.grad)
        else:
            same(res[0], gx)
            same(res[1], gb)
            same(res[2], x.grad)


def test_anomaly_mode_accepts_integer_outputs():
    x = E([1.0, -2.0, 3.0], rg=True)
    with engine.autograd.detect_anomaly():
        i = (x * 2).long()
        j = x.argmax()
        k = (x > 0)
    same(i, T([2, -4, 6], np.int64))
    assert j.item() == 2 and k._data.tolist() == [True, False, True]
