"""``read_idx``: the IDX file format of MNIST and Fashion-MNIST (raw or gzip-compressed).

Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D
float32, 0x0E float64), the number of dimensions d, then d big-endian uint32 sizes and the
data in C order, big-endian."""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _raw_bytes(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"read_idx: {path} does not exist (expected an IDX file, raw or .gz)")
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"read_idx: {path} is not a readable gzip file ({type(e).__name__}: {e}); "
                         f"expected a gzip-compressed IDX file") from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (``.gz`` decompressed on the fly) into an ndarray of its shape and type
    (native byte order). A missing, truncated or corrupt file raises an error naming the file
    and what was expected."""
    path = os.fspath(path)
    raw = _raw_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"read_idx: {path} is truncated: {len(raw)} bytes, expected at least a "
                         f"4-byte IDX header")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file: magic number starts with bytes "
                         f"{raw[0]:#04x} {raw[1]:#04x}, expected 0x00 0x00")
    code, ndim = raw[2], raw[3]
    if code not in _TYPES:
        raise ValueError(f"read_idx: {path} has unknown IDX type code {code:#04x}; expected one of "
                         f"{', '.join(f'{c:#04x}' for c in _TYPES)}")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated: {len(raw)} bytes, expected a {header}-byte "
                         f"header for {ndim} dimensions")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "corrupt (trailing bytes)"
        raise ValueError(f"read_idx: {path} is {what}: {len(raw)} bytes, expected {expected} for shape "
                         f"{shape} of {dtype.newbyteorder('=').name}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (``.gz`` compressed when the name ends with it); the inverse
    of ``read_idx`` for the six IDX types."""
    a = np.asarray(array)
    codes = {v.newbyteorder("=").str[1:]: k for k, v in _TYPES.items()}
    key = a.dtype.newbyteorder("=").str[1:]
    if key not in codes:
        raise ValueError(f"write_idx: dtype {a.dtype} has no IDX type code")
    code = codes[key]
    body = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes() + \
        np.ascontiguousarray(a, _TYPES[code]).tobytes()
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(body)
