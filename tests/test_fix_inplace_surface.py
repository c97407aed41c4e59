"""Guards PyTorch compatibility of four Tensor/factory surfaces, each compared with PyTorch:

* in-place ops (``add_``, ``sub_``, ``mul_``, ``div_``, ``clamp_`` with tensor bounds, ``copy_``,
  ``fill_`` with a 0-d tensor, ``x[i] = v``) on a tensor that does not require grad, with an
  operand that does, under grad mode, are recorded (the tensor joins the graph and the operand
  gets its gradient, checked by central differences in float64) instead of dropping the
  gradient; views refuse with a clear RuntimeError; under ``no_grad`` nothing is recorded;
* ``clamp_`` of an integer tensor with a floating bound raises (no silent truncation);
* ``item()`` of a many-element tensor raises RuntimeError (``float()``/``int()`` ValueError);
* ``arange`` with an integer dtype and floating bounds has torch's length and values.
"""
import numpy as np
import pytest
import torch

import engine
from engine import Tensor
from engine.gradcheck import gradcheck


def _t(values, dtype=np.float64, rg=False):
    """An engine tensor of ``values``."""
    return engine.tensor(np.asarray(values, dtype=dtype), requires_grad=rg)


def _tt(values, dtype=np.float64, rg=False):
    """The torch tensor of ``values``."""
    return torch.tensor(np.asarray(values, dtype=dtype), requires_grad=rg)


def _torch_name(tensor):
    """torch's grad_fn name without the version suffix and namespace (``MulBackward0`` -> ``Mul``)."""
    return tensor.grad_fn.name().split("::")[-1].rstrip("0123456789").replace("Backwards", "Backward")


# -- 1. in-place ops with an operand that requires grad ------------------------------------------
W = [1.5, -2.0, 3.0]
BASE = [[2.0, 0.5, -1.0], [4.0, 1.0, 0.25]]

# name -> (engine edit, torch edit); each edits x (shape (2, 3), no grad) with w (shape (3,))
EDITS = {
    "add_": (lambda x, w: x.add_(w), lambda x, w: x.add_(w)),
    "add_alpha": (lambda x, w: x.add_(w, alpha=-2.5), lambda x, w: x.add_(w, alpha=-2.5)),
    "sub_": (lambda x, w: x.sub_(w), lambda x, w: x.sub_(w)),
    "sub_alpha": (lambda x, w: x.sub_(w, alpha=3), lambda x, w: x.sub_(w, alpha=3)),
    "mul_": (lambda x, w: x.mul_(w), lambda x, w: x.mul_(w)),
    "div_": (lambda x, w: x.div_(w), lambda x, w: x.div_(w)),
    "iadd": (lambda x, w: x.__iadd__(w), lambda x, w: x.__iadd__(w)),
    "imul": (lambda x, w: x.__imul__(w), lambda x, w: x.__imul__(w)),
    "clamp_min": (lambda x, w: x.clamp_(min=w), lambda x, w: x.clamp_(min=w)),
    "clamp_max": (lambda x, w: x.clamp_(max=w), lambda x, w: x.clamp_(max=w)),
    "clamp_both": (lambda x, w: x.clamp_(min=w - 1.2, max=w),
                   lambda x, w: x.clamp_(min=w - 1.2, max=w)),
    "clamp_tensor_and_number": (lambda x, w: x.clamp_(min=w, max=2.0),
                                lambda x, w: x.clamp_(min=w, max=_tt(2.0))),  # torch: both tensors
    "copy_": (lambda x, w: x.copy_(w), lambda x, w: x.copy_(w)),
    "fill_": (lambda x, w: x.fill_(w[1]), lambda x, w: x.fill_(w[1])),
    "setitem_row": (lambda x, w: x.__setitem__(1, w), lambda x, w: x.__setitem__(1, w)),
    "setitem_slice": (lambda x, w: x.__setitem__((slice(None), slice(0, 2)), w[1:]),
                      lambda x, w: x.__setitem__((slice(None), slice(0, 2)), w[1:])),
    "setitem_element": (lambda x, w: x.__setitem__((0, 2), w[0]), lambda x, w: x.__setitem__((0, 2), w[0])),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_inplace_op_with_grad_operand_is_recorded_like_torch(name):
    """The edited tensor joins the graph (same object, new version, requires_grad, a grad_fn)
    and its value and the operand's gradient match torch's."""
    edit, tedit = EDITS[name]
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(BASE), _tt(BASE)
    alias, talias = x.detach(), tx.detach()   # shares the storage: sees the edit
    out, tout = edit(x, w), tedit(tx, tw)
    assert (out is x or out is None) and (tout is tx or tout is None)
    assert x.requires_grad == tx.requires_grad is True
    assert x.is_leaf == tx.is_leaf is False
    assert x._version == tx._version
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy())
    np.testing.assert_allclose(alias.numpy(), talias.numpy())
    weights = np.arange(1.0, 7.0).reshape(2, 3)
    (x * _t(weights)).sum().backward()
    (tx * _tt(weights)).sum().backward()
    assert w.grad is not None
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.parametrize("name", ["add_", "mul_", "div_", "sub_alpha", "copy_", "clamp_both", "setitem_slice"])
def test_inplace_op_with_grad_operand_passes_gradcheck(name):
    """The recorded gradient w.r.t. the operand agrees with central differences (float64)."""
    edit = EDITS[name][0]

    def f(w):
        x = _t(BASE)
        edit(x, w)
        return (x * x).sum()

    assert gradcheck(f, (_t(W, rg=True),))


@pytest.mark.parametrize("name, op", [("add_", "AddBackward"), ("mul_", "MulBackward"),
                                      ("div_", "DivBackward"), ("sub_", "SubBackward")])
def test_inplace_arith_grad_fn_is_the_out_of_place_node(name, op):
    """``x.mul_(w)`` carries the node of ``x * w`` (PyTorch: MulBackward0 for both)."""
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(BASE), _tt(BASE)
    EDITS[name][0](x, w)
    EDITS[name][1](tx, tw)
    assert x.grad_fn.name() == op == _torch_name(tx)


def test_recorded_inplace_keeps_hooks_retain_grad_and_backward_through_later_ops():
    """retain_grad and hooks on the edited tensor work; its gradient matches torch's."""
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(BASE), _tt(BASE)
    x.mul_(w)
    tx.mul_(tw)
    x.retain_grad()
    tx.retain_grad()
    seen, tseen = [], []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    tx.register_hook(lambda g: tseen.append(g.numpy().copy()))
    (x.exp() * 2).sum().backward()
    (tx.exp() * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(seen[0], tseen[0])
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_recorded_inplace_saves_the_old_value_not_the_edited_buffer():
    """The gradient of ``x.mul_(w)`` w.r.t. w is x's value before the edit, as in PyTorch."""
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t([2.0, 5.0, 7.0]), _tt([2.0, 5.0, 7.0])
    x.mul_(w)
    tx.mul_(tw)
    x.sum().backward()
    tx.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_version_check_sees_edits_after_a_recorded_inplace():
    """A node that saved the recorded tensor raises at backward when the tensor is edited again
    (under no_grad), as in PyTorch."""
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(W), _tt(W)
    x.mul_(w)
    tx.mul_(tw)
    y, ty = x * x, tx * tx
    with engine.no_grad():
        x.add_(1.0)
    with torch.no_grad():
        tx.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_second_inplace_on_the_recorded_tensor_keeps_the_documented_refusal():
    """Once recorded, the tensor is a non-leaf: a further in-place op while recording raises
    "use the out-of-place op" (a documented difference: PyTorch records it too)."""
    w = _t(W, rg=True)
    x = _t(W)
    x.mul_(w)
    with pytest.raises(RuntimeError, match="out-of-place"):
        x.add_(w)


def test_inplace_with_grad_operand_under_no_grad_records_nothing():
    """Under no_grad the edit is plain (as PyTorch): no graph, no gradient."""
    for edit, tedit in EDITS.values():
        w, tw = _t(W, rg=True), _tt(W, rg=True)
        x, tx = _t(BASE), _tt(BASE)
        with engine.no_grad():
            edit(x, w)
        with torch.no_grad():
            tedit(tx, tw)
        assert x.requires_grad == tx.requires_grad is False
        assert x.grad_fn is None and tx.grad_fn is None
        np.testing.assert_allclose(x.numpy(), tx.numpy())


def test_inplace_without_grad_operand_stays_unrecorded():
    """An operand that does not require grad leaves the tensor out of the graph (PyTorch)."""
    x, tx = _t(BASE), _tt(BASE)
    x.mul_(_t(W))
    tx.mul_(_tt(W))
    assert x.requires_grad == tx.requires_grad is False


def test_inplace_mixed_dtypes_keep_self_dtype_and_gradient():
    """A float32 tensor edited with a float64 operand stays float32; the operand's gradient
    matches torch's (float64)."""
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(BASE, np.float32), _tt(BASE, np.float32)
    x.mul_(w)
    tx.mul_(tw)
    assert x.dtype == np.float32 and tx.dtype == torch.float32
    x.sum().backward()
    tx.sum().backward()
    assert w.grad.dtype == np.float64
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["copy_", "setitem_row", "setitem_element"])
def test_copy_of_grad_operand_into_an_integer_tensor_is_not_recorded(name):
    """An integer tensor cannot carry a gradient: the copy is plain, as in PyTorch."""
    edit, tedit = EDITS[name]
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(BASE, np.int64), _tt(BASE, np.int64)
    edit(x, w)
    tedit(tx, tw)
    assert x.requires_grad == tx.requires_grad is False
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_double_backward_through_a_recorded_copy():
    """``x.copy_(w * w)``: the second derivative reaches w (torch: d/dw sum(2w) = 2)."""
    w, tw = _t(W, rg=True), _tt(W, rg=True)
    x, tx = _t(W), _tt(W)
    x.copy_(w * w)
    tx.copy_(tw * tw)
    (g,) = engine.autograd.grad(x.sum(), w, create_graph=True)
    (tg,) = torch.autograd.grad(tx.sum(), tw, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy())
    g.sum().backward()
    tg.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_inplace_on_a_view_with_grad_operand_refuses_clearly():
    """PyTorch also rebases the viewed tensor's history; this engine cannot, so it raises a
    RuntimeError naming the op and the out-of-place alternative (never a dropped gradient)."""
    w = _t(W, rg=True)
    base = _t(BASE)
    with pytest.raises(RuntimeError, match=r"mul_: .*view.*out-of-place"):
        base[0].mul_(w)
    with pytest.raises(RuntimeError, match=r"copy_: .*view.*out-of-place"):
        base.t()[:, 0].copy_(w)
    assert base.requires_grad is False
    np.testing.assert_allclose(base.numpy(), np.asarray(BASE))


def test_existing_inplace_refusals_are_kept():
    """In place on a leaf requiring grad, or on a non-leaf, still raises while recording."""
    w = _t(W, rg=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        _t(W, rg=True).mul_(w)
    with pytest.raises(RuntimeError, match="out-of-place"):
        (w * 2).mul_(w)


# -- 2. clamp_ of an integer tensor with a floating bound -------------------------------------
@pytest.mark.parametrize("kwargs", [dict(min=0.5), dict(max=1.5), dict(min=0, max=2.5),
                                    dict(min=np.float64(0.5)), "tensor_max"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_clamp_integer_tensor_with_float_bound_raises_like_torch(kwargs, dtype):
    """PyTorch refuses (result type Float can't be cast to Long) instead of truncating."""
    x, tx = _t([0, 1, 3], dtype), _tt([0, 1, 3], dtype)
    if kwargs == "tensor_max":
        ekw, tkw = dict(max=_t(1.5)), dict(max=_tt(1.5))
    else:
        ekw, tkw = kwargs, kwargs
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        tx.clamp_(**tkw)
    with pytest.raises(RuntimeError, match=r"^clamp_: result type float\d+ can't be cast to the "
                                           r"desired output type " + np.dtype(dtype).name + "$"):
        x.clamp_(**ekw)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_clamp_integer_tensor_with_integer_bounds_still_works(dtype):
    """Integer bounds (numbers or integer tensors) are fine, as in PyTorch."""
    x, tx = _t([0, 1, 3, 7], dtype), _tt([0, 1, 3, 7], dtype)
    x.clamp_(min=1, max=_t(5, np.int64))
    tx.clamp_(min=1, max=_tt(5, np.int64))
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    assert x.dtype == np.dtype(dtype)


# -- 3. item() -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2,), (0,), (2, 3)])
def test_item_of_many_elements_raises_runtime_error_like_torch(shape):
    """item(): RuntimeError with PyTorch's message; float()/int(): ValueError (as PyTorch)."""
    x, tx = engine.ones(*shape), torch.ones(*shape)
    with pytest.raises(RuntimeError) as te:
        tx.item()
    with pytest.raises(RuntimeError) as e:
        x.item()
    assert str(e.value) == str(te.value)
    for conv in (float, int):
        with pytest.raises(ValueError):
            conv(tx)
        with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
            conv(x)


def test_item_of_one_element_matches_torch():
    """One element (any number of dims) converts to the same Python number."""
    for v in ([2.5], [[3]], 7):
        assert engine.tensor(v).item() == torch.tensor(v).item()


# -- 4. arange with an integer dtype and floating bounds ---------------------------------------
ARANGE_CASES = [(0, 2.5), (0.5, 5, 1.5), (5, 0.5, -1.5), (-0.9, 5, 1), (-1.9, 2), (0, -2.5, -1),
                (1.5, -3, -1.5), (2.7,), (0, 10, 2.5), (0.5, 1), (0, 5, 1.0), (0.0, 5.0, 2.0),
                (300.5,), (-3.5, -1, 0.5), (-2.5, 3, 0.7), (0, 2 ** 40 + 0.5, 2 ** 38)]


@pytest.mark.parametrize("args", ARANGE_CASES)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint8])
def test_arange_integer_dtype_with_float_bounds_matches_torch(args, dtype):
    """Length, dtype and values equal torch's (which truncates the bounds and step to integers,
    and for int64 also computes the length in integers), or both raise the same error type."""
    tdt = getattr(torch, np.dtype(dtype).name)
    try:
        t = torch.arange(*args, dtype=tdt)
    except (RuntimeError, ValueError) as te:
        with pytest.raises(type(te)):
            engine.arange(*args, dtype=dtype)
        return
    e = engine.arange(*args, dtype=dtype)
    assert e.dtype == np.dtype(dtype) and e.shape == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("args", [(0, 1, 0.0), (0, 1, 0), (0.5, 0, 1), (0, -0.5), (0.2, 0.5, -1),
                                  (0, -1), (2.5, 0, 1), (float("nan"), 1), (0, float("inf"))])
@pytest.mark.parametrize("dtype", [None, np.int64, np.int32, np.float32])
def test_arange_bad_ranges_raise_like_torch(args, dtype):
    """A zero step, bounds inconsistent with the step's sign, or a non-finite bound raise the
    same error type as torch (NumPy would return an empty or fail otherwise)."""
    tkw = {} if dtype is None else dict(dtype=getattr(torch, np.dtype(dtype).name))
    ekw = {} if dtype is None else dict(dtype=dtype)
    with pytest.raises((RuntimeError, ValueError)) as te:
        torch.arange(*args, **tkw)
    with pytest.raises(te.type):
        engine.arange(*args, **ekw)
