"""Guards PyTorch compatibility of four Tensor/factory surfaces, each compared with PyTorch:

* in-place ops (``add_``, ``sub_``, ``mul_``, ``div_``, ``clamp_`` with tensor bounds, ``copy_``,
  ``fill_`` with a 0-d tensor, ``x[i] = v``) on a tensor that does not require grad, with an
  operand that does, under grad mode, are recorded (the tensor joins the graph and the operand
  gets its gradient, checked by central differences in float64) instead of dropping the
  gradient; views refuse with a clear RuntimeError; under ``no_grad`` nothing is recorded;
* ``clamp_`` of an integer tensor with a floating bound raises (no silent truncation);
* ``item()`` of a many-element tensor raises RuntimeError (``float()``/``int()`` ValueError);
* ``arange`` with an integer dtype and floating bounds has torch's length and values.
"""
import numpy as np
import pytest
import torch

import engine
from engine import Tensor
from engine.gradcheck import gradcheck


def _t(values, dtype=np.float64, rg=False):
    """An engine tensor of ``values``."""
    return engine.tensor(np.asarray(values, dtype=dtype), requires_grad=rg)


def _tt(values, dtype=np.float64, rg=False):
    """The torch tensor of ``values``."""
    return torch.tensor(np.asarray(values, dtype=dtype), requires_grad=rg)


def _torch_name(tensor):
    """torch's grad_fn name without the version suffix and namespace (``MulBackward0`` -> ``Mul``)."""
    return tensor.grad_fn.name().split("::")[-1].rstrip("0123456789").replace("Backwards", "Backward")


# -- 2. clamp_ of an integer tensor with a floating bound -------------------------------------
@pytest.mark.parametrize("kwargs", [dict(min=0.5), dict(max=1.5), dict(min=0, max=2.5),
                                    dict(min=np.float64(0.5)), "tensor_max"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_clamp_integer_tensor_with_float_bound_raises_like_torch(kwargs, dtype):
    """PyTorch refuses (result type Float can't be cast to Long) instead of truncating."""
    x, tx = _t([0, 1, 3], dtype), _tt([0, 1, 3], dtype)
    if kwargs == "tensor_max":
        ekw, tkw = dict(max=_t(1.5)), dict(max=_tt(1.5))
    else:
        ekw, tkw = kwargs, kwargs
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        tx.clamp_(**tkw)
    with pytest.raises(RuntimeError, match=r"^clamp_: result type float\d+ can't be cast to the "
                                           r"desired output type " + np.dtype(dtype).name + "$"):
        x.clamp_(**ekw)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_clamp_integer_tensor_with_integer_bounds_still_works(dtype):
    """Integer bounds (numbers or integer tensors) are fine, as in PyTorch."""
    x, tx = _t([0, 1, 3, 7], dtype), _tt([0, 1, 3, 7], dtype)
    x.clamp_(min=1, max=_t(5, np.int64))
    tx.clamp_(min=1, max=_tt(5, np.int64))
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    assert x.dtype == np.dtype(dtype)


# -- 3. item() -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2,), (0,), (2, 3)])
def test_item_of_many_elements_raises_runtime_error_like_torch(shape):
    """item(): RuntimeError with PyTorch's message; float()/int(): ValueError (as PyTorch)."""
    x, tx = engine.ones(*shape), torch.ones(*shape)
    with pytest.raises(RuntimeError) as te:
        tx.item()
    with pytest.raises(RuntimeError) as e:
        x.item()
    assert str(e.value) == str(te.value)
    for conv in (float, int):
        with pytest.raises(ValueError):
            conv(tx)
        with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
            conv(x)


def test_item_of_one_element_matches_torch():
    """One element (any number of dims) converts to the same Python number."""
    for v in ([2.5], [[3]], 7):
        assert engine.tensor(v).item() == torch.tensor(v).item()


# -- 4. arange with an integer dtype and floating bounds ---------------------------------------
ARANGE_CASES = [(0, 2.5), (0.5, 5, 1.5), (5, 0.5, -1.5), (-0.9, 5, 1), (-1.9, 2), (0, -2.5, -1),
                (1.5, -3, -1.5), (2.7,), (0, 10, 2.5), (0.5, 1), (0, 5, 1.0), (0.0, 5.0, 2.0),
                (300.5,), (-3.5, -1, 0.5), (-2.5, 3, 0.7), (0, 2 ** 40 + 0.5, 2 ** 38)]


@pytest.mark.parametrize("args", ARANGE_CASES)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint8])
def test_arange_integer_dtype_with_float_bounds_matches_torch(args, dtype):
    """Length, dtype and values equal torch's (which truncates the bounds and step to integers,
    and for int64 also computes the length in integers), or both raise the same error type."""
    tdt = getattr(torch, np.dtype(dtype).name)
    try:
        t = torch.arange(*args, dtype=tdt)
    except (RuntimeError, ValueError) as te:
        with pytest.raises(type(te)):
            engine.arange(*args, dtype=dtype)
        return
    e = engine.arange(*args, dtype=dtype)
    assert e.dtype == np.dtype(dtype) and e.shape == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("args", [(0, 1, 0.0), (0, 1, 0), (0.5, 0, 1), (0, -0.5), (0.2, 0.5, -1),
                                  (0, -1), (2.5, 0, 1), (float("nan"), 1), (0, float("inf"))])
@pytest.mark.parametrize("dtype", [None, np.int64, np.int32, np.float32])
def test_arange_bad_ranges_raise_like_torch(args, dtype):
    """A zero step, bounds inconsistent with the step's sign, or a non-finite bound raise the
    same error type as torch (NumPy would return an empty or fail otherwise)."""
    tkw = {} if dtype is None else dict(dtype=getattr(torch, np.dtype(dtype).name))
    ekw = {} if dtype is None else dict(dtype=dtype)
    with pytest.raises((RuntimeError, ValueError)) as te:
        torch.arange(*args, **tkw)
    with pytest.raises(te.type):
        engine.arange(*args, **ekw)
