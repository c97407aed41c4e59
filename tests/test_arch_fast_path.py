"""The unrolled fast paths are special cases of the general ones: ``apply_small`` records the same
node as ``_apply_general`` and the backward fast lane gives the same gradients as ``_run_node``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Tensor, ops
from engine.function import _apply_general, apply_small

UNARY = [row.impl for row in ops.TABLE if row.arity() == 1]
BINARY = [row.impl for row in ops.TABLE if row.arity() == 2]


def _positive(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(0.5, 2.0))


def _node_state(t):
    """Everything a recorded node holds, with values compared by identity where the engine does."""
    node = t.grad_fn
    n_saved = None if node._saved is None else len(node._saved)
    src = [] if node._saved is None else node._saved_src
    # per saved value: where it came from, whether its version is tracked, the version it had
    src = [(src[k], src[k + 1] is not None, src[k + 2]) for k in range(0, len(src), 3)]
    edges = [e if e is None or type(e) is tuple else ("leaf", id(e)) if isinstance(e, Tensor)
             else ("node", type(e).__name__) for e in node._next]
    return (node.fn, node.needs_input_grad, edges, n_saved, src, node._out_meta, node._n_out)


@settings(deadline=None, max_examples=40)
@given(data=st.data(), op=st.sampled_from(UNARY), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_apply_small_records_what_apply_general_records_unary(data, op, shape):
    x = Tensor(data.draw(_positive(shape)), requires_grad=True)
    fast, slow = apply_small(op, x, None, 1), _apply_general(op, (x,))
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    assert _node_state(fast) == _node_state(slow)


@settings(deadline=None, max_examples=60)
@given(data=st.data(), op=st.sampled_from(BINARY),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       grads=st.sampled_from([(True, True), (True, False), (False, True)]),
       number=st.booleans())
def test_apply_small_records_what_apply_general_records_binary(data, op, shapes, grads, number):
    sa, sb = shapes.input_shapes
    if op is ops.Matmul:
        sa, sb = (2, 3), (3, 4)
    x = Tensor(data.draw(_positive(sa)), requires_grad=grads[0])
    y = 1.5 if number and op is not ops.Matmul else Tensor(data.draw(_positive(sb)), requires_grad=grads[1])
    if not (x.requires_grad or (isinstance(y, Tensor) and y.requires_grad)):
        x.requires_grad_()
    fast, slow = apply_small(op, x, y, 2), _apply_general(op, (x, y))
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    assert _node_state(fast) == _node_state(slow)


def _graph(x, w):
    h = (x * w + x).tanh()
    h = (h @ w.T).sigmoid() - h.exp().mean(dim=1, keepdim=True)
    return (h.relu() ** 2 / (1 + h.abs())).sum()


@settings(deadline=None, max_examples=25)
@given(x=hnp.arrays(np.float64, (3, 4), elements=st.floats(-2, 2)),
       w=hnp.arrays(np.float64, (4,), elements=st.floats(-2, 2)))
def test_backward_fast_lane_equals_the_general_node_run(x, w):
    def grads(anomaly):
        xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
        if anomaly:  # anomaly mode sends every node through _run_node
            with engine.detect_anomaly():
                _graph(xt, wt.expand(3, 4)[0]).backward()
        else:
            _graph(xt, wt.expand(3, 4)[0]).backward()
        return xt.grad.numpy(), wt.grad.numpy()

    fast, general = grads(False), grads(True)
    for f, g in zip(fast, general):
        np.testing.assert_array_equal(f, g)


@settings(deadline=None, max_examples=25)
@given(x=hnp.arrays(np.float64, (3, 4), elements=st.floats(-2, 2)),
       w=hnp.arrays(np.float64, (4,), elements=st.floats(-2, 2)), retain=st.booleans())
def test_plain_backward_call_equals_the_general_entry(x, w, retain):
    """``y.backward()`` takes a short entry (no argument handling); ``engine.autograd.backward``
    with the explicit seed is the general one: the same gradients, the same freeing of the graph."""
    def run(plain):
        xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
        y = _graph(xt, wt.expand(3, 4)[0])
        if plain:
            y.backward()
        else:
            engine.autograd.backward([y], [engine.ones_like(y)], retain_graph=retain)
        return xt.grad.numpy(), wt.grad.numpy(), y.grad_fn.is_freed

    fast, general = run(True), run(False)
    for f, g in zip(fast[:2], general[:2]):
        np.testing.assert_array_equal(f, g)
    assert fast[2] and general[2] is not retain


def test_plain_backward_call_keeps_the_errors_and_scalar_seeds():
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs; "
                                           r"this tensor has shape \(2,\)"):
        (Tensor(np.ones(2), requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(())).backward()
    a, b = engine.Scalar(3.0), engine.Scalar(-2.0)
    (a * b + a).backward()
    assert (a.grad, b.grad) == (-1.0, 3.0)


def test_the_engine_refuses_double_backward_through_a_once_differentiable_function():
    class Once(engine.Function):
        raw = True
        twice_differentiable = False

        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = engine.grad(Once.apply(x).sum(), x)  # first order works
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="OnceBackward does not support double backward"):
        engine.grad(Once.apply(x).sum(), x, create_graph=True)


@pytest.mark.parametrize("through", ["leaf", "view", "add"])
def test_a_seed_array_is_neither_copied_into_nor_aliased_by_a_leafs_grad(through):
    """``y.backward(g)`` hands the caller's ``g`` to the walk without a copy; a leaf that would keep
    it (the root is the leaf, or a view or an add passes it on unchanged) copies it first, so two
    backward calls accumulate 2g in ``.grad`` and leave ``g`` as it was."""
    g = np.arange(6.0).reshape(2, 3).copy()  # owns its memory (a view would be copied anyway)
    before = g.copy()
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    for _ in range(2):
        y = {"leaf": lambda: x, "view": lambda: x.reshape(3, 2).reshape(2, 3),
             "add": lambda: x + Tensor(np.zeros((2, 3)))}[through]()
        y.backward(g)
    np.testing.assert_array_equal(g, before)
    np.testing.assert_array_equal(x.grad.numpy(), 2 * before)
    assert not np.shares_memory(x.grad.numpy(), g)
