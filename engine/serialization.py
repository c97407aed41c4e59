"""``save``/``load``: checkpoints as ``.npz`` (arrays + a JSON manifest), written atomically and
read without ``pickle`` — loading a checkpoint never executes code.

``obj`` may be a Tensor, ndarray, number, string, bool, None, or nested dicts (string or int keys)
and lists/tuples of them (a model's or an optimizer's ``state_dict``). ``load`` returns the same
structure with Tensors where Tensors or ndarrays were saved (tuples come back as lists).

Interop: ``load`` also reads a plain ``.npz`` of arrays (``np.savez``, no manifest) and a
``.safetensors`` file as a flat ``{name: Tensor}`` dict; ``save(flat_dict, "x.safetensors")``
writes one (so weights move to and from ``safetensors.torch``).

Hygiene: arrays are read member by member straight into their final buffer (no second copy), after
checking that each member's header declares a bool/integer/float dtype and exactly as many bytes as
the member holds (a crafted shape is a ``ValueError``, never a huge allocation). A compressed
archive (``np.savez_compressed``) may declare at most ``max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO *
file size)`` uncompressed bytes in all (64 MiB or 100x; raise them for a trusted file that
compresses better), so a decompression bomb is a ``ValueError`` naming the member that crosses the
limit, checked from the zip directory before anything is decompressed or allocated. Saves go to
``.<name>.gbtmp-<pid>-<random>`` next to the target (``<name>`` cut to 48 characters, so a name
near the 255-byte limit can be saved), created with mode 0o666 so the umask applies (as
``np.save``/``torch.save``; an existing target keeps its permission bits), then renamed over it; a
symlink target is written through (the link stays, the file it points to is replaced). Temp files
left by a killed save (their pid is gone) are removed by the next save in that folder.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import zipfile

import numpy as np

from .device import check_device
from .tensor import Tensor

FORMAT = "gradbricks-checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"
_MAX_DEPTH = 200                       # nesting of saved dicts/lists (a state_dict needs ~3)
_TMP = re.compile(r"^\..*\.gbtmp-(\d+)-[0-9a-f]+$")
MAX_INFLATE_RATIO = 100                # uncompressed bytes per byte of file a load may allocate...
INFLATE_ALLOWANCE = 64 << 20           # ...or this many, whichever is larger


# -- encoding ---------------------------------------------------------------------------------------
def _payload(obj):
    return obj.numpy() if isinstance(obj, Tensor) else obj


def _encode(obj, arrays, path, depth=0):
    if depth > _MAX_DEPTH:
        raise ValueError(f"save: nesting deeper than {_MAX_DEPTH} levels at {path or '<root>'}")
    obj = _payload(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf" or obj.dtype.fields is not None:
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
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise ValueError(f"save: dict key {k!r} at {path or '<root>'} must be a str or int")
            items.append([k, _encode(v, arrays, f"{path}.{k}" if path else str(k), depth + 1)])
        return {"t": "dict", "v": items}
    if isinstance(obj, (list, tuple)):
        return {"t": "list", "v": [_encode(v, arrays, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]}
    raise ValueError(f"save: cannot save an object of type {type(obj).__name__} at "
                     f"{path or '<root>'}: only Tensors, ndarrays, numbers, strings and "
                     f"dicts/lists of them")


# -- atomic writing ---------------------------------------------------------------------------------
def _clean_stale_temps(folder):
    """Remove temp files of saves whose process no longer exists (a kill -9 mid-save)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = _TMP.match(name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
        except (PermissionError, OverflowError, OSError):
            pass                         # alive (someone else's) or unknowable: leave it


def _write_atomic(path, write):
    """Call ``write(file)`` on a fresh temp file next to ``path`` (its real target when ``path`` is
    a symlink), fsync it, and rename it over the target; on any failure remove the temp file."""
    target = os.path.realpath(os.fspath(path))
    folder, base = os.path.split(target)
    _clean_stale_temps(folder)
    # at most 48 characters (<= 192 bytes) of the name: the temp name must fit wherever the
    # target's name fits (255 bytes on most file systems)
    tmp = os.path.join(folder, f".{base[:48]}.gbtmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)   # overwriting keeps the file's mode
        except FileNotFoundError:
            pass
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _is_safetensors(path):
    return os.fspath(path).endswith(".safetensors")


def save(obj, path) -> None:
    """Write ``obj`` to ``path`` atomically: an ``.npz`` with a JSON manifest, or, for a path ending
    in ``.safetensors``, a safetensors file (``obj`` must then be a flat dict of arrays/Tensors)."""
    if _is_safetensors(path):
        data = _safetensors_bytes(obj)
        return _write_atomic(path, lambda f: f.write(data))
    arrays = {}
    manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "")}
    blob = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    _write_atomic(path, lambda f: np.savez(f, **arrays, **{_MANIFEST: blob}))


def _safetensors_bytes(obj):
    from safetensors.numpy import save as st_save

    if not isinstance(obj, dict):
        raise ValueError(f"save: a .safetensors file holds a flat dict of arrays, got {type(obj).__name__}")
    flat = {}
    for k, v in obj.items():
        v = _payload(v)
        if not isinstance(k, str) or not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
            raise ValueError(f"save: a .safetensors file holds str keys and bool/int/float arrays; "
                             f"entry {k!r} is a {type(v).__name__}")
        flat[k] = v if v.flags.c_contiguous else v.copy(order="C")   # (ascontiguousarray makes 0-d 1-d)
    return st_save(flat)


# -- reading ----------------------------------------------------------------------------------------
def _read_member(zf, info, where):
    """One ``.npy`` member as an ndarray, validated before anything is allocated."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"{where}: unsupported .npy version {version}")
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.hasobject:
            raise ValueError(f"{where}: dtype {dtype} is not a bool, integer or float array "
                             f"(object/pickle, string, complex and datetime arrays are refused)")
        count = 1
        for s in shape:
            count *= int(s)
        nbytes = count * dtype.itemsize
        available = info.file_size - f.tell()
        if nbytes != available:
            raise ValueError(f"{where}: header declares shape {tuple(shape)} ({nbytes} bytes) but "
                             f"the file holds {available} bytes of data")
        out = np.empty(count, dtype)
        view, filled = memoryview(out).cast("B"), 0
        while filled < nbytes:            # 1 MiB at a time: zipfile reads go through bytes objects
            n = f.readinto(view[filled:filled + (1 << 20)])
            if not n:
                raise ValueError(f"{where}: truncated array data")
            filled += n
    if fortran:
        return out.reshape(shape[::-1]).transpose()
    return out.reshape(shape)


def _members(zf, path):
    """The archive's ``.npy`` members by name, after checking that each member's declared sizes are
    possible (stored data no larger than the file, deflated data within deflate's ~1032:1 ratio)
    and that all of them together stay within the inflation budget
    ``max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * file size)``: what ``load`` allocates is bounded
    by the file's size before anything is decompressed."""
    total = os.path.getsize(path)
    budget = max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * total)
    arrays, inflated = {}, 0
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"load: {path}: unexpected member {info.filename!r} in the archive")
        stored = info.compress_type == zipfile.ZIP_STORED
        if info.compress_size > total or (stored and info.file_size != info.compress_size) or \
                info.file_size > 1100 * info.compress_size + 4096:
            raise ValueError(f"load: {path}: member {info.filename!r} declares {info.file_size} bytes "
                             f"from {info.compress_size} stored bytes of a {total}-byte file")
        inflated += info.file_size
        if inflated > budget:
            raise ValueError(f"load: {path}: member {info.filename!r} ({info.compress_size} compressed "
                             f"bytes declaring {info.file_size}) brings the archive to {inflated} "
                             f"uncompressed bytes, more than {budget} for a {total}-byte file (a "
                             f"decompression bomb? the limit is max(engine.serialization."
                             f"INFLATE_ALLOWANCE, MAX_INFLATE_RATIO x file size))")
        arrays[info.filename[:-4]] = info
    return arrays


def _manifest(zf, info, path):
    raw = _read_member(zf, info, f"load: {path}: manifest")
    try:
        manifest = json.loads(raw.tobytes().decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"load: {path}: corrupt manifest ({type(e).__name__})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"load: {path}: corrupt manifest (not an object)")
    if manifest.get("format") != FORMAT:
        raise ValueError(f"load: {path} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise ValueError(f"load: {path} has format version {manifest.get('version')}, this "
                         f"library reads version {VERSION}")
    if "root" not in manifest:
        raise ValueError(f"load: {path}: corrupt manifest (no root entry)")
    return manifest["root"]


def _decode(node, read, path, depth=0):
    where = path or "<root>"

    def bad(why):
        return ValueError(f"load: corrupt checkpoint: entry {where} {why}")

    if depth > _MAX_DEPTH:
        raise bad(f"is nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(node, dict) or not isinstance(node.get("t"), str):
        raise bad("is not an object with a type 't'")
    t, v = node["t"], node.get("v")
    if t == "array":
        return Tensor(read(node.get("k"), where))
    if t == "none":
        return None
    if t == "float":
        try:
            return float(v)
        except (TypeError, ValueError):
            raise bad(f"holds {v!r}, not a float") from None
    types = {"int": int, "bool": bool, "str": str, "dict": list, "list": list}
    if t not in types:
        raise bad(f"has unknown entry type {t!r}")
    if not isinstance(v, types[t]) or (t == "int" and isinstance(v, bool)):
        raise bad(f"of type {t!r} holds a {type(v).__name__}")
    if t == "dict":
        out = {}
        for item in v:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise bad("has an item that is not a [key, value] pair")
            out[item[0]] = _decode(item[1], read, f"{path}.{item[0]}" if path else str(item[0]), depth + 1)
        return out
    if t == "list":
        return [_decode(x, read, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]
    return v


def _load_npz(path):
    with zipfile.ZipFile(path) as zf:
        members = _members(zf, path)
        if _MANIFEST not in members:           # a plain np.savez file: a flat dict
            return {k: Tensor(_read_member(zf, info, f"load: {path}: array {k!r}")) for k, info in members.items()}
        root = _manifest(zf, members.pop(_MANIFEST), path)

        def read(key, where):
            if not isinstance(key, str) or key not in members:
                raise ValueError(f"load: corrupt checkpoint: entry {where} refers to missing data {key!r}")
            return _read_member(zf, members[key], f"load: {path}: array {key!r} at {where}")

        return _decode(root, read, "")


def _load_safetensors(path):
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        arrays = load_file(path)
    except (SafetensorError, ValueError, TypeError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"load: {path} is not a valid .safetensors file ({type(e).__name__}: {e})") from None
    out = {}
    for k, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise ValueError(f"load: {path}: tensor {k!r} has dtype {a.dtype}; only bool, integer and float")
        out[k] = Tensor(a if a.flags.writeable else a.copy())
    return out


def load(path, map_location=None, *, weights_only=None, mmap=None):
    """Read a checkpoint written by ``save``, a plain ``.npz`` of arrays (as a flat dict) or a
    ``.safetensors`` file (as a flat dict). Anything else — not a zip, a corrupt or crafted
    manifest, a header declaring more data than the file holds, a compressed archive inflating to
    more than ``max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * file size)`` bytes (64 MiB or 100x),
    object/string/complex/datetime arrays — raises ``ValueError`` naming the problem; nothing is
    ever unpickled.

    ``map_location`` (a device, ``"cpu"``, or a ``{"cuda:0": "cpu"}``-style dict), ``weights_only``
    and ``mmap`` are PyTorch's arguments, accepted so ``torch.load(f, map_location=device,
    weights_only=True)`` ports unchanged: every file loads onto the CPU and holds only weights, so
    they change nothing; a map to a device this build lacks raises ``RuntimeError``."""
    targets = map_location.values() if isinstance(map_location, dict) else (
        () if map_location is None or callable(map_location) else (map_location,))
    for target in targets:
        check_device(target, "map_location")
    path = os.fspath(path)
    if _is_safetensors(path):
        return _load_safetensors(path)
    try:
        return _load_npz(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"load: {path} is not a valid .npz checkpoint ({type(e).__name__}: {e})") from None
    except ValueError as e:
        if str(e).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is corrupt: {e}") from None
