"""``engine.testing``: the strategies generate what they promise, ``assert_gradients_match``
catches a wrong user Function and passes a correct one, and ``import engine`` does not import it."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import Function, Tensor
from engine.testing import assert_gradients_match, broadcastable_shapes, shapes, tensors

SETTINGS = settings(deadline=None, max_examples=30)


@SETTINGS
@given(data=st.data(), min_dims=st.integers(0, 3), extra_dims=st.integers(0, 2),
       min_side=st.integers(1, 3), extra_side=st.integers(0, 3))
def test_shapes_respect_bounds(data, min_dims, extra_dims, min_side, extra_side):
    max_dims, max_side = min_dims + extra_dims, min_side + extra_side
    s = data.draw(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))
    assert isinstance(s, tuple) and all(isinstance(d, int) for d in s)
    assert min_dims <= len(s) <= max_dims
    assert all(min_side <= d <= max_side for d in s)


def test_shapes_defaults_cover_0d_and_bounds():
    seen = set()

    @settings(deadline=None, max_examples=30)
    @given(shapes())
    def collect(s):
        assert 0 <= len(s) <= 4 and all(1 <= d <= 5 for d in s)
        seen.add(len(s))

    collect()
    assert 0 in seen and len(seen) > 2


@SETTINGS
@given(data=st.data())
def test_broadcastable_shapes_really_broadcast(data):
    base = data.draw(shapes(max_dims=4, max_side=4), label="base")
    other = data.draw(broadcastable_shapes(base, max_dims=4, max_side=4), label="other")
    assert len(other) <= 4 and all(1 <= d <= 4 for d in other)
    np.broadcast_shapes(base, other)  # raises if they do not broadcast
    np.broadcast_to(np.zeros(base), np.broadcast_shapes(base, other))
    # and the engine agrees
    out = Tensor(np.ones(base)) + Tensor(np.ones(other))
    assert out.shape == np.broadcast_shapes(base, other)


@SETTINGS
@given(data=st.data())
def test_tensors_default_and_given_shape(data):
    t = data.draw(tensors())
    assert isinstance(t, Tensor) and t.dtype == np.float64 and t.requires_grad and t.is_leaf
    assert len(t.shape) <= 4 and all(1 <= d <= 5 for d in t.shape)
    assert np.all(np.isfinite(t.numpy())) and np.all(np.abs(t.numpy()) <= 3)
    fixed = data.draw(tensors(shape=(2, 3)))
    assert fixed.shape == (2, 3)
    from_strategy = data.draw(tensors(shape=shapes(min_dims=2, max_dims=2, max_side=2)))
    assert from_strategy.ndim == 2 and max(from_strategy.shape) <= 2
    assert data.draw(tensors(shape=4)).shape == (4,)


@SETTINGS
@given(data=st.data())
def test_tensors_dtypes_elements_requires_grad(data):
    f32 = data.draw(tensors(shape=(3,), dtype=np.float32))
    assert f32.dtype == np.float32 and f32.requires_grad
    ints = data.draw(tensors(shape=(3,), dtype=np.int64))
    assert ints.dtype == np.int64 and not ints.requires_grad
    flags = data.draw(tensors(shape=(3,), dtype=np.bool_))
    assert flags.dtype == np.bool_ and not flags.requires_grad
    pos = data.draw(tensors(shape=(4,), elements=st.floats(0.5, 1.0)))
    assert np.all((pos.numpy() >= 0.5) & (pos.numpy() <= 1.0))
    nograd = data.draw(tensors(shape=(2,), requires_grad=False))
    assert not nograd.requires_grad


def test_tensors_do_not_share_memory_between_draws():
    drawn = []

    @settings(deadline=None, max_examples=5)
    @given(tensors(shape=(3,)))
    def collect(t):
        drawn.append(t)

    collect()
    for a in drawn:
        for b in drawn:
            assert a is b or not np.shares_memory(a.numpy(), b.numpy())


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class WrongCube(Function):
    """A deliberate bug: the derivative of x³ written as 2x²."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x * x


@SETTINGS
@given(x=tensors(shape=shapes(max_dims=3, max_side=3), elements=st.floats(0.5, 2)))
def test_assert_gradients_match_passes_correct_and_catches_wrong(x):
    assert_gradients_match(Cube.apply, x)  # non-scalar output: every element
    assert_gradients_match(lambda t: Cube.apply(t).sum(), x)
    with pytest.raises(AssertionError) as info:
        assert_gradients_match(WrongCube.apply, x)
    msg = str(info.value)
    assert "WrongCube" in msg and "input 0" in msg and str(x.shape) in msg


@SETTINGS
@given(data=st.data())
def test_assert_gradients_match_several_inputs_and_broadcasting(data):
    a = data.draw(tensors(shape=shapes(max_dims=3, max_side=3)))
    b = data.draw(tensors(shape=broadcastable_shapes(a.shape, max_dims=3, max_side=3)))
    assert_gradients_match(lambda p, q: Cube.apply(p) * q.tanh(), a, b)

    class WrongSecond(Function):
        @staticmethod
        def forward(ctx, p, q):
            ctx.save_for_backward(p, q)
            return p * q

        @staticmethod
        def backward(ctx, g):
            p, q = ctx.saved_tensors
            return g * q, g * p + 1.0  # wrong for the second input

    same = data.draw(tensors(shape=a.shape))
    with pytest.raises(AssertionError, match="input 1"):
        assert_gradients_match(WrongSecond.apply, a, same)


def test_assert_gradients_match_handles_float32_inputs_and_tuple_outputs():
    x = Tensor(np.array([0.3, -0.8], dtype=np.float32), requires_grad=True)
    assert_gradients_match(lambda t: (t.sin(), t * t), x)
    with pytest.raises(AssertionError):
        assert_gradients_match(lambda t: (t.sin(), WrongCube.apply(t)), x)
    with pytest.raises(AssertionError, match="requires grad"):
        assert_gradients_match(lambda t: t * 2, Tensor(np.ones(2)))


def test_assert_gradients_match_fast_mode():
    x = Tensor(np.linspace(0.5, 1.5, 6).reshape(2, 3), requires_grad=True)
    assert_gradients_match(Cube.apply, x, fast_mode=True)
    with pytest.raises(AssertionError):
        assert_gradients_match(WrongCube.apply, x, fast_mode=True)


def test_gradcheck_error_is_a_runtime_and_assertion_error_naming_input_and_element():
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    with pytest.raises(engine.GradcheckError) as info:
        engine.gradcheck(WrongCube.apply, [x])
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value, RuntimeError)          # as torch.autograd.gradcheck.GradcheckError
    msg = str(info.value)
    assert "input 0" in msg and "element (" in msg and "analytic" in msg and "numeric" in msg
    assert engine.gradcheck(WrongCube.apply, [x], raise_exception=False) is False
    with pytest.raises(engine.GradcheckError, match="float64"):
        engine.gradcheck(Cube.apply, [Tensor(np.ones(2, dtype=np.float32), requires_grad=True)])


def test_gradcheck_reports_a_non_differentiable_point_clearly():
    x = Tensor(np.array([0.5, 1.0, -1.0]), requires_grad=True)  # 0.5 sits on the mask's edge
    with pytest.raises(engine.GradcheckError, match="output size changed.*input 0, element \\(0,\\)"):
        engine.gradcheck(lambda t: t[t > 0.5], [x])


def test_engine_testing_is_an_attribute_that_imports_hypothesis_on_first_touch():
    code = ("import sys, engine\n"
            "assert 'engine.testing' not in sys.modules, 'engine.testing imported by import engine'\n"
            "assert 'hypothesis' not in sys.modules, 'hypothesis imported by import engine'\n"
            "strategy = engine.testing.tensors\n"
            "assert 'hypothesis' in sys.modules and engine.testing is sys.modules['engine.testing']\n"
            "try:\n    engine.no_such_name\nexcept AttributeError as e:\n    print(e)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(engine.__file__)))
    assert res.returncode == 0, res.stderr
    assert "no_such_name" in res.stdout


def test_module_docstring_example_runs(tmp_path):
    """The example in engine.testing's docstring is a working test module."""
    import engine.testing as et

    doc = et.__doc__
    start = doc.index("import numpy as np")
    end = doc.index("Keep shapes small")
    body = "\n".join(line[4:] if line.startswith("    ") else line for line in doc[start - 4:end].splitlines())
    ns = {}
    exec(compile(body, "engine_testing_example", "exec"), ns)
    ns["test_cube_keeps_every_invariant"]()
    ns["test_cube_forward_and_gradient"]()


@SETTINGS
@given(data=st.data(), floating=st.booleans(), integer=st.booleans(), boolean=st.booleans())
def test_dtypes_draws_only_the_selected_kinds(data, floating, integer, boolean):
    from engine.testing import dtypes

    if not (floating or integer or boolean):
        with pytest.raises(ValueError, match="at least one"):
            dtypes(floating=False)
        return
    d = data.draw(dtypes(floating=floating, integer=integer, boolean=boolean))
    allowed = "f" * floating + "iu" * integer + "b" * boolean
    assert isinstance(d, np.dtype) and d.kind in allowed
    t = data.draw(tensors(shape=(2,), dtype=st.just(d)))
    assert t.dtype == d and t.requires_grad == (d.kind == "f")
    assert Tensor(np.zeros(2, dtype=d)).dtype == d  # the engine holds every dtype drawn


@SETTINGS
@given(data=st.data())
def test_elements_respect_dtype_finiteness_and_bounds(data):
    from engine.testing import elements

    d = data.draw(st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_]))
    d = np.dtype(d)
    v = data.draw(elements(d))
    if d.kind == "f":
        assert np.isfinite(v) and d.type(v) == v  # representable in that width
        lo = data.draw(st.floats(-5, 5))
        w = data.draw(elements(d, min_value=lo, max_value=lo + 1))
        assert lo <= w <= lo + 1
    elif d.kind in "iu":
        assert np.iinfo(d).min <= v <= np.iinfo(d).max
        assert 0 <= data.draw(elements(d, min_value=-3, max_value=3)) + 3 <= 6
    else:
        assert isinstance(v, bool)


def test_elements_not_finite_reaches_nan_and_infinities():
    from hypothesis import find

    from engine.testing import elements

    for dtype in (np.float32, np.float64):
        assert np.isnan(find(elements(dtype, finite=False), lambda v: v != v))
        assert find(elements(dtype, finite=False), lambda v: v == np.inf) == np.inf
        assert find(elements(dtype, finite=False), lambda v: v == -np.inf) == -np.inf
    with pytest.raises(TypeError, match="unsupported dtype"):
        elements(np.complex128)


@SETTINGS
@given(t=tensors(shape=shapes(min_dims=1, max_dims=3, max_side=6), unique=True))
def test_unique_tensors_have_distinct_values_apart_from_each_other_and_zero(t):
    values = np.sort(t.numpy().ravel())
    assert np.all(np.diff(values) >= 1 / 256 - 1e-12)
    assert np.min(np.abs(values)) >= 1 / 1024 - 1e-12 and np.max(np.abs(values)) <= 3
