"""``Tensor.data`` is PyTorch's: a detached Tensor sharing storage whose in-place edits autograd
neither records nor checks; ``Scalar.data`` stays a float."""
import numpy as np
import pytest

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
