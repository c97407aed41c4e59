"""Mutation-testing guards for engine/tensor.py (third part): the recorded in-place edits.

What this file pins down, compared with PyTorch wherever PyTorch has the feature:

* ``copy_``/``fill_`` with a source that requires grad record one copy node (PyTorch's
  ``CopyBackwards``), whatever the source's dtype, and hand the source a gradient of its own
  dtype (hooks see it; ``create_graph=True`` keeps it);
* ``x[i] = v`` with ``v`` requiring grad: gradient dtype, and ``v`` with extra leading size-1
  dims (NumPy and PyTorch accept them);
* a recorded mixed-dtype ``add_``: the gradient flows on in the operand's dtype (no precision
  lost upstream of it), ``alpha`` is applied, the version counter keeps counting;
* the engine's refusal to record an in-place edit of a view names the op;
* ``clone`` keeps the dtype (bool), ``type(dtype, non_blocking=...)`` checks the flag,
  ``sub_`` on bool tensors is refused like the out-of-place ``-``.
"""
import numpy as np
import pytest
import torch

import engine
from engine import Tensor

TD = {np.float16: torch.float16, np.float32: torch.float32, np.float64: torch.float64}


def E(a, dt=np.float32, **kw):
    return Tensor(np.array(a, dtype=dt), **kw)


def P(a, dt=np.float32, **kw):
    return torch.tensor(np.array(a, dtype=dt), **kw)


# -- copy_ / fill_ ---------------------------------------------------------------------------------
@pytest.mark.parametrize("xdt", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("sdt", [np.float32, np.float64])
def test_copy_records_a_copy_node_whatever_the_dtypes(xdt, sdt):
    ex, es = E([0.0, 0.0, 0.0], xdt), E([1.5, -2.0, 3.0], sdt, requires_grad=True)
    tx, ts = P([0.0, 0.0, 0.0], xdt), P([1.5, -2.0, 3.0], sdt, requires_grad=True)
    ex.copy_(es)
    tx.copy_(ts)
    assert "CopyBackward" in tx.grad_fn.name()
    assert "CopyBackward" in ex.grad_fn.name()
    np.testing.assert_array_equal(ex.numpy(), tx.detach().numpy())
    (ex * 3).sum().backward()
    (tx * 3).sum().backward()
    assert es.grad.dtype == np.dtype(sdt)
    np.testing.assert_array_equal(es.grad.numpy(), ts.grad.numpy())


def test_fill_records_the_same_node_for_any_value_dtype():
    names, tnames = set(), set()
    for dt in (np.float32, np.float64):
        ex, tx = E([0.0, 0.0], np.float32), P([0.0, 0.0], np.float32)
        ev, tv = E(2.5, dt, requires_grad=True), P(2.5, dt, requires_grad=True)
        ex.fill_(ev)
        tx.fill_(tv)
        names.add(ex.grad_fn.name())
        tnames.add(tx.grad_fn.name())
        ex.sum().backward()
        tx.sum().backward()
        assert ev.grad.dtype == np.dtype(dt)
        np.testing.assert_array_equal(ev.grad.numpy(), tv.grad.numpy())
    assert len(tnames) == 1 and len(names) == 1


def _hook_dtypes(make, x, s):
    seen = []
    s.register_hook(lambda g: seen.append(np.dtype(str(g.dtype).replace("torch.", ""))))
    make(x, s)
    x.sum().backward()
    return seen


@pytest.mark.parametrize("kind", ["copy_", "setitem"])
def test_source_hook_sees_a_gradient_of_the_source_dtype(kind):
    def make(x, s):
        if kind == "copy_":
            x.copy_(s)
        else:
            x[1] = s
    shape = (3,) if kind == "copy_" else (2, 3)
    ours = _hook_dtypes(make, Tensor(np.zeros(shape, np.float16)), E([1.0, 2.0, 3.0], requires_grad=True))
    ref = _hook_dtypes(make, torch.zeros(shape, dtype=torch.float16), P([1.0, 2.0, 3.0], requires_grad=True))
    assert ours == ref == [np.dtype(np.float32)]


def test_copy_create_graph_gradient_keeps_the_source_dtype():
    ex, es = E([0.0, 0.0], np.float64), E([1.0, 2.0], requires_grad=True)
    tx, ts = P([0.0, 0.0], np.float64), P([1.0, 2.0], requires_grad=True)
    ex.copy_(es)
    tx.copy_(ts)
    (ex * ex).sum().backward(create_graph=True)
    (tx * tx).sum().backward(create_graph=True)
    assert str(ts.grad.dtype) == "torch." + str(es.grad.dtype)
    np.testing.assert_allclose(es.grad.numpy(), ts.grad.detach().numpy())


# -- __setitem__ ---------------------------------------------------------------------------------
@pytest.mark.parametrize("vshape", [(1, 3), (1, 1, 3), (1, 1)])
def test_setitem_value_with_leading_unit_dims(vshape):
    w = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    v = np.arange(1, 1 + int(np.prod(vshape)), dtype=np.float32).reshape(vshape) * 0.5
    ex, ev = Tensor(np.zeros((2, 3), np.float32)), Tensor(v.copy(), requires_grad=True)
    tx, tv = torch.zeros(2, 3), torch.tensor(v, requires_grad=True)
    ex[0] = ev
    tx[0] = tv
    np.testing.assert_array_equal(ex.numpy(), tx.detach().numpy())
    (ex * Tensor(w)).sum().backward()
    (tx * torch.tensor(w)).sum().backward()
    assert ev.grad.shape == tuple(tv.grad.shape)
    np.testing.assert_array_equal(ev.grad.numpy(), tv.grad.numpy())


# -- recorded arithmetic -------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
def test_recorded_mixed_dtype_inplace_keeps_operand_precision(op):
    c = 1.0000001
    ew, tw = E([1.0, 3.0], np.float64, requires_grad=True), P([1.0, 3.0], np.float64, requires_grad=True)
    ex, tx = E([2.0, 5.0], np.float32), P([2.0, 5.0], np.float32)
    getattr(ex, op)(ew * c * c)
    getattr(tx, op)(tw * c * c)
    assert ex.dtype == np.float32
    np.testing.assert_allclose(ex.numpy(), tx.detach().numpy(), rtol=1e-6)
    ex.sum().backward()
    tx.sum().backward()
    assert ew.grad.dtype == np.float64
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", ["add_", "sub_"])
@pytest.mark.parametrize("alpha", [2, -0.5, 1])
def test_recorded_inplace_applies_alpha(op, alpha):
    ey, ty = E([1.0, -2.0, 4.0], requires_grad=True), P([1.0, -2.0, 4.0], requires_grad=True)
    ex, tx = E([0.5, 0.5, 0.5]), P([0.5, 0.5, 0.5])
    getattr(ex, op)(ey, alpha=alpha)
    getattr(tx, op)(ty, alpha=alpha)
    np.testing.assert_allclose(ex.numpy(), tx.detach().numpy(), rtol=1e-6)
    (ex * ex).sum().backward()
    (tx * tx).sum().backward()
    np.testing.assert_allclose(ey.grad.numpy(), ty.grad.numpy(), rtol=1e-6)


def test_recorded_inplace_keeps_counting_versions():
    ex, tx = E([0.0, 1.0]), P([0.0, 1.0])
    ey, ty = E([1.0, 2.0], requires_grad=True), P([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        ex.add_(1.0)
        tx.add_(1.0)
    ex.mul_(ey)
    tx.mul_(ty)
    assert ex._version == tx._version == 3


# -- the view refusal names the op -----------------------------------------------------------------
@pytest.mark.parametrize("name, edit", [
    ("fill_", lambda v, y: v.fill_(y.sum())),
    ("clamp_", lambda v, y: v.clamp_(min=y)),
    ("copy_", lambda v, y: v.copy_(y)),
    ("add_", lambda v, y: v.add_(y)),
    ("__setitem__", lambda v, y: v.__setitem__(0, y[0])),
])
def test_unrecordable_view_edit_error_names_the_op(name, edit):
    base = engine.zeros(2, 3)
    y = E([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        edit(base[1], y)
    assert str(info.value).startswith(name + ":")
    np.testing.assert_array_equal(base.numpy(), np.zeros((2, 3), np.float32))


# -- clone / type / bool sub_ ----------------------------------------------------------------------
@pytest.mark.parametrize("a", [[True, False], [3, -1], [1.5, 2.0]])
def test_clone_without_grad_keeps_dtype_and_copies(a):
    arr = np.array(a)
    ex, tx = Tensor(arr.copy()), torch.from_numpy(arr.copy())
    ec, tc = ex.clone(), tx.clone()
    assert str(tc.dtype) == "torch." + str(ec.dtype)
    assert ec.requires_grad is tc.requires_grad is False
    np.testing.assert_array_equal(ec.numpy(), tc.numpy())
    assert not np.shares_memory(ec.numpy(), ex.numpy())


def test_type_checks_non_blocking_like_torch():
    with pytest.raises(TypeError):
        torch.zeros(2).type(torch.float64, non_blocking="yes")
    with pytest.raises(TypeError):
        engine.zeros(2).type(np.float64, non_blocking="yes")
    assert engine.zeros(2).type(np.float64, non_blocking=True).dtype == np.float64


@pytest.mark.parametrize("other", [True, [True, True]])
def test_bool_sub_inplace_refused_like_out_of_place(other):
    with pytest.raises(RuntimeError):
        torch.tensor([True, False]).sub_(torch.tensor(other))
    eb = Tensor(np.array([True, False]))
    eo = other if other is True else Tensor(np.array(other))
    with pytest.raises(Exception) as out_of_place:
        eb - eo
    with pytest.raises(type(out_of_place.value)):
        eb.sub_(eo)
    np.testing.assert_array_equal(eb.numpy(), [True, False])


# -- NumPy ufunc dispatch: no silently ignored method or keyword -----------------------------------
@pytest.mark.parametrize("call, ref", [
    (lambda t: np.multiply.outer(t, t), lambda a: np.multiply.outer(a, a)),
    (lambda t: np.add.accumulate(t), lambda a: np.add.accumulate(a)),
    (lambda t: np.exp(t, dtype=np.float64), lambda a: np.exp(a, dtype=np.float64)),
])
def test_ufunc_methods_and_keywords_are_not_ignored(call, ref):
    a = np.array([0.5, -1.0, 2.0])
    try:
        got = call(Tensor(a.copy()))
    except TypeError:
        return  # refusing is fine (the Tensor returns NotImplemented); a wrong answer is not
    want = ref(a)
    got = np.asarray(got._data if isinstance(got, Tensor) else got)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want)


def test_ufunc_out_keyword_is_not_ignored():
    a, out = np.array([0.5, -1.0, 2.0], np.float32), np.zeros(3, np.float32)
    try:
        np.exp(Tensor(a.copy()), out=out)
    except TypeError:
        return
    np.testing.assert_allclose(out, np.exp(a))


# -- backward(gradient=...) of another dtype ------------------------------------------------------
@pytest.mark.parametrize("gdt", [np.float64, np.float16])
@pytest.mark.parametrize("as_tensor", [True, False])
def test_backward_gradient_is_cast_to_the_output_dtype(gdt, as_tensor):
    """PyTorch casts ``gradient`` to the output's dtype before anything sees it (hooks, the
    nodes): a float64 gradient for a float32 output reaches the graph as float32."""
    gv = (np.arange(1, 4) / 3).astype(gdt)
    ex = E([1.0, 2.0, 3.0], requires_grad=True)
    tx = P([1.0, 2.0, 3.0], requires_grad=True)
    ey, ty = ex * 1.0000001, tx * 1.0000001
    seen, tseen = [], []
    ey.register_hook(lambda g: seen.append(np.dtype(g.dtype)))
    ty.register_hook(lambda g: tseen.append(g.dtype))
    ey.backward(gradient=Tensor(gv.copy()) if as_tensor else gv.copy())
    ty.backward(gradient=torch.from_numpy(gv.copy()))
    assert tseen == [torch.float32] and seen == [np.dtype(np.float32)]
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


def test_backward_gradient_requiring_grad_is_cast_differentiably():
    ex, tx = E([1.0, 2.0], requires_grad=True), P([1.0, 2.0], requires_grad=True)
    eg = E([0.5, 0.25], np.float64, requires_grad=True)
    tg = P([0.5, 0.25], np.float64, requires_grad=True)
    ey, ty = ex * ex, tx * tx
    ey.backward(gradient=eg, create_graph=True)
    ty.backward(gradient=tg, create_graph=True)
    assert ex.grad.dtype == np.float32 and tx.grad.dtype == torch.float32
    np.testing.assert_allclose(ex.grad.detach().numpy(), tx.grad.detach().numpy())
    ex.grad.sum().backward()
    tx.grad.sum().backward()
    assert eg.grad.dtype == np.float64
    np.testing.assert_allclose(eg.grad.numpy(), tg.grad.numpy())


# -- a leaf hook may not change the gradient's shape ------------------------------------------------
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("hook", [lambda g: g.sum(), lambda g: g[:1], lambda g: g.reshape(-1)])
def test_leaf_hook_changing_the_shape_is_refused_like_torch(hook, create_graph):
    tx = torch.ones(2, 3, requires_grad=True)
    tx.register_hook(hook)
    with pytest.raises(RuntimeError, match="changed the size"):
        (tx * 2).sum().backward(create_graph=create_graph)
    ex = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    ex.register_hook(hook)
    with pytest.raises(RuntimeError, match="changed the size"):
        (ex * 2).sum().backward(create_graph=create_graph)
    assert ex.grad is None


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_hook_keeping_the_shape_replaces_the_gradient_like_torch(create_graph):
    tx, ex = torch.ones(2, 3, requires_grad=True), Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    tx.register_hook(lambda g: g * 3 + 1)
    ex.register_hook(lambda g: g * 3 + 1)
    for _ in range(2):
        (tx * 2).sum().backward(create_graph=create_graph)
        (ex * 2).sum().backward(create_graph=create_graph)
    assert ex.grad.shape == tuple(tx.grad.shape)
    np.testing.assert_array_equal(ex.grad.detach().numpy(), tx.grad.detach().numpy())


# -- more recorded-arithmetic details ----------------------------------------------------------------
def test_div_inplace_refuses_a_complex_quotient_in_a_float_tensor_like_torch():
    with pytest.raises(RuntimeError):
        torch.zeros(2).div_(torch.tensor([1 + 1j, 2]))
    ex = engine.zeros(2)
    with pytest.raises(RuntimeError, match="div_"):
        ex.div_(Tensor(np.array([1 + 1j, 2], np.complex64)))
    np.testing.assert_array_equal(ex.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
def test_recorded_inplace_links_straight_to_the_operand_leaf(op):
    ex, ey = E([1.0, 2.0]), E([3.0, 4.0], requires_grad=True)
    tx, ty = P([1.0, 2.0]), P([3.0, 4.0], requires_grad=True)
    getattr(ex, op)(ey)
    getattr(tx, op)(ty)
    tnext, enext = tx.grad_fn.next_functions, ex.grad_fn.next_functions
    assert len(enext) == len(tnext) == 2
    assert tnext[1][0].variable is ty          # AccumulateGrad of the leaf, no node in between
    assert enext[1][0] is ey or getattr(enext[1][0], "variable", None) is ey


# -- leaf gradients never alias each other ----------------------------------------------------------
def test_leaves_receiving_the_same_gradient_array_get_separate_grads():
    w = np.array([2.0, -1.0, 0.5], np.float32)
    ea, eb = E([1.0, 2.0, 3.0], requires_grad=True), E([0.0, 1.0, 0.0], requires_grad=True)
    ta, tb = P([1.0, 2.0, 3.0], requires_grad=True), P([0.0, 1.0, 0.0], requires_grad=True)
    ((ea + eb) * Tensor(w)).sum().backward()
    ((ta + tb) * torch.from_numpy(w)).sum().backward()
    assert not np.shares_memory(ea.grad.numpy(), eb.grad.numpy())
    with engine.no_grad():
        ea.grad.mul_(10.0)
    with torch.no_grad():
        ta.grad.mul_(10.0)
    ((ea + eb) * Tensor(w)).sum().backward()
    ((ta + tb) * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(ea.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(eb.grad.numpy(), tb.grad.numpy())


@pytest.mark.parametrize("make", [lambda x: x * 3.0, lambda x: (x * x).sum(), lambda x: x + 1.0])
def test_zero_dim_leaf_grad_is_writable_like_torch(make):
    ex, tx = E(2.0, requires_grad=True), P(2.0, requires_grad=True)
    make(ex).backward()
    make(tx).backward()
    with engine.no_grad():
        ex.grad.add_(1.0)
    with torch.no_grad():
        tx.grad.add_(1.0)
    make(ex).backward()
    make(tx).backward()
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


# -- requires_grad_ on integer tensors ---------------------------------------------------------------
@pytest.mark.parametrize("dt", [np.int64, np.int32, np.bool_])
def test_requires_grad_on_a_non_float_tensor_is_refused_like_torch(dt):
    a = np.array([1, 0, 1]).astype(dt)
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        torch.from_numpy(a.copy()).requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        Tensor(a.copy()).requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        Tensor(a.copy(), requires_grad=True)
    assert Tensor(a.copy()).requires_grad_(False).requires_grad is False
