"""dtype aliases and the conversion rules: Python floats/lists become float32, ndarrays keep
their dtype (as ``torch.from_numpy``), integer and bool tensors cannot require grad."""
from __future__ import annotations

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001  (engine.bool, as torch.bool)
half, double, long = float16, float64, int64
float = float32  # noqa: A001

_default_float = float32


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Make Python floats become ``dtype`` (float32 or float64)."""
    global _default_float
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
    if hasattr(data, "data") and isinstance(getattr(data, "data"), np.ndarray):  # a Tensor
        return to_array(data.data, dtype)
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
