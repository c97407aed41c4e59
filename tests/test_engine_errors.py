"""The DESIGN's error cases: each error names the offending shapes, dtype or op."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import Function, Tensor
from engine.testing import shapes


# -- broadcasting and matmul shapes ------------------------------------------------------------------

@st.composite
def non_broadcastable_pairs(draw):
    """Two shapes that do not broadcast: some trailing dimension differs and neither is 1."""
    a = list(draw(shapes(min_dims=1, max_dims=3, max_side=4)))
    b = list(draw(shapes(min_dims=1, max_dims=3, max_side=4)))
    k = draw(st.integers(1, min(len(a), len(b))))
    a[-k] = draw(st.integers(2, 4))
    b[-k] = draw(st.integers(2, 4).filter(lambda v: v != a[-k]))
    return tuple(a), tuple(b)


BROADCAST_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "maximum": engine.maximum,
    "minimum": engine.minimum, "where": lambda a, b: engine.where(True, a, b),
}


@pytest.mark.parametrize("op", BROADCAST_OPS)
@settings(deadline=None, max_examples=15)
@given(pair=non_broadcastable_pairs())
def test_broadcast_mismatch_names_both_full_shapes(op, pair):
    sa, sb = pair
    a = Tensor(np.ones(sa), requires_grad=True)
    b = Tensor(np.ones(sb))
    with pytest.raises(ValueError) as info:
        BROADCAST_OPS[op](a, b)
    msg = str(info.value)
    assert str(sa) in msg and str(sb) in msg, msg
    assert "broadcast" in msg


@pytest.mark.parametrize("sa,sb,ka,kb", [((32, 784), (100, 10), 784, 100), ((5,), (4,), 5, 4),
                                         ((2, 3, 4), (5, 6), 4, 5), ((3,), (2, 4, 1), 3, 4),
                                         ((2, 3), (4,), 3, 4)])
def test_matmul_inner_dimension_mismatch_message(sa, sb, ka, kb):
    with pytest.raises(ValueError) as info:
        Tensor(np.ones(sa)) @ Tensor(np.ones(sb))
    assert str(info.value) == f"matmul: {sa} @ {sb}: inner dimensions {ka} != {kb}"


def test_matmul_error_exact_design_format():
    x = Tensor(np.zeros((32, 784), dtype=np.float32))
    w = Tensor(np.zeros((100, 10), dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=re.escape("matmul: (32, 784) @ (100, 10): inner dimensions 784 != 100")):
        x @ w


def test_matmul_batch_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3, 4)") + ".*" + re.escape("(3, 4, 5)")):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5)))


def test_shape_op_errors_name_shapes():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=re.escape("(4,)") + ".*" + re.escape("(2, 3)")):
        x.reshape(4)
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)") + ".*" + re.escape("(4, 3)")):
        x.expand(4, 3)
    with pytest.raises(ValueError, match=re.escape("(2, 3)") + ".*" + re.escape("(2, 4)")):
        engine.cat([x, Tensor(np.ones((2, 4)))], dim=0)
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        engine.stack([x, Tensor(np.ones((3, 2)))])
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        x[5]


# -- dtypes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.uint8])
def test_integer_and_bool_tensors_cannot_require_grad(dtype):
    name = str(np.dtype(dtype))
    with pytest.raises(RuntimeError, match=name):
        Tensor(np.zeros(3, dtype=dtype), requires_grad=True)
    with pytest.raises(RuntimeError, match=name):
        Tensor(np.zeros(3, dtype=dtype)).requires_grad_()
    with pytest.raises(RuntimeError, match=name):
        engine.tensor(np.zeros(2, dtype=dtype), requires_grad=True)


def test_integer_factories_cannot_require_grad():
    with pytest.raises(RuntimeError, match="int64"):
        engine.zeros(3, dtype=engine.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="int64"):
        engine.arange(5, requires_grad=True)
    assert engine.tensor([1.0], requires_grad=True).requires_grad  # floats can


# -- a freed graph ----------------------------------------------------------------------------------

def test_second_backward_through_a_freed_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time") as info:
        y.backward()
    assert "retain_graph=True" in str(info.value)


# -- anomaly detection ----------------------------------------------------------------------------

def test_anomaly_forward_names_the_op():
    x = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"), engine.detect_anomaly():
        assert engine.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="Log") as info:
            x.log()
    assert "forward" in str(info.value)
    assert not engine.is_anomaly_enabled()
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().numpy()[1])  # without the context: NaN propagates silently


def test_anomaly_forward_without_grad_still_checked():
    with np.errstate(divide="ignore"), engine.detect_anomaly():
        with pytest.raises(RuntimeError, match="Div"):
            Tensor(np.array([1.0])) / Tensor(np.array([0.0]))


def test_anomaly_backward_names_the_op():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore"), engine.detect_anomaly():
        y = x.sqrt().sum()  # forward is finite: sqrt(0) = 0
        with pytest.raises(RuntimeError, match="Sqrt") as info:
            y.backward()    # backward: 1 / (2·0) = inf
    assert "backward" in str(info.value)


def test_anomaly_backward_of_a_user_function_names_it():
    class Blowup(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return np.full(g.shape, np.inf)  # an ndarray gradient is accepted too

    x = Tensor(np.ones(2), requires_grad=True)
    with engine.detect_anomaly():
        y = Blowup.apply(x).sum()
        with pytest.raises(RuntimeError, match="Blowup"):
            y.backward()


# -- in-place modification of saved tensors ------------------------------------------------------------

def test_inplace_edit_of_a_saved_output_raises_on_backward():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()          # Exp saves its output
    with engine.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="inplace|in-place") as info:
        y.sum().backward()
    assert "version" in str(info.value)


def test_inplace_edit_of_a_saved_input_raises_on_backward():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    w = Tensor(np.array([2.0, 3.0]))
    y = (x * w).sum()    # Mul saves w
    w.mul_(2)
    with pytest.raises(RuntimeError, match="version"):
        y.backward()


def test_inplace_edit_through_a_view_is_detected():
    x = Tensor(np.array([0.5, 1.0, 2.0, 3.0]), requires_grad=True)
    w = Tensor(np.arange(4.0))
    y = (x * w).sum()
    v = w.reshape(2, 2)  # shares w's storage and version counter
    v[0, 0] = 7.0
    with pytest.raises(RuntimeError, match="version"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_raises_but_allowed_under_no_grad():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1)
    with engine.no_grad():
        x.add_(1)
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0])


def test_unmodified_saved_tensor_backward_works():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()
    z = Tensor(np.ones(2))
    z.add_(1)  # an unrelated in-place edit
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.numpy()))


# -- misc argument errors ------------------------------------------------------------------------

def test_reduction_dim_out_of_range():
    with pytest.raises(IndexError, match="Dimension out of range"):
        Tensor(np.ones((2, 3))).sum(dim=2)


def test_pad_errors_name_the_problem():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="mode"):
        engine.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        engine.pad(x, (3, 3), mode="reflect")
    with pytest.raises(ValueError, match="even"):
        engine.pad(x, (1,))
