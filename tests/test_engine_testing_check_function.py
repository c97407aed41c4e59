"""``engine.testing.check_function``: correct bricks pass; for each check a deliberately broken
brick fails exactly that check, with the input, element, values and minimised example."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import Function, Tensor
from engine.testing import (FUNCTION_CHECKS, CheckFailure, DoubleBackwardMismatch, GradientMismatch,
                            GraphUnderNoGrad, InputMutated, NonFiniteCrash, NonLinearBackward,
                            SavedTensorsNotReleased, UpstreamGradientMutated, check_function, shapes,
                            tensors)
from engine.testing.jacobian import analytic_jacobians, as_outputs, flat, numeric_jacobian

SMALL = shapes(max_dims=2, max_side=3)


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class WrongCube(Cube):
    """d(x³)/dx written as 2x²."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x * x


class AbsUpstream(Cube):
    """Right for every one-hot upstream gradient, but not linear in it."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.abs() * 3 * x * x


class MutatesUpstream(Cube):
    """Reuses the upstream gradient's storage for its result."""

    twice_differentiable = False

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.mul_(3 * x * x)


class KeepsInputOnCtx(Function):
    """Keeps the input as a ctx attribute instead of ctx.save_for_backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        return g * 3 * ctx.x * ctx.x


class InPlaceRelu(Function):
    """Clamps its input in place before copying it out."""

    @staticmethod
    def forward(ctx, x):
        a = x.numpy()
        np.maximum(a, 0, out=a)
        ctx.save_for_backward(x)
        return Tensor(a.copy())

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)


class BucketSquare(Function):
    """Sizes a buffer from the data: int(NaN) raises."""

    @staticmethod
    def forward(ctx, x):
        np.zeros(int(np.abs(x.numpy()).max() * 4) + 1)
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x


class NumpyBackward(Cube):
    """First derivative right, computed outside Tensor ops: claims (by default) a second
    derivative it cannot give."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return Tensor(g.numpy() * 3 * x.numpy() ** 2)


def records_graph_under_no_grad(x):
    with engine.enable_grad():
        return x.tanh()


BROKEN = [
    (WrongCube, GradientMismatch, "gradient", ["input 0", "analytic", "numeric"]),
    (AbsUpstream, NonLinearBackward, "linearity", ["input 0", "not linear"]),
    (MutatesUpstream, UpstreamGradientMutated, "upstream_mutation", ["upstream gradient", "before"]),
    (KeepsInputOnCtx, SavedTensorsNotReleased, "release", ["ctx.x", "save_for_backward"]),
    (InPlaceRelu, InputMutated, "input_mutation", ["input 0", "in place", "before"]),
    (BucketSquare, NonFiniteCrash, "nonfinite", ["input 0", "nan"]),
    (NumpyBackward, DoubleBackwardMismatch, "double_backward", ["second derivative", "not connected to the inputs"]),
    (records_graph_under_no_grad, GraphUnderNoGrad, "no_grad", ["no_grad", "grad_fn"]),
]


@pytest.mark.parametrize("brick, error, check, words", BROKEN, ids=[b[2] for b in BROKEN])
def test_each_broken_brick_fails_exactly_its_check(brick, error, check, words):
    x = tensors(shape=shapes(max_dims=1, max_side=3), unique=True)
    with pytest.raises(error) as info:
        check_function(brick, x, max_examples=10)
    e = info.value
    assert isinstance(e, CheckFailure) and isinstance(e, AssertionError) and e.check == check
    text = str(e)
    assert text.startswith(f"[{check}]")
    for w in words:
        assert w.lower() in text.lower(), (w, text)
    assert "Falsifying example (minimised by Hypothesis" in text and "input 0: Tensor" in text
    with pytest.raises(error):  # that check alone fails too
        check_function(brick, x, max_examples=10, checks=[check])
    if brick is not InPlaceRelu:  # (a clamped input also puts finite differences on the kink)
        check_function(brick, x, max_examples=5, skip=[check])  # ... and nothing else fails


def test_gradient_failure_names_input_element_values_and_minimal_example():
    with pytest.raises(GradientMismatch) as info:
        check_function(lambda a, b: WrongCube.apply(a) * b, tensors(shape=SMALL),
                       tensors(shape=(), requires_grad=False), max_examples=15)
    e = info.value
    assert e.input == "input 0" and isinstance(e.element, tuple)
    assert e.analytic == pytest.approx(e.numeric * 2 / 3, rel=1e-4, abs=1e-6)
    assert "shape=() " in e.example or "shape=(1,) " in e.example  # shrunk to one element
    assert "input 1: Tensor shape=() dtype=float64 requires_grad=False" in e.example


def test_a_wrong_second_input_is_named():
    class WrongSecond(Function):
        @staticmethod
        def forward(ctx, p, q):
            ctx.save_for_backward(p, q)
            return p * q

        @staticmethod
        def backward(ctx, g):
            p, q = ctx.saved_tensors
            return g * q, g * p * 1.5

    with pytest.raises(GradientMismatch, match=r"input 1, element"):
        check_function(WrongSecond, tensors(shape=(2,)), tensors(shape=(2,)), max_examples=5)


def test_correct_bricks_and_builtin_compositions_pass():
    check_function(Cube, tensors(shape=SMALL), max_examples=5)
    check_function(lambda p, q: (p * q).tanh() + q.exp(), tensors(shape=(2, 3)),
                   tensors(shape=(1, 3)), max_examples=5)
    check_function(lambda m, w: (m @ w).softmax(dim=-1), tensors(shape=(2, 3)), tensors(shape=(3, 2)),
                   max_examples=5)
    check_function(lambda t, k: (t * k).relu().max(dim=-1).values, tensors(shape=(2, 3), unique=True),
                   2.5, max_examples=5)


def test_fixed_tensors_run_once_and_are_left_untouched():
    x = Tensor(np.array([0.5, -1.25, 2.0], dtype=np.float32), requires_grad=True)
    kept = x.numpy().copy()
    check_function(Cube, x)
    assert x.dtype == np.float32 and np.array_equal(x.numpy(), kept) and x.grad is None
    with pytest.raises(GradientMismatch, match="the inputs given"):
        check_function(WrongCube, x)


def test_double_backward_follows_the_claim():
    x = tensors(shape=(2,))
    check_function(NumpyBackward, x, double_backward=False, max_examples=3)
    check_function(lambda t: NumpyBackward.apply(t), x, max_examples=3)  # a callable claims nothing
    with pytest.raises(DoubleBackwardMismatch):
        check_function(lambda t: NumpyBackward.apply(t), x, double_backward=True, max_examples=3)
    with pytest.raises(DoubleBackwardMismatch):
        check_function(NumpyBackward.apply, x, max_examples=3)  # MyFunction.apply claims it too


def test_bad_arguments_raise_clear_errors():
    x = tensors(shape=(2,))
    with pytest.raises(ValueError, match="unknown check"):
        check_function(Cube, x, checks=["gradients"])
    with pytest.raises(ValueError, match="no input requires grad"):
        check_function(Cube, Tensor(np.ones(2)))
    with pytest.raises(TypeError, match="Function subclass or a callable"):
        check_function(3, x)
    with pytest.raises(ValueError, match="max_examples"):
        check_function(Cube, x, max_examples=0)
    with pytest.raises(TypeError, match="must return a Tensor"):
        check_function(lambda t: t.numpy(), Tensor(np.ones(2), requires_grad=True))
    assert set(FUNCTION_CHECKS) == {"no_grad", "input_mutation", "upstream_mutation", "release",
                                    "linearity", "gradient", "double_backward", "nonfinite"}


@settings(deadline=None, max_examples=15)
@given(a=st.lists(st.floats(-2, 2), min_size=6, max_size=6), x=tensors(shape=(3,)))
def test_jacobians_match_a_plain_numpy_reference(a, x):
    """For f(x) = A x + sin(x)·x the Jacobian is A + diag(cos(x)·x + sin(x))."""
    A = np.array(a).reshape(2, 3)
    A3 = np.vstack([A, np.zeros((1, 3))])

    def f(t):
        return Tensor(A3) @ t + t.sin() * t

    xs = x.numpy()
    reference = A3 + np.diag(np.cos(xs) * xs + np.sin(xs))       # (out, in)
    outs = as_outputs(f(x))
    (analytic,) = analytic_jacobians(outs, [x])
    numeric = numeric_jacobian(lambda: flat(as_outputs(f(x))), x, "input 0", 1e-6)
    np.testing.assert_allclose(analytic, reference.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(numeric, reference.T, rtol=1e-6, atol=1e-8)


class ExpSavingOutput(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


_U = (2, 3)
_POS = st.floats(0.25, 3.0)
BUILTINS = {
    "exp-brick-saving-output": (ExpSavingOutput, [(_U, None)]),
    "exp": (engine.exp, [(_U, None)]), "log": (engine.log, [(_U, _POS)]),
    "sqrt": (engine.sqrt, [(_U, _POS)]), "tanh": (engine.tanh, [(_U, None)]),
    "sigmoid": (engine.sigmoid, [(_U, None)]), "relu": (engine.relu, [(_U, None)]),
    "abs-clamp": (lambda x: x.abs() + x.clamp(-1, 1), [(_U, None)]),
    "add-mul-div": (lambda a, b: (a + b) * a / b, [(_U, None), ((3,), _POS)]),
    "pow": (lambda a, b: a ** b + a ** 3, [(_U, _POS), (_U, None)]),
    "where-maximum": (lambda a, b: engine.where(a > 0, a, b) + engine.maximum(a, 2 * a), [(_U, None), (_U, None)]),
    "matmul": (engine.matmul, [(_U, None), ((3, 2), None)]),
    "reductions": (lambda x: x.sum(dim=1) + x.mean() + x.var(dim=1) + x.std(dim=1) + x.max(dim=1).values,
                   [(_U, None)]),
    "softmax-family": (lambda x: x.logsumexp(dim=1, keepdim=True) + x.softmax(dim=1) + x.log_softmax(dim=0),
                       [(_U, None)]),
    "shape-ops": (lambda x: engine.pad(x.permute(1, 0).reshape(2, 3)[:, [0, 2]], (1, 2)), [(_U, None)]),
    "join": (lambda a, b: engine.cat([a, b], dim=0)[1:3] * engine.stack([b, a])[0],
             [(_U, None), (_U, None)]),
}


@pytest.mark.parametrize("name", list(BUILTINS))
def test_builtin_ops_keep_every_invariant_including_second_derivatives(name):
    fn, specs = BUILTINS[name]
    ins = [tensors(shape=shape, unique=elements is None, elements=elements) for shape, elements in specs]
    check_function(fn, *ins, max_examples=3, double_backward=True)


class DoublesInputInBackward(Cube):
    """Right gradient, then scales its saved input in place (through the array, behind the
    version counter's back)."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = g * 3 * x * x
        a = x.numpy()
        a *= 2
        return out


def test_an_input_changed_by_backward_is_reported_with_the_phase():
    with pytest.raises(InputMutated) as info:
        check_function(DoublesInputInBackward, tensors(shape=(2,), unique=True), max_examples=3,
                       checks=["input_mutation"])
    e = info.value
    assert e.phase == "backward" and e.input == 0 and e.after == 2 * e.before
    assert "backward changed input 0 in place" in str(e)


def test_saved_values_that_survive_backward_are_reported(monkeypatch):
    """The engine frees saved values after backward; were it not to (here: backward forced to
    retain the graph), ``release`` names the node and the shapes it still holds."""
    from engine.testing import function_checks

    real = function_checks._backward
    monkeypatch.setattr(function_checks, "_backward",
                        lambda outs, targets, grads, **kw: real(outs, targets, grads, retain_graph=True))
    with pytest.raises(SavedTensorsNotReleased, match=r"CubeBackward still holds saved values of "
                                                      r"shapes \[\(2, 3\)\] after backward"):
        check_function(Cube, tensors(shape=(2, 3)), max_examples=2, checks=["release"])
