"""engine.dtypes against torch (written against the mutants mutmut left alive outside promote_pair,
docs/mutation.md): conversions with a requested dtype, integer sequences, NumPy scalars cast by
promotion, bool-only result types, and the exact error messages."""
import array

import numpy as np
import pytest
import torch

import engine
from engine import dtypes


@pytest.mark.parametrize("src", [np.arange(3, dtype=np.int64), engine.tensor(np.arange(3))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_to_array_with_a_dtype_converts_arrays_and_tensors(src, dtype):
    out = dtypes.to_array(src, dtype)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.arange(3).astype(dtype))


@pytest.mark.parametrize("code", ["b", "h", "i", "l", "B", "H", "I"])
def test_integer_sequences_become_int64_like_torch(code):
    """An ``array.array`` of any C integer type (NumPy reads its own dtype from it) is a sequence
    of Python ints to torch: int64."""
    data = array.array(code, [1, 2, 3])
    assert np.asarray(data).dtype != np.int64 or code in "lq"
    ours, theirs = engine.tensor(data), torch.tensor(data)
    assert str(theirs.dtype) == "torch.int64" and ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("tensor_dtype, scalar", [("int64", np.float64(2.5)), ("int32", np.float32(-1.25)),
                                                 ("bool", np.float64(0.5)), ("int64", np.complex128(1 + 2j))])
def test_a_numpy_scalar_cast_by_promotion_keeps_its_value(tensor_dtype, scalar):
    """An integer tensor with a NumPy float scalar: the scalar is cast to the result dtype (the
    default float), its value kept — as torch."""
    x = np.array([1, 0, 3]).astype(tensor_dtype)
    ours = engine.tensor(x) + scalar
    theirs = torch.tensor(x) + scalar
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("operands", [(True, False), (True,), (False, False, True)])
def test_booleans_alone_give_bool(operands):
    assert engine.result_type(*operands) == np.bool_
    if len(operands) == 2:                              # torch takes two operands
        assert str(torch.result_type(*operands)) == "torch.bool"


def test_error_messages():
    with pytest.raises(TypeError, match=r"^set_default_dtype expects a floating dtype, got None$"):
        engine.set_default_dtype(None)
    with pytest.raises(TypeError, match=r"^result_type needs at least one operand$"):
        engine.result_type()
