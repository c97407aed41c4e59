"""Mutation-testing guard for the reverse walk (engine/_backward.py: ``_walk``, ``_run_node``,
``_backward_on_payloads``, ``run_backward``; engine/node.py ``Node.__init__``): behaviours the
rest of the suite did not pin down, checked against PyTorch where it has the same feature.

* roots that are leaves: ``backward`` on a leaf, the same leaf twice among the roots (the seeds
  add up), a leaf root before a non-leaf root (the later roots still run), a post-accumulate-grad
  hook on a leaf root runs once with the final gradient;
* the same non-leaf root twice (seeds add up); two roots where one depends on the other (the
  walk still runs every node once, in decreasing creation order);
* ``grad`` w.r.t. non-leaf inputs (the value's gradient is captured on the way);
* a node no gradient reached passes ``None`` on: single-output nodes and a built-in node with two
  outputs (``max(dim)``), whose inputs keep ``.grad is None`` as in PyTorch;
* a backward returning extra trailing ``None`` gradients is accepted and anything else with the
  wrong count raises, on every lane of the walk (plain, hooked output, ``grad``, anomaly mode);
* ``detect_anomaly`` checks backward gradients of built-in ops, and the message has no "forward
  was called at" part when the graph was recorded outside anomaly mode;
* ``create_graph`` through a Function with ``twice_differentiable = False`` raises naming it;
* ``is_anomaly_enabled()`` is a bool inside a backward; ``ctx.saved_tensors`` is ``()`` before
  anything was saved; the garbage collector is enabled again after a backward.
"""
import gc

import numpy as np
import pytest
import torch

import engine
from engine import Function

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),          # torch's anomaly reports
              pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")]  # 0/0 on purpose


def _t(a, requires_grad=False):
    return engine.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def _tt(a, requires_grad=False):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def _np(g):
    return None if g is None else np.asarray(g.detach().numpy() if hasattr(g, "detach") else g.numpy())


def _same_grad(ours, theirs):
    if theirs is None:
        assert ours is None
    else:
        assert ours is not None
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


# -- roots that are leaves, duplicated roots, roots depending on each other --------------------

def _roots_case(lib, case):
    """Build (roots, seeds, leaves) with ``lib`` (engine or torch) for one root layout."""
    t = _t if lib is engine else _tt
    x = t([1.0, 2.0], True)
    w = t([3.0, -1.0], True)
    g1, g2 = t([1.0, 2.0]), t([10.0, 20.0])
    if case == "leaf":
        return [x], [g1], [x, w]
    if case == "leaf_twice":
        return [x, x], [g1, g2], [x, w]
    if case == "two_leaves":
        return [x, w], [g1, g2], [x, w]
    if case == "leaf_then_nonleaf":
        return [x, w * w], [g1, g2], [x, w]
    if case == "nonleaf_twice":
        y = x * w
        return [y, y], [g1, g2], [x, w]
    if case == "dependent_roots":
        y = x * w
        z = y * y
        return [y, z], [g1, g2], [x, w]
    if case == "dependent_roots_reversed":
        y = x * w
        z = (y * y).exp()
        return [z, y], [g1, g2], [x, w]
    raise AssertionError(case)


_CASES = ["leaf", "leaf_twice", "two_leaves", "leaf_then_nonleaf", "nonleaf_twice",
          "dependent_roots", "dependent_roots_reversed"]


@pytest.mark.parametrize("case", _CASES)
def test_backward_roots_like_torch(case):
    roots, seeds, leaves = _roots_case(engine, case)
    troots, tseeds, tleaves = _roots_case(torch, case)
    engine.autograd.backward(roots, seeds)
    torch.autograd.backward(troots, tseeds)
    for ours, theirs in zip(leaves, tleaves):
        _same_grad(ours.grad, theirs.grad)


@pytest.mark.parametrize("case", _CASES[1:])
def test_grad_roots_like_torch(case):
    roots, seeds, leaves = _roots_case(engine, case)
    troots, tseeds, tleaves = _roots_case(torch, case)
    ours = engine.grad(roots, leaves, seeds, allow_unused=True)
    theirs = torch.autograd.grad(troots, tleaves, tseeds, allow_unused=True)
    for a, b in zip(ours, theirs):
        _same_grad(a, b)
    assert all(v.grad is None for v in leaves)


def test_backward_on_a_leaf_runs_its_post_accumulate_hook():
    def run(lib):
        x = (_t if lib is engine else _tt)([1.0, 2.0], True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda v: seen.append(_np(v.grad).copy()))
        x.backward((_t if lib is engine else _tt)([3.0, 4.0]))
        return seen

    ours, theirs = run(engine), run(torch)
    assert len(ours) == len(theirs) == 1
    np.testing.assert_array_equal(ours[0], theirs[0])


# -- grad() w.r.t. non-leaf values -------------------------------------------------------------

def _intermediates(lib):
    t = _t if lib is engine else _tt
    x = t([1.0, 2.0, -0.5], True)
    y = x * 3.0          # a plain one-output built-in node
    u = y.exp()
    z = (u * y).sum()
    return z, [y, x, u]


def test_grad_wrt_non_leaf_values_like_torch():
    z, inputs = _intermediates(engine)
    tz, tinputs = _intermediates(torch)
    ours = engine.grad(z, inputs)
    theirs = torch.autograd.grad(tz, tinputs)
    for a, b in zip(ours, theirs):
        _same_grad(a, b)


# -- nodes that no gradient reached ------------------------------------------------------------

class _NoGrad(Function):
    """5·a whose backward returns None: nothing flows to ``a``."""

    @staticmethod
    def forward(ctx, a):
        return a * 5.0

    @staticmethod
    def backward(ctx, g):
        return None


class _TNoGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 5.0

    @staticmethod
    def backward(ctx, g):
        return None


@pytest.mark.parametrize("producer", ["mul", "max_dim_values"])
def test_node_without_gradient_passes_none_like_torch(producer):
    def run(lib):
        t = _t if lib is engine else _tt
        nograd = _NoGrad if lib is engine else _TNoGrad
        x = t([[3.0, 1.0], [2.0, 4.0]], True)
        w = t([1.0, 2.0], True)
        if producer == "mul":
            a = (x * 2.0).sum(0)
        else:
            a = x.max(dim=0)[0]   # a built-in node with two outputs (values, indices)
        (nograd.apply(a) * w).sum().backward()
        return x, w

    (x, w), (tx, tw) = run(engine), run(torch)
    _same_grad(x.grad, tx.grad)
    _same_grad(w.grad, tw.grad)


# -- the gradient count a backward returns, on every lane of the walk --------------------------

def _arity_fn(lib, raw, extra):
    """2·a; backward returns the gradient plus ``extra`` (trailing Nones, or a second gradient)."""
    base = Function if lib is engine else torch.autograd.Function

    class Twice(base):
        @staticmethod
        def forward(ctx, a):
            return a * 2.0

        @staticmethod
        def backward(ctx, g):
            return (g * 2.0,) + tuple(g if e == "grad" else None for e in extra)

    if lib is engine:
        Twice.raw = raw
    return Twice


_LANES = ["plain", "hooked_output", "grad", "anomaly"]


def _run_lane(lib, fn, lane):
    t = _t if lib is engine else _tt
    x = t([1.0, -2.0, 0.5], True)
    y = fn.apply(x)
    if lane == "hooked_output":
        y.register_hook(lambda g: g * 3.0)
    loss = (y * y).sum()
    if lane == "grad":
        return (engine.grad if lib is engine else torch.autograd.grad)(loss, [x])[0]
    if lane == "anomaly":
        with (engine.detect_anomaly() if lib is engine else torch.autograd.detect_anomaly()):
            loss.backward()
    else:
        loss.backward()
    return x.grad


@pytest.mark.parametrize("raw", [True, False])
@pytest.mark.parametrize("lane", _LANES)
@pytest.mark.parametrize("extra", [("none",), ("none", "none")])
def test_trailing_none_gradients_are_accepted(raw, lane, extra):
    ours = _run_lane(engine, _arity_fn(engine, raw, extra), lane)
    theirs = _run_lane(torch, _arity_fn(torch, raw, extra), lane)
    _same_grad(ours, theirs)


@pytest.mark.parametrize("raw", [True, False])
@pytest.mark.parametrize("lane", _LANES)
@pytest.mark.parametrize("extra", [("grad",), ("none", "grad")])
def test_wrong_gradient_count_raises(raw, lane, extra):
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        _run_lane(torch, _arity_fn(torch, raw, extra), lane)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        _run_lane(engine, _arity_fn(engine, raw, extra), lane)


# -- anomaly mode ------------------------------------------------------------------------------

def test_anomaly_checks_backward_of_built_in_ops():
    """sqrt at 0 times 0: a finite forward whose backward is 0/0 = NaN (PyTorch raises too)."""
    tx = _tt([0.0, 1.0], True)
    with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="nan"):
        (tx.sqrt() * 0.0).sum().backward()
    x = _t([0.0, 1.0], True)
    with engine.detect_anomaly(), pytest.raises(RuntimeError, match="backward"):
        (x.sqrt() * 0.0).sum().backward()


def test_anomaly_message_without_recorded_forward():
    """A graph recorded outside anomaly mode has no forward traceback to show: the message is
    check_finite's alone (it ends with its "[detect_anomaly]" tag)."""
    x = _t([0.0, 1.0], True)
    y = x.sqrt()
    y.register_hook(lambda g: g)        # the general lane (_run_node), not the fast lane
    loss = (y * 0.0).sum()
    with engine.detect_anomaly(), pytest.raises(RuntimeError) as info:
        loss.backward()
    msg = str(info.value)
    assert "called at" not in msg
    assert msg.endswith("[detect_anomaly]")


class _AnomalyProbe(Function):
    seen = []

    @staticmethod
    def forward(ctx, a):
        return a * 2.0

    @staticmethod
    def backward(ctx, g):
        _AnomalyProbe.seen.append(engine.is_anomaly_enabled())
        return g * 2.0


class _TAnomalyProbe(torch.autograd.Function):
    seen = []

    @staticmethod
    def forward(ctx, a):
        return a * 2.0

    @staticmethod
    def backward(ctx, g):
        _TAnomalyProbe.seen.append(torch.is_anomaly_enabled())
        return g * 2.0


def test_is_anomaly_enabled_is_a_bool_inside_backward():
    _AnomalyProbe.seen.clear()
    _TAnomalyProbe.seen.clear()
    _AnomalyProbe.apply(_t([1.0], True)).sum().backward()
    _TAnomalyProbe.apply(_tt([1.0], True)).sum().backward()
    assert _TAnomalyProbe.seen == [False]
    assert len(_AnomalyProbe.seen) == 1
    assert type(_AnomalyProbe.seen[0]) is bool and _AnomalyProbe.seen[0] is False


# -- double backward refused, saved_tensors before saving, gc ----------------------------------

class _Once(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, a):
        return a * 2.0

    @staticmethod
    def backward(ctx, g):
        return g * 2.0


def test_create_graph_through_once_differentiable_function_names_it():
    x = _t([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="_OnceBackward does not support double backward"):
        _Once.apply(x).sum().backward(create_graph=True)


def test_saved_tensors_is_empty_tuple_before_saving():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a):
            seen["ours"] = ctx.saved_tensors
            return a * 2.0

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    class TProbe(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            seen["torch"] = ctx.saved_tensors
            return a * 2.0

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    Probe.apply(_t([1.0], True))
    TProbe.apply(_tt([1.0], True))
    assert seen["torch"] == ()
    assert seen["ours"] == ()


@pytest.mark.parametrize("create_graph", [False, True])
def test_backward_leaves_the_garbage_collector_enabled(create_graph):
    assert gc.isenabled()
    x = _t([1.0, 2.0], True)
    (x * x).sum().backward(create_graph=create_graph)
    assert gc.isenabled()
