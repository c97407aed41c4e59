"""engine.dtypes against PyTorch's type promotion and tensor-construction rules (written against the
mutants mutmut left alive, docs/mutation.md): promote_types, result_type, promote_pair,
true_divide_pair and to_array agree with torch for every pairing of dtypes, 0-d / n-d operands and
Python or NumPy numbers, under both default float dtypes."""
import contextlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import engine
from engine import dtypes as D

NP_OF = {torch.bool: np.bool_, torch.uint8: np.uint8, torch.int8: np.int8, torch.int16: np.int16,
         torch.int32: np.int32, torch.int64: np.int64, torch.float16: np.float16, torch.float32: np.float32,
         torch.float64: np.float64, torch.complex64: np.complex64, torch.complex128: np.complex128}
TORCH_OF = {np.dtype(v): k for k, v in NP_OF.items()}
DTYPES = list(NP_OF.values())


@contextlib.contextmanager
def default_float(dt):
    """Both libraries' default float dtype set to ``dt`` for the block."""
    old_o, old_t = D.get_default_dtype(), torch.get_default_dtype()
    D.set_default_dtype(dt)
    torch.set_default_dtype(TORCH_OF[np.dtype(dt)])
    try:
        yield
    finally:
        D.set_default_dtype(old_o)
        torch.set_default_dtype(old_t)


@pytest.mark.parametrize("a", DTYPES, ids=lambda d: np.dtype(d).name)
def test_promote_types_is_torchs(a):
    for b in DTYPES:
        assert D.promote_types(a, b) == np.dtype(NP_OF[torch.promote_types(TORCH_OF[np.dtype(a)],
                                                                          TORCH_OF[np.dtype(b)])]), (a, b)


def test_promote_types_unsigned_with_signed_stays_integer():
    assert D.promote_types(np.uint64, np.int64) == np.int64      # NumPy would say float64
    assert D.promote_types(np.uint32, np.int8) == np.int64


def operand(kind, dt, rng):
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
@given(ka=kinds, kb=kinds, da=st.sampled_from(DTYPES), db=st.sampled_from(DTYPES),
       dflt=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 1000))
def test_result_type_and_binary_casts_are_torchs(ka, kb, da, db, dflt, seed):
    """Property: result_type equals torch.result_type; promote_pair casts arrays to it (numbers stay
    numbers); true_divide_pair gives the dtype of torch's a / b; Tensors count as their payload."""
    if ka not in ("nd", "0d") and kb not in ("nd", "0d"):
        ka = "nd"
    rng = np.random.default_rng(seed)
    (a, ta), (b, tb) = operand(ka, da, rng), operand(kb, db, rng)
    with default_float(dflt):
        if torch.result_type(ta, tb) == torch.complex32:
            return                           # float16 with a Python complex: NumPy has no complex32
        want = np.dtype(NP_OF[torch.result_type(ta, tb)])
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
        assert got == np.dtype(NP_OF[twant])


@settings(deadline=None, max_examples=50)
@given(da=st.sampled_from(DTYPES), seed=st.integers(0, 100))
def test_numpy_scalars_count_as_numbers(da, seed):
    """A NumPy scalar is a number (like torch's Python scalars): it decides only across categories,
    and promote_pair turns it into a scalar of the result dtype."""
    x = np.ones(3, np.float32)
    s = np.asarray(2, dtype=da)[()]
    want = np.dtype(NP_OF[torch.result_type(torch.from_numpy(x), torch.tensor(s.item()))])
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
    with default_float(dflt):
        arr = D.to_array(value)
        want = torch.tensor(value)
        assert arr.dtype == np.dtype(NP_OF[want.dtype])
        np.testing.assert_array_equal(arr, want.numpy())


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
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
    with default_float(np.float64):
        assert D.to_array(1.5).dtype == np.float64 and D.get_default_dtype() == np.float64
    assert D.to_array(1.5).dtype == np.float32
