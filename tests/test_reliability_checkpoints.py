"""Checkpoint hygiene and interop (issue 10, items 6-7): ``engine.load`` refuses what ``save``
refuses, never allocates what the file cannot hold, never raises anything but ValueError on a
crafted file; saves clean up after killed saves, honour the umask, write through symlinks; plain
``.npz`` and ``.safetensors`` files load as flat dicts."""
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import engine
import nn

try:
    import torch
except ImportError:
    torch = None


def npy_bytes(arr=None, header=None):
    """The bytes of one .npy member; ``header`` overrides the declared dict."""
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, arr, allow_pickle=True)
        return buf.getvalue()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + (b"" if arr is None else arr.tobytes())


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)


MANIFEST = {"format": "gradbricks-checkpoint", "version": 1}


def manifest_bytes(root):
    return npy_bytes(np.frombuffer(json.dumps(dict(MANIFEST, root=root)).encode(), np.uint8))


@pytest.mark.parametrize("bad", [np.array(["a", "bc"]), np.array([1 + 2j]), np.array(["2020-01-01"], "datetime64[D]"),
                                 np.array([1, 2], "timedelta64[s]"), np.zeros(2, [("a", "f4"), ("b", "i4")])])
@pytest.mark.parametrize("with_manifest", [True, False])
def test_load_refuses_the_dtypes_save_refuses(tmp_path, bad, with_manifest):
    with pytest.raises(ValueError):
        engine.save({"x": bad}, tmp_path / "refused.npz")
    path = tmp_path / "c.npz"
    members = {"a0": npy_bytes(bad)}
    if with_manifest:
        members["__manifest__"] = manifest_bytes({"t": "array", "k": "a0"})
    write_zip(path, members)
    with pytest.raises(ValueError, match="dtype"):
        engine.load(path)


@pytest.mark.parametrize("shape", [(10 ** 12,), (2 ** 40, 2 ** 30), (3,)])
def test_a_declared_shape_the_file_cannot_hold_is_a_value_error(tmp_path, shape):
    path = tmp_path / "big.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    write_zip(path, {"w": npy_bytes(np.zeros(2), header=header)})     # 16 bytes of data
    with pytest.raises(ValueError, match="declares shape"):
        engine.load(path)


def test_a_crafted_member_size_is_refused_before_allocating(tmp_path):
    path = tmp_path / "sizes.npz"
    engine.save({"w": np.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("a0.npy")
    # patch the uncompressed size in the central directory entry (offset 24 of the record)
    cd = data.rfind(b"PK\x01\x02" + data[data.find(b"PK\x01\x02") + 4:data.find(b"PK\x01\x02") + 8])
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == b"a0.npy":
            data[pos + 24:pos + 28] = (2 ** 31).to_bytes(4, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))
    assert cd >= 0 and info.file_size < 2 ** 31
    with pytest.raises(ValueError):
        engine.load(path)


def test_loading_makes_no_extra_copy_of_the_arrays(tmp_path):
    path = tmp_path / "w.npz"
    arr = np.random.default_rng(0).standard_normal(2_000_000)           # 16 MB
    engine.save({"w": arr}, path)
    tracemalloc.start()
    try:
        out = engine.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out["w"].numpy(), arr)
    assert peak < 1.25 * arr.nbytes, f"peak {peak / 2 ** 20:.1f} MiB for a {arr.nbytes / 2 ** 20:.1f} MiB array"


def write_deflated_zeros(path, members):
    """A deflated .npz whose members (name -> bytes of float64 zeros) compress ~1000:1, written
    1 MiB at a time so the test never holds the arrays."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, nbytes in members.items():
            header = npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (nbytes // 8,)})
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                f.write(header)
                for _ in range(nbytes >> 20):
                    f.write(bytes(1 << 20))


def peak_of_load(path):
    """(what ``engine.load(path)`` returned or raised, the peak traced allocation in bytes)."""
    tracemalloc.start()
    try:
        try:
            out = engine.load(path)
        except ValueError as e:
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_decompression_bomb_is_refused_before_anything_is_allocated(tmp_path):
    path = tmp_path / "bomb.npz"
    write_deflated_zeros(path, {"w": 128 << 20})              # 128 MiB of zeros in ~130 KB
    size = path.stat().st_size
    limits = engine.serialization
    assert 128 << 20 > max(limits.INFLATE_ALLOWANCE, limits.MAX_INFLATE_RATIO * size)   # a bomb by both
    err, peak = peak_of_load(path)
    assert isinstance(err, ValueError) and "member 'w.npy'" in str(err) and "decompression bomb" in str(err)
    assert peak < size, f"peak {peak} bytes for a {size}-byte file"


def test_many_small_bombs_are_refused_at_the_member_crossing_the_limit(tmp_path):
    path = tmp_path / "bombs.npz"
    write_deflated_zeros(path, {f"a{i}": 16 << 20 for i in range(6)})   # 4 x (16 MiB + header) > 64 MiB
    err, peak = peak_of_load(path)
    assert isinstance(err, ValueError) and "member 'a3.npy'" in str(err)
    assert peak < path.stat().st_size


def test_a_compressed_checkpoint_within_the_limits_loads_without_a_second_copy(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"weight": rng.standard_normal(2_000_000).astype(np.float32),     # ~1.1:1
              "running_mean": np.zeros(4_000_000, np.float32),                   # ~1000:1
              "steps": np.arange(1000)}
    np.savez_compressed(tmp_path / "big.npz", **arrays)
    out, peak = peak_of_load(tmp_path / "big.npz")
    nbytes = sum(a.nbytes for a in arrays.values())
    assert sorted(out) == sorted(arrays)
    for k, a in arrays.items():
        np.testing.assert_array_equal(out[k].numpy(), a)
    assert peak < 1.25 * nbytes, f"peak {peak / 2 ** 20:.1f} MiB for {nbytes / 2 ** 20:.1f} MiB of arrays"
    np.savez_compressed(tmp_path / "zeros.npz", z=np.zeros(1 << 22))            # 32 MiB from ~32 KB:
    assert (tmp_path / "zeros.npz").stat().st_size * 500 < 32 << 20               # under the allowance
    assert not engine.load(tmp_path / "zeros.npz")["z"].numpy().any()


KILLED_SAVE = r"""
import os, signal, sys, numpy as np, engine
real = np.savez
def dying_savez(f, *a, **k):
    f.write(b"PK\x03\x04" + b"x" * 100000)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
np.savez = dying_savez
engine.save({"w": np.zeros(10)}, sys.argv[1])
"""


def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.npz"
    engine.save({"w": np.arange(3.0)}, path)
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True)
        assert out.returncode == -signal.SIGKILL
    leftovers = [n for n in os.listdir(tmp_path) if n != "ckpt.npz"]
    assert len(leftovers) == 1 and ".gbtmp-" in leftovers[0]   # the second save removed the first's
    np.testing.assert_array_equal(engine.load(path)["w"].numpy(), np.arange(3.0))   # old file intact
    engine.save({"w": np.ones(2)}, tmp_path / "other.npz")                        # any save in the folder
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz", "other.npz"]


def test_a_temp_file_of_a_live_process_is_left_alone(tmp_path):
    # The live process is a child of this test, not a real one such as the parent: the liveness
    # probe must not signal it (mutation testing once ended its own run through a probe that
    # sent SIGHUP instead of signal 0 to the test's parent).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".x.npz.gbtmp-{other.pid}-abcd"
        live.write_bytes(b"in progress")
        engine.save({"w": np.ones(2)}, tmp_path / "y.npz")
        assert live.exists()
        assert other.poll() is None, f"the probe signalled the live process (exit {other.returncode})"
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_honour_the_umask_and_keep_an_existing_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        for name in ("a.npz", "b.safetensors"):
            engine.save({"w": np.ones(2)}, tmp_path / name)
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~umask
            np.save(tmp_path / "ref.npy", np.ones(1))
            assert stat.S_IMODE(os.stat(tmp_path / "ref.npy").st_mode) == 0o666 & ~umask
    finally:
        os.umask(old)
    os.chmod(tmp_path / "a.npz", 0o600)
    engine.save({"w": np.zeros(2)}, tmp_path / "a.npz")
    assert stat.S_IMODE(os.stat(tmp_path / "a.npz").st_mode) == 0o600


def test_saving_onto_a_symlink_writes_through_to_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    engine.save({"w": np.zeros(2)}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    engine.save({"w": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(engine.load(target)["w"].numpy(), np.ones(2))
    assert sorted(os.listdir(tmp_path / "real")) == ["model.npz"]


JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=4)
                    | st.sampled_from(["array", "dict", "list", "int", "float", "str", "bool", "none", "a0", "t", "v", "k"]),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["t", "v", "k", "x"]), c, max_size=3),
                    max_leaves=15)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(root=JSON)
def test_crafted_manifests_give_value_error_or_a_value(tmp_path, root):
    path = tmp_path / "crafted.npz"
    write_zip(path, {"__manifest__": manifest_bytes(root), "a0": npy_bytes(np.arange(3.0))})
    try:
        engine.load(path)
    except ValueError:
        pass


@pytest.mark.parametrize("manifest", [b"[" * 100000 + b"]" * 100000, json.dumps(dict(MANIFEST, root={"t": "list", "v": [
    {"t": "list", "v": []}]})).replace('[]', '[' + '{"t": "list", "v": [' * 2000 + ']}' * 2000 + ']').encode(),
    b'"just a string"', b'{"format": "gradbricks-checkpoint", "version": 1}', b"\xff\xfe"])
def test_hostile_manifests_give_value_error(tmp_path, manifest):
    path = tmp_path / "hostile.npz"
    write_zip(path, {"__manifest__": npy_bytes(np.frombuffer(manifest, np.uint8))})
    with pytest.raises(ValueError):
        engine.load(path)


def test_saving_a_too_deep_structure_is_a_value_error(tmp_path):
    obj = []
    for _ in range(5000):
        obj = [obj]
    with pytest.raises(ValueError, match="nesting"):
        engine.save(obj, tmp_path / "deep.npz")
    assert not os.listdir(tmp_path)


# -- interop --------------------------------------------------------------------------------------
def test_safetensors_round_trip_of_a_state_dict(tmp_path):
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    engine.save(model.state_dict(), tmp_path / "m.safetensors")
    loaded = engine.load(tmp_path / "m.safetensors")
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    fresh.load_state_dict(loaded)
    for (k, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=k)
        assert np.asarray(a).dtype == np.asarray(b).dtype


def test_safetensors_save_refuses_nested_or_non_array_values(tmp_path):
    for bad in [{"a": {"b": np.ones(2)}}, {"a": "text"}, [np.ones(2)], {"a": np.array(["s"])}]:
        with pytest.raises(ValueError):
            engine.save(bad, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


def test_a_corrupt_safetensors_file_is_a_value_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    engine.save({"w": np.ones(3)}, path)
    data = path.read_bytes()
    for broken in (data[:len(data) // 2], b"\xff" * 8 + data[8:], b"", (10 ** 12).to_bytes(8, "little") + data[8:]):
        path.write_bytes(broken)
        with pytest.raises(ValueError):
            engine.load(path)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_weights_move_between_pytorch_and_this_library_via_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    save_file(tmodel.state_dict(), str(tmp_path / "t.safetensors"))
    ours = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    ours.load_state_dict(engine.load(tmp_path / "t.safetensors"))
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(engine.Tensor(x)).numpy(), tmodel(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    engine.save(ours.state_dict(), tmp_path / "o.safetensors")
    back = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    back.load_state_dict(load_file(str(tmp_path / "o.safetensors")))
    for a, b in zip(tmodel.state_dict().values(), back.state_dict().values()):
        assert torch.equal(a, b)
