"""Every built-in op: the forward equals a NumPy expression and the backward equals central finite
differences (``engine.gradcheck``, float64), at Hypothesis-drawn shapes including broadcasting,
0-d tensors and size-1 dimensions. Inputs stay away from non-differentiable points (kinks of
abs/relu/clamp/max, ties of maximum/minimum, the domain edges of log/sqrt)."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Tensor
from engine.testing import broadcastable_shapes, shapes

SETTINGS = settings(deadline=None, max_examples=30,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])
SMALL = dict(max_dims=3, max_side=3)

FLOATS = st.floats(-3, 3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
POSITIVE = st.floats(0.2, 3)
AWAY_FROM_ZERO = st.one_of(st.floats(0.2, 3), st.floats(-3, -0.2))
# distinct grid values: no ties (max/min) and no near-ties closer than finite differences see
GRID = st.integers(-300, 300).map(lambda k: k / 100)
# values of a and b never closer than 0.2 (maximum/minimum without ties)
LOW = st.builds(lambda k, f: k + f, st.integers(-3, 3), st.floats(0, 0.3))
HIGH = st.builds(lambda k, f: k + 0.5 + f, st.integers(-3, 3), st.floats(0, 0.3))


def arrays(shape, elements=FLOATS, unique=False):
    """float64 arrays of ``shape`` with ``elements``."""
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


def check(fn, ref, *arrs, atol=1e-5, rtol=1e-3, fwd_rtol=1e-10):
    """``fn`` on float64 leaf tensors made from ``arrs`` equals ``ref(*arrs)`` (shape, dtype,
    values), is recorded in the graph, and passes gradcheck against every input."""
    ts = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrs]
    out = fn(*ts)
    expected = np.asarray(ref(*[np.array(a, dtype=np.float64) for a in arrs]))
    assert out.shape == expected.shape, (out.shape, expected.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=fwd_rtol, atol=1e-12)
    assert out.requires_grad and out.grad_fn is not None
    assert engine.gradcheck(fn, ts, atol=atol, rtol=rtol)
    # the accumulating path (.backward into leaf .grad) agrees with engine.grad (gradcheck's path)
    seed = np.cos(np.arange(out.numpy().size, dtype=np.float64)).reshape(out.shape)
    expected_grads = engine.grad(fn(*ts), ts, grad_outputs=Tensor(seed), allow_unused=True)
    fn(*ts).backward(Tensor(seed))
    for t, g in zip(ts, expected_grads):
        if g is None:
            assert t.grad is None or not np.any(t.grad.numpy())
            continue
        assert t.grad.shape == t.shape and t.grad.dtype == np.float64
        np.testing.assert_allclose(t.grad.numpy(), g.numpy(), rtol=1e-12, atol=1e-12)
    return out


# -- elementwise binary ops with broadcasting ----------------------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, np.add, FLOATS, FLOATS),
    "add_fn": (engine.add, np.add, FLOATS, FLOATS),
    "sub": (lambda a, b: a - b, np.subtract, FLOATS, FLOATS),
    "sub_fn": (engine.sub, np.subtract, FLOATS, FLOATS),
    "mul": (lambda a, b: a * b, np.multiply, FLOATS, FLOATS),
    "mul_fn": (engine.mul, np.multiply, FLOATS, FLOATS),
    "div": (lambda a, b: a / b, np.divide, FLOATS, AWAY_FROM_ZERO),
    "div_fn": (engine.div, np.divide, FLOATS, AWAY_FROM_ZERO),
    "pow": (lambda a, b: a ** b, np.power, POSITIVE, FLOATS),
    "pow_fn": (engine.pow, np.power, POSITIVE, FLOATS),
    "maximum": (engine.maximum, np.maximum, LOW, HIGH),
    "maximum_method": (lambda a, b: a.maximum(b), np.maximum, HIGH, LOW),
    "minimum": (engine.minimum, np.minimum, LOW, HIGH),
    "minimum_method": (lambda a, b: a.minimum(b), np.minimum, HIGH, LOW),
    # engine/ops/binary_math.py (fmod/remainder: quotients kept away from the integer jumps)
    "atan2": (engine.atan2, np.arctan2, AWAY_FROM_ZERO, AWAY_FROM_ZERO),
    "atan2_method": (lambda a, b: a.atan2(b), np.arctan2, AWAY_FROM_ZERO, FLOATS),  # a = 0, b < 0: the branch cut
    "hypot": (engine.hypot, np.hypot, AWAY_FROM_ZERO, FLOATS),
    "fmod": (engine.fmod, np.fmod, st.sampled_from([-2.9, -1.3, 0.4, 1.7, 2.6]), st.sampled_from([-1.1, 0.75, 2.2])),
    "remainder": (lambda a, b: a.remainder(b), np.remainder, st.sampled_from([-2.9, -1.3, 0.4, 1.7, 2.6]),
                  st.sampled_from([-1.1, 0.75, 2.2])),
    "lerp": (lambda a, b: engine.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a), FLOATS, FLOATS),
}


@pytest.mark.parametrize("name", BINARY)
@SETTINGS
@given(data=st.data())
def test_binary_op_broadcasting(name, data):
    fn, ref, ea, eb = BINARY[name]
    sa = data.draw(shapes(**SMALL), label="shape a")
    sb = data.draw(broadcastable_shapes(sa, **SMALL), label="shape b")
    if data.draw(st.booleans(), label="swap shapes"):
        sa, sb = sb, sa
    a = data.draw(arrays(sa, ea), label="a")
    b = data.draw(arrays(sb, eb), label="b")
    out = check(fn, ref, a, b)
    assert out.shape == np.broadcast_shapes(sa, sb)


NUMBER_OPS = {
    "add": (lambda x, c: x + c, lambda x, c: x + c, FLOATS, FLOATS),
    "radd": (lambda x, c: c + x, lambda x, c: c + x, FLOATS, FLOATS),
    "sub": (lambda x, c: x - c, lambda x, c: x - c, FLOATS, FLOATS),
    "rsub": (lambda x, c: c - x, lambda x, c: c - x, FLOATS, FLOATS),
    "mul": (lambda x, c: x * c, lambda x, c: x * c, FLOATS, FLOATS),
    "rmul": (lambda x, c: c * x, lambda x, c: c * x, FLOATS, FLOATS),
    "div": (lambda x, c: x / c, lambda x, c: x / c, FLOATS, AWAY_FROM_ZERO),
    "rdiv": (lambda x, c: c / x, lambda x, c: c / x, AWAY_FROM_ZERO, FLOATS),
    "pow_float": (lambda x, c: x ** c, lambda x, c: x ** c, POSITIVE, FLOATS),
    "pow_int_negative_base": (lambda x, c: x ** c, lambda x, c: x ** c, FLOATS, st.integers(1, 4)),
    "pow_method": (lambda x, c: x.pow(c), lambda x, c: x ** c, POSITIVE, FLOATS),
    "rpow": (lambda x, c: c ** x, lambda x, c: c ** x, FLOATS, POSITIVE),
    "maximum": (lambda x, c: engine.maximum(x, c), np.maximum, LOW, HIGH),
    "rminimum": (lambda x, c: engine.minimum(c, x), np.minimum, LOW, HIGH),
}


@pytest.mark.parametrize("name", NUMBER_OPS)
@SETTINGS
@given(data=st.data())
def test_op_with_python_number(name, data):
    fn, ref, ex, ec = NUMBER_OPS[name]
    x = data.draw(arrays(data.draw(shapes(**SMALL)), ex), label="x")
    c = data.draw(ec, label="number")
    check(lambda t: fn(t, c), lambda a: ref(a, c), x)


# -- elementwise unary ops -------------------------------------------------------------------------

def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


NON_INTEGER = FLOATS.filter(lambda v: abs(v - round(v)) > 1e-2)  # away from the jumps of trunc/frac
CLAMP_SAFE = FLOATS.filter(lambda v: abs(v + 1) > 1e-2 and abs(v - 1.5) > 1e-2)
UNARY = {
    "neg": (lambda x: -x, np.negative, FLOATS),
    "neg_fn": (engine.neg, np.negative, FLOATS),
    "abs": (lambda x: x.abs(), np.abs, AWAY_FROM_ZERO),
    "abs_builtin": (abs, np.abs, AWAY_FROM_ZERO),
    "abs_fn": (engine.abs, np.abs, AWAY_FROM_ZERO),
    "exp": (lambda x: x.exp(), np.exp, FLOATS),
    "exp_fn": (engine.exp, np.exp, FLOATS),
    "exp_ufunc": (np.exp, np.exp, FLOATS),
    "log": (lambda x: x.log(), np.log, POSITIVE),
    "log_fn": (engine.log, np.log, POSITIVE),
    "log1p": (lambda x: x.log1p(), np.log1p, POSITIVE),
    "erf": (lambda x: x.erf(), np.vectorize(math.erf, otypes=[float]), FLOATS),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, POSITIVE),
    "sqrt_fn": (engine.sqrt, np.sqrt, POSITIVE),
    "sin": (lambda x: x.sin(), np.sin, FLOATS),
    "sin_fn": (engine.sin, np.sin, FLOATS),
    "cos": (lambda x: x.cos(), np.cos, FLOATS),
    "cos_fn": (engine.cos, np.cos, FLOATS),
    "tanh": (lambda x: x.tanh(), np.tanh, FLOATS),
    "tanh_fn": (engine.tanh, np.tanh, FLOATS),
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid, FLOATS),
    "sigmoid_fn": (engine.sigmoid, _sigmoid, FLOATS),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), AWAY_FROM_ZERO),
    "relu_fn": (engine.relu, lambda x: np.maximum(x, 0), AWAY_FROM_ZERO),
    "clamp": (lambda x: x.clamp(-1, 1.5), lambda x: np.clip(x, -1, 1.5), CLAMP_SAFE),
    "clamp_fn": (lambda x: engine.clamp(x, min=-1, max=1.5), lambda x: np.clip(x, -1, 1.5), CLAMP_SAFE),
    "clamp_min": (lambda x: x.clamp(min=-1), lambda x: np.maximum(x, -1), CLAMP_SAFE),
    "clamp_max": (lambda x: x.clamp(max=1.5), lambda x: np.minimum(x, 1.5), CLAMP_SAFE),
    "clip": (lambda x: x.clip(-1, 1.5), lambda x: np.clip(x, -1, 1.5), CLAMP_SAFE),
    # PyTorch's other elementwise math (engine/ops/unary_math.py, trunc in rounding.py)
    "rsqrt": (lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), POSITIVE),
    "square": (engine.square, lambda x: x * x, FLOATS),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: 1 / x, AWAY_FROM_ZERO),
    "log2": (engine.log2, np.log2, POSITIVE),
    "log10": (lambda x: x.log10(), np.log10, POSITIVE),
    "expm1": (engine.expm1, np.expm1, FLOATS),
    "exp2": (lambda x: x.exp2(), lambda x: 2.0 ** x, FLOATS),
    "tan": (engine.tan, np.tan, st.floats(-1.2, 1.2)),
    "sinh": (lambda x: x.sinh(), np.sinh, FLOATS),
    "cosh": (engine.cosh, np.cosh, FLOATS),
    "asin": (engine.asin, np.arcsin, st.floats(-0.9, 0.9)),
    "acos": (lambda x: x.acos(), np.arccos, st.floats(-0.9, 0.9)),
    "atan": (engine.atan, np.arctan, FLOATS),
    "asinh": (lambda x: x.asinh(), np.arcsinh, FLOATS),
    "acosh": (engine.acosh, np.arccosh, st.floats(1.2, 3)),
    "atanh": (lambda x: x.atanh(), np.arctanh, st.floats(-0.9, 0.9)),
    "frac": (engine.frac, lambda x: x - np.trunc(x), NON_INTEGER),
    "trunc": (lambda x: x.trunc(), np.trunc, NON_INTEGER),
    "deg2rad": (engine.deg2rad, lambda x: x * np.pi / 180, FLOATS),
    "rad2deg": (lambda x: x.rad2deg(), lambda x: x * 180 / np.pi, FLOATS),
    "sinc": (engine.sinc, lambda x: np.where(x == 0, 1.0, np.sin(np.pi * x) / np.where(x == 0, 1.0, np.pi * x)), FLOATS),
}


@pytest.mark.parametrize("name", UNARY)
@SETTINGS
@given(data=st.data())
def test_unary_op(name, data):
    fn, ref, elements = UNARY[name]
    x = data.draw(arrays(data.draw(shapes(**SMALL), label="shape"), elements), label="x")
    check(fn, ref, x)


# -- where ----------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_where_broadcasting(data):
    bs = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, **SMALL), label="shapes")
    sc, sa, sb = bs.input_shapes
    cond = data.draw(hnp.arrays(np.bool_, sc), label="cond")
    a = data.draw(arrays(sa), label="a")
    b = data.draw(arrays(sb), label="b")
    out = check(lambda x, y: engine.where(Tensor(cond), x, y), lambda x, y: np.where(cond, x, y), a, b)
    assert out.shape == bs.result_shape
    # the method form and a plain ndarray condition
    check(lambda x, y: x.where(cond, y), lambda x, y: np.where(cond, x, y), a, b)


@SETTINGS
@given(data=st.data())
def test_where_with_number(data):
    elements = FLOATS.filter(lambda v: abs(v - 0.5) > 1e-2)  # the condition must not flip
    a = data.draw(arrays(data.draw(shapes(**SMALL)), elements), label="a")
    cond = a > 0.5
    check(lambda x: engine.where(x > 0.5, x, 0.0), lambda x: np.where(cond, x, 0.0), a)
    check(lambda x: engine.where(x > 0.5, -2.0, x), lambda x: np.where(cond, -2.0, x), a)


# -- reductions -----------------------------------------------------------------------------------

@st.composite
def reduce_cases(draw, min_dims=0):
    """(shape, dim argument, the equivalent NumPy axis, keepdim)."""
    shape = draw(shapes(min_dims=min_dims, **SMALL), label="shape")
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]), label="dim kind")
    if kind == "none":
        dim, axis = None, None
    elif kind == "int":
        dim = draw(st.integers(-max(nd, 1), max(nd, 1) - 1), label="dim")
        axis = dim if nd else None
    else:
        # (an empty tuple on a non-0-d tensor is ambiguous in PyTorch: not drawn)
        axes = draw(st.lists(st.integers(0, max(nd - 1, 0)), unique=True, min_size=min(nd, 1),
                             max_size=nd), label="axes")
        dim = tuple(a - nd if draw(st.booleans()) else a for a in axes) if nd else ()
        axis = tuple(axes) if nd else None
    keepdim = draw(st.booleans(), label="keepdim")
    return shape, dim, axis, keepdim


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


@pytest.mark.parametrize("form", ["method", "function", "numpy_aliases"])
@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_sum(form, case, data):
    shape, dim, axis, keepdim = case
    a = data.draw(arrays(shape), label="a")
    fn = {"method": lambda x: x.sum(dim, keepdim),
          "function": lambda x: engine.sum(x, dim=dim, keepdim=keepdim),
          "numpy_aliases": lambda x: x.sum(axis=dim, keepdims=keepdim)}[form]
    check(fn, lambda x: np.sum(x, axis=axis, keepdims=keepdim), a)


@pytest.mark.parametrize("form", ["method", "function"])
@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_mean(form, case, data):
    shape, dim, axis, keepdim = case
    a = data.draw(arrays(shape), label="a")
    fn = (lambda x: x.mean(dim, keepdim)) if form == "method" else (lambda x: engine.mean(x, dim, keepdim))
    check(fn, lambda x: np.mean(x, axis=axis, keepdims=keepdim), a)


VAR_FORMS = {  # name: (call(x, dim, keepdim), ddof)
    "default_unbiased": (lambda x, d, k: x.var(d, keepdim=k), 1),
    "unbiased_false": (lambda x, d, k: x.var(d, unbiased=False, keepdim=k), 0),
    "correction_0": (lambda x, d, k: engine.var(x, dim=d, keepdim=k, correction=0), 0),
    "correction_2": (lambda x, d, k: x.var(d, keepdim=k, correction=2), 2),
}


@pytest.mark.parametrize("form", VAR_FORMS)
@pytest.mark.parametrize("op", ["var", "std"])
@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_var_std(op, form, case, data):
    shape, dim, axis, keepdim = case
    call, ddof = VAR_FORMS[form]
    assume(_count(shape, axis) > ddof + (op == "std"))
    a = data.draw(arrays(shape, GRID, unique=True), label="a")  # distinct: std > 0
    if op == "var":
        check(lambda x: call(x, dim, keepdim), lambda x: np.var(x, axis=axis, ddof=ddof, keepdims=keepdim), a)
    else:
        std_call = {"default_unbiased": lambda x: x.std(dim, keepdim=keepdim),
                    "unbiased_false": lambda x: x.std(dim, unbiased=False, keepdim=keepdim),
                    "correction_0": lambda x: engine.std(x, dim=dim, keepdim=keepdim, correction=0),
                    "correction_2": lambda x: x.std(dim, keepdim=keepdim, correction=2)}[form]
        check(std_call, lambda x: np.std(x, axis=axis, ddof=ddof, keepdims=keepdim), a)


@pytest.mark.parametrize("form", ["method", "function"])
@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_logsumexp(form, case, data):
    shape, dim, axis, keepdim = case
    a = data.draw(arrays(shape), label="a")
    fn = (lambda x: x.logsumexp(dim, keepdim)) if form == "method" else \
        (lambda x: engine.logsumexp(x, dim=dim, keepdim=keepdim))
    check(fn, lambda x: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdim)), a)


@pytest.mark.parametrize("op", ["max", "min"])
@SETTINGS
@given(data=st.data())
def test_max_min_without_dim(op, data):
    a = data.draw(arrays(data.draw(shapes(**SMALL)), GRID, unique=True), label="a")
    ref = np.max if op == "max" else np.min
    out = check(lambda x: getattr(x, op)(), ref, a)
    assert out.shape == ()
    check(lambda x: getattr(engine, op)(x), ref, a)


@pytest.mark.parametrize("op", ["max", "min"])
@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_max_min_with_dim(op, case, data):
    shape, dim, axis, keepdim = case
    assume(not isinstance(dim, tuple))
    a = data.draw(arrays(shape, GRID, unique=True), label="a")
    if dim is None:  # covered above; here use an int dim
        dim = 0
        axis = 0 if shape else None
    ref = np.max if op == "max" else np.min
    arg = np.argmax if op == "max" else np.argmin
    x = Tensor(a.copy(), requires_grad=True)
    res = getattr(x, op)(dim=dim, keepdim=keepdim)
    values, indices = res
    assert res.values is values and res.indices is indices
    np.testing.assert_array_equal(values.numpy(), ref(a, axis=axis, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), arg(a, axis=axis, keepdims=keepdim) if shape else 0)
    assert indices.dtype == np.int64 and not indices.requires_grad and indices.grad_fn is None
    check(lambda t: getattr(t, op)(dim=dim, keepdim=keepdim).values,
          lambda v: ref(v, axis=axis, keepdims=keepdim), a)
    check(lambda t: getattr(engine, op)(t, dim, keepdim)[0], lambda v: ref(v, axis=axis, keepdims=keepdim), a)


@pytest.mark.parametrize("op", ["amax", "amin"])
@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_amax_amin_tuple_dims(op, case, data):
    shape, dim, axis, keepdim = case
    a = data.draw(arrays(shape, GRID, unique=True), label="a")
    ref = np.max if op == "amax" else np.min
    check(lambda x: getattr(x, op)(dim, keepdim), lambda v: ref(v, axis=axis, keepdims=keepdim), a)


@SETTINGS
@given(case=reduce_cases(), data=st.data())
def test_argmax_argmin(case, data):
    shape, dim, axis, keepdim = case
    assume(not isinstance(dim, tuple))
    a = data.draw(arrays(shape, GRID, unique=True), label="a")
    x = Tensor(a, requires_grad=True)
    for name, ref in (("argmax", np.argmax), ("argmin", np.argmin)):
        out = getattr(x, name)(dim, keepdim)
        if dim is None:
            expected = ref(a)
        elif not shape:
            expected = np.array(0)
        else:
            expected = ref(a, axis=axis, keepdims=keepdim)
        np.testing.assert_array_equal(out.numpy(), expected)
        assert out.shape == np.shape(expected)
        assert out.dtype == np.int64 and not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(engine.argmax(x).numpy(), np.argmax(a))


# -- softmax / log_softmax --------------------------------------------------------------------------

def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax_log_softmax(op, data):
    shape = data.draw(shapes(**SMALL), label="shape")
    nd = len(shape)
    dim = data.draw(st.integers(-max(nd, 1), max(nd, 1) - 1), label="dim")
    a = data.draw(arrays(shape), label="a")
    axis = dim if nd else None

    def ref(x):
        s = _np_softmax(x, axis) if nd else np.ones_like(x)
        return s if op == "softmax" else np.log(s)

    check(lambda x: getattr(x, op)(dim), ref, a)
    check(lambda x: getattr(engine, op)(x, dim=dim), ref, a)


def test_softmax_is_stable_for_large_inputs():
    a = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]])
    x = Tensor(a, requires_grad=True)
    np.testing.assert_allclose(x.softmax(1).numpy(), _np_softmax(a, 1), rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(1).numpy(), np.log(_np_softmax(a, 1)), rtol=1e-12)
    np.testing.assert_allclose(x.logsumexp(1).numpy(), a.max(1) + np.log(np.exp(a - a.max(1, keepdims=True)).sum(1)))


# -- shape ops ------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_reshape_and_view(data):
    shape = data.draw(shapes(max_dims=4, max_side=3), label="shape")
    a = data.draw(arrays(shape), label="a")
    target = list(data.draw(st.permutations(shape), label="permuted sizes"))
    for _ in range(data.draw(st.integers(0, 2), label="ones")):
        target.insert(data.draw(st.integers(0, len(target))), 1)
    target = tuple(target)
    spec = target
    if target and data.draw(st.booleans(), label="use -1"):
        k = data.draw(st.integers(0, len(target) - 1))
        spec = target[:k] + (-1,) + target[k + 1:]
    check(lambda x: x.reshape(spec), lambda v: v.reshape(target), a)
    check(lambda x: x.reshape(*spec), lambda v: v.reshape(target), a)
    check(lambda x: x.view(spec), lambda v: v.reshape(target), a)
    check(lambda x: engine.reshape(x, spec), lambda v: v.reshape(target), a)


@SETTINGS
@given(data=st.data())
def test_flatten(data):
    shape = data.draw(shapes(max_dims=4, max_side=3), label="shape")
    a = data.draw(arrays(shape), label="a")
    nd = len(shape)
    if nd == 0:
        check(lambda x: x.flatten(), lambda v: v.reshape(1), a)
        return
    s = data.draw(st.integers(0, nd - 1), label="start")
    e = data.draw(st.integers(s, nd - 1), label="end")
    s_arg = s - nd if data.draw(st.booleans()) else s
    e_arg = e - nd if data.draw(st.booleans()) else e
    expected = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    check(lambda x: x.flatten(s_arg, e_arg), lambda v: v.reshape(expected), a)
    check(lambda x: engine.flatten(x), lambda v: v.reshape(-1), a)


@SETTINGS
@given(data=st.data())
def test_transpose_permute_T(data):
    shape = data.draw(shapes(min_dims=1, max_dims=4, max_side=3), label="shape")
    a = data.draw(arrays(shape), label="a")
    nd = len(shape)
    d0 = data.draw(st.integers(-nd, nd - 1), label="d0")
    d1 = data.draw(st.integers(-nd, nd - 1), label="d1")
    check(lambda x: x.transpose(d0, d1), lambda v: np.swapaxes(v, d0, d1), a)
    check(lambda x: engine.transpose(x, d0, d1), lambda v: np.swapaxes(v, d0, d1), a)
    perm = tuple(data.draw(st.permutations(range(nd)), label="perm"))
    check(lambda x: x.permute(*perm), lambda v: np.transpose(v, perm), a)
    check(lambda x: x.permute(perm), lambda v: np.transpose(v, perm), a)
    check(lambda x: engine.permute(x, perm), lambda v: np.transpose(v, perm), a)
    check(lambda x: x.T, lambda v: v.T, a)


@SETTINGS
@given(data=st.data())
def test_unsqueeze_squeeze(data):
    shape = data.draw(shapes(max_dims=3, max_side=3, min_side=1), label="shape")
    a = data.draw(arrays(shape), label="a")
    nd = len(shape)
    d = data.draw(st.integers(-nd - 1, nd), label="unsqueeze dim")
    check(lambda x: x.unsqueeze(d), lambda v: np.expand_dims(v, d), a)
    check(lambda x: engine.unsqueeze(x, d), lambda v: np.expand_dims(v, d), a)
    check(lambda x: x.squeeze(), np.squeeze, a)
    if nd:
        sd = data.draw(st.integers(-nd, nd - 1), label="squeeze dim")
        ref = (lambda v: np.squeeze(v, sd)) if shape[sd] == 1 else (lambda v: v)
        check(lambda x: x.squeeze(sd), ref, a)
        check(lambda x: engine.squeeze(x, sd), ref, a)


@SETTINGS
@given(data=st.data())
def test_expand(data):
    shape = data.draw(shapes(**SMALL), label="shape")
    other = data.draw(broadcastable_shapes(shape, **SMALL), label="other")
    target = np.broadcast_shapes(shape, other)
    a = data.draw(arrays(shape), label="a")
    lead = len(target) - len(shape)
    # -1 keeps an existing size
    spec = tuple(-1 if i >= lead and shape[i - lead] == s and data.draw(st.booleans()) else s
                 for i, s in enumerate(target))
    check(lambda x: x.expand(*spec), lambda v: np.broadcast_to(v, target), a)
    check(lambda x: x.expand(spec), lambda v: np.broadcast_to(v, target), a)
    check(lambda x: engine.expand(x, target), lambda v: np.broadcast_to(v, target), a)
    check(lambda x: x.expand_as(Tensor(np.zeros(target))), lambda v: np.broadcast_to(v, target), a)


# -- indexing -----------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_getitem_basic_slicing(data):
    shape = data.draw(shapes(**SMALL), label="shape")
    a = data.draw(arrays(shape), label="a")
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True), label="index")
    check(lambda x: x[index], lambda v: v[index], a)


@SETTINGS
@given(data=st.data())
def test_getitem_integer_arrays_with_repeats(data):
    shape = data.draw(shapes(min_dims=1, **SMALL), label="shape")
    a = data.draw(arrays(shape), label="a")
    n = shape[0]
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6), label="idx"))
    idx = np.concatenate([idx, idx[:1]])  # always at least one repeated index
    check(lambda x: x[idx], lambda v: v[idx], a)
    check(lambda x: x[Tensor(idx)], lambda v: v[idx], a)
    check(lambda x: x[idx.tolist()], lambda v: v[idx], a)
    if len(shape) > 1:
        m = shape[1]
        idx2 = np.array(data.draw(st.lists(st.integers(-m, m - 1), min_size=1, max_size=4)))
        check(lambda x: x[:, idx2], lambda v: v[:, idx2], a)
        check(lambda x: x[..., idx2, :] if len(shape) > 2 else x[:, idx2], lambda v: v[..., idx2, :] if len(shape) > 2 else v[:, idx2], a)
    many = data.draw(hnp.integer_array_indices(shape), label="integer array index")
    check(lambda x: x[many], lambda v: v[many], a)


def test_getitem_repeated_index_gradient_counts_repeats():
    x = Tensor(np.arange(4.0), requires_grad=True)
    idx = np.array([0, 0, 3, 0, 1])
    x[idx].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.bincount(idx, minlength=4))


@SETTINGS
@given(data=st.data())
def test_getitem_boolean_masks(data):
    shape = data.draw(shapes(**SMALL), label="shape")
    a = data.draw(arrays(shape), label="a")
    mask = data.draw(hnp.arrays(np.bool_, shape), label="mask")
    check(lambda x: x[mask], lambda v: v[mask], a)
    check(lambda x: x[Tensor(mask)], lambda v: v[mask], a)
    a_off = np.where(np.abs(a - 0.5) < 1e-2, 0.0, a)  # a mask computed from x must not flip
    check(lambda x: x[x > 0.5], lambda v: v[v > 0.5], a_off)
    if shape:
        m1 = data.draw(hnp.arrays(np.bool_, shape[:1]), label="mask over dim 0")
        check(lambda x: x[m1], lambda v: v[m1], a)


# -- pad ----------------------------------------------------------------------------------------

PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", list(PAD_MODES))
@SETTINGS
@given(data=st.data())
def test_pad(mode, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=2 if mode == "reflect" else 1, max_side=3),
                      label="shape")
    a = data.draw(arrays(shape), label="a")
    nd = len(shape)
    k = data.draw(st.integers(1, nd), label="padded dims")
    pad = []
    for j in range(k):  # pad tuple: last dim first
        size = shape[nd - 1 - j]
        hi = {"reflect": size - 1, "circular": size}.get(mode, 2)
        pad += [data.draw(st.integers(0, hi)), data.draw(st.integers(0, hi))]
    widths = [(0, 0)] * nd
    for j in range(k):
        widths[nd - 1 - j] = (pad[2 * j], pad[2 * j + 1])
    if mode == "constant":
        value = data.draw(FLOATS, label="value")
        ref = lambda v: np.pad(v, widths, mode="constant", constant_values=value)  # noqa: E731
        check(lambda x: engine.pad(x, tuple(pad), value=value), ref, a)
        check(lambda x: engine.pad(x, pad, "constant", value), ref, a)
    else:
        check(lambda x: engine.pad(x, tuple(pad), mode=mode), lambda v: np.pad(v, widths, mode=PAD_MODES[mode]), a)


# -- cat / stack --------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_cat(data):
    shape = data.draw(shapes(min_dims=1, **SMALL), label="shape")
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    n = data.draw(st.integers(1, 3), label="parts")
    parts = []
    for _ in range(n):
        s = list(shape)
        s[dim] = data.draw(st.integers(1, 3))
        parts.append(data.draw(arrays(tuple(s))))
    check(lambda *xs: engine.cat(list(xs), dim=dim), lambda *vs: np.concatenate(vs, axis=dim), *parts)
    check(lambda *xs: engine.cat(xs, dim), lambda *vs: np.concatenate(vs, axis=dim), *parts)


@SETTINGS
@given(data=st.data())
def test_stack(data):
    shape = data.draw(shapes(**SMALL), label="shape")
    nd = len(shape)
    dim = data.draw(st.integers(-nd - 1, nd), label="dim")
    n = data.draw(st.integers(1, 3), label="parts")
    parts = [data.draw(arrays(shape)) for _ in range(n)]
    check(lambda *xs: engine.stack(list(xs), dim=dim), lambda *vs: np.stack(vs, axis=dim), *parts)


def test_cat_stack_mixed_requires_grad():
    a = Tensor(np.ones((2, 2)), requires_grad=True)
    b = Tensor(np.zeros((1, 2)))
    (engine.cat([a, b]) * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 2), 2.0))
    assert b.grad is None


# -- matmul -----------------------------------------------------------------------------------

@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched", "v_batched", "batched_v"]))
    if kind == "vv":
        return (k,), (k,)
    if kind == "vm":
        return (k,), (k, m)
    if kind == "mv":
        return (n, k), (k,)
    if kind == "mm":
        return (n, k), (k, m)
    batch = draw(shapes(min_dims=1, max_dims=2, max_side=3))
    other = draw(broadcastable_shapes(batch, max_dims=2, max_side=3))
    if kind == "v_batched":
        return (k,), batch + (k, m)
    if kind == "batched_v":
        return batch + (n, k), (k,)
    return batch + (n, k), other + (k, m)


@pytest.mark.parametrize("form", ["operator", "method", "function"])
@SETTINGS
@given(sh=matmul_shapes(), data=st.data())
def test_matmul(form, sh, data):
    sa, sb = sh
    a = data.draw(arrays(sa), label="a")
    b = data.draw(arrays(sb), label="b")
    fn = {"operator": lambda x, y: x @ y, "method": lambda x, y: x.matmul(y),
          "function": engine.matmul}[form]
    check(fn, np.matmul, a, b, fwd_rtol=1e-9)


def test_matmul_with_ndarray_operands():
    a = np.arange(6.0).reshape(2, 3)
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    (a @ w).sum().backward()  # __rmatmul__
    np.testing.assert_allclose(w.grad.numpy(), a.sum(0)[:, None].repeat(2, 1))


# -- dtype casts --------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_float_casts_carry_gradient_back_in_input_dtype(data):
    shape = data.draw(shapes(**SMALL), label="shape")
    a = data.draw(arrays(shape), label="a")
    for to, call in ((np.float32, lambda t: t.float()), (np.float32, lambda t: t.to(engine.float32)),
                     (np.float32, lambda t: t.to(np.float32)), (np.float16, lambda t: t.to(engine.float16))):
        x = Tensor(a.copy(), requires_grad=True)
        y = call(x)
        assert y.dtype == to and y.requires_grad
        np.testing.assert_array_equal(y.numpy(), a.astype(to))
        w = np.linspace(-1, 1, max(a.size, 1))[: a.size].reshape(shape)
        (y * Tensor(w.astype(to))).sum().backward()
        assert x.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad.numpy(), w, rtol=1e-3 if to == np.float16 else 1e-6, atol=1e-3)
        (gx,) = engine.grad((call(x) * 2).sum(), x)  # engine.grad too: the input's dtype
        assert gx.dtype == np.float64 and gx.shape == shape
    # float32 -> float64: exact; gradient comes back as float32
    x32 = Tensor(a.astype(np.float32), requires_grad=True)
    y64 = x32.double()
    assert y64.dtype == np.float64
    (y64 * y64).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad.numpy(), 2 * a.astype(np.float32), rtol=1e-6, atol=1e-12)
    # float64 -> float64 through a float32 detour is differentiable end to end (gradcheck with a
    # coarse step: float32 rounding is ~1e-7)
    x = Tensor(a.copy(), requires_grad=True)
    assert engine.gradcheck(lambda t: t.float().double() * 3, [x], eps=1e-2, atol=1e-3, rtol=1e-2)


@pytest.mark.parametrize("call,dtype", [(lambda t: t.long(), np.int64), (lambda t: t.int(), np.int32),
                                        (lambda t: t.bool(), np.bool_), (lambda t: t.to(engine.int64), np.int64)])
def test_casts_to_integer_and_bool_carry_no_gradient(call, dtype):
    a = np.array([[-1.5, 0.0, 2.7]])
    x = Tensor(a, requires_grad=True)
    y = call(x)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), a.astype(dtype))
    assert not y.requires_grad and y.grad_fn is None


def test_same_dtype_cast_is_identity():
    x = Tensor(np.ones(3), requires_grad=True)
    assert x.to(np.float64) is x and x.double() is x


# -- comparisons ----------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_comparisons_return_bool_tensors_without_gradient(data):
    sa = data.draw(shapes(**SMALL))
    sb = data.draw(broadcastable_shapes(sa, **SMALL))
    a, b = data.draw(arrays(sa, GRID)), data.draw(arrays(sb, GRID))
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    for op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        for other, ref_other in ((y, b), (0.5, 0.5)):
            out = getattr(x, op)(other)
            assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
            np.testing.assert_array_equal(out.numpy(), getattr(a, op)(ref_other))
