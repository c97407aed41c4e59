"""Edge values (issue 10, item 4): no silent NaN or wrong number where PyTorch gives a finite,
correct one. Each case is checked against a math/NumPy reference and, when torch is importable,
against PyTorch itself."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
from nn import functional as F

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
T = engine.Tensor
INF = float("inf")
NAN = float("nan")


def grad_of(fn, x):
    t = T(np.asarray(x), requires_grad=True)
    fn(t).backward()
    return t.grad.numpy()


def torch_grad_of(fn, x):
    t = torch.tensor(np.asarray(x), requires_grad=True)
    fn(t).backward()
    return t.grad.numpy()


def log_softmax_ref(row):
    """Exact-as-float64 log-softmax of one row (masked -inf entries stay -inf)."""
    row = np.asarray(row, np.float64)
    m = row.max()
    return row - m - math.log(sum(math.exp(v - m) for v in row))


# -- cross-entropy --------------------------------------------------------------------------------
@settings(deadline=None, max_examples=30)
@given(st.lists(st.floats(-30, 30), min_size=2, max_size=6), st.data())
def test_cross_entropy_with_masked_logits_equals_the_unmasked_subset(row, data):
    """Masking classes with -inf removes them: the loss and gradient equal those of the logits
    without them (the masked classes get gradient 0)."""
    c = len(row)
    keep = data.draw(st.lists(st.booleans(), min_size=c, max_size=c).filter(any))
    target = data.draw(st.sampled_from([i for i in range(c) if keep[i]]))
    masked = np.where(keep, row, -np.inf)
    x = T(masked[None], requires_grad=True)
    loss = F.cross_entropy(x, T(np.array([target])))
    loss.backward()
    ref = -log_softmax_ref(masked)[target]
    assert math.isclose(loss.item(), ref, rel_tol=1e-9, abs_tol=1e-12)
    sub = np.array(row)[np.array(keep)]
    p = np.exp(log_softmax_ref(sub))
    expected = np.zeros(c)
    expected[np.array(keep)] = p
    expected[target] -= 1
    np.testing.assert_allclose(x.grad.numpy()[0], expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("big", [1e4, -1e4, 1e30, -1e30])
def test_cross_entropy_of_tied_huge_logits_is_log_c_with_gradient_softmax_minus_onehot(big, dtype):
    if dtype == np.float32 and abs(big) > 3e38:
        pytest.skip("not representable")
    x = T(np.full((2, 3), big, dtype), requires_grad=True)
    loss = F.cross_entropy(x, T(np.array([0, 2])))
    loss.backward()
    assert math.isclose(loss.item(), math.log(3), rel_tol=1e-6)
    expected = np.full((2, 3), 1 / 3) / 2
    expected[0, 0] -= 0.5
    expected[1, 2] -= 0.5
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6, atol=1e-7)


@settings(deadline=None, max_examples=25)
@given(st.lists(st.floats(-1, 1), min_size=3, max_size=3), st.sampled_from([1e4, -1e4, 3e4]))
def test_cross_entropy_float32_near_large_offsets_is_as_exact_as_the_shift_allows(row, offset):
    """log-softmax is shift invariant; with logits offset + r (|r| ≤ 1) in float32 the loss must be
    within a few ulps of the float64 loss of the rounded logits (the old m + log s form lost 1e-3)."""
    x32 = (np.float32(offset) + np.array(row, np.float32)).astype(np.float32)
    loss = F.cross_entropy(T(x32[None]), T(np.array([1]))).item()
    ref = -log_softmax_ref(x32.astype(np.float64))[1]
    assert abs(loss - ref) <= 4e-7 * max(1.0, abs(ref))


@needs_torch
def test_cross_entropy_edge_cases_match_torch():
    cases = [([[0.5, -INF, 1.0]], [0]), ([[0.5, -INF, 1.0]], [2]), ([[-1e30, -1e30, -1e30]], [0]),
             ([[1e4, -1e4 + 1, 1e4 - 0.5]], [0]), ([[88.0, -88.0, 0.0], [3.0, 3.0, -INF]], [1, 0])]
    for logits, target in cases:
        for dtype in (np.float32, np.float64):
            xv = np.array(logits, dtype)
            x = T(xv, requires_grad=True)
            ours = F.cross_entropy(x, T(np.array(target)))
            ours.backward()
            xt = torch.tensor(xv, requires_grad=True)
            theirs = torch.nn.functional.cross_entropy(xt, torch.tensor(target))
            theirs.backward()
            np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
            np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)


# -- sigmoid, softplus, BCE with logits ------------------------------------------------------------
def sigmoid_ref(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


@settings(deadline=None, max_examples=40)
@given(st.floats(-80, 80))
def test_sigmoid_float32_has_full_relative_precision_in_both_tails(v):
    got = float(T(np.array([v], np.float32)).sigmoid().numpy()[0])
    ref = sigmoid_ref(float(np.float32(v)))
    assert abs(got - ref) <= 4 * np.finfo(np.float32).eps * ref


def test_sigmoid_tail_values_and_their_logs():
    assert math.isclose(float(T([-17.0]).sigmoid()), 4.1399e-8, rel_tol=1e-4)
    assert math.isclose(float(T([-20.0]).sigmoid().log()), math.log(sigmoid_ref(-20.0)), rel_tol=1e-6)
    out = T(np.array([-INF, INF, NAN, 0.0], np.float32)).sigmoid().numpy()
    assert out[0] == 0 and out[1] == 1 and math.isnan(out[2]) and out[3] == 0.5
    g = grad_of(lambda t: t.sigmoid().log().sum(), np.array([-20.0, -40.0], np.float32))
    np.testing.assert_allclose(g, [1.0, 1.0], rtol=1e-6)        # d log σ(x)/dx = 1 − σ(x)


@settings(deadline=None, max_examples=30)
@given(st.floats(-60, 60), st.floats(0, 1))
def test_bce_with_logits_and_softplus_gradients_are_exact_in_the_tails(v, y):
    """dBCE/dx = σ(x) − y and softplus'(x) = σ(x), with full relative precision of σ."""
    g = grad_of(lambda t: F.binary_cross_entropy_with_logits(t, T(np.array([y]))), np.array([v]))
    assert math.isclose(g[0], sigmoid_ref(v) - y, rel_tol=1e-9, abs_tol=1e-15)
    g = grad_of(lambda t: F.softplus(t).sum(), np.array([v]))
    assert math.isclose(g[0], sigmoid_ref(v) if v <= 20 else 1.0, rel_tol=1e-9)


@needs_torch
def test_sigmoid_softplus_bce_match_torch():
    xs = np.array([-104.0, -90.0, -40.0, -20.0, -17.0, -5.0, 0.0, 5.0, 17.0, 40.0], np.float32)
    y = np.linspace(0, 1, len(xs)).astype(np.float32)
    ours = [T(xs).sigmoid().numpy(), F.softplus(T(xs)).numpy(),
            grad_of(lambda t: t.sigmoid().sum(), xs), grad_of(lambda t: F.softplus(t).sum(), xs),
            grad_of(lambda t: F.binary_cross_entropy_with_logits(t, T(y), reduction="sum"), xs)]
    tf = torch.nn.functional
    theirs = [torch.sigmoid(torch.tensor(xs)).numpy(), tf.softplus(torch.tensor(xs)).numpy(),
              torch_grad_of(lambda t: t.sigmoid().sum(), xs), torch_grad_of(lambda t: tf.softplus(t).sum(), xs),
              torch_grad_of(lambda t: tf.binary_cross_entropy_with_logits(t, torch.tensor(y), reduction="sum"), xs)]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-12)


# -- reductions and pow ----------------------------------------------------------------------------
@settings(deadline=None, max_examples=25)
@given(st.floats(-1e3, 1e3), st.integers(2, 6), st.sampled_from([0, 1]))
def test_std_of_a_constant_vector_has_zero_gradient(value, n, correction):
    g = grad_of(lambda t: t.std(correction=correction), np.full(n, value))
    np.testing.assert_array_equal(g, np.zeros(n))


@settings(deadline=None, max_examples=20)
@given(st.lists(st.integers(-80, 80), min_size=2, max_size=6, unique=True))
def test_std_gradient_matches_the_formula_away_from_zero(v):
    x = np.array(v) / 8.0
    assert engine.gradcheck(lambda t: t.std(), [T(x, requires_grad=True)])
    s = x.std(ddof=1)
    np.testing.assert_allclose(grad_of(lambda t: t.std(), x), (x - x.mean()) / ((len(x) - 1) * s), rtol=1e-9)


def test_var_and_std_of_one_element_are_nan_not_an_exception():
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # and no NumPy warning either
        for fn in (lambda t: t.var(), lambda t: t.std(), lambda t: t.var(dim=0)):
            x = T([3.0], requires_grad=True)
            out = fn(x)
            assert math.isnan(out.item())
            out.sum().backward()
            assert np.isnan(x.grad.numpy()).all()
    assert T([[1.0, 2.0]]).var(dim=1, correction=0).item() == 0.25


@settings(deadline=None, max_examples=20)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=5))
def test_x_pow_zero_has_zero_gradient_everywhere(v):
    x = np.array(v + [0.0])
    np.testing.assert_array_equal(grad_of(lambda t: (t ** 0).sum(), x), np.zeros(len(x)))
    np.testing.assert_array_equal(grad_of(lambda t: (t ** T(np.zeros(len(x)))).sum(), x), np.zeros(len(x)))


@settings(deadline=None, max_examples=25)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=6), st.data())
def test_max_with_a_nan_sends_the_gradient_to_the_nan(v, data):
    k = data.draw(st.integers(0, len(v) - 1))
    x = np.array(v)
    x[k] = np.nan
    g = grad_of(lambda t: t.max(), x)
    expected = np.isnan(x) / np.isnan(x).sum()
    np.testing.assert_array_equal(g, expected)
    gd = grad_of(lambda t: t.max(dim=0)[0], x)
    first = np.zeros(len(x))
    first[np.flatnonzero(np.isnan(x))[0]] = 1
    np.testing.assert_array_equal(gd, first)


@needs_torch
def test_reductions_and_pow_match_torch():
    fns = [lambda t: t.std(), lambda t: (t ** 0).sum(), lambda t: t.max(), lambda t: t.max(dim=0)[0],
           lambda t: t.min(), lambda t: t.var()]
    for x in (np.ones(4), np.zeros(3), np.array([1.0, np.nan, 3.0]), np.array([1.0, 3.0, 3.0]), np.array([2.0])):
        for fn in fns:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                np.testing.assert_allclose(grad_of(fn, x), torch_grad_of(fn, x), equal_nan=True)


# -- normalization --------------------------------------------------------------------------------
@settings(deadline=None, max_examples=15)
@given(st.sampled_from([INF, -INF, NAN, 1e30]), st.integers(0, 5))
def test_batchnorm_eval_backward_is_weight_times_invstd(bad, pos):
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    bn.eval()
    bn.running_var.numpy()[...] = [1.0, 4.0, 0.25]
    x = np.arange(6.0).reshape(2, 3)
    x.reshape(-1)[pos] = bad
    g = grad_of(lambda t: bn(t).sum(), x)
    np.testing.assert_allclose(g, np.broadcast_to(1 / np.sqrt(np.array([1.0, 4.0, 0.25]) + bn.eps), (2, 3)))


@needs_torch
def test_batchnorm_eval_backward_matches_torch():
    xv = np.array([[np.inf, 1.0, 2.0], [0.0, np.nan, 2.0]], np.float32)
    bn = nn.BatchNorm1d(3)
    bn.eval()
    tb = torch.nn.BatchNorm1d(3)
    tb.eval()
    np.testing.assert_allclose(grad_of(lambda t: bn(t).sum(), xv),
                               torch_grad_of(lambda t: tb(t).sum(), xv))


@pytest.mark.parametrize("make", [lambda: nn.BatchNorm1d(3), lambda: nn.LayerNorm(3),
                                  lambda: nn.GroupNorm(1, 3), lambda: nn.InstanceNorm2d(3)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_input_to_a_normalization_raises(make, dtype):
    m = make()
    shape = (2, 3, 2, 2) if isinstance(m, nn.InstanceNorm2d) else (2, 3)
    with pytest.raises(TypeError, match="floating-point"):
        m(T(np.ones(shape, dtype)))


def test_batchnorm_eval_on_an_empty_batch_returns_an_empty_batch():
    bn = nn.BatchNorm2d(3)
    bn.eval()
    out = bn(engine.zeros(0, 3, 4, 4))
    assert out.shape == (0, 3, 4, 4)


# -- selects' gradients: 0 where the input was clipped, even for an infinite or NaN upstream
#    gradient (PyTorch's threshold/hardtanh/hardswish/clamp backward select; g * mask gave NaN) --

_SEL_X = [-5.0, -3.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 3.0, 5.0, 6.0, 7.0, float("nan")]
_SEL_G = [float("inf"), float("nan"), float("-inf"), 2.0, float("inf"), -1.5, float("nan"), float("inf"),
          -2.0, float("-inf"), float("inf"), float("nan"), 3.0]
_SELECTS = {
    "relu": lambda m, t: m.relu(t),
    "hardtanh": lambda m, t: m.hardtanh(t),
    "hardtanh(-2, 0.5)": lambda m, t: m.hardtanh(t, -2.0, 0.5),
    "relu6": lambda m, t: m.relu6(t),
    "hardsigmoid": lambda m, t: m.hardsigmoid(t),
    "hardswish": lambda m, t: m.hardswish(t),
    "clamp(-1, 1)": lambda m, t: t.clamp(-1, 1),
    "clamp(min=0.5)": lambda m, t: t.clamp(min=0.5),
    "clamp(max=0.5)": lambda m, t: t.clamp(max=0.5),
    "leaky_relu(0.0)": lambda m, t: m.leaky_relu(t, 0.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("upstream", ["non-finite", "finite"])
@pytest.mark.parametrize("name", list(_SELECTS))
def test_select_gradients_are_torchs_with_non_finite_upstream(name, upstream, dtype):
    import torch
    import torch.nn.functional as TF

    f = _SELECTS[name]
    x = np.array(_SEL_X, dtype=dtype)
    g = np.array(_SEL_G, dtype=dtype) if upstream == "non-finite" else np.linspace(-2, 2, len(_SEL_X)).astype(dtype)
    ex = engine.tensor(x, requires_grad=True)
    f(F, ex).backward(engine.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    f(TF, tx).backward(torch.tensor(g))
    got, ref = ex.grad.numpy(), tx.grad.numpy()
    # (rtol: torch's float64 hardsigmoid backward multiplies by a float32 1/6)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))


def test_clamp_tensor_bound_gradients_are_selects_too():
    import torch
    x = np.array([-2.0, 0.0, 2.0], np.float32)
    lo, hi = np.array([-1.0, -1.0, -1.0], np.float32), np.array([1.0, 1.0, 1.0], np.float32)
    g = np.array([np.inf, np.inf, np.inf], np.float32)
    e = [engine.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    engine.clamp(*e).backward(engine.tensor(g))
    t = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    torch.clamp(*t).backward(torch.tensor(g))
    for a, b in zip(e, t):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_where_kept_equals_its_numpy_reference(data):
    """where_kept's bit-mask form against the plain np.where it replaces (bits, signs and NaN
    payload-free equality), on float16/32/64, 0-d, strided and broadcast masks."""
    from engine.ops._util import where_kept
    dtype = data.draw(st.sampled_from([np.float16, np.float32, np.float64]))
    shape = data.draw(st.sampled_from([(), (1,), (7,), (3, 5), (2, 3, 4)]))
    vals = st.sampled_from([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 1e-30, -7.0])
    g = np.array(data.draw(st.lists(vals, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                 dtype=dtype).reshape(shape)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=g.size, max_size=g.size)), bool).reshape(shape)
    if g.ndim == 2 and data.draw(st.booleans()):
        g, keep = g.T, keep.T                                    # non-contiguous
    if g.ndim >= 1 and data.draw(st.booleans()):
        keep = keep[..., :1]                                     # broadcast along the last axis
    got = where_kept(g, keep)
    ref = np.where(np.broadcast_to(keep, g.shape), g, np.zeros((), g.dtype))
    assert got.dtype == g.dtype and got.shape == g.shape
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))


_PICK_X = np.array([[-5.0, 1.0, 2.0, 3.0], [3.0, 3.0, float("nan"), -1.0]])
_PICK_Y = np.array([[0.0, 1.0, 3.0, 3.0], [1.0, 3.0, -2.0, float("nan")]])
_PICK_G = np.array([[float("inf"), float("nan"), float("-inf"), 2.0], [float("inf"), 2.0, float("inf"), -1.0]])
_PICKS = {
    "where": lambda L, a, b: L.where(a > b, a, b),
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "max(input, other)": lambda L, a, b: L.max(a, b),
    "min(input, other)": lambda L, a, b: L.min(a, b),
    "masked_fill": lambda L, a, b: a.masked_fill(b > 0.5, 7.0),
    "max()": lambda L, a, b: b[0].max(),                    # ties: 3.0 twice
    "min()": lambda L, a, b: a[0].min(),
    "max(dim)": lambda L, a, b: a.max(1)[0],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("upstream", ["non-finite", "finite"])
@pytest.mark.parametrize("name", list(_PICKS))
def test_pick_gradients_are_torchs_with_non_finite_upstream(name, upstream, dtype):
    """Gradients of ops that pick elements (where, maximum/minimum incl. ties and NaN, masked_fill,
    max()/min() of a whole tensor) are selects in PyTorch: the unpicked side gets 0 even from an
    infinite or NaN upstream gradient (``g * mask`` gave NaN)."""
    import torch
    f = _PICKS[name]
    xs = [_PICK_X.astype(dtype), _PICK_Y.astype(dtype)]
    grads = []
    for lib, make in ((engine, lambda v: engine.tensor(v, requires_grad=True)),
                      (torch, lambda v: torch.tensor(v, requires_grad=True))):
        a, b = make(xs[0]), make(xs[1])
        out = f(lib, a, b)
        shape = tuple(out.shape)
        g = (_PICK_G.astype(dtype) if upstream == "non-finite" else np.linspace(-2, 2, 8).reshape(2, 4).astype(dtype))
        g = g if shape == g.shape else np.full(shape, g.flat[0], dtype)
        out.backward((engine.tensor if lib is engine else torch.tensor)(g))
        grads.append([None if v.grad is None else v.grad.numpy() for v in (a, b)])
    for got, ref in zip(*grads):
        assert (got is None) == (ref is None)
        if got is not None:
            np.testing.assert_array_equal(got, ref)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))


def test_max_and_min_take_a_tensor_as_second_argument_like_torch():
    """torch.max(input, other) / x.max(other) is the elementwise maximum (it was read as a dim)."""
    a, b = engine.tensor([1.0, 5.0, -2.0]), engine.tensor([3.0, 2.0, -2.0])
    np.testing.assert_array_equal(engine.max(a, b).numpy(), [3.0, 5.0, -2.0])
    np.testing.assert_array_equal(a.min(b).numpy(), [1.0, 2.0, -2.0])
    assert engine.max(a, 0).indices.item() == 1


_EDGE_X = [-5.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 30.0, -30.0, float("inf"), float("-inf"), float("nan")]
_UNARY = ["abs", "neg", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "sign", "floor",
          "ceil", "round", "erf", "nan_to_num", "rsqrt", "square", "reciprocal", "log2", "log10", "expm1",
          "exp2", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "frac", "trunc",
          "deg2rad", "rad2deg", "sinc"]
_ACTS = ["relu", "elu", "selu", "gelu", "silu", "mish", "softplus", "logsigmoid", "hardtanh", "relu6",
         "hardsigmoid", "hardswish", "leaky_relu", "tanh", "sigmoid"]


@pytest.mark.parametrize("upstream", ["inf", "-inf", "nan", "one", "zero"])
@pytest.mark.parametrize("name", [f"engine.{n}" for n in _UNARY] + [f"F.{n}" for n in _ACTS])
def test_unary_gradients_are_torchs_at_edge_values_and_non_finite_upstream(name, upstream):
    """Every unary op and activation, on ±0, ±1, ±30, ±inf, NaN with an upstream gradient of
    ±inf, NaN, 1 or 0: the gradient equals PyTorch's (same NaN positions; values to 1e-6).
    This found: zero-derivative ops (floor, ceil, round, trunc, sign) gave 0 · g (NaN for an
    infinite g; torch: zeros), sign(NaN) and abs'(NaN) NaN (torch 0), elu/selu' at NaN NaN
    (torch: g · scale) and 1.7e-4 off at x = −30. (softsign is left out: PyTorch differentiates
    its composite form, NaN for an infinite g or x; ours is the finite derivative 1/(1+|x|)².)"""
    import torch
    import torch.nn.functional as TF
    lib, fn = name.split(".")
    ours, theirs = (getattr(engine, fn), getattr(torch, fn)) if lib == "engine" else (getattr(F, fn), getattr(TF, fn))
    x = np.array(_EDGE_X)
    g = np.full(x.shape, {"inf": np.inf, "-inf": -np.inf, "nan": np.nan, "one": 1.0, "zero": 0.0}[upstream])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = engine.tensor(x, requires_grad=True)
        ours(e).backward(engine.tensor(g))
        t = torch.tensor(x, requires_grad=True)
        theirs(t).backward(torch.tensor(g))
    got, ref = e.grad.numpy(), t.grad.numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name, upstream", [
    (n, u) for n in ["threshold", "hardshrink", "softshrink", "celu", "tanhshrink", "glu", "softmin", "normalize"]
    for u in ["inf", "finite"] if (n, u) != ("tanhshrink", "inf")])
def test_shrink_and_gating_gradients_are_torchs(name, upstream):
    """The activations added for PyTorch's surface against torch, with an infinite upstream
    gradient too (cut inputs get 0). No NaN inputs: torch's own vectorized and scalar paths
    disagree there; tanhshrink is left out for an infinite g (torch differentiates x − tanh x
    as a composite: inf − inf = NaN)."""
    import torch
    import torch.nn.functional as TF
    call = {"threshold": lambda m, t: m.threshold(t, 0.5, 2.0), "hardshrink": lambda m, t: m.hardshrink(t),
            "softshrink": lambda m, t: m.softshrink(t, 0.7), "celu": lambda m, t: m.celu(t, 0.5),
            "tanhshrink": lambda m, t: m.tanhshrink(t), "glu": lambda m, t: m.glu(t, 1),
            "softmin": lambda m, t: m.softmin(t, dim=1), "normalize": lambda m, t: m.normalize(t, 2.0, 1)}[name]
    x = np.array([[-5.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 3.0], [2.0, 0.7, 0.25, -0.25, 0.7, -0.7, 10.0, -10.0]])
    e = engine.tensor(x, requires_grad=True)
    oe = call(F, e)
    shape = tuple(oe.shape)
    g = np.full(shape, np.inf) if upstream == "inf" else np.linspace(-2, 2, int(np.prod(shape))).reshape(shape)
    oe.backward(engine.tensor(g))
    t = torch.tensor(x, requires_grad=True)
    ot = call(TF, t)
    ot.backward(torch.tensor(g))
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(np.isnan(e.grad.numpy()), np.isnan(t.grad.numpy()))
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("loss", ["huber_loss", "smooth_l1_loss"])
def test_huber_and_smooth_l1_gradients_at_infinite_differences_are_torchs(loss):
    """An infinite input - target difference: the gradient is ±delta·g (PyTorch), not the NaN of
    the dropped quadratic branch's 0 · inf; a NaN difference gives NaN (not 0)."""
    import torch
    import torch.nn.functional as TF
    a = np.array([np.inf, -np.inf, 3.0, 0.2, -4.0, np.nan])
    b = np.array([1.0, 2.0, np.inf, 0.1, -4.0, 1.0])
    grads = []
    for lib, mod in ((engine, F), (torch, TF)):
        x = lib.tensor(a, requires_grad=True)
        y = lib.tensor(b, requires_grad=True)
        getattr(mod, loss)(x, y, reduction="none").backward(lib.tensor(np.array([1.0, 1.0, 2.0, 1.0, np.inf, 1.0])))
        grads.append((x.grad.numpy(), y.grad.numpy()))
    for got, ref in zip(*grads):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", ["atan2", "hypot", "fmod", "remainder", "lerp"])
def test_binary_math_values_and_gradients_are_torchs(name):
    """atan2/hypot/fmod/remainder/lerp (engine/ops/binary_math.py) against torch, broadcasting a
    row over a matrix, with negative operands, zeros, a zero divisor and infinities."""
    import torch
    a = np.array([[-2.0, 1.5, 3.0, -0.7, 0.0], [5.5, -4.2, 0.3, 2.0, np.inf]])
    b = np.array([1.5, -2.0, 0.7, 0.0, 3.0])
    call = {"lerp": lambda L, x, y: L.lerp(x, y, 0.3)}.get(name, lambda L, x, y: getattr(L, name)(x, y))
    got = []
    for lib in (engine, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = call(lib, x, y)
        with np.errstate(all="ignore"):
            out.backward(lib.tensor(np.cos(np.arange(10.0)).reshape(2, 5)))
        got.append([out.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    for ours, theirs in zip(*got):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14, equal_nan=True)
