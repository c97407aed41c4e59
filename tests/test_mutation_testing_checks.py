"""Guards ``engine.testing.check_function`` (engine/testing/function_checks.py) at the edges the
mutation run found unguarded: the default tolerances (against ``torch.autograd.gradcheck``'s),
string ``checks``/``skip``, the name a failure is prefixed with, fresh copies of non-float inputs,
``first_difference``, unused inputs and outputs without a graph, empty inputs, NaN outputs and
gradients, the exact place and values each failure reports (input, output, element, phase,
before/after, node, attribute), shape changes in place, the -Inf and +Inf probes, a user's
``np.errstate(all="raise")``, and reproducible failure messages.

Each broken brick here is wrong in one way only; each correct one must pass."""
import math
import re

import numpy as np
import pytest
import torch

import engine
from engine import Function, Tensor
from engine.testing import (FUNCTION_CHECKS, DoubleBackwardMismatch, GradientMismatch,
                            GraphUnderNoGrad, InputMutated, NonFiniteCrash, NonLinearBackward,
                            SavedTensorsNotReleased, UpstreamGradientMutated, check_function)
from engine.testing.function_checks import first_difference, float64_copy, select_checks


def leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def head(e):
    """The failure message without the example listing."""
    return str(e).split("\nFalsifying")[0]


# ---------------------------------------------------------------- tolerances, names, arguments

class SquareOffBy(Function):
    """x² with a gradient 0.01 too large: inside atol=1, outside the default atol=1e-5."""

    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 * x + 0.01)


def test_default_tolerances_reject_what_torch_gradcheck_rejects():
    x = [0.0, 0.5, -1.0]

    class TorchSquareOffBy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return g * (2 * t + 0.01)

    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(TorchSquareOffBy.apply, (t,), raise_exception=False)
    with pytest.raises(GradientMismatch):
        check_function(SquareOffBy, leaf(x), checks=["gradient"])
    check_function(SquareOffBy, leaf(x), checks=["gradient"], atol=0.02)  # loose enough: passes


def test_checks_and_skip_accept_a_single_name():
    assert select_checks(FUNCTION_CHECKS, "gradient", ()) == ["gradient"]
    assert select_checks(FUNCTION_CHECKS, None, "nonfinite") == [c for c in FUNCTION_CHECKS
                                                                 if c != "nonfinite"]
    with pytest.raises(GradientMismatch):
        check_function(SquareOffBy, leaf([0.5]), checks="gradient")
    check_function(SquareOffBy, leaf([0.5]), skip="gradient")


def wrong_no_grad_twice(x):
    return x * 2 if engine.is_grad_enabled() else x * 3


class CallableWithoutQualname:
    """An instance: it has no ``__qualname__`` of its own."""

    def __call__(self, x):
        return wrong_no_grad_twice(x)

    def __repr__(self):
        return "<the callable instance>"


def test_a_failure_is_prefixed_with_the_qualname_or_else_the_repr():
    with pytest.raises(GraphUnderNoGrad) as info:
        check_function(wrong_no_grad_twice, leaf([1.0]), checks=["no_grad"])
    assert head(info.value).startswith("[no_grad] wrong_no_grad_twice: under engine.no_grad()")
    with pytest.raises(GraphUnderNoGrad) as info:
        check_function(CallableWithoutQualname(), leaf([1.0]), checks=["no_grad"])
    assert head(info.value).startswith("[no_grad] <the callable instance>: under engine.no_grad()")


def test_a_non_callable_is_named_by_its_type():
    with pytest.raises(TypeError, match="got float$"):
        check_function(2.5, leaf([1.0]))


def test_float64_copy_is_a_fresh_copy_for_every_dtype():
    for arr in (np.arange(3, dtype=np.int64), np.array([True, False]), np.ones(2, np.float32),
                np.ones(2)):
        t = Tensor(arr.copy())
        c = float64_copy(t)
        assert not np.shares_memory(c.numpy(), t.numpy())
        assert c.numpy().dtype == (np.float64 if arr.dtype.kind == "f" else arr.dtype)
        np.testing.assert_array_equal(c.numpy(), arr)


def test_first_difference():
    nan = np.nan
    assert first_difference(np.zeros(2), np.zeros(3)) == "shape"
    assert first_difference(np.array([1.0, nan]), np.array([1.0, nan])) is None
    assert first_difference(np.array([1.0, 2.0]), np.array([1.0, nan])) == (1,)
    assert first_difference(np.array([nan, 2.0]), np.array([1.0, 2.0])) == (0,)
    assert first_difference(np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 5]])) == (1, 1)
    assert first_difference(np.array(1 + 1j * nan), np.array(1 + 1j * nan)) is None
    assert first_difference(np.array(2.0), np.array(3.0)) == ()


# ---------------------------------------------------------------- correct bricks that must pass

def test_an_unused_input_and_a_constant_output_pass():
    check_function(lambda x, y: x * 2, leaf([1.0, -2.0]), leaf([0.5, 3.0]))
    check_function(lambda x: Tensor(np.ones(2)), leaf([1.0, 2.0]))
    torch_x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    torch_y = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: x * 2, (torch_x, torch_y))


class TimesTwoIgnoresY(Function):
    """f(x, y) = 2x, claims second derivatives: the second one is zero, y is unused."""

    @staticmethod
    def forward(ctx, x, y):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2, None


def test_an_unused_input_passes_the_double_backward_check():
    check_function(TimesTwoIgnoresY, leaf([1.0, -2.0]), leaf([0.5, 3.0]), checks=["double_backward"])
    check_function(TimesTwoIgnoresY, leaf([1.0, -2.0]), leaf([0.5, 3.0]))


def test_an_empty_input_passes():
    check_function(lambda x: x * 2, Tensor(np.zeros((0,)), requires_grad=True))
    check_function(lambda x: x.sum() * 2, Tensor(np.zeros((0, 2)), requires_grad=True))


def test_nan_outputs_pass_no_grad():
    x = [-1.0, 2.0]  # log(-1) is NaN, as in PyTorch
    assert torch.isnan(torch.log(torch.tensor(x, dtype=torch.float64))[0])
    with np.errstate(invalid="ignore"):
        check_function(lambda v: v.log(), leaf(x), checks=["no_grad"])


def test_nan_gradients_pass_linearity():
    """Failed before the fix: a NaN gradient element made the linearity tolerance NaN, and every
    other element was reported as nonlinear."""
    x = [-1.0, 2.0]  # sqrt's gradient at -1 is NaN, as in PyTorch
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.sqrt(t).backward(torch.ones(2, dtype=torch.float64))
    assert torch.isnan(t.grad[0])
    with np.errstate(invalid="ignore"):
        check_function(lambda v: v.sqrt(), leaf(x), checks=["linearity"])


class AbsUpstreamInfAtZero(Function):
    """Nonlinear backward (abs of the upstream gradient) whose element 0 is infinite."""

    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g.abs() * Tensor(np.array([np.inf, 3.0, 3.0]))


def test_an_infinite_gradient_element_does_not_hide_a_nonlinearity_elsewhere():
    """Failed before the fix: the infinite element made the tolerance infinite."""
    with np.errstate(invalid="ignore"):
        with pytest.raises(NonLinearBackward) as info:
            check_function(AbsUpstreamInfAtZero, leaf([1.0, 2.0, 3.0]), checks=["linearity"])
    assert info.value.element in {(1,), (2,)}


class KeepsAScalarArray(Function):
    """Keeps a 0-d array (a number) as a ctx attribute: allowed."""

    @staticmethod
    def forward(ctx, x):
        ctx.k = np.asarray(3.0)
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g * float(ctx.k)


def test_a_number_kept_on_ctx_is_not_a_leak():
    check_function(KeepsAScalarArray, leaf([1.0, 2.0]), checks=["release"])


def test_the_nonfinite_check_ignores_a_users_errstate_raise():
    with np.errstate(all="raise"):
        check_function(lambda v: v.log(), leaf([1.0, 2.0, 3.0]), checks=["nonfinite"])


# ---------------------------------------------------------------- no_grad

class TwoOutputs(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g0, g1):
        return g0 * 2 + g1 * 3


def second_output_differs_under_no_grad(x, delta):
    a, b = TwoOutputs.apply(x)
    if engine.is_grad_enabled():
        return a, b
    return a, Tensor(b.numpy() + delta)


def test_no_grad_output_that_differs_is_located():
    x = leaf([1e-3, 2e-3, 3e-3])
    delta = np.array([0.0, 1e-9, 1e-9])  # 1.7e-7 relative at element 1
    with pytest.raises(GraphUnderNoGrad) as info:
        check_function(second_output_differs_under_no_grad, x, delta, checks=["no_grad"])
    e = info.value
    assert (e.output, e.element) == (1, (1,))
    assert ("under engine.no_grad() output 1 differs from the output with grad recording on "
            "(at (1,)): shapes (3,) vs (3,)") in head(e)
    check_function(second_output_differs_under_no_grad, x, np.zeros(3), checks=["no_grad"])


def second_output_shorter_under_no_grad(x):
    a, b = TwoOutputs.apply(x)
    return (a, b) if engine.is_grad_enabled() else (a, Tensor(b.numpy()[:2]))


def test_no_grad_output_of_another_shape_is_reported():
    with pytest.raises(GraphUnderNoGrad) as info:
        check_function(second_output_shorter_under_no_grad, leaf([1.0, 2.0, 3.0]), checks=["no_grad"])
    e = info.value
    assert (e.output, e.element) == (1, "shape")
    assert "output 1 differs from the output with grad recording on (at shape): shapes (3,) vs (2,)" \
        in head(e)


def leaf_output_under_no_grad(x):
    a, b = TwoOutputs.apply(x)
    return (a, b) if engine.is_grad_enabled() else (a, Tensor(b.numpy(), requires_grad=True))


def test_no_grad_output_that_requires_grad_without_grad_fn_is_reported():
    with pytest.raises(GraphUnderNoGrad) as info:
        check_function(leaf_output_under_no_grad, leaf([1.0, 2.0]), checks=["no_grad"])
    assert info.value.output == 1
    assert "output 1 has requires_grad=True and grad_fn=None" in head(info.value)


def raises_under_no_grad(x):
    if not engine.is_grad_enabled():
        raise ValueError("needs the graph")
    return x * 2


def test_a_forward_that_raises_under_no_grad_is_reported():
    with pytest.raises(GraphUnderNoGrad) as info:
        check_function(raises_under_no_grad, leaf([1.0]), checks=["no_grad"])
    assert ("forward raised ValueError under engine.no_grad() (and not with grad recording on): "
            "needs the graph") in head(info.value)


# ---------------------------------------------------------------- input / upstream mutation

def scales_second_element(k, x):
    """A number first, then a tensor whose element 1 forward overwrites."""
    x.numpy()[1] *= k
    return x * k


def test_an_input_changed_after_a_number_argument_is_reported():
    with pytest.raises(InputMutated) as info:
        check_function(scales_second_element, 3.0, leaf([1.0, 2.0, 4.0]), checks=["input_mutation"])
    e = info.value
    assert (e.input, e.element, e.phase, e.before, e.after) == (1, (1,), "forward", 2.0, 6.0)
    assert head(e).startswith("[input_mutation] scales_second_element: forward changed input 1 in "
                              "place at element (1,): before 2.0, after 6.0")


def shrinks_its_input(x):
    y = x * 2
    x.data = x.numpy()[:2].copy()
    return y


def test_an_input_whose_shape_changes_in_place_is_reported():
    with pytest.raises(InputMutated) as info:
        check_function(shrinks_its_input, leaf([1.0, 2.0, 4.0]), checks=["input_mutation"])
    e = info.value
    assert (e.element, e.before, e.after) == ("shape", (3,), (2,))
    assert "forward changed input 0 in place at element shape: before (3,), after (2,)" in head(e)


class MutatesSecondUpstream(Function):
    """Two outputs; backward scales the second output's gradient in place by 5."""

    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g0, g1):
        g1.numpy()[...] *= 5
        return g0 * 2 + g1 * (3 / 5)


def test_a_mutated_upstream_gradient_is_located_with_before_and_after():
    with pytest.raises(UpstreamGradientMutated) as info:
        check_function(MutatesSecondUpstream, leaf([1.0, 2.0]), checks=["upstream_mutation"])
    e = info.value
    assert (e.output, e.element) == (1, (0,))
    m = re.search(r"output 1 in place at element \(0,\): before (\S+), after (\S+) \(return",
                  head(e))
    assert m, head(e)
    before, after = float(m.group(1).rstrip(",")), float(m.group(2))
    assert before != 0 and after == pytest.approx(5 * before, rel=1e-12)


class ShrinksUpstream(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        out = g * 2
        g.numpy().resize((1,), refcheck=False)  # the array backward shares with the caller
        return out


def test_an_upstream_gradient_whose_shape_changes_is_reported():
    with pytest.raises(UpstreamGradientMutated) as info:
        check_function(ShrinksUpstream, leaf([1.0, 2.0, 3.0]), checks=["upstream_mutation"])
    e = info.value
    assert e.element == "shape"
    assert "of output 0 in place at element shape: before (3,), after (1,)" in head(e)


# ---------------------------------------------------------------- gradient

class WrongCube(Function):
    """d(x³)/dx written as 2x² (right only where x = 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x * x


def test_a_gradient_mismatch_names_its_element():
    with pytest.raises(GradientMismatch) as info:
        check_function(WrongCube, leaf([0.0, 1.0, 0.0]), checks=["gradient"])
    e = info.value
    assert (e.input, e.element) == ("input 0", (1,))
    assert e.analytic == pytest.approx(2.0) and e.numeric == pytest.approx(3.0)


def keeps_the_positive_ones(x):
    return x[: int((x.numpy() > 0).sum())]


def test_an_output_size_that_changes_under_perturbation_names_the_input():
    with pytest.raises(GradientMismatch) as info:
        check_function(lambda s, x: keeps_the_positive_ones(x) * s, 2.0, leaf([1.0, 0.0]),
                       checks=["gradient"])
    e = info.value
    assert (e.input, e.element) == ("input 1", (1,))
    assert "when input 1, element (1,) was perturbed" in head(e)


# ---------------------------------------------------------------- linearity

class NonLinearAtOneElement(Function):
    """x * y; the gradient of y uses g² at element 1 instead of g (nonlinear whatever g's sign)."""

    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        mask = Tensor(np.array([0.0, 1.0, 0.0]))
        return g * y, (g + mask * (g * g - g)) * x


def test_a_nonlinear_backward_names_input_element_and_both_values():
    with pytest.raises(NonLinearBackward) as info:
        check_function(NonLinearAtOneElement, leaf([1.0, 2.0, 3.0]), leaf([0.5, -1.0, 2.0]),
                       checks=["linearity"])
    e = info.value
    assert (e.input, e.element) == (1, (1,))
    m = re.search(r"input 1, element \(1,\): backward\(αu\+βw\) = (\S+) but α·backward\(u\)\+"
                  r"β·backward\(w\) = (\S+) \(α=(\S+), β=(\S+)\)", head(e))
    assert m, head(e)
    assert e.analytic == pytest.approx(float(m.group(1)), rel=1e-8)
    assert e.numeric == pytest.approx(float(m.group(2)), rel=1e-8)
    assert abs(e.analytic - e.numeric) > 1e-6
    alpha, beta = float(m.group(3).rstrip(",")), float(m.group(4).rstrip(");"))
    assert alpha > 0 > beta


def small_nonlinearity(rho):
    class SmallNonLinearity(Function):
        """x * 2 with a gradient 2g + rho·tanh(g)·g: nonlinear by about rho relative."""

        twice_differentiable = False

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2 + g * g.tanh() * rho
    return SmallNonLinearity


@pytest.mark.parametrize("rho", [1e-3, 1e-6])
def test_a_small_nonlinearity_is_reported(rho):
    """The linearity tolerance is 1e-7 relative: a 1e-6 relative defect is already caught."""
    with pytest.raises(NonLinearBackward):
        check_function(small_nonlinearity(rho), leaf([1.0, 2.0, 3.0, 4.0]), checks=["linearity"])


# ---------------------------------------------------------------- double backward

class CubeDetachedSecond(Function):
    """x³ whose backward g·3·x·detach(x) is right once, but half right twice (3x·v for 6x·v)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x.detach()


def test_a_wrong_second_derivative_is_located_without_the_hint():
    with pytest.raises(DoubleBackwardMismatch) as info:
        check_function(CubeDetachedSecond, leaf([0.0, 1.0, 0.0]), checks=["double_backward"])
    e = info.value
    assert (e.input, e.element) == ("input 0", (1,))
    assert e.analytic == pytest.approx(e.numeric / 2, rel=1e-4)
    msg = head(e)
    assert msg.startswith("[double_backward] CubeDetachedSecond: second derivative ⟨∂²f/∂x², v⟩ "
                          "mismatch for input 0, element (1,)")
    assert msg.endswith("* |numeric|)")
    check_function(CubeDetachedSecond, leaf([0.0, 1.0, 0.0]), checks=["gradient"])


class NumpyBackward(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return Tensor(g.numpy() * 3 * x.numpy() ** 2)


def test_a_disconnected_first_derivative_gets_the_full_hint():
    with pytest.raises(DoubleBackwardMismatch) as info:
        check_function(NumpyBackward, leaf([1.0, 2.0]), checks=["double_backward"])
    assert head(info.value).endswith(
        " (under create_graph=True backward's result is not connected to the inputs: if it "
        "depends on them, write backward with Tensor operations, or declare "
        "twice_differentiable = False)")


class RefusesCreateGraph(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        if engine.is_grad_enabled():
            raise RuntimeError("no second derivative here")
        return g * 2


def test_a_backward_that_raises_under_create_graph_is_reported():
    with pytest.raises(DoubleBackwardMismatch) as info:
        check_function(RefusesCreateGraph, leaf([1.0]), checks=["double_backward"])
    assert ("backward with create_graph=True raised RuntimeError: no second derivative here (the "
            "brick claims second derivatives; set twice_differentiable = False or pass "
            "double_backward=False if it has none)") in head(info.value)
    check_function(RefusesCreateGraph, leaf([1.0]), double_backward=False)


# ---------------------------------------------------------------- release

class KeepsAPairOnCtx(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        ctx.x = x.numpy().copy()
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * 2 * Tensor(ctx.x)


def test_a_two_element_array_kept_on_ctx_is_named():
    with pytest.raises(SavedTensorsNotReleased) as info:
        check_function(KeepsAPairOnCtx, leaf([1.0, 2.0]), checks=["release"])
    e = info.value
    assert e.attribute == "x" and "KeepsAPairOnCtx" in e.node
    assert head(e).startswith(f"[release] KeepsAPairOnCtx: {e.node} keeps ctx.x (a ndarray of "
                              f"shape (2,)) after backward")


def test_saved_values_kept_after_backward_name_the_node(monkeypatch):
    """As in test_engine_testing_check_function: backward forced to retain the graph."""
    from engine.testing import function_checks

    real = function_checks._backward
    monkeypatch.setattr(function_checks, "_backward",
                        lambda outs, targets, grads, **kw: real(outs, targets, grads, retain_graph=True))
    with pytest.raises(SavedTensorsNotReleased) as info:
        check_function(WrongCube, leaf([1.0, 2.0]), checks=["release"])
    assert "WrongCube" in info.value.node and head(info.value).startswith(
        f"[release] WrongCube: {info.value.node} still holds")


def test_a_node_that_saved_nothing_is_not_reported(monkeypatch):
    """Backward forced to retain the graph: the add node saved nothing and is passed over, the
    multiplication (which saved both factors) is the one named."""
    from engine.testing import function_checks

    real = function_checks._backward
    monkeypatch.setattr(function_checks, "_backward",
                        lambda outs, targets, grads, **kw: real(outs, targets, grads, retain_graph=True))
    with pytest.raises(SavedTensorsNotReleased) as info:
        check_function(lambda x: x * x + 1, leaf([1.0, 2.0]), checks=["release"])
    assert info.value.node == "MulBackward"
    assert "MulBackward still holds saved values of shapes [(2,), (2,)]" in head(info.value)


# ---------------------------------------------------------------- nonfinite

def crashes_on(test):
    def brick(s, x):
        bad = test(x.numpy())
        if bad.any():
            raise ValueError(f"bad at {tuple(int(i) for i in np.argwhere(bad)[0])}")
        return x * s
    return brick


@pytest.mark.parametrize("special", [-math.inf, math.inf])
def test_each_infinity_is_probed_and_located(special):
    brick = crashes_on(lambda a: a == special)
    x = leaf([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(NonFiniteCrash) as info:
        check_function(brick, 2.0, x, checks=["nonfinite"])
    e = info.value
    seen = re.search(r"bad at (\(\d+,\))", head(e)).group(1)
    assert (e.input, str(e.element), e.value, e.phase) == (1, seen, special, "forward")
    assert f"a {special} at input 1, element {seen} made forward raise ValueError: bad at" in head(e)


class CrashesInBackwardOnNaN(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if np.isnan(x.numpy()).any():
            raise ValueError("nan in backward")
        return g * 2


def test_a_crash_in_backward_names_the_phase():
    with pytest.raises(NonFiniteCrash) as info:
        check_function(CrashesInBackwardOnNaN, leaf([1.0, 2.0]), checks=["nonfinite"])
    e = info.value
    assert e.phase == "backward" and math.isnan(e.value)
    assert "made backward raise ValueError: nan in backward" in head(e)


# ---------------------------------------------------------------- reproducible failures

class AbsUpstream(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g.abs() * 3


class MutatesUpstream(Function):
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g.mul_(3)


@pytest.mark.parametrize("brick, check", [(AbsUpstream, "linearity"),
                                          (MutatesUpstream, "upstream_mutation"),
                                          (CubeDetachedSecond, "double_backward")])
def test_the_same_failure_gives_the_same_message(brick, check):
    """The random gradients the checks draw are seeded: a failure reproduces word for word."""
    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            check_function(brick, leaf([0.5, 1.0, -2.0]), checks=[check])
        messages.append(str(info.value))
    assert messages[0] == messages[1]
