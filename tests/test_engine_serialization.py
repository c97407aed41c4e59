"""``engine.save``/``engine.load``: round trips of nested state, dtypes kept, atomic writes, and
corrupt or hostile files rejected with ``ValueError`` (``allow_pickle=False``: nothing is
unpickled). Also ``engine.manual_seed`` reproducibility."""
import json
import math
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine import Tensor
from engine.testing import shapes

SETTINGS = settings(deadline=None, max_examples=30,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

ARRAYS = st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_, np.uint8]),
               shapes(max_dims=3, max_side=3)),
)
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 62, 2 ** 62),
    st.floats(allow_nan=False), st.text(max_size=10),
    ARRAYS, ARRAYS.map(Tensor),
)
STATE = st.recursive(
    LEAVES,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=12,
)


def _assert_same(loaded, original, path="root"):
    if isinstance(original, (Tensor, np.ndarray)):
        arr = original.numpy() if isinstance(original, Tensor) else original
        assert isinstance(loaded, Tensor), path
        assert loaded.dtype == arr.dtype and loaded.shape == arr.shape, path
        np.testing.assert_array_equal(loaded.numpy(), arr)
    elif isinstance(original, dict):
        assert isinstance(loaded, dict) and list(loaded) == list(original), path
        for k in original:
            _assert_same(loaded[k], original[k], f"{path}.{k}")
    elif isinstance(original, (list, tuple)):
        assert isinstance(loaded, list) and len(loaded) == len(original), path
        for i, (a, b) in enumerate(zip(loaded, original)):
            _assert_same(a, b, f"{path}[{i}]")
    elif isinstance(original, float):
        assert isinstance(loaded, float) and (loaded == original or (math.isnan(loaded) and math.isnan(original))), path
    else:
        assert type(loaded) is type(original) and loaded == original, path


@SETTINGS
@given(obj=STATE)
def test_round_trip_of_nested_state(tmp_path, obj):
    path = tmp_path / "ckpt.npz"
    engine.save(obj, path)
    _assert_same(engine.load(path), obj)
    _assert_same(engine.load(str(path)), obj)


def test_round_trip_of_a_state_dict_like_structure(tmp_path):
    obj = {
        "model": {"fc.weight": Tensor(np.random.default_rng(0).standard_normal((3, 4))),
                  "fc.bias": Tensor(np.zeros(3, dtype=np.float32)),
                  "bn.num_batches_tracked": Tensor(np.array(7, dtype=np.int64))},
        "optim": {"state": {0: {"step": 3, "exp_avg": np.ones((3, 4))}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False,
                                    "params": [0, 1], "name": None}]},
        "epoch": 12, "best": 0.1 + 0.2, "tag": "ünïcødé ✓", "flags": [True, False],
    }
    path = tmp_path / "state.npz"
    engine.save(obj, path)
    back = engine.load(path)
    assert back["model"]["fc.weight"].dtype == np.float64
    assert back["model"]["fc.bias"].dtype == np.float32
    assert back["model"]["bn.num_batches_tracked"].dtype == np.int64
    assert back["model"]["bn.num_batches_tracked"].shape == ()
    assert back["optim"]["state"][0]["step"] == 3            # int keys and ints survive
    assert back["optim"]["param_groups"][0]["betas"] == [0.9, 0.999]  # tuples come back as lists
    assert back["best"] == 0.1 + 0.2 and back["tag"] == obj["tag"]
    assert back["flags"] == [True, False] and type(back["flags"][0]) is bool
    assert back["optim"]["param_groups"][0]["name"] is None
    np.testing.assert_array_equal(back["model"]["fc.weight"].numpy(), obj["model"]["fc.weight"].numpy())


def test_loaded_tensors_are_independent_leaves(tmp_path):
    t = Tensor(np.ones(3), requires_grad=True)
    engine.save({"w": t}, tmp_path / "a.npz")
    w = engine.load(tmp_path / "a.npz")["w"]
    assert w.is_leaf and not w.requires_grad
    w.data[0] = 5.0
    assert t.numpy()[0] == 1.0


def test_save_is_atomic_failing_save_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "ckpt.npz"
    engine.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="object"):
        engine.save({"w": np.arange(3.0), "bad": object()}, path)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(engine.load(path)["w"].numpy(), np.arange(3.0))
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]  # no temp files left behind


def test_save_is_atomic_when_the_write_itself_fails(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    engine.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    real_savez = np.savez

    def failing_savez(f, *args, **kwargs):
        f.write(b"PK\x03\x04 partial garbage")  # half a file, then the disk "fills up"
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="No space"):
        engine.save({"w": np.zeros(1000)}, path)
    monkeypatch.setattr(np, "savez", real_savez)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]
    np.testing.assert_array_equal(engine.load(path)["w"].numpy(), np.arange(3.0))


@pytest.mark.parametrize("bad", [object(), {1.5: 2}, np.array(["a", "b"]), np.array([1 + 2j])])
def test_save_rejects_unsupported_objects(tmp_path, bad):
    with pytest.raises(ValueError):
        engine.save({"x": bad}, tmp_path / "c.npz")
    assert not os.listdir(tmp_path)


# -- corrupt and hostile files ---------------------------------------------------------------------

def _write_npz(path, manifest=None, **arrays):
    if manifest is not None:
        arrays["__manifest__"] = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_load_truncated_file(tmp_path):
    path = tmp_path / "t.npz"
    engine.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="t.npz"):
        engine.load(path)


def test_load_not_a_zip(tmp_path):
    path = tmp_path / "n.npz"
    path.write_text("this is not a checkpoint")
    with pytest.raises(ValueError, match="n.npz"):
        engine.load(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError):
        engine.load(path)


def test_load_plain_npz_without_manifest(tmp_path):
    """A plain np.savez file (no manifest) loads as a flat dict of Tensors (DESIGN: interop)."""
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(3), b=np.arange(2))
    out = engine.load(path)
    assert sorted(out) == ["b", "w"] and isinstance(out["w"], Tensor)
    np.testing.assert_array_equal(out["w"].numpy(), np.ones(3))
    np.testing.assert_array_equal(out["b"].numpy(), np.arange(2))


def test_load_wrong_format_or_version(tmp_path):
    path = tmp_path / "v.npz"
    _write_npz(path, {"format": "gradbricks-checkpoint", "version": 99, "root": {"t": "none"}})
    with pytest.raises(ValueError, match="version 99"):
        engine.load(path)
    _write_npz(path, {"format": "something-else", "version": 1, "root": {"t": "none"}})
    with pytest.raises(ValueError, match="something-else"):
        engine.load(path)


def test_load_corrupt_manifest_json(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, __manifest__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ValueError, match="manifest"):
        engine.load(path)


def test_load_manifest_pointing_at_a_missing_array(tmp_path):
    path = tmp_path / "missing.npz"
    _write_npz(path, {"format": "gradbricks-checkpoint", "version": 1,
                      "root": {"t": "dict", "v": [["w", {"t": "array", "k": "a7"}]]}},
               a0=np.ones(2))
    with pytest.raises(ValueError, match="a7"):
        engine.load(path)


def test_load_unknown_entry_type(tmp_path):
    path = tmp_path / "u.npz"
    _write_npz(path, {"format": "gradbricks-checkpoint", "version": 1, "root": {"t": "pickle", "v": ""}})
    with pytest.raises(ValueError, match="pickle"):
        engine.load(path)


def _side_effect(path):
    """Would run if the checkpoint were unpickled."""
    with open(path, "w") as f:
        f.write("pwned")
    return "pwned"


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_side_effect, (self.path,))


def test_load_never_unpickles_object_arrays(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil(str(marker))
    _write_npz(path, {"format": "gradbricks-checkpoint", "version": 1, "root": {"t": "array", "k": "a0"}},
               a0=evil)
    with zipfile.ZipFile(path) as z:  # the payload really is a pickle inside the npz
        assert "a0.npy" in z.namelist()
    with pytest.raises(ValueError, match="(?i)pickle|object"):
        engine.load(path)
    assert not marker.exists()
    # a raw pickle file renamed .npz is rejected too
    import pickle

    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ValueError):
        engine.load(raw)
    assert not marker.exists()


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        engine.load(tmp_path / "nope.npz")


# -- reproducible randomness ---------------------------------------------------------------------

@settings(deadline=None, max_examples=10)
@given(seed=st.integers(0, 2 ** 31), shape=shapes(min_dims=1, max_dims=3, max_side=4))
def test_manual_seed_makes_random_factories_reproducible(seed, shape):
    def draw():
        return [engine.rand(*shape).numpy(), engine.randn(shape).numpy(), engine.randn_like(Tensor(np.ones(shape))).numpy(),
                engine.randint(0, 10, shape).numpy(), engine.randperm(7).numpy(),
                engine.rand(*shape, dtype=engine.float64).numpy()]

    engine.manual_seed(seed)
    first = draw()
    engine.manual_seed(seed)
    second = draw()
    for a, b in zip(first, second):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert first[0].dtype == np.float32 and first[5].dtype == np.float64
    assert np.all((first[0] >= 0) & (first[0] < 1))
    engine.manual_seed(seed + 1)
    third = draw()
    assert not all(np.array_equal(a, b) for a, b in zip(first[:2], third[:2]))


def test_load_accepts_pytorchs_arguments(tmp_path):
    """``torch.load(f, map_location=..., weights_only=True)`` ports unchanged; a map to a device
    this build lacks raises naming the argument."""
    path = tmp_path / "m.npz"
    engine.save({"w": engine.tensor([1.0, 2.0])}, path)
    for kwargs in ({"map_location": "cpu", "weights_only": True}, {"map_location": engine.device("cpu")},
                   {"map_location": {"cuda:0": "cpu"}}, {"map_location": lambda s, loc: s, "mmap": False}):
        np.testing.assert_array_equal(engine.load(path, **kwargs)["w"].numpy(), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="map_location.*CPU only"):
        engine.load(path, map_location="cuda")
