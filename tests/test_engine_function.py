"""User ``Function`` bricks: a brick in ~10 lines works with backward, gradcheck, gradgradcheck
and ``engine.graph.walk``; ``save_for_backward``, ``needs_input_grad`` and
``mark_non_differentiable`` behave as in PyTorch; wrong gradients raise clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import Function, Scalar, Tensor
from engine.testing import shapes, tensors

SETTINGS = settings(deadline=None, max_examples=20)


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class MyReLU(Function):
    """A ReLU whose backward uses the saved input."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)


class NdarrayGrad(Function):
    """Its backward returns a plain ndarray (the DESIGN: "an ndarray is accepted too")."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * g.data * x.data


class ScaledMul(Function):
    """out = a · b · scale; a non-tensor argument gets None; uses needs_input_grad."""

    calls = []

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ScaledMul.calls.append(tuple(ctx.needs_input_grad))
        ga = g * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = g * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


class SortWithIndices(Function):
    """Sorted values (differentiable) and the permutation (marked non-differentiable)."""

    @staticmethod
    def forward(ctx, x):
        idx = np.argsort(x.data, axis=-1, kind="stable")
        ctx.idx = idx
        values = Tensor(np.take_along_axis(x.data, idx, axis=-1))
        indices = Tensor(idx.astype(np.int64))
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g_values, g_indices):
        out = np.zeros(g_values.shape)
        np.put_along_axis(out, ctx.idx, g_values.data, axis=-1)
        return Tensor(out)


@SETTINGS
@given(x=tensors(shape=shapes(max_dims=3, max_side=3)))
def test_cube_forward_backward_gradcheck(x):
    y = Cube.apply(x)
    np.testing.assert_allclose(y.data, x.data ** 3, rtol=1e-12, atol=1e-12)
    assert y.grad_fn.name() == "CubeBackward" and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data ** 2, rtol=1e-12, atol=1e-12)
    assert engine.gradcheck(Cube.apply, [x])
    assert engine.gradgradcheck(Cube.apply, [x])  # its backward is built from differentiable ops


def test_cube_second_derivative_through_create_graph():
    x = Tensor(np.array([0.5, -2.0]), requires_grad=True)
    (g,) = engine.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = engine.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_cube_works_on_scalars():
    x = Scalar(1.5)
    y = Cube.apply(x)
    assert isinstance(y, Scalar) and y.data == 1.5 ** 3
    y.backward()
    assert x.grad == pytest.approx(3 * 1.5 ** 2)
    assert engine.gradcheck(Cube.apply, [Scalar(0.7)])


@SETTINGS
@given(x=tensors(shape=shapes(max_dims=3, max_side=3),
                 elements=st.one_of(st.floats(0.05, 3), st.floats(-3, -0.05))))
def test_custom_relu(x):
    y = MyReLU.apply(x)
    np.testing.assert_array_equal(y.data, np.maximum(x.data, 0))
    assert engine.gradcheck(MyReLU.apply, [x])
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2.0 * (x.data > 0))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_backward_may_return_an_ndarray(shape):
    a = np.linspace(-1, 2, int(np.prod(shape))).reshape(shape)
    x = Tensor(a.copy(), requires_grad=True)
    assert engine.gradcheck(NdarrayGrad.apply, [x])
    NdarrayGrad.apply(x).sum().backward()
    assert isinstance(x.grad, Tensor) and x.grad.shape == shape
    np.testing.assert_allclose(x.grad.data, 2 * a)


def test_needs_input_grad_and_non_tensor_arguments():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0]))
    ScaledMul.calls.clear()
    ScaledMul.apply(a, b, 0.5).sum().backward()
    assert ScaledMul.calls == [(True, False, False)]
    np.testing.assert_array_equal(a.grad.data, b.data * 0.5)
    assert b.grad is None
    b.requires_grad_()
    assert engine.gradcheck(lambda p, q: ScaledMul.apply(p, q, 0.5), [a, b])


def test_no_graph_when_no_input_requires_grad():
    y = Cube.apply(Tensor(np.ones(2)))
    assert y.grad_fn is None and not y.requires_grad
    with engine.no_grad():
        y = Cube.apply(Tensor(np.ones(2), requires_grad=True))
    assert y.grad_fn is None


def test_forward_runs_without_recording_its_inner_ops():
    inner = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            inner.append((y.grad_fn, engine.is_grad_enabled()))
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Probe.apply(Tensor(np.ones(2), requires_grad=True))
    assert inner == [(None, False)]


def test_mark_non_differentiable_multi_output():
    a = np.array([[3.0, 1.0, 2.0], [0.5, -1.0, 4.0]])
    x = Tensor(a, requires_grad=True)
    values, indices = SortWithIndices.apply(x)
    np.testing.assert_array_equal(values.data, np.sort(a, -1))
    np.testing.assert_array_equal(indices.data, np.argsort(a, -1))
    assert values.requires_grad and not indices.requires_grad and indices.grad_fn is None
    w = np.arange(6.0).reshape(2, 3)
    (values * Tensor(w)).sum().backward()
    expected = np.zeros_like(a)
    np.put_along_axis(expected, np.argsort(a, -1), w, -1)
    np.testing.assert_array_equal(x.grad.data, expected)
    assert engine.gradcheck(lambda t: SortWithIndices.apply(t)[0], [Tensor(a.copy(), requires_grad=True)])


def test_graph_walk_shows_the_brick():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([0.5, 0.5]), requires_grad=True)
    y = (Cube.apply(x) * w).sum()
    nodes = list(engine.graph.walk(y))
    ops = [n for n in nodes if n.kind == "op"]
    leaves = [n for n in nodes if n.kind == "leaf"]
    assert [n.name for n in ops] == ["SumBackward", "MulBackward", "CubeBackward"]
    assert {id(n.value) for n in leaves} == {id(x), id(w)}
    cube = ops[2]
    assert cube.output_shapes == [(2,)] and cube.saved_shapes == [(2,)]
    leaf_x = next(n for n in leaves if n.value is x)
    assert cube.inputs == [(leaf_x.id, -1)]


def test_wrong_number_of_gradients_raises_clear_error():
    class TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g * 3

    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"TooManyBackward.*incorrect number of gradients.*expected 1, got 2"):
        TooMany.apply(x).sum().backward()

    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="expected 2, got 1"):
        TooFew.apply(x, Tensor(np.ones(3), requires_grad=True)).sum().backward()


def test_trailing_none_gradients_are_allowed():
    class ExtraNone(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    x = Tensor(np.ones(2), requires_grad=True)
    ExtraNone.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_wrong_gradient_shape_raises_clear_error():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return np.ones(5)

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShapeBackward.*index 0.*\(5,\).*\(2, 3\)"):
        BadShape.apply(x).backward()


def test_function_without_tensor_argument_raises():
    with pytest.raises(TypeError, match="Cube"):
        Cube.apply(3.0)


def test_missing_forward_backward_raise_not_implemented():
    class Empty(Function):
        pass

    with pytest.raises(NotImplementedError):
        Empty.apply(Tensor(np.ones(1)))


class _SigmoidGate(Function):
    """A user brick that keeps a value on ctx as an attribute (PyTorch allows it)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.s = x.sigmoid()
        return x * ctx.s

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = ctx.s
        return g * (s + x * s * (1 - s))  # d(x·σ(x))/dx


def test_user_function_reads_its_ctx_attributes_under_no_grad():
    x = Tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    with engine.no_grad():
        out = _SigmoidGate.apply(x)
    np.testing.assert_allclose(out.numpy(), x.numpy() / (1 + np.exp(-x.numpy())))
    assert out.grad_fn is None and not out.requires_grad
    plain = _SigmoidGate.apply(Tensor(np.array([0.0, 1.0])))   # no input needs grad either
    np.testing.assert_allclose(plain.numpy(), [0.0, 1 / (1 + np.exp(-1.0))])
    assert engine.gradcheck(_SigmoidGate.apply, [x])                 # the recorded path
