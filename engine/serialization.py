"""``save``/``load``: checkpoints as ``.npz`` (arrays + a JSON manifest), written atomically and
read with ``allow_pickle=False`` — loading a checkpoint never executes code.

``obj`` may be a Tensor, ndarray, number, string, bool, None, or nested dicts (string keys) and
lists/tuples of them (a model's or an optimizer's ``state_dict``). ``load`` returns the same
structure with Tensors where Tensors or ndarrays were saved (tuples come back as lists).
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

FORMAT = "gradbricks-checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"


def _encode(obj, arrays, path):
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise ValueError(f"save: array at {path or '<root>'} has dtype {obj.dtype}; only bool, "
                             f"integer and float arrays can be saved")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"t": "array", "k": key}
    if isinstance(obj, (bool, np.bool_)):
        return {"t": "bool", "v": bool(obj)}
    if isinstance(obj, (int, np.integer)):
        return {"t": "int", "v": int(obj)}
    if isinstance(obj, (float, np.floating)):
        return {"t": "float", "v": repr(float(obj))}
    if isinstance(obj, str):
        return {"t": "str", "v": obj}
    if obj is None:
        return {"t": "none"}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise ValueError(f"save: dict key {k!r} at {path or '<root>'} must be a str or int")
            items.append([k, _encode(v, arrays, f"{path}.{k}" if path else str(k))])
        return {"t": "dict", "v": items}
    if isinstance(obj, (list, tuple)):
        return {"t": "list", "v": [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]}
    raise ValueError(f"save: cannot save an object of type {type(obj).__name__} at "
                     f"{path or '<root>'}: only Tensors, ndarrays, numbers, strings and "
                     f"dicts/lists of them")


def save(obj, path) -> None:
    """Write ``obj`` to ``path`` (an .npz) atomically: a temp file in the same folder, renamed."""
    arrays = {}
    manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "")}
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{_MANIFEST: np.frombuffer(json.dumps(manifest).encode(), np.uint8)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _decode(node, files, path):
    try:
        t = node["t"]
        if t == "array":
            return Tensor(np.array(files[node["k"]]))
        if t in ("int", "bool", "str"):
            return node["v"]
        if t == "float":
            return float(node["v"])
        if t == "none":
            return None
        if t == "dict":
            return {k: _decode(v, files, f"{path}.{k}") for k, v in node["v"]}
        if t == "list":
            return [_decode(v, files, f"{path}[{i}]") for i, v in enumerate(node["v"])]
    except KeyError as e:
        raise ValueError(f"load: corrupt checkpoint: entry {path or '<root>'} refers to missing "
                         f"data {e}") from None
    raise ValueError(f"load: corrupt checkpoint: unknown entry type {t!r} at {path or '<root>'}")


def load(path):
    """Read a checkpoint written by ``save``; raises ``ValueError`` naming what is wrong with a
    file that is not one (not a zip, no manifest, wrong format or version, missing arrays)."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as files:
            if _MANIFEST not in files.files:
                raise ValueError(f"load: {path} is not a gradbricks checkpoint (no manifest)")
            try:
                manifest = json.loads(bytes(files[_MANIFEST]).decode())
            except (ValueError, UnicodeDecodeError) as e:
                raise ValueError(f"load: {path}: corrupt manifest ({e})") from None
            if manifest.get("format") != FORMAT:
                raise ValueError(f"load: {path} has format {manifest.get('format')!r}, expected {FORMAT!r}")
            if manifest.get("version") != VERSION:
                raise ValueError(f"load: {path} has format version {manifest.get('version')}, this "
                                 f"library reads version {VERSION}")
            return _decode(manifest["root"], files, "")
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"load: {path} is not a valid .npz checkpoint ({type(e).__name__}: {e})") from None
    except ValueError as e:
        if str(e).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is corrupt: {e}") from None
