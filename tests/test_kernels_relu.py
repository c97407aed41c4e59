"""engine.kernels.relu: the one-pass ReLU kernels against their NumPy twins (bit for bit, with -0.0,
NaN of either sign and infinities), against a plain-NumPy definition, the tier, argument errors,
and the Relu op on top (finite differences in float64, torch's threshold_backward)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine.kernels import relu as R
from finite_differences import central_differences
from tiers import kernels_from_the_first_call, same_bits, tier_and_kernel  # noqa: F401

SETTINGS = settings(deadline=None, max_examples=40)
SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45]


@st.composite
def arrays(draw):
    """An array of 0-5 dims (sizes around the SIMD widths) with special values sprinkled in, and a
    gradient of the same shape with its own specials."""
    shape = tuple(draw(st.lists(st.integers(0, 9), max_size=5)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    for x in (a, g):
        if x.size:
            idx = rng.integers(0, x.size, min(x.size, len(SPECIAL)))
            x.reshape(-1)[idx] = np.array(SPECIAL[:len(idx)], dtype)
    return a, g


def _definition(a):
    """max(a, 0) as PyTorch, element by element in Python: 0 where a < 0, a itself elsewhere."""
    return np.array([0.0 if v < 0 else v for v in a.reshape(-1).tolist()], a.dtype).reshape(a.shape)


@SETTINGS
@given(arrays())
def test_kernels_give_the_twins_bits_and_match_the_definition(case):
    a, g = case
    out = R.relu(a)
    same_bits(out, R.relu_reference(a))
    same_bits(out, _definition(a))
    assert np.array_equal(np.signbit(out), np.signbit(_definition(a)))  # -0.0 stays -0.0
    grad = R.relu_backward(g, out)
    same_bits(grad, R.relu_backward_reference(g, out))
    flat_out, flat_g = out.reshape(-1).tolist(), g.reshape(-1).tolist()
    expect = np.array([0.0 if y <= 0 else gv for y, gv in zip(flat_out, flat_g)], g.dtype).reshape(g.shape)
    same_bits(grad, expect)  # +0 where clipped, even for a NaN/inf g; g where out is NaN


@SETTINGS
@given(arrays())
def test_the_numpy_tier_gives_the_kernels_bits(case):
    a, g = case
    same_bits(*tier_and_kernel(R.relu, a))
    out = R.relu(a)
    same_bits(*tier_and_kernel(R.relu_backward, g, out))


def test_strided_and_fortran_inputs_are_handled():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 8)).astype(np.float32)
    for view in (a[::2, 1::3], a.T, np.asfortranarray(a)):
        same_bits(R.relu(view), np.ascontiguousarray(R.relu_reference(view)))
        g = rng.standard_normal(view.shape).astype(np.float32)[::1]
        same_bits(R.relu_backward(view, R.relu(view)), R.relu_backward_reference(view, R.relu(view)))
        same_bits(R.relu_backward(g, R.relu(view)), R.relu_backward_reference(g, R.relu(view)))


@pytest.mark.parametrize("call, error, match", [
    (lambda: R.relu(np.ones(3, np.int64)), TypeError, r"relu: a must be a float32/float64 ndarray, got int64"),
    (lambda: R.relu([1.0, -1.0]), TypeError, r"relu: a must be a float32/float64 ndarray, got list"),
    (lambda: R.relu_backward(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)), ValueError,
     r"relu_backward: g \(2, 3\) float32 and out \(3, 2\) float32 must have the same shape and dtype"),
    (lambda: R.relu_backward(np.ones(3, np.float32), np.ones(3, np.float64)), ValueError,
     r"g \(3,\) float32 and out \(3,\) float64"),
    (lambda: R.relu_backward(np.ones(3, np.float16), np.ones(3, np.float16)), TypeError, r"g must be"),
])
def test_bad_arguments_raise_before_the_kernel(call, error, match):
    with pytest.raises(error, match=match):
        call()


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from([(5,), (3, 4), (2, 3, 4, 5)]))
def test_relu_op_gradient_matches_central_differences_in_float64(seed, shape):
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape)
    x0[np.abs(x0) < 1e-3] = 0.5  # away from the kink, where the derivative is not defined
    w = rng.standard_normal(shape)
    x = engine.tensor(x0, requires_grad=True)
    (x.relu() * engine.tensor(w)).sum().backward()
    numeric = central_differences(lambda: (engine.tensor(x0).relu() * engine.tensor(w)).sum().item(), x0)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_relu_op_backward_is_torchs_threshold_backward():
    torch = pytest.importorskip("torch")
    x = np.array([-1.0, -0.0, 0.0, 2.0, np.nan, -np.nan, np.inf, -np.inf], np.float32)
    g = np.array([np.nan, np.inf, -np.inf, 3.0, 4.0, np.nan, 5.0, np.nan], np.float32)
    ex = engine.tensor(x, requires_grad=True)
    out = ex.relu()
    out.backward(engine.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.relu(tx)
    tout.backward(torch.tensor(g))
    same_bits(out.detach().numpy(), tout.detach().numpy())
    same_bits(ex.grad.numpy(), tx.grad.numpy())
