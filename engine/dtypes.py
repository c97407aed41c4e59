"""dtype aliases and the conversion rules: Python floats/lists become float32, ndarrays keep
their dtype (as ``torch.from_numpy``), integer and bool tensors cannot require grad."""
from __future__ import annotations

import builtins

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001  (engine.bool, as torch.bool)
half, double, long = float16, float64, int64
int = int32  # noqa: A001  (torch.int; builtins.int is _pyint below)
float = float32  # noqa: A001

_default_float = float32


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Make Python floats become ``dtype`` (float32 or float64)."""
    global _default_float
    if dtype is None:  # np.dtype(None) would silently mean float64
        raise TypeError("set_default_dtype expects a floating dtype, got None")
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype expects a floating dtype, got {dt}")
    _default_float = dt


def to_array(data, dtype=None) -> np.ndarray:
    """Convert ``data`` to an ndarray following the rules of this module (shares ndarrays)."""
    if isinstance(data, np.ndarray):
        if dtype is not None and data.dtype != np.dtype(dtype):
            return data.astype(dtype)
        return data
    if isinstance(getattr(data, "_data", None), np.ndarray):  # a Tensor
        return to_array(data._data, dtype)
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    arr = np.asarray(data)
    if arr.dtype.kind == "f" and arr.dtype != _default_float and not isinstance(data, np.generic):
        arr = arr.astype(_default_float)
    elif arr.dtype.kind in "iu" and not isinstance(data, np.generic):
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "O":
        raise TypeError(f"cannot make a tensor from {type(data).__name__}: nested lists must be "
                        "rectangular and hold numbers")
    return arr


def is_floating(dtype) -> bool:
    """True for float16/32/64 (the dtypes that can carry gradients)."""
    return np.dtype(dtype).kind == "f"


# -- type promotion (PyTorch's rules, not NumPy's) -------------------------------------------------
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_ndarray = np.ndarray
_pyint, _pyfloat, _pycomplex, _pybool = builtins.int, builtins.float, builtins.complex, builtins.bool  # this module shadows the names


def _category(dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return _CATEGORY[np.dtype(dtype).kind]


def _default_of(category: int) -> np.dtype:
    """The dtype a Python number of ``category`` becomes next to tensors of a lower category."""
    return (np.dtype(np.bool_), int64, _default_float, np.dtype(np.complex64 if _default_float == float32
                                                  else np.complex128))[category]


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to, PyTorch's way: the higher
    category (bool < integer < floating < complex) wins outright (int64 with float32 gives
    float32, not NumPy's float64) except that a complex dtype widens to hold a wider float's
    precision (complex64 with float64 gives complex128); within a category the wider dtype wins."""
    a, b = np.dtype(type1), np.dtype(type2)
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        hi, lo = (a, b) if ca > cb else (b, a)
        # complex with a wider float widens (complex64 with float64 gives complex128, as PyTorch)
        return np.promote_types(hi, lo) if hi.kind == "c" and lo.kind == "f" else hi
    out = np.promote_types(a, b)
    return out if _category(out) == ca else int64  # uint64 with int64: NumPy says float64


def _over(out, dt):
    """``dt`` (of 0-d tensors or of numbers) replaces ``out`` only when its category is higher; a
    complex ``dt`` over a floating ``out`` keeps out's precision (PyTorch's combine_categories)."""
    if out is None:
        return dt
    if _category(dt) <= _category(out):
        return out
    return np.promote_types(out, np.complex64) if dt.kind == "c" and out.kind == "f" else dt


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op on ``operands`` (Tensors, ndarrays, Python or NumPy
    numbers), by PyTorch's rules: tensors with dimensions decide within their category; a 0-d
    tensor decides only when its category is higher; a Python number only when its category is
    higher still, and then it gives that category's default (``get_default_dtype()`` for floats,
    int64 for integers); complex over floating keeps the floating precision (float32 + 1j: complex64)."""
    dim_dt = zero_dt = None
    number_cat = -1
    for x in operands:
        payload = getattr(x, "_data", x)
        if isinstance(payload, _ndarray):
            if payload.ndim:
                dim_dt = payload.dtype if dim_dt is None else promote_types(dim_dt, payload.dtype)
            else:
                zero_dt = payload.dtype if zero_dt is None else promote_types(zero_dt, payload.dtype)
        elif isinstance(payload, (np.generic, _pyint, _pyfloat, _pycomplex)):
            kind = np.asarray(payload).dtype.kind if isinstance(payload, np.generic) else \
                ("b" if isinstance(payload, (_pybool, np.bool_)) else
                 "i" if isinstance(payload, _pyint) else "f" if isinstance(payload, _pyfloat) else "c")
            number_cat = max(number_cat, _CATEGORY[kind])
        else:
            raise TypeError(f"result_type: expected Tensors, arrays or numbers, got "
                            f"{type(x).__name__}")
    out = dim_dt
    if zero_dt is not None:
        out = _over(out, zero_dt)
    if number_cat >= 0:
        out = _over(out, _default_of(number_cat))
    if out is None:
        raise TypeError("result_type needs at least one operand")
    return out


def _cast(x, dt):
    if isinstance(x, _ndarray):
        return x if x.dtype == dt else x.astype(dt)
    if isinstance(x, np.generic):
        return dt.type(x)
    return x  # a Python number is weakly typed: NumPy keeps the array's dtype


def promote_pair(a, b):
    """Payloads ``a``, ``b`` of a binary op cast to their PyTorch ``result_type`` (ndarrays and
    NumPy scalars are cast; Python numbers stay, NumPy treats them as weak). The common cases —
    equal dtypes, a float array with a Python number, two Python floats (Scalar) — return at once."""
    ta, tb = type(a), type(b)
    if ta is _ndarray:
        if tb is _ndarray:
            if a.dtype == b.dtype:
                return a, b
        elif (tb is _pyfloat and a.dtype.kind == "f") or (tb is _pyint and a.dtype.kind in "iuf"):
            return a, b
    elif tb is _ndarray:
        if (ta is _pyfloat and b.dtype.kind == "f") or (ta is _pyint and b.dtype.kind in "iuf"):
            return a, b
    elif ta is _pyfloat or tb is _pyfloat:
        if (ta is _pyfloat or ta is _pyint) and (tb is _pyfloat or tb is _pyint):
            return a, b
    dt = result_type(a, b)
    return _cast(a, dt), _cast(b, dt)


def true_divide_pair(a, b):
    """``promote_pair`` for ``a / b``: integer and bool operands divide in the default float
    dtype (PyTorch's true division), never in NumPy's float64."""
    a, b = promote_pair(a, b)
    if (type(a) is _ndarray and a.dtype.kind not in "fc") or (type(b) is _ndarray and b.dtype.kind not in "fc"):
        return _cast(a, _default_float), _cast(b, _default_float)
    return a, b
