"""Mutation-testing guard for the autograd core (engine/_backward.py, engine/node.py,
engine/function.py): behaviours of the backward walk, anomaly mode and custom ``Function`` that
the rest of the suite did not pin down, checked against PyTorch where it has the same feature.

* post-accumulate-grad hooks: once per backward, after the leaf's gradient is final, also when
  the leaf is reached after a constant argument or through a second output of a node;
* hooks on non-leaf values under ``create_graph`` stay differentiable (second derivatives);
* a custom Function's gradients are shape-checked for non-leaf inputs too, ``None`` gradients
  are allowed, and a wrong shape after a ``None`` is still caught;
* unused outputs of a multi-output Function receive zeros shaped and typed like the output
  (Tensors also under ``create_graph``); outputs marked non-differentiable receive ``None``;
* a backward may return a Python number for a 0-d input;
* detect_anomaly's message says which phase and which output/gradient is NaN/Inf;
* the ctx of an unrecorded forward: ``needs_input_grad`` is all False, one entry per argument;
* ``view_of`` outputs of a multi-output Function share the viewed input's version counter;
* a Function returning a 1-tuple feeds another Function; the base class' missing
  forward/backward errors.
"""
import math

import numpy as np
import pytest
import torch

import engine
from engine import Function, Scalar


def _t(a, requires_grad=False):
    return engine.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def _tt(a, requires_grad=False):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


# -- post-accumulate-grad hooks ----------------------------------------------------------------

class _TwoOut(Function):
    """(2·x, 3·x): a node with two outputs."""

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g0, g1):
        return g0 * 2 + g1 * 3


class _TorchTwoOut(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g0, g1):
        return g0 * 2 + g1 * 3


def _graph_const_first(lib, w, c):
    # c * w: the edge to the constant c (None) comes before the edge to w; w * w runs first
    return (c * w).sum() + (w * w).sum()


def _graph_second_output(lib, w, c):
    # only output 1 of the two-output node is used: the walk reaches w through (node, 1)
    two = _TwoOut if lib is engine else _TorchTwoOut
    _, b = two.apply(w)
    return (b * c).sum() + (w * w).sum()


def _graph_second_output_twice(lib, w, c):
    two = _TwoOut if lib is engine else _TorchTwoOut
    _, b = two.apply(w)
    _, b2 = two.apply(w * c)
    return (b * c).sum() + (b2 * b2).sum() + (w * w * w).sum()


GRAPHS = [_graph_const_first, _graph_second_output, _graph_second_output_twice]


@pytest.mark.parametrize("graph", GRAPHS)
def test_post_accumulate_hook_runs_once_with_the_final_gradient(graph):
    w0 = np.array([0.5, -1.5, 2.0])
    c0 = np.array([3.0, 1.0, -2.0])
    # PyTorch: the reference gradient and hook calls
    tw = _tt(w0, True)
    tseen = []
    tw.register_post_accumulate_grad_hook(lambda t: tseen.append(t.grad.detach().numpy().copy()))
    for _ in range(2):
        graph(torch, tw, _tt(c0)).backward()
    w = _t(w0, True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    try:
        for _ in range(2):
            graph(engine, w, _t(c0)).backward()
    finally:
        h.remove()
    assert len(seen) == len(tseen) == 2
    for got, want in zip(seen, tseen):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_post_accumulate_hook_fires_before_the_walk_ends_and_gets_the_leaf():
    # w2 is consumed twice near the output: after both edges delivered, its hook runs while w1's
    # gradient is still to be computed (PyTorch runs it as soon as the AccumulateGrad node runs)
    x = _t(np.arange(6.0).reshape(2, 3) / 7)
    w1 = _t(np.linspace(-1, 1, 9).reshape(3, 3), True)
    w2 = _t([[0.3], [-0.2], [0.1]], True)
    calls = []
    h = w2.register_post_accumulate_grad_hook(lambda t: calls.append((t, w1.grad is None, t.grad.numpy().copy())))
    try:
        h1 = (x @ w1).tanh()
        ((h1 @ w2) * (h1.exp() @ w2)).sum().backward()
    finally:
        h.remove()
    assert len(calls) == 1
    leaf, w1_pending, g = calls[0]
    assert leaf is w2 and w1_pending
    np.testing.assert_array_equal(g, w2.grad.numpy())
    tx, tw1, tw2 = _tt(x.numpy()), _tt(w1.numpy(), True), _tt(w2.numpy(), True)
    th1 = (tx @ tw1).tanh()
    ((th1 @ tw2) * (th1.exp() @ tw2)).sum().backward()
    np.testing.assert_allclose(w2.grad.numpy(), tw2.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w1.grad.numpy(), tw1.grad.numpy(), rtol=1e-12)


class _NoGradForSecond(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b * 0

    @staticmethod
    def backward(ctx, g):
        return g * 2, None


class _TNoGradForSecond(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b * 0

    @staticmethod
    def backward(ctx, g):
        return g * 2, None


def _post_hook_calls(lib_fn, make, add_hook):
    a, b = make([1.0, 2.0]), make([3.0, 4.0])
    calls = []
    handles = [add_hook(b, lambda t: calls.append(("b", t.grad is None))),
               add_hook(a, lambda t: calls.append(("a", t.grad is None)))]
    try:
        lib_fn.apply(a, b).sum().backward()
    finally:
        for h in handles:
            if hasattr(h, "remove"):
                h.remove()
    return sorted(calls), a, b


def test_post_hook_of_a_reached_leaf_without_gradient():
    # PyTorch 2.13 runs a leaf's AccumulateGrad node (and so its post-accumulate-grad hooks)
    # whenever the walk reaches it, also when the gradient it receives is None (.grad stays None)
    ref, ta, tb = _post_hook_calls(_TNoGradForSecond, lambda v: _tt(v, True),
                                   lambda t, f: t.register_post_accumulate_grad_hook(f))
    assert ref == [("a", False), ("b", True)] and tb.grad is None
    public, a, b = _post_hook_calls(_NoGradForSecond, lambda v: _t(v, True),
                                    lambda t, f: t.register_post_accumulate_grad_hook(f))
    assert public == ref and b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())


# -- hooks on non-leaf values under create_graph -----------------------------------------------

@pytest.mark.parametrize("returns", [True, False])
def test_non_leaf_hook_under_create_graph_is_differentiable(returns):
    x0 = np.array([0.5, -1.0, 2.0])
    got = {}

    def run(lib, x):
        z = x * x
        seen = []

        def hook(g):
            seen.append(g.requires_grad)
            return g * z if returns else None
        z.register_hook(hook)
        (g1,) = lib.autograd.grad((z * z).sum(), [x], create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), [x])
        return seen, g1, g2

    x, tx = _t(x0, True), _tt(x0, True)
    seen, g1, g2 = run(engine, x)
    tseen, tg1, tg2 = run(torch, tx)
    assert seen == tseen, (seen, tseen)
    np.testing.assert_allclose(g1.detach().numpy(), tg1.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), tg2.numpy(), rtol=1e-12)


# -- gradient shapes of custom Functions -------------------------------------------------------

class _Double(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


class _WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g[:2] * 2   # shape (2,) for a (3,) input


def test_function_on_non_leaf_inputs_gets_checked_gradients():
    x = _t([1.0, 2.0, 3.0], True)
    y = _Double.apply(x * 1)          # input 0 is output 0 of MulBackward
    a, b = _TwoOut.apply(x * 1)
    (y.sum() + _Double.apply(b).sum() + a.sum()).backward()   # (node, 1) and (node, 0) edges
    np.testing.assert_allclose(x.grad.numpy(), [2.0 + 6.0 + 2.0] * 3)


@pytest.mark.parametrize("through", ["leaf", "output0", "output1"])
def test_wrong_gradient_shape_raises_for_every_kind_of_input(through):
    x = _t([1.0, 2.0, 3.0], True)
    inp = x if through == "leaf" else (x * 1 if through == "output0" else _TwoOut.apply(x)[1])
    with pytest.raises(RuntimeError) as err:
        _WrongShape.apply(inp).sum().backward()
    assert str(err.value) == ("Function _WrongShapeBackward returned an invalid gradient at index 0: "
                              "got shape (2,) but expected shape (3,)")
    # PyTorch rejects it too
    class TWrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:2] * 2
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        TWrong.apply(_tt([1.0, 2.0, 3.0], True) * 1).sum().backward()


class _Pair(Function):
    """a·b with a configurable backward (``_Pair.grads`` builds the returned pair)."""

    grads = None

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        return _Pair.grads(g)


def test_wrong_shape_after_a_none_gradient_is_caught():
    a = _t([1.0, 2.0, 3.0])            # no grad: edge None
    b = _t([4.0, 5.0, 6.0], True)
    _Pair.grads = lambda g: (None, g[:2])
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 1: got shape \(2,\) but expected shape \(3,\)"):
        _Pair.apply(a, b).sum().backward()


def test_none_gradients_and_gradients_for_inputs_without_grad_are_allowed():
    # as in PyTorch: None for an input that requires grad means "no gradient"; a gradient for an
    # input that does not require grad is ignored (any shape)
    a = _t([1.0, 2.0, 3.0], True)
    b = _t([4.0, 5.0, 6.0], True)
    _Pair.grads = lambda g: (g * 2, None)
    _Pair.apply(a, b).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0, 2.0])
    c = _t([4.0, 5.0, 6.0])
    _Pair.grads = lambda g: (g * 3, g[:1])
    _Pair.apply(a, c).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 5.0, 5.0])


class _NumberGrad(Function):
    """y = 3·x on a 0-d tensor; the backward returns a Python float / NumPy scalar."""

    kind = float

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return _NumberGrad.kind(3.0 * float(g.item()))


@pytest.mark.parametrize("kind", [float, np.float64])
def test_backward_may_return_a_number_for_a_0d_input(kind):
    _NumberGrad.kind = kind
    x = _t(2.0, True)
    (_NumberGrad.apply(x) * 5).backward()
    assert x.grad.shape == ()
    assert float(x.grad.item()) == 15.0


# -- multi-output Functions: unused and non-differentiable outputs -----------------------------

class _Split(Function):
    """(x[0], x[1:]·2): the backward records what it receives for the second output."""

    received = []

    @staticmethod
    def forward(ctx, x):
        return x[0] * 1, x[1:] * 2

    @staticmethod
    def backward(ctx, g0, g1):
        _Split.received.append(g1)
        return engine.cat([g0.unsqueeze(0), g1 * 2], 0)


class _TorchSplit(torch.autograd.Function):
    received = []

    @staticmethod
    def forward(ctx, x):
        return x[0] * 1, x[1:] * 2

    @staticmethod
    def backward(ctx, g0, g1):
        _TorchSplit.received.append(g1)
        return torch.cat([g0.unsqueeze(0), g1 * 2], 0)


@pytest.mark.parametrize("create_graph", [False, True])
def test_unused_output_receives_zeros_like_the_output(create_graph):
    x0 = np.arange(12, dtype=np.float32).reshape(4, 3) / 5
    _Split.received.clear()
    _TorchSplit.received.clear()
    x = engine.tensor(x0, requires_grad=True)
    a, _ = _Split.apply(x)
    (g,) = engine.grad((a * a).sum(), [x], create_graph=create_graph)
    tx = torch.tensor(x0, requires_grad=True)
    ta, _ = _TorchSplit.apply(tx)
    (tg,) = torch.autograd.grad((ta * ta).sum(), [tx], create_graph=create_graph)
    (r,), (tr,) = _Split.received, _TorchSplit.received
    assert isinstance(r, engine.Tensor)
    assert r.shape == tuple(tr.shape) == (3, 3)
    assert str(r.dtype).endswith("float32") and tr.dtype == torch.float32
    np.testing.assert_array_equal(r.numpy() if not create_graph else r.detach().numpy(), tr.detach().numpy())
    assert g.dtype == x.dtype
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-6)


class _ScalarTwo(Function):
    """(2·x, 3·x) on Scalars; the backward records the gradient of output 1."""

    received = []

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g0, g1):
        _ScalarTwo.received.append(g1)
        return g0 * 2 + g1 * 3


def test_scalar_multi_output_function():
    _ScalarTwo.received.clear()
    x = Scalar(1.5)
    a, b = _ScalarTwo.apply(x)
    assert type(a.data) is float and type(b.data) is float and (a.data, b.data) == (3.0, 4.5)
    (a * a).backward()
    assert x.grad == 2 * 3.0 * 2
    (g1,) = _ScalarTwo.received
    assert type(g1.data) is float and g1.data == 0.0


class _SortIdx(Function):
    """(sorted values, argsort) with the permutation marked non-differentiable."""

    received = []

    @staticmethod
    def forward(ctx, x):
        idx = np.argsort(x.numpy(), kind="stable")
        ctx.idx = idx
        values = engine.tensor(x.numpy()[idx])
        indices = engine.tensor(idx.astype(np.int64))
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g_values, g_indices):
        _SortIdx.received.append(g_indices)
        out = np.zeros(g_values.shape)
        out[ctx.idx] = g_values.numpy()
        return engine.tensor(out)


def test_non_differentiable_output_gets_none_in_backward():
    # engine's documented contract (Node.mark_non_differentiable): the backward receives None for
    # an output marked non-differentiable (PyTorch hands a zero tensor instead); the output does
    # not require grad
    _SortIdx.received.clear()
    x = _t([3.0, 1.0, 2.0], True)
    v, i = _SortIdx.apply(x)
    assert v.requires_grad and not i.requires_grad
    (v * _t([1.0, 10.0, 100.0])).sum().backward()
    assert _SortIdx.received == [None]
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])


class _OneTuple(Function):
    @staticmethod
    def forward(ctx, x):
        return (x * 2,)

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_function_returning_a_one_tuple_feeds_another_function():
    x = _t([1.0, 2.0], True)
    (y,) = _OneTuple.apply(x)
    assert y.grad_fn.output_meta() == [((2,), np.dtype(np.float64))]
    _Double.apply(y).sum().backward()
    tx = _tt([1.0, 2.0], True)

    class T(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2,)

        @staticmethod
        def backward(ctx, g):
            return g * 2
    (ty,) = T.apply(tx)
    (ty * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


class _TwoViews(Function):
    """Two views of the input (``view_of = 0``): their version counter is the input's."""

    view_of = 0

    @staticmethod
    def forward(ctx, x):
        return x[:2], x[2:]

    @staticmethod
    def backward(ctx, g0, g1):
        return engine.cat([g0, g1], 0)


def test_outputs_of_a_view_function_share_the_input_version_counter():
    y = _t([1.0, 2.0, 3.0, 4.0], True) * 1
    a, b = _TwoViews.apply(y)
    with engine.no_grad():
        y.add_(1)
    assert y._version == a._version == b._version == 1
    tb = torch.tensor([1.0, 2.0, 3.0, 4.0]) * 1   # torch: views share the version counter
    ta = tb[:2]
    tb.add_(1)
    assert ta._version == tb._version == 1


# -- detect_anomaly ----------------------------------------------------------------------------

class _NaNForward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1, engine.tensor(np.full(x.shape, np.nan))   # NaN made without an op

    @staticmethod
    def backward(ctx, g0, g1):
        return g0


class _InfBackward(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        return None, g * np.inf


def test_anomaly_forward_message_names_the_output():
    x = _t([1.0, 2.0], True)
    with engine.detect_anomaly():
        with pytest.raises(RuntimeError) as err:
            _NaNForward.apply(x)
    assert str(err.value) == ("Function '_NaNForward' returned NaN/Inf values in its forward "
                              "(output 1) [detect_anomaly]")


def test_anomaly_backward_message_names_the_gradient_after_a_none():
    a = _t([1.0, 2.0])
    b = _t([3.0, 4.0], True)
    with engine.detect_anomaly():
        y = _InfBackward.apply(a, b).sum()
        with pytest.raises(RuntimeError) as err:
            y.backward()
    assert str(err.value).split("\n")[0] == ("Function '_InfBackward' returned NaN/Inf values in its "
                                             "backward (gradient for input 1) [detect_anomaly]")
    assert "The forward of this op was called at:" in str(err.value)


@pytest.mark.parametrize("lib", ["scalar", "tensor"])
def test_anomaly_checks_wrapped_outputs(lib):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return Scalar(math.inf) if isinstance(x, Scalar) else engine.tensor([math.inf])

        @staticmethod
        def backward(ctx, g):
            return g

    x = Scalar(1.0) if lib == "scalar" else _t([1.0], True)
    with engine.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"'Bad' returned NaN/Inf values in its forward \(output 0\)"):
            Bad.apply(x)


# -- the ctx of an unrecorded forward; the base class --------------------------------------------

@pytest.mark.parametrize("requires_grad", [False, True])
def test_unrecorded_ctx_needs_input_grad(requires_grad):
    seen = []

    class F(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append((ctx.needs_input_grad[0], ctx.needs_input_grad[1], any(ctx.needs_input_grad),
                         tuple(ctx.needs_input_grad)))
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a, b = _t([1.0], requires_grad), _t([2.0])
    with engine.no_grad():
        F.apply(a, b)
    if not requires_grad:
        F.apply(a, b)
    tseen = []

    class TF(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            tseen.append(tuple(ctx.needs_input_grad))
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g
    TF.apply(_tt([1.0]), _tt([2.0]))
    for s in seen:
        assert s == (False, False, False, tseen[0]) == (False, False, False, (False, False))


def test_base_function_forward_and_backward_must_be_defined():
    class NoForward(Function):
        pass

    with pytest.raises(NotImplementedError) as err:
        NoForward.apply(_t([1.0], True))
    assert str(err.value) == "a Function subclass must define forward(ctx, *args)"

    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    y = NoBackward.apply(_t([1.0], True)).sum()
    with pytest.raises(NotImplementedError) as err:
        y.backward()
    assert str(err.value) == "a Function subclass must define backward(ctx, *grad_outputs)"


# -- saved values rebuilt for backward (Node._as_value) ------------------------------------------

class _SaveInputs(Function):
    """y = x³ · c, saving the input x and the constant argument c."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.save_for_backward(x, c)
        return x * x * x * c

    @staticmethod
    def backward(ctx, g):
        x, c = ctx.saved_tensors
        assert isinstance(x, engine.Tensor) and isinstance(c, engine.Tensor)
        return g * 3 * x * x * c, None


class _TorchSaveInputs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, c):
        ctx.save_for_backward(x, c)
        return x * x * x * c

    @staticmethod
    def backward(ctx, g):
        x, c = ctx.saved_tensors
        return g * 3 * x * x * c, None


class _Cube(Function):
    """y = x³, saving x and the output; the backward uses the output detached: 3 · (y / x)."""

    @staticmethod
    def forward(ctx, x):
        y = x * x * x
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * 3 * (y.detach() / x)


class _TorchCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x * x * x
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * 3 * (y.detach() / x)


@pytest.mark.parametrize("edit", ["none", "constant_arg", "non_leaf_input", "output"])
def test_double_backward_sees_in_place_edits_of_saved_values(edit):
    # the saved values rebuilt for a create_graph backward share the version counters of the
    # originals: an in-place edit before the second backward raises (as in PyTorch) even where
    # the second backward does not pass through the Function's own node again
    def run(lib, mk):
        x = mk([0.5, -1.0, 2.0], True)
        c = mk([3.0, 2.0, 1.0])
        if edit == "output":
            y = (_Cube if lib is engine else _TorchCube).apply(x)
        else:
            xin = x * 1 if edit == "non_leaf_input" else x
            y = (_SaveInputs if lib is engine else _TorchSaveInputs).apply(xin, c)
        (g1,) = lib.autograd.grad(y.sum(), [x], create_graph=True)
        with lib.no_grad():
            {"none": lambda: None, "constant_arg": lambda: c.add_(1),
             "non_leaf_input": lambda: xin.add_(1), "output": lambda: y.add_(1)}[edit]()
        return lib.autograd.grad((g1 * g1).sum(), [x])[0]

    if edit == "none":
        np.testing.assert_allclose(run(engine, _t).numpy(), run(torch, _tt).numpy(), rtol=1e-12)
        return
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch, _tt)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(engine, _t)


class _SaveSecondOutput(Function):
    """(x², x³), saving output 1: its gradient uses it (d x³ = 3 x³ / x)."""

    @staticmethod
    def forward(ctx, x):
        a, b = x * x, x * x * x
        ctx.save_for_backward(x, b)
        return a, b

    @staticmethod
    def backward(ctx, ga, gb):
        x, b = ctx.saved_tensors
        return ga * 2 * x + gb * 3 * b / x


class _TorchSaveSecondOutput(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        a, b = x * x, x * x * x
        ctx.save_for_backward(x, b)
        return a, b

    @staticmethod
    def backward(ctx, ga, gb):
        x, b = ctx.saved_tensors
        return ga * 2 * x + gb * 3 * b / x


class _UsesSaved(Function):
    """z = u · u, saving u (which here is output 1 of another node)."""

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return u * u

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g * 2 * u


class _TorchUsesSaved(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return u * u

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g * 2 * u


def test_second_derivative_through_saved_second_outputs():
    def run(lib, two, uses, mk):
        x = mk([0.5, -1.5, 2.0], True)
        a, b = two.apply(x)
        loss = (uses.apply(b) + a * b).sum()
        (g1,) = lib.autograd.grad(loss, [x], create_graph=True)
        (g2,) = lib.autograd.grad((g1 * g1).sum(), [x])
        return g1.detach().numpy(), g2.numpy()

    got = run(engine, _SaveSecondOutput, _UsesSaved, _t)
    want = run(torch, _TorchSaveSecondOutput, _TorchUsesSaved, _tt)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10)


class _SaveIntermediate(Function):
    """y = x · s with s = sigmoid(x) computed in forward and saved (neither input nor output)."""

    @staticmethod
    def forward(ctx, x):
        s = x.sigmoid()
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        assert isinstance(s, engine.Tensor) and not s.requires_grad
        return g * (s + x * s * (1 - s))


def test_saved_intermediate_comes_back_as_a_constant_tensor():
    x = _t([0.5, -1.0, 2.0], True)
    _SaveIntermediate.apply(x).sum().backward()
    tx = _tt([0.5, -1.0, 2.0], True)
    (tx * tx.sigmoid()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_post_hook_is_early_also_below_a_value_used_twice():
    # v is consumed twice, so the walk reaches u's node (and w2) on two paths: w2 still has
    # one incoming edge and is delivered before the walk reaches h (whose tensor hook runs later)
    x = _t(np.arange(6.0).reshape(2, 3) / 7)
    w1 = _t(np.linspace(-1, 1, 9).reshape(3, 3), True)
    w2 = _t([[0.3], [-0.2], [0.1]], True)
    events = []
    h = (x @ w1).tanh()
    h.register_hook(lambda g: events.append("h"))
    v = (h @ w2).tanh()
    hd = w2.register_post_accumulate_grad_hook(lambda t: events.append("w2"))
    try:
        (v * v.exp()).sum().backward()
    finally:
        hd.remove()
    assert events == ["w2", "h"]
    tx, tw1, tw2 = _tt(x.numpy()), _tt(w1.numpy(), True), _tt(w2.numpy(), True)
    tv = ((tx @ tw1).tanh() @ tw2).tanh()
    (tv * tv.exp()).sum().backward()
    np.testing.assert_allclose(w2.grad.numpy(), tw2.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w1.grad.numpy(), tw1.grad.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_post_hook_leaf_under_create_graph_gets_a_differentiable_grad():
    def run(lib, mk):
        w = mk([0.5, -1.0, 2.0], True)
        h = w.register_post_accumulate_grad_hook(lambda t: None)
        try:
            (w * w * w).sum().backward(create_graph=True)
        finally:
            h.remove()
        assert w.grad.requires_grad
        (g2,) = lib.autograd.grad(w.grad.sum(), [w])
        return g2.numpy()

    np.testing.assert_allclose(run(engine, _t), run(torch, _tt), rtol=1e-12)


# -- unrecorded runs, saving None, next_functions ----------------------------------------------

class _View(Function):
    """A view of the input (``view_of = 0``)."""

    view_of = 0

    @staticmethod
    def forward(ctx, x):
        return x[1:]

    @staticmethod
    def backward(ctx, g):
        return engine.cat([g[:1] * 0, g], 0)


@pytest.mark.parametrize("mode", ["no_grad", "input_without_grad"])
def test_unrecorded_function_outputs(mode):
    x = _t([1.0, 2.0, 3.0], mode == "no_grad")
    with engine.set_grad_enabled(mode != "no_grad"):
        out = _TwoOut.apply(x)
        v = _View.apply(x)
    assert type(out) is tuple and len(out) == 2   # as torch: a tuple of outputs, also unrecorded
    a, b = out
    assert isinstance(a, engine.Tensor) and isinstance(b, engine.Tensor)
    assert not a.requires_grad and a.grad_fn is None and b.grad_fn is None
    np.testing.assert_array_equal(a.numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 6.0, 9.0])
    with engine.no_grad():
        x.add_(1)
    assert v._version == x._version == 1     # the view shares the input's version counter
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])


class _SaveNone(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x, None)
        return x * 2

    @staticmethod
    def backward(ctx, g):
        x, nothing = ctx.saved_tensors
        assert nothing is None and isinstance(x, engine.Tensor)
        return g * 2


def test_save_for_backward_accepts_none():
    # as torch.autograd.Function: None may be saved and comes back as None
    x = _t([1.0, 2.0], True)
    _SaveNone.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_next_functions_name_the_output_of_a_multi_output_node():
    x = _t([1.0, 2.0], True)
    a, b = _TwoOut.apply(x)
    fa, fb = (a * 2).grad_fn.next_functions[0], (b * 2).grad_fn.next_functions[0]
    tx = _tt([1.0, 2.0], True)
    ta, tb = _TorchTwoOut.apply(tx)
    tfa, tfb = (ta * 2).grad_fn.next_functions[0], (tb * 2).grad_fn.next_functions[0]
    assert fa[0] is fb[0] is a.grad_fn and tfa[0] is tfb[0]
    assert (fa[1], fb[1]) == (tfa[1], tfb[1]) == (0, 1)


def test_saved_sources_are_payloads_with_their_argument_index():
    x = _t([1.0, 2.0], True)
    c = _t([3.0, 4.0])
    y = _SaveInputs.apply(x, c)
    src = y.grad_fn.saved_sources()
    assert [idx for _, idx in src] == [0, 1]
    assert all(type(p) is np.ndarray for p, _ in src)
    np.testing.assert_array_equal(src[0][0], x.numpy())
    np.testing.assert_array_equal(src[1][0], c.numpy())
