"""PyTorch's type promotion: documented rows, a table over dtype pairs x operand kinds checked
against PyTorch when it is installed, and the float32 model that must stay float32."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import Tensor
from engine import dtypes as D

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


CMPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "eq": lambda a, b: a.eq(b), "lt": lambda a, b: a.lt(b), "ge": lambda a, b: a.ge(b)}


def _cmp_operand(kind, dtype, lib):
    """Values where the compute dtype shows: 0.1 is not the same number in float32 and float64."""
    if kind == "number":
        return {B: True, I64: 2, F64: 0.1}[dtype]
    base = {B: np.array([True, False]), I32: np.array([0, 2], I32), I64: np.array([0, 2]),
            F32: np.array([0.1, 2.0], F32), F64: np.array([0.1, 2.0])}[dtype]
    arr = np.asarray(base[0] if kind == "zero_dim" else base, dtype=dtype)
    if lib == "engine":
        return Tensor(arr)
    return lib.from_numpy(np.array(arr))


@pytest.mark.parametrize("cmp", sorted(CMPS))
def test_comparison_table_against_pytorch(cmp):
    """Comparisons compute in the promoted dtype (float32 tensor == 0-d float64 tensor compares in
    float32), over dtype pairs x (tensor, 0-d tensor, number) on either side, values and dtype."""
    torch_mod = pytest.importorskip("torch")
    f, checked = CMPS[cmp], 0
    for da in (B, I32, I64, F32, F64):
        for db in (B, I32, I64, F32, F64):
            for ka in KINDS:
                for kb in KINDS:
                    if "number" in (ka, kb) and (ka == kb or {ka: da, kb: db}["number"] not in (B, I64, F64)):
                        continue  # one Python number per category, and never two
                    if ka == "number" and cmp in ("eq", "lt", "ge"):
                        continue  # methods need a tensor on the left
                    ref = f(_cmp_operand(ka, da, torch_mod), _cmp_operand(kb, db, torch_mod))
                    ours = f(_cmp_operand(ka, da, "engine"), _cmp_operand(kb, db, "engine"))
                    assert ours.dtype == np.bool_
                    np.testing.assert_array_equal(ours.numpy(), ref.numpy(), err_msg=str((cmp, da, ka, db, kb)))
                    checked += 1
    assert checked >= 120


@pytest.mark.parametrize("op", sorted(OPS))
def test_promotion_table_with_a_number_on_the_left(op):
    torch_mod = pytest.importorskip("torch")
    checked = 0
    for da in (B, I64, F64):
        for db in DTYPES:
            for kb in ("tensor", "zero_dim"):
                try:
                    ref = OPS[op](_operand("number", da, torch_mod), _operand(kb, db, torch_mod))
                except RuntimeError:
                    continue
                if op == "**" and da is B and db is B:
                    continue
                ours = OPS[op](_operand("number", da, "engine"), _operand(kb, db, "engine"))
                assert str(ours.dtype) == str(ref.dtype).replace("torch.", ""), (op, da, db, kb)
                np.testing.assert_allclose(ours.numpy().astype(float), ref.numpy().astype(float), rtol=1e-6)
                checked += 1
    assert checked >= 15


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


# ---- engine.dtypes against PyTorch, property by property (written against the mutants mutmut left
# alive, docs/mutation.md): promote_types, result_type, promote_pair, true_divide_pair and to_array
# agree with torch for every pairing of dtypes, 0-d / n-d operands and Python or NumPy numbers,
# under both default float dtypes.
ALL_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64,
              np.complex64, np.complex128]


def np_of(torch_dtype):
    return np.dtype(str(torch_dtype).replace("torch.", ""))


def torch_of(torch, dt):
    return getattr(torch, np.dtype(dt).name)


@contextlib.contextmanager
def default_float(torch, dt):
    """Both libraries' default float dtype set to ``dt`` for the block."""
    old_o, old_t = D.get_default_dtype(), torch.get_default_dtype()
    D.set_default_dtype(dt)
    torch.set_default_dtype(torch_of(torch, dt))
    try:
        yield
    finally:
        D.set_default_dtype(old_o)
        torch.set_default_dtype(old_t)


@pytest.mark.parametrize("a", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_promote_types_is_torchs(a):
    torch = pytest.importorskip("torch")
    for b in ALL_DTYPES:
        assert D.promote_types(a, b) == np_of(torch.promote_types(torch_of(torch, a), torch_of(torch, b))), (a, b)


def test_promote_types_unsigned_with_signed_stays_integer():
    assert D.promote_types(np.uint64, np.int64) == np.int64      # NumPy would say float64
    assert D.promote_types(np.uint32, np.int8) == np.int64


def operand(torch, kind, dt, rng):
    """An operand for both libraries: an n-d array, a 0-d array, a NumPy scalar or a Python number."""
    if kind == "nd":
        x = (rng.standard_normal(3) * 3).astype(dt)
        return x, torch.from_numpy(x.copy())
    if kind == "0d":
        x = np.array(2, dtype=dt)
        return x, torch.from_numpy(x.copy())
    return {"bool": (True, True), "int": (3, 3), "float": (1.5, 1.5), "complex": (1j, 1j)}[kind]


kinds = st.sampled_from(["nd", "0d", "bool", "int", "float", "complex"])


@settings(deadline=None, max_examples=200)
@given(ka=kinds, kb=kinds, da=st.sampled_from(ALL_DTYPES), db=st.sampled_from(ALL_DTYPES),
       dflt=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 1000))
def test_result_type_and_binary_casts_are_torchs(ka, kb, da, db, dflt, seed):
    """Property: result_type equals torch.result_type; promote_pair casts arrays to it (numbers stay
    numbers); true_divide_pair gives the dtype of torch's a / b; Tensors count as their payload."""
    torch = pytest.importorskip("torch")
    if ka not in ("nd", "0d") and kb not in ("nd", "0d"):
        ka = "nd"
    rng = np.random.default_rng(seed)
    (a, ta), (b, tb) = operand(torch, ka, da, rng), operand(torch, kb, db, rng)
    with default_float(torch, dflt):
        if torch.result_type(ta, tb) == torch.complex32:
            return                           # float16 with a Python complex: NumPy has no complex32
        want = np_of(torch.result_type(ta, tb))
        assert D.result_type(a, b) == want
        assert D.result_type(engine.Tensor(a) if isinstance(a, np.ndarray) else a, b) == want
        pa, pb = D.promote_pair(a, b)
        for orig, got in ((a, pa), (b, pb)):
            if isinstance(orig, np.ndarray):
                assert got.dtype == want
                np.testing.assert_array_equal(got, orig.astype(want))
            else:
                assert got is orig
        if want.kind == "b" or (want.kind in "iu" and {ka, kb} & {"float", "complex"}):
            return
        try:
            twant = (ta / tb).dtype
        except RuntimeError:
            return
        qa, qb = D.true_divide_pair(a, b)
        with np.errstate(all="ignore"):
            got = np.result_type(*(x for x in (qa, qb) if isinstance(x, np.ndarray)))
        assert got == np_of(twant)


@settings(deadline=None, max_examples=50)
@given(da=st.sampled_from(ALL_DTYPES), seed=st.integers(0, 100))
def test_numpy_scalars_count_as_numbers(da, seed):
    """A NumPy scalar is a number (like torch's Python scalars): it decides only across categories,
    and promote_pair turns it into a scalar of the result dtype."""
    torch = pytest.importorskip("torch")
    x = np.ones(3, np.float32)
    s = np.asarray(2, dtype=da)[()]
    want = np_of(torch.result_type(torch.from_numpy(x), torch.tensor(s.item())))
    assert D.result_type(x, s) == want
    pa, pb = D.promote_pair(x, s)
    assert pa.dtype == want and isinstance(pb, np.generic) and pb.dtype == want


def test_result_type_needs_operands_of_known_kinds():
    with pytest.raises(TypeError, match="result_type needs at least one operand"):
        D.result_type()
    with pytest.raises(TypeError, match="expected Tensors, arrays or numbers, got str"):
        D.result_type(np.ones(2), "x")
    assert D.result_type(np.ones(2, np.int32), np.ones((), np.int64), np.ones(3, np.int16)) == np.int32


@settings(deadline=None, max_examples=60)
@given(value=st.one_of(st.floats(-1e3, 1e3), st.integers(-1000, 1000), st.booleans(),
                       st.lists(st.floats(-5, 5), min_size=1, max_size=4),
                       st.lists(st.integers(-5, 5), min_size=1, max_size=4),
                       st.lists(st.lists(st.booleans(), min_size=2, max_size=2), min_size=1, max_size=3)),
       dflt=st.sampled_from([np.float32, np.float64]))
def test_to_array_gives_torch_tensors_dtype(value, dflt):
    """Property: Python numbers and lists become torch.tensor(value)'s dtype and values."""
    torch = pytest.importorskip("torch")
    with default_float(torch, dflt):
        arr = D.to_array(value)
        want = torch.tensor(value)
        assert arr.dtype == np_of(want.dtype)
        np.testing.assert_array_equal(arr, want.numpy())


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("dt", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_to_array_keeps_ndarrays_and_casts_on_request(dt):
    x = np.ones(3, dt)
    assert D.to_array(x) is x                                        # shared, like torch.from_numpy
    assert D.to_array(engine.Tensor(x)).dtype == np.dtype(dt)
    assert D.to_array(x, dt) is x
    y = D.to_array(x, np.float64)
    assert y.dtype == np.float64 and (y is x) == (np.dtype(dt) == np.float64)
    assert D.to_array([1, 2], dt).dtype == np.dtype(dt)
    s = np.asarray(1, dtype=dt)[()]
    assert D.to_array(s).dtype == np.dtype(dt)                        # a NumPy scalar keeps its dtype
    assert D.is_floating(dt) == (np.dtype(dt).kind == "f")


def test_to_array_refuses_lists_of_non_numbers():
    with pytest.raises(TypeError, match="cannot make a tensor from list: nested lists must be rectangular"):
        D.to_array([None, 1])


def test_set_default_dtype_checks_and_governs_python_floats():
    assert D.get_default_dtype() == np.float32
    for bad in (None, np.int64, "int32", np.bool_):
        with pytest.raises(TypeError, match="set_default_dtype expects a floating dtype"):
            D.set_default_dtype(bad)
    assert D.get_default_dtype() == np.float32
    D.set_default_dtype(np.float64)
    try:
        assert D.to_array(1.5).dtype == np.float64 and D.get_default_dtype() == np.float64
    finally:
        D.set_default_dtype(np.float32)
    assert D.to_array(1.5).dtype == np.float32
