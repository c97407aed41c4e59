"""``copy.deepcopy`` of tensors and whole models, as PyTorch allows (target networks, best-weights
snapshots); non-leaf tensors refuse."""
import copy

import numpy as np
import pytest

import engine
import nn
from engine import Tensor


def test_deepcopy_of_a_leaf_copies_data_grad_and_flags():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), x.grad.numpy())
    y.numpy()[0] = 9.0
    assert x.numpy()[0] == 1.0 and not np.shares_memory(y.grad.numpy(), x.grad.numpy())


def test_deepcopy_of_a_non_leaf_raises():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)


def test_deepcopy_of_a_model_is_independent_and_equal():
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    twin = copy.deepcopy(model)
    x = engine.randn(5, 4)
    model.eval(), twin.eval()
    np.testing.assert_array_equal(model(x).numpy(), twin(x).numpy())
    assert all(type(p) is nn.Parameter for p in twin.parameters())
    with engine.no_grad():
        twin[0].weight.add_(1.0)
    assert not np.allclose(model(x).numpy(), twin(x).numpy())
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
