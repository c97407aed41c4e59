"""Tensor.register_post_accumulate_grad_hook (what DistributedDataParallel's overlap rests on):
runs once per backward per leaf, after the leaf's gradient is final, and before the walk ends
(so communication can overlap the rest of backward); gradients are unchanged by it."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import Function
from engine._backward import POST_HOOKS

SETTINGS = settings(deadline=None, max_examples=15)


def _graph(w, v, x, uses):
    """A graph where ``w`` is used ``uses`` times and ``v`` once, near the output."""
    h = sum(((x * (k + 1)) @ w).tanh() for k in range(uses))
    return (h @ v).sum()


@SETTINGS
@given(uses=st.integers(1, 4), seed=st.integers(0, 2**16), passes=st.integers(1, 3))
def test_hook_sees_the_final_gradient_once_per_backward(uses, seed, passes):
    rng = np.random.default_rng(seed)
    x = engine.tensor(rng.standard_normal((3, 4)))
    w0, v0 = rng.standard_normal((4, 5)), rng.standard_normal((5, 2))
    w = engine.tensor(w0.copy(), requires_grad=True)
    v = engine.tensor(v0.copy(), requires_grad=True)
    seen = []
    handles = [t.register_post_accumulate_grad_hook(lambda t, n=n: seen.append((n, t.grad.numpy().copy())))
               for n, t in (("w", w), ("v", v))]
    try:
        for _ in range(passes):
            _graph(w, v, x, uses).backward()
        # the same gradients without hooks (reference)
        w2 = engine.tensor(w0.copy(), requires_grad=True)
        v2 = engine.tensor(v0.copy(), requires_grad=True)
        for _ in range(passes):
            _graph(w2, v2, x, uses).backward()
    finally:
        for h in handles:
            h.remove()
    assert [n for n, _ in seen].count("w") == passes and [n for n, _ in seen].count("v") == passes
    assert np.array_equal(w.grad.numpy(), w2.grad.numpy())
    assert np.array_equal(v.grad.numpy(), v2.grad.numpy())
    last_w = [g for n, g in seen if n == "w"][-1]
    assert np.array_equal(last_w, w.grad.numpy())   # the hook saw the accumulated, final value


def test_a_leaf_near_the_output_is_delivered_before_the_walk_ends():
    x = engine.randn(2, 3, dtype=np.float64)
    w1 = engine.randn(3, 3, dtype=np.float64, requires_grad=True)
    w2 = engine.randn(3, 1, dtype=np.float64, requires_grad=True)
    order = []
    h = w2.register_post_accumulate_grad_hook(lambda t: order.append(w1.grad is None))
    try:
        ((x @ w1).tanh().exp() @ w2).sum().backward()
    finally:
        h.remove()
    assert order == [True]   # w2 was final while w1's gradient was still being computed


def test_registration_rules_and_removal():
    base = POST_HOOKS[0]
    w = engine.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        engine.randn(2).register_post_accumulate_grad_hook(print)
    calls = []
    h = w.register_post_accumulate_grad_hook(calls.append)
    assert POST_HOOKS[0] == base + 1
    (w * w).sum().backward()
    h.remove()
    h.remove()   # twice is harmless
    assert POST_HOOKS[0] == base
    (w * w).sum().backward()
    assert calls == [w]


class _NoGradForSecond(Function):
    """y = a · 2 with no gradient returned for b (as a user brick may do)."""

    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b * 0

    @staticmethod
    def backward(ctx, g):
        return g * 2, None


def test_hooks_learn_of_reached_leaves_that_got_no_gradient():
    # what the data-parallel reducer relies on: PyTorch 2.13 runs a reached leaf's
    # post-accumulate-grad hooks even when the gradient it receives is None
    # (tests/test_fix_ops_hooks.py compares with torch)
    a = engine.randn(3, dtype=np.float64, requires_grad=True)
    b = engine.randn(3, dtype=np.float64, requires_grad=True)
    calls = []
    h = b.register_post_accumulate_grad_hook(calls.append)
    try:
        _NoGradForSecond.apply(a, b).sum().backward()
    finally:
        h.remove()
    assert b.grad is None and calls == [b]


def test_engine_grad_does_not_run_the_hooks_or_touch_grad():
    w = engine.randn(3, dtype=np.float64, requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(calls.append)
    try:
        (g,) = engine.grad((w * w).sum(), [w])
    finally:
        h.remove()
    assert calls == [] and w.grad is None
    np.testing.assert_allclose(g.numpy(), 2 * w.numpy())
