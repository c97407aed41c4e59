"""nn.data: IDX reader, MNIST/FashionMNIST/Digits, transforms — against NumPy references."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
from nn.data import DataLoader, datasets, read_idx, transforms, write_idx

MNIST_DIR = "/work/shared/data/mnist"


@settings(deadline=None, max_examples=20)
@given(a=hnp.arrays(st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
                    hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)),
       gz=st.booleans())
def test_idx_roundtrip(tmp_path_factory, a, gz):
    path = str(tmp_path_factory.mktemp("idx") / ("x.idx" + (".gz" if gz else "")))
    write_idx(path, a)
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=")
    np.testing.assert_array_equal(b, a)


def _header(code, shape):
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, ">u4").tobytes()


def test_idx_by_hand_big_endian(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(_header(0x0B, (3,)) + np.array([1, -2, 300], ">i2").tobytes())
    np.testing.assert_array_equal(read_idx(p), [1, -2, 300])


@pytest.mark.parametrize("content, msg", [
    (b"\x00\x00", "truncated: 2 bytes, expected at least a 4-byte"),
    (b"\x01\x00\x08\x01", "not an IDX file"),
    (b"\x00\x00\x07\x01", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated: 8 bytes, expected a 12-byte header"),
    (_header(0x08, (2, 3)) + bytes(5), r"truncated: 17 bytes, expected 18 for shape \(2, 3\) of uint8"),
    (_header(0x08, (2,)) + bytes(3), "trailing bytes"),
])
def test_idx_corrupt_files_named(tmp_path, content, msg):
    p = tmp_path / "bad-idx1-ubyte"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=msg) as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_idx_missing_and_bad_gzip(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.*expected an IDX file"):
        read_idx(tmp_path / "nothere")
    p = tmp_path / "x.gz"
    p.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="x.gz is not a readable gzip file"):
        read_idx(p)
    full = gzip.compress(_header(0x08, (100,)) + bytes(100))
    p.write_bytes(full[:-20])
    with pytest.raises(ValueError, match="x.gz"):
        read_idx(p)


def _fake_mnist(root, n=12, gz=False, sub=""):
    rng = np.random.default_rng(0)
    folder = os.path.join(root, sub)
    os.makedirs(folder, exist_ok=True)
    ext = ".gz" if gz else ""
    data = {}
    for split, m in (("train", n), ("t10k", n // 2)):
        imgs = rng.integers(0, 256, (m, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, m).astype(np.uint8)
        write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte{ext}"), imgs)
        write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte{ext}"), labels)
        data[split] = (imgs, labels)
    return data


@pytest.mark.parametrize("gz, sub", [(False, ""), (True, ""), (True, "MNIST/raw")])
def test_mnist_from_written_files(tmp_path, gz, sub):
    data = _fake_mnist(str(tmp_path), gz=gz, sub=sub)
    tr = datasets.MNIST(tmp_path, train=True)
    te = datasets.MNIST(tmp_path, train=False, transform=transforms.ToTensor(), target_transform=lambda t: t + 100)
    assert len(tr) == 12 and len(te) == 6
    img, t = tr[3]
    np.testing.assert_array_equal(img, data["train"][0][3])
    assert t == int(data["train"][1][3]) and isinstance(t, int)
    x, t2 = te[1]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x.numpy()[0], data["t10k"][0][1] / 255.0, rtol=1e-6)
    assert t2 == int(data["t10k"][1][1]) + 100
    assert tr.data.dtype == np.uint8 and tr.targets.dtype == np.int64
    xb, yb = next(iter(DataLoader(te, batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.dtype == np.int64


def test_mnist_missing_download_and_mismatch(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        datasets.MNIST(tmp_path)
    with pytest.raises(RuntimeError, match="download=True cannot fetch.*t10k-labels-idx1-ubyte"):
        datasets.FashionMNIST(tmp_path, download=True)
    _fake_mnist(str(tmp_path))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="expected 12 labels"):
        datasets.MNIST(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_header(0x08, (12, 28, 28)) + bytes(100))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte is truncated"):
        datasets.MNIST(tmp_path)


@pytest.mark.skipif(not os.path.isdir(MNIST_DIR), reason="real MNIST not present")
def test_real_mnist():
    te = datasets.MNIST(MNIST_DIR, train=False)
    assert len(te) == 10000 and te.data.shape == (10000, 28, 28)
    counts = np.bincount(te.targets.numpy(), minlength=10)
    assert counts.sum() == 10000 and counts.min() > 800
    assert 20 < te.data.numpy().mean() < 50                            # mostly black background


def test_digits_split():
    tr, te = datasets.Digits(train=True), datasets.Digits(train=False)
    from sklearn.datasets import load_digits
    ref = load_digits()
    assert len(tr) + len(te) == len(ref.target)
    assert abs(len(te) / len(ref.target) - 0.2) < 0.01
    for c in range(10):                                                  # stratified
        nc = (ref.target == c).sum()
        assert (te.targets.numpy() == c).sum() == int(np.ceil(0.2 * nc))
    img, _ = tr[0]
    assert img.shape == (8, 8) and img.dtype == np.uint8
    assert np.array_equal(datasets.Digits(train=False).targets.numpy(), te.targets.numpy())
    # images are the sklearn images rescaled: each appears in the reference set
    ref_u8 = np.rint(ref.images * 255 / 16).astype(np.uint8).reshape(len(ref.target), -1)
    keys = {r.tobytes() for r in ref_u8}
    assert all(x.tobytes() in keys for x in te.data.numpy().reshape(len(te), -1))


@settings(deadline=None, max_examples=20)
@given(a=hnp.arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6)) | st.tuples(
    st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))))
def test_to_tensor_and_normalize(a):
    x = transforms.ToTensor()(a)
    ref = (a[:, :, None] if a.ndim == 2 else a).transpose(2, 0, 1) / 255.0
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.numpy(), ref, rtol=1e-6)
    c = ref.shape[0]
    mean, std = list(np.linspace(0.1, 0.5, c)), list(np.linspace(0.2, 0.9, c))
    y = transforms.Normalize(mean, std)(x)
    np.testing.assert_allclose(y.numpy(), (ref - np.array(mean)[:, None, None]) / np.array(std)[:, None, None],
                               rtol=1e-5, atol=1e-6)
    f = transforms.ToTensor()(a.astype(np.float64))                      # non-uint8: values kept
    np.testing.assert_array_equal(f.numpy(), ref * 255)


def test_transform_errors():
    with pytest.raises(TypeError, match="ToTensor"):
        transforms.ToTensor()(engine.zeros(2, 2))
    with pytest.raises(ValueError, match="division by zero"):
        transforms.Normalize([0.5], [0.0])
    with pytest.raises(ValueError, match="3 channels"):
        transforms.Normalize([0, 0], [1, 1])(engine.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"crop size \(5, 5\) is larger than the input image size \(4, 4\)"):
        transforms.RandomCrop(5)(np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="callable"):
        transforms.Lambda(3)


@settings(deadline=None, max_examples=20)
@given(h=st.integers(2, 7), w=st.integers(2, 7), pad=st.integers(0, 3), seed=st.integers(0, 999))
def test_random_crop_is_a_window_of_the_padded_image(h, w, pad, seed):
    a = np.arange(1, h * w + 1, dtype=np.int32).reshape(h, w)
    engine.manual_seed(seed)
    out = transforms.RandomCrop((h, w), padding=pad)(a)
    padded = np.pad(a, pad)
    windows = [padded[i:i + h, j:j + w] for i in range(2 * pad + 1) for j in range(2 * pad + 1)]
    assert out.shape == (h, w) and any(np.array_equal(out, win) for win in windows)
    t = transforms.RandomCrop(2, padding=(1, 0))(engine.tensor(np.ones((3, h, w), np.float32)))
    assert tuple(t.shape) == (3, 2, 2)


def test_flip_rotation_compose_lambda():
    a = np.arange(9, dtype=np.uint8).reshape(3, 3)
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(p=1.0)(a), a[:, ::-1])
    assert transforms.RandomHorizontalFlip(p=0.0)(a) is a
    np.testing.assert_array_equal(transforms.RandomRotation((90, 90))(a), np.rot90(a))
    np.testing.assert_array_equal(transforms.RandomRotation((-90, -90))(a), np.rot90(a, -1))
    np.testing.assert_array_equal(transforms.RandomRotation(0)(a), a)
    rgb = np.arange(27, dtype=np.uint8).reshape(3, 3, 3)
    np.testing.assert_array_equal(transforms.RandomRotation((180, 180))(rgb), rgb[::-1, ::-1])
    t = transforms.RandomRotation((90, 90))(engine.tensor(a[None].astype(np.float32)))
    np.testing.assert_array_equal(t.numpy()[0], np.rot90(a))
    pipe = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x * 2)])
    np.testing.assert_allclose(pipe(a).numpy()[0], a / 255.0 * 2, rtol=1e-6)
    engine.manual_seed(1)
    r1 = [transforms.RandomRotation(30)(a) for _ in range(5)]
    engine.manual_seed(1)
    r2 = [transforms.RandomRotation(30)(a) for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(r1, r2))


def test_load_digits_tensor_datasets_match_the_digits_split():
    from nn.data import TensorDataset, load_digits
    train, test = load_digits()
    for ds, split in ((train, datasets.Digits(train=True)), (test, datasets.Digits(train=False))):
        assert isinstance(ds, TensorDataset)
        x, y = ds.tensors
        assert tuple(x.shape) == (len(split), 1, 8, 8) and x.dtype == np.float32
        np.testing.assert_array_equal(x.numpy()[:, 0], split.data.numpy().astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(y.numpy(), split.targets.numpy())
