"""``Tensor.data`` is PyTorch's: a detached Tensor sharing storage whose in-place edits autograd
neither records nor checks; ``Scalar.data`` stays a float."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Scalar, Tensor


def test_data_is_a_detached_tensor_sharing_storage():
    p = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    d = p.data
    assert isinstance(d, Tensor) and not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), p.numpy())
    d.add_(1.0)
    np.testing.assert_array_equal(p.numpy(), [2.0, 3.0, 4.0])


def test_inplace_on_data_is_not_recorded_nor_version_checked():
    p = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = (p * p).sum()
    version = p._version
    p.data.mul_(3.0)                      # PyTorch: allowed, invisible to autograd
    assert p._version == version
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), 2 * p.numpy())  # uses the edited storage


def test_optimizer_style_updates_through_data():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = Tensor(rng.standard_normal((5, 3)))
    before = w.numpy().copy()
    loss = ((x @ w) ** 2).sum()
    loss.backward()
    w.data.add_(w.grad, alpha=-0.1)               # micrograd/PyTorch-tutorial style SGD
    np.testing.assert_allclose(w.numpy(), before - 0.1 * w.grad.numpy())
    w.data[...] = 0.0
    assert not w.numpy().any()
    w.data.normal_(0, 0.02)
    assert w.numpy().std() > 0


def test_data_assignment_replaces_the_payload():
    p = Tensor(np.ones(4, np.float32), requires_grad=True)
    p.data = np.zeros(7, np.float32)
    assert p.shape == (7,) and p.requires_grad
    p.data = Tensor(np.full(2, 5.0, np.float32))
    np.testing.assert_array_equal(p.numpy(), [5.0, 5.0])
    with pytest.raises(TypeError, match="dtype"):
        p.data = np.arange(3)                     # an int payload on a tensor that requires grad


def test_leaf_inplace_needs_no_grad():
    p = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        p.add_(1.0)
    with engine.no_grad():
        p.sub_(0.5).mul_(4.0).clamp_(max=1.5)
    np.testing.assert_array_equal(p.numpy(), [1.5, 1.5, 1.5])


def test_scalar_data_stays_a_float():
    a = Scalar(2.0)
    b = a * a + 1
    assert b.data == 5.0 and isinstance(b.data, float)
    a.data = 3
    assert a.data == 3.0 and isinstance(a.data, float)


# -- the in-place methods of PyTorch's surface, on .data and on leaves under no_grad ------------
INPLACE = {  # method, arguments, NumPy reference of the result
    "add_": ((np.float32(0.5),), {"alpha": 2}, lambda a: a + 1.0),
    "sub_": ((np.float32(0.25),), {}, lambda a: a - 0.25),
    "mul_": ((-3.0,), {}, lambda a: a * -3.0),
    "div_": ((4.0,), {}, lambda a: a / 4.0),
    "zero_": ((), {}, lambda a: np.zeros_like(a)),
    "fill_": ((1.5,), {}, lambda a: np.full_like(a, 1.5)),
    "copy_": (("row",), {}, lambda a: np.broadcast_to(np.arange(a.shape[-1], dtype=a.dtype), a.shape)),
    "clamp_": ((), {"min": -0.5, "max": 0.5}, lambda a: np.clip(a, -0.5, 0.5)),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
@pytest.mark.parametrize("through", ["data", "no_grad"])
@settings(deadline=None, max_examples=10)
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                      elements=st.floats(-10, 10)))
def test_inplace_methods_match_numpy_and_are_not_recorded(name, through, arr):
    args, kwargs, ref = INPLACE[name]
    args = tuple(Tensor(np.arange(arr.shape[-1], dtype=arr.dtype)) if a == "row" else a for a in args)
    p = Tensor(arr.copy(), requires_grad=True)
    y = (p * p).sum()                       # a graph built before the edit
    version = p._version
    if through == "data":
        out = getattr(p.data, name)(*args, **kwargs)
        assert p._version == version        # invisible to autograd, as PyTorch's .data
    else:
        with engine.no_grad():
            out = getattr(p, name)(*args, **kwargs)
        assert out is p
    np.testing.assert_allclose(p.numpy(), ref(arr), rtol=1e-12)
    assert p.grad_fn is None and p.is_leaf and out.grad_fn is None
    if through == "data":
        y.backward()                        # not version-checked: uses the edited storage
        np.testing.assert_allclose(p.grad.numpy(), 2 * ref(arr), rtol=1e-12)


@pytest.mark.parametrize("name, args, lo, hi", [("uniform_", (-2.0, 3.0), -2.0, 3.0),
                                                ("normal_", (5.0, 0.0), 5.0, 5.0)])
def test_random_inplace_methods_follow_the_seed(name, args, lo, hi):
    p = Tensor(np.zeros((50, 4), np.float32), requires_grad=True)
    engine.manual_seed(3)
    getattr(p.data, name)(*args)
    first = p.numpy().copy()
    assert first.dtype == np.float32 and lo <= first.min() and first.max() <= hi
    engine.manual_seed(3)
    with engine.no_grad():
        getattr(p, name)(*args)
    np.testing.assert_array_equal(p.numpy(), first)
    if lo < hi:
        assert first.std() > 0.1 * (hi - lo)   # samples, not a constant fill


@pytest.mark.parametrize("call", [lambda t: t.clamp(), lambda t: t.clamp_(), lambda t: t.clamp(None, None)])
def test_clamp_without_bounds_raises_runtime_error_as_torch(call):
    import torch
    with pytest.raises(RuntimeError, match="'min' or 'max'"):
        call(torch.ones(2))
    with pytest.raises(RuntimeError, match="'min' or 'max' must not be None"):
        call(engine.ones(2))


def test_clamp_inplace_takes_tensor_bounds_like_clamp():
    a = np.array([[-3.0, 0.2, 4.0], [1.0, -1.0, 0.0]])
    lo, hi = np.array([-1.0, 0.5, 0.0]), np.array([2.0, 2.0, 3.0])
    t = Tensor(a.copy())
    t.clamp_(min=Tensor(lo), max=Tensor(hi))
    np.testing.assert_array_equal(t.numpy(), np.minimum(np.maximum(a, lo), hi))
    np.testing.assert_array_equal(t.numpy(), Tensor(a).clamp(Tensor(lo), Tensor(hi)).numpy())


@pytest.mark.parametrize("make, call, words", [
    (lambda: engine.tensor([1, 2, 3]), lambda t: t.div_(2), "float32 can't be cast to .*int64"),
    (lambda: engine.tensor([1, 2, 3]), lambda t: t.add_(0.5), "float32 can't be cast to .*int64"),
    (lambda: engine.tensor([1, 2, 3]), lambda t: t.sub_(engine.tensor(2.0)), "can't be cast to .*int64"),
    (lambda: engine.tensor([1, 2, 3]), lambda t: t.mul_(np.ones(3)), "can't be cast to .*int64"),
    (lambda: engine.tensor([True, False]), lambda t: t.add_(1), "int64 can't be cast to .*bool"),
    (lambda: engine.ones(2), lambda t: t.add_(engine.ones(2, 2)), r"\(2, 2\).*\(2,\)"),
    (lambda: engine.ones(2), lambda t: t.copy_(engine.ones(3)), r"\(3,\).*\(2,\)"),
    (lambda: engine.ones(2), lambda t: t.clamp_(), "'min' or 'max'"),
    (lambda: engine.ones(2), lambda t: t.fill_(engine.ones(2)), "0-dim"),
    (lambda: engine.ones(2), lambda t: t.normal_(0.0, -1.0), "std"),
    (lambda: engine.ones(2), lambda t: t.uniform_(3.0, 2.0), "from"),
])
def test_bad_inplace_calls_say_what_is_wrong_and_change_nothing(make, call, words):
    t = make()
    before = t.numpy().copy()
    with pytest.raises((RuntimeError, ValueError), match=words):
        call(t)
    np.testing.assert_array_equal(t.numpy(), before)
    assert t._version == 0


@pytest.mark.parametrize("index", [np.s_[:1], np.s_[1], np.s_[..., 1:], np.s_[None, :, 0]])
def test_a_basic_slice_shares_the_version_counter_so_backward_sees_inplace_changes(index):
    """PyTorch's basic indexing returns a view: an in-place change of the base after the slice was
    saved makes backward raise. Before, the slice had its own counter and the gradient came out
    silently computed from the changed values."""
    import torch
    for lib, make in ((torch, lambda: torch.arange(6.0).reshape(2, 3).requires_grad_()),
                      (engine, lambda: Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True))):
        a = make()
        h = a * 1.0
        s = h[index]
        z = (s * s).sum()                        # saves the slice
        with lib.no_grad():
            h.add_(10.0)
        assert s._version == h._version == 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


def test_an_advanced_index_is_a_copy_with_its_own_version_counter():
    import torch
    for lib, a in ((torch, torch.arange(6.0).reshape(2, 3)), (engine, Tensor(np.arange(6.0).reshape(2, 3)))):
        s = a[[0, 1]]
        a.add_(1.0)
        assert (a._version, s._version) == (1, 0)
