"""Mutation-testing guards for ``engine/serialization.py`` (``save``/``load``).

What the other checkpoint tests leave open and this file pins down:

* error messages name the offending entry: the exact path (``a.b[1]``, ``<root>``) of a value
  ``save`` refuses, of a corrupt manifest entry, of a member with a refused dtype, of a member
  whose declared sizes are impossible, of an unexpected member, and which check failed;
* the nesting limit ``_MAX_DEPTH`` is the same on both sides: what ``save`` writes ``load`` reads,
  one level more is refused by both, for lists and for dicts;
* the inflation budget ``max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * file size)`` is "at most",
  and the per-member ratio check refuses before anything is allocated;
* ``.npy`` members of format version 2.0 and Fortran-ordered members load as ``np.load`` does;
  a member whose data stream ends early is "truncated", never uninitialized memory;
* ``.safetensors``: non-contiguous arrays are written as the ``safetensors`` package writes their
  contiguous copies, and its errors are wrapped naming the file;
* atomic writes: the temp file is opened with ``O_EXCL`` (a planted symlink is never written
  through), stale temps of dead processes are all removed while a live process is never
  signalled, and a target name close to the file-system limit (255 bytes) can be saved.
"""
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

import engine
from engine import serialization

sf_numpy = pytest.importorskip("safetensors.numpy")

MAX = serialization._MAX_DEPTH
MANIFEST = {"format": "gradbricks-checkpoint", "version": 1}


# -- helpers ----------------------------------------------------------------------------------------
def npy_bytes(arr=None, header=None, version=None):
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
        return buf.getvalue()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + (b"" if arr is None else arr.tobytes())


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name if "." in name else name + ".npy", data)


def manifest_bytes(root=None, raw=None):
    data = raw if raw is not None else json.dumps(dict(MANIFEST, root=root)).encode()
    return npy_bytes(np.frombuffer(data, np.uint8))


def load_error(path):
    with pytest.raises(ValueError) as info:
        engine.load(path)
    return str(info.value)


def patch_central_directory(path, member, file_size=None, compress_size=None):
    """Rewrite the sizes that the zip's central directory declares for ``member``."""
    data = bytearray(path.read_bytes())
    pos, found = data.find(b"PK\x01\x02"), False
    while pos >= 0:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == member.encode():
            if compress_size is not None:
                data[pos + 20:pos + 24] = compress_size.to_bytes(4, "little")
            if file_size is not None:
                data[pos + 24:pos + 28] = file_size.to_bytes(4, "little")
            found = True
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert found
    path.write_bytes(bytes(data))


def nested(depth, kind):
    """A Python value whose innermost leaf sits ``depth`` levels deep, and the manifest node."""
    obj, node = 1, {"t": "int", "v": 1}
    for _ in range(depth):
        if kind == "list":
            obj, node = [obj], {"t": "list", "v": [node]}
        else:
            obj, node = {"k": obj}, {"t": "dict", "v": [["k", node]]}
    path = "[0]" * depth if kind == "list" else ".".join(["k"] * depth)
    return obj, node, path


# -- save: the nesting limit and the path in its messages ---------------------------------------------
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_the_nesting_limit_is_the_same_for_save_and_load(tmp_path, kind):
    obj, _, _ = nested(MAX, kind)
    engine.save(obj, tmp_path / "deepest.npz")                      # exactly at the limit: fine
    assert engine.load(tmp_path / "deepest.npz") == obj

    obj, node, path = nested(MAX + 1, kind)
    with pytest.raises(ValueError) as info:
        engine.save(obj, tmp_path / "too_deep.npz")
    assert str(info.value) == f"save: nesting deeper than {MAX} levels at {path}"
    assert not (tmp_path / "too_deep.npz").exists()

    crafted = tmp_path / "crafted.npz"                              # a crafted file one level deeper
    write_zip(crafted, {"__manifest__": manifest_bytes(node)})
    assert load_error(crafted) == f"load: corrupt checkpoint: entry {path} is nested deeper than {MAX} levels"


SAVE_REFUSALS = [
    (object(), "save: cannot save an object of type object at <root>: only Tensors, ndarrays, "
               "numbers, strings and dicts/lists of them"),
    ({"a": {"b": [1, {2}]}}, "save: cannot save an object of type set at a.b[1]: only Tensors, "
                             "ndarrays, numbers, strings and dicts/lists of them"),
    ([0, object()], "save: cannot save an object of type object at [1]: only Tensors, ndarrays, "
                    "numbers, strings and dicts/lists of them"),
    ({3: {"k": {2}}}, "save: cannot save an object of type set at 3.k: only Tensors, ndarrays, "
                      "numbers, strings and dicts/lists of them"),
    (np.array(["a"]), "save: array at <root> has dtype <U1; only bool, integer and float arrays can be saved"),
    ({"m": [np.array([1j])]}, "save: array at m[0] has dtype complex128; only bool, integer and float "
                              "arrays can be saved"),
    ({1.5: 2}, "save: dict key 1.5 at <root> must be a str or int"),
    ({"a": {True: 1}}, "save: dict key True at a must be a str or int"),
]


@pytest.mark.parametrize("obj, message", SAVE_REFUSALS)
def test_save_refusals_name_the_offending_entry(tmp_path, obj, message):
    with pytest.raises(ValueError) as info:
        engine.save(obj, tmp_path / "x.npz")
    assert str(info.value) == message
    assert not os.listdir(tmp_path)


# -- load: corrupt manifests name the entry ----------------------------------------------------------
CORRUPT_ROOTS = [
    (5, "entry <root> is not an object with a type 't'"),
    ({"t": "dict", "v": [["a", {"t": "dict", "v": [["b", {"t": "list", "v": [{"t": "none"}, {"x": 1}]}]]}]]},
     "entry a.b[1] is not an object with a type 't'"),
    ({"t": "list", "v": [{"t": "none"}, {"t": "dict", "v": [["k", {"t": "float", "v": "abc"}]]}]},
     "entry [1].k holds 'abc', not a float"),
    ({"t": "dict", "v": [["w", {"t": "int", "v": True}]]}, "entry w of type 'int' holds a bool"),
    ({"t": "str", "v": 3}, "entry <root> of type 'str' holds a int"),
    ({"t": "dict", "v": ["ab"]}, "entry <root> has an item that is not a [key, value] pair"),
    ({"t": "dict", "v": [[1.5, {"t": "none"}]]}, "entry <root> has an item that is not a [key, value] pair"),
    ({"t": "dict", "v": [["k", {"t": "none"}, "extra"]]}, "entry <root> has an item that is not a [key, value] pair"),
    ({"t": "dict", "v": [[7, {"t": "dict", "v": [["x", {"t": "array", "k": "a9"}]]}]]},
     "entry 7.x refers to missing data 'a9'"),
    ({"t": "array", "k": "a9"}, "entry <root> refers to missing data 'a9'"),
    ({"t": "pickle"}, "entry <root> has unknown entry type 'pickle'"),
]


@pytest.mark.parametrize("root, why", CORRUPT_ROOTS)
def test_corrupt_manifest_entries_are_named(tmp_path, root, why):
    path = tmp_path / "c.npz"
    write_zip(path, {"__manifest__": manifest_bytes(root), "a0": npy_bytes(np.arange(3.0))})
    assert load_error(path) == f"load: corrupt checkpoint: {why}"


@pytest.mark.parametrize("raw, why", [
    (b"{not json", "corrupt manifest (JSONDecodeError)"),
    (b"\xff\xfe", "corrupt manifest (UnicodeDecodeError)"),
    (b'"just a string"', "corrupt manifest (not an object)"),
    (b'{"format": "gradbricks-checkpoint", "version": 1}', "corrupt manifest (no root entry)"),
])
def test_corrupt_manifests_say_what_is_wrong(tmp_path, raw, why):
    path = tmp_path / "m.npz"
    write_zip(path, {"__manifest__": manifest_bytes(raw=raw)})
    assert load_error(path) == f"load: {path}: {why}"


def test_wrong_format_and_version_messages(tmp_path):
    path = tmp_path / "v.npz"
    write_zip(path, {"__manifest__": manifest_bytes(raw=json.dumps(
        {"format": "other", "version": 1, "root": {"t": "none"}}).encode())})
    assert load_error(path) == f"load: {path} has format 'other', expected 'gradbricks-checkpoint'"
    write_zip(path, {"__manifest__": manifest_bytes(raw=json.dumps(
        {"format": "gradbricks-checkpoint", "version": 99, "root": {"t": "none"}}).encode())})
    assert load_error(path) == f"load: {path} has format version 99, this library reads version 1"


REFUSED = "dtype complex128 is not a bool, integer or float array (object/pickle, string, complex and " \
          "datetime arrays are refused)"


def test_refused_members_are_named(tmp_path):
    path = tmp_path / "d.npz"
    bad = npy_bytes(np.array([1j]))
    write_zip(path, {"c": bad})                                              # plain np.savez layout
    assert load_error(path) == f"load: {path}: array 'c': {REFUSED}"
    write_zip(path, {"__manifest__": manifest_bytes({"t": "dict", "v": [["w", {"t": "array", "k": "a0"}]]}),
                     "a0": bad})
    assert load_error(path) == f"load: {path}: array 'a0' at w: {REFUSED}"
    write_zip(path, {"__manifest__": bad})                                   # the manifest itself
    assert load_error(path) == f"load: {path}: manifest: {REFUSED}"


def test_an_unsupported_npy_version_is_named(tmp_path):
    path = tmp_path / "v9.npz"
    data = bytearray(npy_bytes(np.arange(3.0)))
    data[6:8] = bytes([9, 9])                                                # magic, then the version
    write_zip(path, {"w": bytes(data)})
    assert load_error(path) == f"load: {path}: array 'w': unsupported .npy version (9, 9)"


def test_a_value_error_of_the_npy_reader_is_wrapped_with_the_file_name(tmp_path):
    path = tmp_path / "magic.npz"
    data = b"NOTNUMPY" + npy_bytes(np.arange(3.0))[8:]
    write_zip(path, {"w": data})
    with pytest.raises(ValueError) as numpy_says:
        np.lib.format.read_magic(io.BytesIO(data))
    assert load_error(path) == f"load: {path} is corrupt: {numpy_says.value}"


def test_a_file_that_is_not_a_zip_names_the_zip_error(tmp_path):
    path = tmp_path / "n.npz"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(zipfile.BadZipFile) as zip_says:
        zipfile.ZipFile(path)
    assert load_error(path) == f"load: {path} is not a valid .npz checkpoint (BadZipFile: {zip_says.value})"


def test_a_map_location_this_build_lacks_names_the_argument(tmp_path):
    engine.save({"w": np.ones(2)}, tmp_path / "m.npz")
    with pytest.raises(RuntimeError, match=r"^map_location='cuda': this build of gradbricks is CPU only"):
        engine.load(tmp_path / "m.npz", map_location="cuda")


# -- load: .npy layouts numpy writes ------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4)])
def test_fortran_ordered_and_version_2_members_load_as_np_load_does(tmp_path, shape):
    arrays = {"f": np.asfortranarray(np.arange(np.prod(shape), dtype=np.float32).reshape(shape)),
              "c": np.arange(np.prod(shape)).reshape(shape)}
    path = tmp_path / "layouts.npz"
    write_zip(path, {"f": npy_bytes(arrays["f"], version=(2, 0)), "c": npy_bytes(arrays["c"], version=(2, 0)),
                     "f1": npy_bytes(arrays["f"])})
    ref = np.load(path)
    out = engine.load(path)
    assert sorted(out) == ["c", "f", "f1"]
    for k in out:
        assert out[k].shape == ref[k].shape and out[k].dtype == ref[k].dtype
        np.testing.assert_array_equal(out[k].numpy(), ref[k])


def test_a_data_stream_ending_early_is_truncated_not_uninitialized(tmp_path):
    path = tmp_path / "short.npz"
    header = npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (12,)})
    write_zip(path, {"w": header + np.arange(10.0).tobytes()}, zipfile.ZIP_DEFLATED)   # 10 of 12 values
    patch_central_directory(path, "w.npy", file_size=len(header) + 12 * 8)             # CRC still matches
    assert load_error(path) == f"load: {path}: array 'w': truncated array data"


# -- load: the archive's declared sizes -----------------------------------------------------------------
def test_an_unexpected_member_is_named(tmp_path):
    path = tmp_path / "extra.npz"
    write_zip(path, {"w": npy_bytes(np.ones(2)), "notes.txt": b"hello"})
    assert load_error(path) == f"load: {path}: unexpected member 'notes.txt' in the archive"


def _sizes(path, member):
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    return info.file_size, info.compress_size, path.stat().st_size


def test_a_stored_member_declaring_more_than_it_stores_is_refused(tmp_path):
    path = tmp_path / "stored.npz"
    write_zip(path, {"w": npy_bytes(np.ones(4))})
    fs, cs, total = _sizes(path, "w.npy")
    patch_central_directory(path, "w.npy", file_size=cs + 8)
    assert load_error(path) == (f"load: {path}: member 'w.npy' declares {cs + 8} bytes from {cs} stored "
                                f"bytes of a {total}-byte file")


def test_a_member_claiming_more_compressed_bytes_than_the_file_is_refused(tmp_path):
    path = tmp_path / "cs.npz"
    write_zip(path, {"w": npy_bytes(np.ones(4))}, zipfile.ZIP_DEFLATED)
    fs, cs, total = _sizes(path, "w.npy")
    patch_central_directory(path, "w.npy", compress_size=total + 1)
    assert load_error(path) == (f"load: {path}: member 'w.npy' declares {fs} bytes from {total + 1} stored "
                                f"bytes of a {total}-byte file")


def test_a_member_beyond_deflates_ratio_is_refused_before_allocating(tmp_path):
    """40 MiB declared from ~100 deflated bytes: within the inflation budget, but no deflate
    stream can hold it, so it is refused from the zip directory, allocating nothing."""
    path = tmp_path / "ratio.npz"
    n = 5 << 20                                                              # 40 MiB of float64
    header = npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (n,)})
    write_zip(path, {"w": header + bytes(64)}, zipfile.ZIP_DEFLATED)
    fs, cs, total = _sizes(path, "w.npy")
    patch_central_directory(path, "w.npy", file_size=len(header) + 8 * n)
    assert len(header) + 8 * n > 1100 * cs + 4096 and len(header) + 8 * n < serialization.INFLATE_ALLOWANCE
    tracemalloc.start()
    try:
        message = load_error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == (f"load: {path}: member 'w.npy' declares {len(header) + 8 * n} bytes from {cs} "
                       f"stored bytes of a {total}-byte file")
    assert peak < 1 << 20, f"peak {peak} bytes"


def test_the_inflation_budget_is_at_most_and_scales_with_the_file(tmp_path, monkeypatch):
    path = tmp_path / "budget.npz"
    np.savez(path, a=np.arange(100.0), b=np.ones(50))
    with zipfile.ZipFile(path) as z:
        sizes = {i.filename: i.file_size for i in z.infolist()}
    total, declared = path.stat().st_size, sum(sizes.values())
    monkeypatch.setattr(serialization, "MAX_INFLATE_RATIO", 0)
    monkeypatch.setattr(serialization, "INFLATE_ALLOWANCE", declared)          # exactly the budget: loads
    np.testing.assert_array_equal(engine.load(path)["a"].numpy(), np.arange(100.0))
    monkeypatch.setattr(serialization, "INFLATE_ALLOWANCE", declared - 1)      # one byte less: refused
    message = load_error(path)
    last = list(sizes)[-1]
    assert message.startswith(f"load: {path}: member {last!r} ({sizes[last]} compressed bytes declaring "
                              f"{sizes[last]}) brings the archive to {declared} uncompressed bytes, more "
                              f"than {declared - 1} for a {total}-byte file")
    # the ratio part: an uncompressed archive declares fewer bytes than the file has
    monkeypatch.setattr(serialization, "INFLATE_ALLOWANCE", 0)
    monkeypatch.setattr(serialization, "MAX_INFLATE_RATIO", 1)
    assert declared < total
    np.testing.assert_array_equal(engine.load(path)["b"].numpy(), np.ones(50))


# -- safetensors --------------------------------------------------------------------------------------
def test_safetensors_writes_non_contiguous_arrays_as_the_package_does(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    arrays = {"t": base.T, "s": base[:, ::2], "f": np.asfortranarray(base.astype(np.int64)),
              "z": np.array(3.5), "b": np.array([True, False, True])[::-1]}
    path = tmp_path / "nc.safetensors"
    engine.save({k: (engine.Tensor(v) if k == "s" else v) for k, v in arrays.items()}, path)
    assert path.read_bytes() == sf_numpy.save({k: np.ascontiguousarray(v) if v.ndim else v
                                               for k, v in arrays.items()})
    back = sf_numpy.load_file(str(path))
    for k, v in arrays.items():
        assert back[k].shape == v.shape and back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)


@pytest.mark.parametrize("obj, message", [
    ([np.ones(2)], "save: a .safetensors file holds a flat dict of arrays, got list"),
    ({"a": {"b": np.ones(2)}}, "save: a .safetensors file holds str keys and bool/int/float arrays; "
                               "entry 'a' is a dict"),
    ({"a": np.array(["s"])}, "save: a .safetensors file holds str keys and bool/int/float arrays; "
                             "entry 'a' is a ndarray"),
])
def test_safetensors_save_refusals_name_the_entry(tmp_path, obj, message):
    with pytest.raises(ValueError) as info:
        engine.save(obj, tmp_path / "x.safetensors")
    assert str(info.value) == message
    assert not os.listdir(tmp_path)


def test_safetensors_load_errors_name_the_file_and_the_cause(tmp_path):
    path = tmp_path / "c.safetensors"
    path.write_bytes(sf_numpy.save({"c": np.array([1 + 2j], np.complex64), "w": np.ones(2)}))
    assert load_error(path) == f"load: {path}: tensor 'c' has dtype complex64; only bool, integer and float"
    path.write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(Exception) as package_says:
        sf_numpy.load_file(str(path))
    assert load_error(path) == (f"load: {path} is not a valid .safetensors file "
                                f"({type(package_says.value).__name__}: {package_says.value})")


# -- atomic writing -------------------------------------------------------------------------------------
def test_a_planted_symlink_at_the_temp_name_is_never_written_through(tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    victim = tmp_path / "elsewhere" / "victim"
    victim.write_bytes(b"precious")
    monkeypatch.setattr(serialization.secrets, "token_hex", lambda n: "0" * (2 * n))
    planted = tmp_path / f".y.npz.gbtmp-{os.getpid()}-{'0' * 8}"
    planted.symlink_to(victim)
    try:
        engine.save({"w": np.ones(2)}, tmp_path / "y.npz")
    except OSError:
        pass
    assert victim.read_bytes() == b"precious"


def test_every_stale_temp_is_removed_and_other_files_are_kept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    others = [f"file{i}.txt" for i in range(40)] + [f".mine.npz.gbtmp-{os.getpid()}-ab", ".x.gbtmp-notapid-ab"]
    stale = [f".s{i}.npz.gbtmp-{dead.pid}-{i:04x}" for i in range(5)]
    for name in others + stale:
        (tmp_path / name).write_bytes(b"x")
    engine.save({"w": np.ones(2)}, tmp_path / "y.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(others + ["y.npz"])


def test_the_liveness_probe_does_not_signal_a_live_process(tmp_path):
    other = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / f".x.npz.gbtmp-{other.pid}-abcd").write_bytes(b"in progress")
        engine.save({"w": np.ones(2)}, tmp_path / "y.npz")
        with pytest.raises(subprocess.TimeoutExpired):          # still running half a second later
            other.wait(timeout=0.5)
        assert (tmp_path / f".x.npz.gbtmp-{other.pid}-abcd").exists()
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("char", ["m", "\u00e9", "\U0001f600"])
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_a_target_name_near_the_file_system_limit_can_be_saved(tmp_path, suffix, char):
    """A 255-byte name is legal (``torch.save`` and ``np.save`` write it); the temp file next to it
    must not need a longer one (found by mutation testing: names over ~232 bytes failed)."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    path = tmp_path / (char * ((limit - len(suffix)) // len(char.encode())) + suffix)
    with open(tmp_path / ("n" * limit), "wb"):                  # the file system takes such names
        pass
    engine.save({"w": np.arange(3.0)}, path)
    np.testing.assert_array_equal(engine.load(path)["w"].numpy(), np.arange(3.0))
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, "n" * limit])
