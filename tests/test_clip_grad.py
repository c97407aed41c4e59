"""nn.utils.clip_grad_norm_ / clip_grad_value_ (PyTorch semantics), also re-exported from optim."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import optim
from nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_


def params_with_grads(grads):
    ps = []
    for g in grads:
        p = engine.Tensor(np.zeros_like(g), requires_grad=True)
        p.grad = engine.Tensor(g.copy())
        ps.append(p)
    return ps


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), max_norm=st.floats(0.01, 10), norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]))
def test_clip_grad_norm(seed, max_norm, norm_type):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) * rng.uniform(0.1, 5) for s in [(3, 4), (5,), ()]]
    ps = params_with_grads(grads)
    flat = np.concatenate([g.ravel() for g in grads])
    want = np.abs(flat).max() if norm_type == math.inf else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    total = clip_grad_norm_(ps, max_norm, norm_type)
    assert float(total.item()) == pytest.approx(want, rel=1e-10)
    coef = min(1.0, max_norm / (want + 1e-6))
    for p, g in zip(ps, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-10)
    new = np.concatenate([p.grad.numpy().ravel() for p in ps])
    new_norm = np.abs(new).max() if norm_type == math.inf else np.sum(np.abs(new) ** norm_type) ** (1 / norm_type)
    assert new_norm <= max_norm * (1 + 1e-9) or want <= max_norm


def test_clip_grad_norm_edge_cases():
    p = engine.Tensor(np.zeros(2), requires_grad=True)
    assert float(clip_grad_norm_([p], 1.0).item()) == 0.0         # no grads
    ps = params_with_grads([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    single = params_with_grads([np.array([3.0, 4.0])])[0]
    assert float(clip_grad_norm_(single, 1.0).item()) == pytest.approx(5.0)   # a single Tensor
    np.testing.assert_allclose(single.grad.numpy(), [0.6, 0.8], rtol=1e-6)


def test_clip_grad_value():
    ps = params_with_grads([np.array([-3.0, 0.5, 2.0]), np.array([[10.0]])])
    p_none = engine.Tensor(np.zeros(1), requires_grad=True)
    assert clip_grad_value_(ps + [p_none], 1.0) is None
    np.testing.assert_array_equal(ps[0].grad.numpy(), [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(ps[1].grad.numpy(), [[1.0]])


def test_reexported_from_optim():
    assert optim.clip_grad_norm_ is clip_grad_norm_ and optim.clip_grad_value_ is clip_grad_value_
