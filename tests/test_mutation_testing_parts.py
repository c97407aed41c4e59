"""engine.testing's parts, pinned down where the broader tests leave them loose (found by
mutation testing): the failure types' fields and messages, the Jacobian helpers behind
check_function/check_module (against torch.autograd.functional.jacobian and torch.isclose),
assert_gradients_match's message and its passing of eps/atol/rtol/fast_mode to gradcheck
(against torch.autograd.gradcheck), the runner's example counting, settings and listing of
examples, the strategies' defaults and bounds, and the pytest plugin's options and profile."""
import functools
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, find, settings, strategies as st
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.errors import NoSuchExample

import engine
from engine import Function, Tensor
from engine.testing import (CheckFailure, GradientMismatch, InputMutated, broadcastable_shapes,
                            default_max_examples, dtypes, elements, set_default_max_examples,
                            shapes, tensors)
from engine.testing import jacobian as J
from engine.testing import runner

pytest_plugins = ["pytester"]

FIND = settings(max_examples=300, database=None, deadline=None)


def never_found(strategy, condition):
    """True when Hypothesis finds no example of ``condition`` among 300 draws."""
    try:
        find(strategy, condition, settings=FIND)
    except NoSuchExample:
        return True
    return False


# ---------------------------------------------------------------------------------- errors.py

def test_check_failure_keeps_message_details_and_no_example_until_given_one():
    e = GradientMismatch("bad", input=1, element=(0,))
    assert e.details == {"input": 1, "element": (0,)}
    assert e.input == 1 and e.element == (0,) and e.message == "bad"
    assert e.example is None
    assert str(e) == "[gradient] bad"
    assert e.with_example("  input 0: 3") is e
    assert e.example == "  input 0: 3"
    assert str(e) == "[gradient] bad\nFalsifying example:\n  input 0: 3"
    e.with_example("x", "why")
    assert str(e) == "[gradient] bad\nFalsifying example (why):\nx"
    e.args = ()
    assert str(e) == "[gradient]"


# ------------------------------------------------------------------------------- gradients.py

class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class WrongSecond(Function):
    """Right for p, wrong (by +1) for q."""

    @staticmethod
    def forward(ctx, p, q):
        ctx.save_for_backward(p, q)
        return p * q

    @staticmethod
    def backward(ctx, g):
        p, q = ctx.saved_tensors
        return g * q, g * p + 1.0


class QuarterOff(Function):
    """d(x²)/dx written as 2.5x: 25 % off, relatively."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2.5 * x


def _torch_gradcheck_passes(fn, x, **kw):
    try:
        return torch.autograd.gradcheck(fn, (torch.tensor(x, dtype=torch.float64, requires_grad=True),),
                                        **kw)
    except Exception:
        return False


def test_assert_gradients_match_passes_eps_atol_rtol_like_torch():
    from engine.testing import assert_gradients_match

    x = np.array([0.7, 1.3])
    cube = lambda t: t * t * t  # noqa: E731
    # a large eps makes central differences of x³ off by eps²: both fail with tight tolerances
    assert not _torch_gradcheck_passes(lambda t: t ** 3, x, eps=0.5, atol=1e-6, rtol=0.0)
    with pytest.raises(AssertionError):
        assert_gradients_match(cube, Tensor(x, requires_grad=True), eps=0.5, atol=1e-6, rtol=0.0)
    assert _torch_gradcheck_passes(lambda t: t ** 3, x, eps=1e-6, atol=1e-5, rtol=1e-3)
    assert_gradients_match(cube, Tensor(x, requires_grad=True), eps=1e-6)
    # a wrong gradient passes once atol (or rtol) is loose enough, in both libraries
    a, b = Tensor(x, requires_grad=True), Tensor(x.copy(), requires_grad=True)
    with pytest.raises(AssertionError):
        assert_gradients_match(WrongSecond.apply, a, b)
    assert_gradients_match(WrongSecond.apply, a, b, atol=10.0)
    with pytest.raises(AssertionError):
        assert_gradients_match(QuarterOff.apply, a)
    assert_gradients_match(QuarterOff.apply, a, atol=0.0, rtol=0.5)


def test_assert_gradients_match_full_and_fast_mode_reach_gradcheck():
    from engine.testing import assert_gradients_match

    a = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    b = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    with pytest.raises(AssertionError) as full:
        assert_gradients_match(WrongSecond.apply, a, b)
    assert "output element" in str(full.value) and "random projection" not in str(full.value)
    with pytest.raises(AssertionError) as fast:
        assert_gradients_match(WrongSecond.apply, a, b, fast_mode=True)
    assert "random projection" in str(fast.value)


def test_assert_gradients_match_only_converts_inputs_that_require_grad():
    from engine.testing import assert_gradients_match

    a = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    # q is float32 and does not require grad: it is not checked (the wrong gradient is not seen)
    q = Tensor(np.array([1.0, -2.0], dtype=np.float32))
    assert_gradients_match(WrongSecond.apply, a, q)
    assert q.dtype == np.float32 and not q.requires_grad
    # an integer index stays an integer
    idx = Tensor(np.array([1, 0]))
    assert_gradients_match(lambda t, i: t[i] * t[i], a, idx)


def test_assert_gradients_match_messages_name_function_and_shapes():
    from engine.testing import assert_gradients_match

    with pytest.raises(AssertionError) as info:
        assert_gradients_match(lambda t: t * 2, Tensor(np.ones(2)))
    assert str(info.value) == ("assert_gradients_match: no input requires grad (pass tensors made "
                               "with requires_grad=True)")

    def wrong_square(t, s):
        return WrongSecond.apply(t, t) * s

    a = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    with pytest.raises(AssertionError) as info:
        assert_gradients_match(wrong_square, a, 2.0)
    msg = str(info.value)
    assert msg.startswith(f"gradients of {wrong_square.__qualname__} do not match finite differences "
                          "for inputs of shapes [(2,), float]:\n")

    part = functools.partial(wrong_square, s=2.0)
    assert not hasattr(part, "__qualname__")
    b = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(AssertionError) as info:
        assert_gradients_match(lambda x, y: part(x) + y.sum(), a, b)
    assert "shapes [(2,), (2, 3)]" in str(info.value)
    with pytest.raises(AssertionError) as info:
        assert_gradients_match(part, a)
    assert str(info.value).startswith(f"gradients of {part!r} do not match")


# -------------------------------------------------------------------------------- jacobian.py

def test_as_outputs_message_names_the_offending_output():
    with pytest.raises(TypeError) as info:
        J.as_outputs((Tensor(np.ones(2)), 3))
    assert str(info.value) == ("the function must return a Tensor or a tuple of Tensors; output 1 "
                               "is int")


def test_flat_is_float64_and_empty_for_no_outputs():
    empty = J.flat([])
    assert empty.shape == (0,)
    assert J.flat([Tensor(np.array([0.1], dtype=np.float32))]).dtype == np.float64
    out = J.flat([Tensor(np.array([[1.5, 2.5]], dtype=np.float32)), Tensor(np.array([3.0]))])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.5, 2.5, 3.0])


def test_output_element_walks_the_outputs_in_order():
    outs = [Tensor(np.zeros(2)), Tensor(np.zeros((2, 3)))]
    expected = [(0, (0,)), (0, (1,))] + [(1, tuple(int(e) for e in np.unravel_index(k, (2, 3))))
                                         for k in range(6)]
    assert [J.output_element(outs, k) for k in range(8)] == expected
    with pytest.raises(IndexError) as info:
        J.output_element(outs, 10)
    assert info.value.args == (2,)  # how far past the last element


def test_numeric_jacobian_matches_torch_and_reports_a_size_change():
    x = Tensor(np.array([0.3, -0.7, 1.1]))
    evaluate = lambda: J.flat([x.sin() * x.sum()])  # noqa: E731
    num = J.numeric_jacobian(evaluate, x, "input 0", 1e-6)
    ref = torch.autograd.functional.jacobian(lambda t: t.sin() * t.sum(),
                                             torch.tensor(x.numpy())).numpy().T
    np.testing.assert_allclose(num, ref, atol=1e-7)

    # only the + perturbation changes the output size (0.5 sits on the mask's edge)
    y = Tensor(np.array([2.0, 0.5]))
    with pytest.raises(GradientMismatch) as info:
        J.numeric_jacobian(lambda: J.flat([y[y > 0.5]]), y, "input 3", 1e-6)
    assert info.value.input == "input 3" and info.value.element == (1,)
    assert "output size changed from 1 to 2/1 when input 3, element (1,)" in str(info.value)

    ro = np.ones(2)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="input 2: its array is read-only"):
        J.numeric_jacobian(lambda: np.zeros(1), Tensor(ro), "input 2", 1e-6)


def _compare(analytic, numeric, atol, rtol, shape=None, outs=None, **kw):
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    shape = (analytic.shape[0],) if shape is None else shape
    outs = [Tensor(np.zeros(analytic.shape[1]))] if outs is None else outs
    J.compare("input 0", shape, analytic, numeric, outs, atol, rtol, **kw)


@pytest.mark.parametrize("a,n,atol,rtol", [(1.0, 0.0, 1.0, 0.0), (2.0, 2.0, 0.0, 0.0),
                                           (10.5, 10.0, 0.0, 0.1), (10.5, 10.0, 0.0, 0.01),
                                           (1.0, 0.0, 0.5, 0.0)])
def test_compare_tolerance_is_torchs_isclose(a, n, atol, rtol):
    close = bool(torch.isclose(torch.tensor(a, dtype=torch.float64), torch.tensor(n, dtype=torch.float64),
                               atol=atol, rtol=rtol))
    if close:
        _compare([[a]], [[n]], atol, rtol)
    else:
        with pytest.raises(GradientMismatch):
            _compare([[a]], [[n]], atol, rtol)


def test_compare_reports_the_worst_element_with_its_fields():
    numeric = np.zeros((2, 3))
    analytic = numeric.copy()
    analytic[0, 1] = 0.2   # small miss
    analytic[1, 2] = 0.5   # the worst miss (|a - n| = 0.5, |a + n| would rank the same)
    analytic[1, 0] = -0.4
    numeric[1, 0] = 0.4    # |a - n| = 0.8: the worst; |a + n| = 0 would hide it
    outs = [Tensor(np.zeros(1)), Tensor(np.zeros(2))]
    with pytest.raises(GradientMismatch) as info:
        J.compare("input 0", (2,), analytic, numeric, outs, 1e-3, 0.0)
    e = info.value
    assert (e.input, e.element, e.output, e.output_element) == ("input 0", (1,), 0, (0,))
    assert (e.analytic, e.numeric) == (-0.4, 0.4)
    assert str(e).startswith("[gradient] gradient mismatch for input 0, element (1,), output 0 "
                             "element (0,): analytic -0.4 vs numeric 0.4 (|diff| 0.8 > atol 0.001")
    # a second output, element not at 0: every field follows it
    analytic2 = np.zeros((2, 3))
    analytic2[1, 2] = 0.5
    with pytest.raises(GradientMismatch) as info:
        J.compare("x", (2,), analytic2, np.zeros((2, 3)), outs, 1e-3, 0.0, what="hessian")
    e = info.value
    assert (e.element, e.output, e.output_element) == ((1,), 1, (1,))
    assert str(e).startswith("[gradient] hessian mismatch for x, element (1,), output 1 element (1,)")


def test_compare_ranks_below_one_misses_and_nonfinite_ones():
    # every miss < 1: an element within tolerance must never be reported
    analytic = np.array([[0.0, 0.0, 0.3]])
    with pytest.raises(GradientMismatch) as info:
        _compare(analytic, np.zeros((1, 3)), 1e-3, 0.0)
    assert info.value.output_element == (2,)
    # a NaN miss outranks a finite one
    analytic = np.array([[0.5, np.nan, 0.0]])
    with pytest.raises(GradientMismatch) as info:
        _compare(analytic, np.zeros((1, 3)), 1e-3, 0.0)
    assert info.value.output_element == (1,)
    # a 0-d target: element ()
    with pytest.raises(GradientMismatch) as info:
        _compare([[1.0]], [[0.0]], 1e-3, 0.0, shape=())
    assert info.value.element == ()


def test_analytic_jacobians_match_torch():
    x = Tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    outs = [x.sin() * x.sum(), (x * x).sum()]
    (jac,) = J.analytic_jacobians(outs, [x])
    tx = torch.tensor(x.numpy())
    ref = np.concatenate([torch.autograd.functional.jacobian(lambda t: t.sin() * t.sum(), tx).numpy(),
                          torch.autograd.functional.jacobian(lambda t: (t * t).sum(), tx).numpy()[None]]).T
    np.testing.assert_allclose(jac, ref, atol=1e-12)


# ---------------------------------------------------------------------------------- runner.py

@pytest.fixture
def restore_default_examples():
    before = default_max_examples()
    yield
    set_default_max_examples(before)


def test_set_default_max_examples_sets_resets_and_validates(restore_default_examples):
    set_default_max_examples(7)
    assert default_max_examples() == 7 and type(default_max_examples()) is int
    set_default_max_examples(1)
    assert default_max_examples() == 1
    set_default_max_examples(np.int64(3))
    assert default_max_examples() == 3 and type(default_max_examples()) is int
    set_default_max_examples(None)
    assert default_max_examples() == 20
    for bad in (0, -2, 2.5, True, False):
        with pytest.raises(ValueError) as info:
            set_default_max_examples(bad)
        assert str(info.value) == f"max_examples must be a positive integer, got {bad!r}"
    assert default_max_examples() == 20


def _listing(arr):
    return np.array2string(np.asarray(arr), precision=6, threshold=60, separator=", ")


def test_describe_lists_tensors_like_numpy_array2string():
    small = Tensor(np.array([1 / 3, 2.0]))
    big = Tensor(np.arange(61, dtype=np.float64) / 7)
    grid = Tensor(np.arange(6.0).reshape(2, 3) / 3, requires_grad=True)
    text = runner.describe([small, 5, big, grid])
    expected = "\n".join([
        f"  input 0: Tensor shape=(2,) dtype=float64 requires_grad=False\n    {_listing(small.numpy())}",
        "  input 1: 5",
        f"  input 2: Tensor shape=(61,) dtype=float64 requires_grad=False\n    {_listing(big.numpy())}",
        f"  input 3: Tensor shape=(2, 3) dtype=float64 requires_grad=True\n    "
        + _listing(grid.numpy()).replace("\n", "\n    ")])
    assert text == expected
    assert "0.333333," in text and "..." in text and "\n     [" in text
    # one drawn tuple is unpacked into its arguments; several values are listed as they are
    assert runner.describe([(small, 5)]) == runner.describe([small, 5])
    assert runner.describe([(1, 2), 3]) == "  input 0: (1, 2)\n  input 1: 3"
    assert runner.describe([[1, 2]]) == "  input 0: 1\n  input 1: 2"
    assert runner.describe([]) == "  (no inputs)"


def test_run_validates_max_examples():
    for bad in (True, 2.5, 0):
        with pytest.raises(ValueError, match="positive integer"):
            runner.run([st.integers()], lambda v: None, max_examples=bad)


def test_run_on_fixed_inputs_names_them_in_the_message():
    def body(values):
        raise InputMutated("changed", input=0)

    with pytest.raises(InputMutated) as info:
        runner.run([7, "a"], body)
    assert info.value.example == runner.describe([7, "a"])
    assert str(info.value) == ("[input_mutation] changed\nFalsifying example (the inputs given):\n"
                               + runner.describe([7, "a"]))


def test_run_counts_the_examples_it_ran_and_reports_the_minimised_one():
    calls = []

    def body(values):
        calls.append(values[0])
        if values[0] >= 5:
            raise GradientMismatch("too big")

    with pytest.raises(GradientMismatch) as info:
        runner.run([st.integers(0, 1000), 3], body, max_examples=30)
    assert len(calls) > 1
    assert info.value.example == runner.describe([(5, 3)])
    assert str(info.value).endswith(f"Falsifying example (minimised by Hypothesis; {len(calls)} "
                                    f"examples run):\n{runner.describe([(5, 3)])}")


def test_run_draws_at_most_max_examples():
    calls = []
    runner.run([st.integers(0, 10 ** 6)], calls.append, max_examples=3)
    assert 1 <= len(calls) <= 3


@pytest.fixture
def profile(request):
    """Run with a Hypothesis profile of the test's choosing, then restore the current one."""
    before = settings.get_current_profile_name()
    yield
    settings.load_profile(before)


def test_run_ignores_the_deadline_and_database_of_the_current_profile(profile):
    db = InMemoryExampleDatabase()
    settings.register_profile("mt-strict", deadline=1, database=db, max_examples=5,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("mt-strict")

    def slow(values):
        time.sleep(0.005)  # over the 1 ms deadline: no DeadlineExceeded

    runner.run([st.integers(0, 3)], slow, max_examples=2)

    def fails(values):
        raise GradientMismatch("always")

    with pytest.raises(GradientMismatch):
        runner.run([st.integers(0, 3)], fails, max_examples=2)
    assert not any(True for _ in db.fetch_all()) if hasattr(db, "fetch_all") else not db.data


def test_run_reports_one_failure_when_the_body_has_two_bugs():
    def body(values):
        if values[0] < 0:
            raise GradientMismatch("negative")
        if values[0] > 0:
            raise InputMutated("positive")

    with pytest.raises(CheckFailure) as info:
        runner.run([st.integers(-10, 10)], body, max_examples=30)
    assert isinstance(info.value, (GradientMismatch, InputMutated))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "explain" not in notes.lower() and "or any other generated value" not in notes


def test_run_tolerates_a_heavily_filtered_strategy():
    calls = []
    runner.run([st.integers(0, 10 ** 6).filter(lambda v: v % 97 == 0)], lambda v: calls.append(v[0]),
               max_examples=5)
    assert calls and all(v % 97 == 0 for v in calls)


# ------------------------------------------------------------------------------ strategies.py

def test_shapes_and_broadcastable_shapes_defaults():
    assert not never_found(shapes(), lambda s: 1 in s)          # side 1 is drawn by default
    base = (1,)
    strat = broadcastable_shapes(base)
    assert not never_found(strat, lambda s: len(s) == 0)
    assert not never_found(strat, lambda s: 5 in s)
    assert not never_found(strat, lambda s: len(s) >= 2 and s[0] == 1)
    assert never_found(strat, lambda s: len(s) > 4 or any(d > 5 or d < 1 for d in s))
    # explicit bounds reach the drawn extra dimensions
    bounded = broadcastable_shapes((1,), min_dims=2, max_dims=3, min_side=2, max_side=3)
    assert never_found(bounded, lambda s: not 2 <= len(s) <= 3 or any(not 2 <= d <= 3 for d in s))


def test_dtypes_default_is_floating_and_empty_selection_message():
    assert never_found(dtypes(), lambda d: d.kind != "f")
    with pytest.raises(ValueError) as info:
        dtypes(floating=False)
    assert str(info.value) == "dtypes: select at least one of floating, integer, boolean"


def test_elements_floats_are_finite_normal_and_of_their_width_by_default():
    for dtype in (np.float32, np.float64):
        assert never_found(elements(dtype), lambda v: not np.isfinite(v))
        assert never_found(elements(dtype), lambda v: v != 0 and abs(v) < np.finfo(dtype).tiny)
    assert never_found(elements(np.float32), lambda v: float(np.float32(v)) != v)
    assert not never_found(elements(np.float32), lambda v: v != 0 and abs(v) < 1e-30 or abs(v) > 1e30)


def test_elements_bounds_with_infinities_allowed():
    # finite=False with bounds: NaN yes, infinities no (they lie outside the bounds)
    assert never_found(elements(np.float64, finite=False, min_value=0.0), lambda v: np.isinf(v))
    assert never_found(elements(np.float64, finite=False, max_value=0.0), lambda v: np.isinf(v))
    assert not never_found(elements(np.float64, finite=False, min_value=0.0, max_value=1.0),
                           lambda v: np.isnan(v))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_elements_bounds_are_inclusive_and_rounded_inwards(dtype):
    info = np.finfo(dtype)
    # exactly representable bounds are reached
    assert not never_found(elements(dtype, min_value=0.5, max_value=1.0), lambda v: v == 0.5)
    assert not never_found(elements(dtype, min_value=0.5, max_value=1.0), lambda v: v == 1.0)
    # bounds not representable in the width are rounded inwards, never outwards
    lo, hi = 0.1, 0.3
    assert never_found(elements(dtype, min_value=lo, max_value=hi), lambda v: not lo <= v <= hi)
    assert not never_found(elements(dtype, min_value=lo, max_value=hi),
                           lambda v: v == float(np.nextafter(dtype(hi), dtype(-np.inf)))
                           or v == float(dtype(hi)) <= hi)
    # large integer bounds beyond the width's exact integers work too
    big = 2 ** (info.nmant + 1) + 1
    v = find(elements(dtype, min_value=big, max_value=4 * big), lambda v: True, settings=FIND)
    assert big <= v <= 4 * big and float(dtype(v)) == v


def test_elements_longdouble_draws_float64_values():
    v = find(elements(np.longdouble, min_value=1.0, max_value=2.0), lambda v: True, settings=FIND)
    assert 1.0 <= v <= 2.0


def test_elements_integers_and_bools():
    assert never_found(elements(np.uint8), lambda v: not 0 <= v <= 255)
    assert not never_found(elements(np.uint8), lambda v: v == 255)
    assert never_found(elements(np.int32, min_value=-2.5, max_value=2.5), lambda v: not -2 <= v <= 2)
    assert not never_found(elements(np.int32, min_value=-2.5, max_value=2.5), lambda v: v == -2)
    assert not never_found(elements(np.bool_), lambda v: v is True)


def test_default_elements_of_tensors():
    f64 = tensors(shape=(3,))
    assert never_found(f64, lambda t: np.any(np.abs(t.numpy()) > 3) or not np.all(np.isfinite(t.numpy())))
    assert not never_found(f64, lambda t: np.any(t.numpy() == 3.0))
    assert not never_found(f64, lambda t: np.any(t.numpy() < -2.5))
    assert not never_found(tensors(shape=(3,), dtype=np.float32), lambda t: np.any(t.numpy() < -2.5))
    ints = tensors(shape=(3,), dtype=np.int64)
    assert never_found(ints, lambda t: np.any(np.abs(t.numpy()) > 10))
    assert not never_found(ints, lambda t: np.any(t.numpy() == -10))
    assert not never_found(ints, lambda t: np.any(t.numpy() == 10))
    assert not never_found(tensors(shape=(2,), dtype=np.bool_), lambda t: t.numpy().all())
    grid = tensors(shape=(2,), unique=True)
    on_grid = lambda t: np.allclose((t.numpy() - 1 / 1024) * 256, np.round((t.numpy() - 1 / 1024) * 256))  # noqa
    assert never_found(grid, lambda t: not on_grid(t) or np.any(np.abs(t.numpy()) > 3))
    assert not never_found(grid, lambda t: np.any(t.numpy() == -3 + 1 / 1024))
    assert not never_found(grid, lambda t: np.any(t.numpy() == 767 / 256 + 1 / 1024))
    # unique integers: distinct, from the default [-10, 10]
    assert never_found(tensors(shape=(4,), dtype=np.int32, unique=True),
                       lambda t: len(set(t.numpy().tolist())) < 4 or np.any(np.abs(t.numpy()) > 10))
    # non-unique floats are not confined to the grid
    assert not never_found(f64, lambda t: not on_grid(t))


def test_tensors_defaults_and_arguments_reach_the_draw():
    t = find(tensors(), lambda t: True, settings=FIND)
    assert t.dtype == np.float64 and t.requires_grad
    assert not never_found(tensors(shape=(3,)), lambda t: len(set(t.numpy().tolist())) < 3)
    assert never_found(tensors(shape=(2, 2)), lambda t: t.shape != (2, 2))
    assert never_found(tensors(shape=(2,), dtype=np.float32), lambda t: t.dtype != np.float32)
    assert never_found(tensors(shape=(2,), dtype=st.just(np.dtype(np.int32))), lambda t: t.dtype != np.int32)
    assert never_found(tensors(shape=(2,), elements=st.just(0.25)), lambda t: np.any(t.numpy() != 0.25))
    assert never_found(tensors(shape=(2,), requires_grad=False), lambda t: t.requires_grad)
    assert never_found(tensors(shape=(3,), unique=1), lambda t: len(set(t.numpy().tolist())) < 3)


# --------------------------------------------------------------------------- pytest_plugin.py

PLUGIN = ("-p", "no:gradbricks", "-p", "engine.testing.pytest_plugin", "-p", "no:cacheprovider",
          "-p", "no:randomly")


@pytest.fixture
def inner(pytester, monkeypatch):
    """A user's suite run in this process, starting from Hypothesis' own default profile; the
    profile and the examples per check are restored afterwards."""
    before = settings.get_current_profile_name()
    examples = default_max_examples()
    monkeypatch.delenv("CI", raising=False)
    settings.load_profile("default")
    yield pytester
    settings.load_profile(before)
    set_default_max_examples(examples)


CHECK = """
from hypothesis import settings
from engine.testing import default_max_examples

def test_state(request):
    assert settings.get_current_profile_name() == {profile!r}
    assert default_max_examples() == {n}
    opt = request.config.getoption("gradcheck_max_examples")
    assert opt == {opt!r} and type(opt) is type({opt!r})
"""


def test_plugin_option_sets_examples_and_loads_the_profile(inner):
    inner.makepyfile(test_user=CHECK.format(profile="gradbricks", n=7, opt=7))
    inner.runpytest_inprocess(*PLUGIN, "--gradcheck-max-examples", "7").assert_outcomes(passed=1)
    assert default_max_examples() == 20  # unconfigure restored the library default


def test_plugin_leaves_the_default_profile_chosen_on_the_command_line(inner):
    # `--hypothesis-profile default` is a choice too: the plugin must not replace it with its own
    # profile (pytest_configure 15, 20, 21 lose the option and load "gradbricks")
    inner.makepyfile(test_user="from hypothesis import settings\n\n"
                               "def test_state():\n"
                               "    assert settings.get_current_profile_name() == 'default'\n")
    inner.runpytest_inprocess(*PLUGIN, "--hypothesis-profile", "default").assert_outcomes(passed=1)


def test_plugin_without_options_loads_the_profile(inner):
    inner.makepyfile(test_user=CHECK.format(profile="gradbricks", n=20, opt=None))
    inner.runpytest_inprocess(*PLUGIN).assert_outcomes(passed=1)


def test_plugin_ini_option(inner):
    inner.makeini("[pytest]\ngradcheck_max_examples = 4\n")
    inner.makepyfile(test_user=CHECK.format(profile="gradbricks", n=4, opt=None))
    inner.runpytest_inprocess(*PLUGIN).assert_outcomes(passed=1)


def test_plugin_leaves_a_profile_chosen_on_the_command_line(inner):
    settings.register_profile("mt-chosen", deadline=None)
    inner.makeconftest("from hypothesis import settings\n"
                       "settings.register_profile('mt-chosen', deadline=None)\n")
    inner.makepyfile(test_user=CHECK.format(profile="mt-chosen", n=3, opt=3))
    inner.runpytest_inprocess(*PLUGIN, "--hypothesis-profile", "mt-chosen",
                              "--gradcheck-max-examples", "3").assert_outcomes(passed=1)


def test_plugin_leaves_a_profile_loaded_before_it(inner):
    settings.register_profile("mt-early", deadline=None)
    settings.load_profile("mt-early")
    inner.makepyfile(test_user=CHECK.format(profile="mt-early", n=20, opt=None))
    inner.runpytest_inprocess(*PLUGIN).assert_outcomes(passed=1)


def test_plugin_bad_value_is_a_usage_error(inner):
    inner.makepyfile(test_user="def test_x():\n    pass\n")
    result = inner.runpytest_inprocess(*PLUGIN, "--gradcheck-max-examples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("--gradcheck-max-examples: max_examples must be a positive integer, got 0"
            in result.stderr.str())
    result = inner.runpytest_inprocess(*PLUGIN, "--gradcheck-max-examples", "many")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid int value: 'many'" in result.stderr.str()


def test_plugin_help_lists_the_option_in_its_group(inner):
    # another plugin (here a conftest) can add to the "gradbricks" group
    inner.makeconftest("def pytest_addoption(parser):\n"
                       "    parser.getgroup('gradbricks').addoption('--mt-extra', help='mt extra')\n")
    result = inner.runpytest_inprocess(*PLUGIN, "--help")
    text = result.stdout.str()
    section = text[text.index("gradbricks property checks:"):]
    section = section[:section.index("\n\n")]
    flat_section = " ".join(section.split())
    assert ("--gradcheck-max-examples=N examples drawn by engine.testing.check_function and "
            "nn.testing.check_module when a call does not say (default 20)") in flat_section
    assert "--mt-extra=MT_EXTRA mt extra" in flat_section
    assert "gradbricks:" not in text.replace("gradbricks: hypothesis", "")
    ini = " ".join(text[text.index("[pytest] configuration options"):].split())
    assert "gradcheck_max_examples (string): default examples of check_function/check_module" in ini
