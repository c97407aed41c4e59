"""torchvision-style datasets, offline: ``MNIST`` and ``FashionMNIST`` read IDX files from
``root``; ``Digits`` is scikit-learn's bundled 8x8 digits with a fixed stratified split.

A sample is ``(image, target)``: the image an HxW uint8 ndarray (torchvision gives a PIL image;
``transforms.ToTensor`` turns either into a 1xHxW float32 Tensor in [0, 1]), the target an int.
``.data`` (uint8 Tensor, N×H×W) and ``.targets`` (int64 Tensor) hold the whole split."""
from __future__ import annotations

import os

import numpy as np

from engine import Tensor
from engine.utils.data import Dataset

from .idx import read_idx

__all__ = ["MNIST", "FashionMNIST", "Digits", "VisionDataset"]


class VisionDataset(Dataset):
    """Images ``data`` (N×H×W uint8) and labels ``targets`` with optional transforms."""

    classes: list = []

    def __init__(self, data, targets, transform=None, target_transform=None):
        self.data, self.targets = Tensor(data), Tensor(np.asarray(targets, dtype=np.int64))
        self._images, self._labels = np.asarray(self.data), np.asarray(self.targets)
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return self._images.shape[0]

    def __getitem__(self, index):
        img, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}


class MNIST(VisionDataset):
    """MNIST from the four IDX files in ``root`` (raw or ``.gz``; also looked up in torchvision's
    ``root/MNIST/raw``). ``download=True`` cannot fetch (no network): it raises naming the files
    to place in ``root``."""

    resources = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root, self.train = os.fspath(root), bool(train)
        names = self.resources[:2] if self.train else self.resources[2:]
        paths = [self._find(n) for n in names]
        if download and any(p is None for p in paths):
            raise RuntimeError(f"{type(self).__name__}: download=True cannot fetch files (this library works "
                               f"offline). Place {', '.join(n + '[.gz]' for n in self.resources)} in "
                               f"{self.root!r} (or {os.path.join(self.root, type(self).__name__, 'raw')!r})")
        missing = [n for n, p in zip(names, paths) if p is None]
        if missing:
            raise FileNotFoundError(f"{type(self).__name__}: dataset not found: {', '.join(m + '[.gz]' for m in missing)} "
                                    f"missing from {self.root!r} (nor in its {type(self).__name__}/raw); place the "
                                    f"IDX files there")
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{paths[0]}: expected uint8 images of shape (N, H, W), got {images.dtype} "
                             f"{tuple(images.shape)}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(f"{paths[1]}: expected {images.shape[0]} labels (one per image in "
                             f"{paths[0]}), got shape {tuple(labels.shape)}")
        super().__init__(images, labels, transform, target_transform)

    def _find(self, name):
        for folder in (self.root, os.path.join(self.root, type(self).__name__, "raw")):
            for suffix in ("", ".gz"):
                p = os.path.join(folder, name + suffix)
                if os.path.isfile(p):
                    return p
        return None


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): MNIST's file names and layout, ten clothing classes."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]


def _stratified_split(labels, test_fraction, seed):
    """Per class, a fixed permutation (NumPy PCG64, ``seed``); its last ⌈fraction·n_c⌉ go to test."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[len(idx) - int(np.ceil(test_fraction * len(idx))):]] = True
    return test


class Digits(VisionDataset):
    """scikit-learn's bundled 1,797 handwritten digits (8x8, no download). A fixed stratified
    split: 20% of each class is the test set (``train=False``), the same on every machine.
    Pixel values 0..16 are stored as uint8 0..255 (v·255/16, rounded) so that ``ToTensor`` gives [0, 1]."""

    classes = [str(i) for i in range(10)]

    def __init__(self, train=True, transform=None, target_transform=None, test_fraction=0.2, seed=0):
        from sklearn.datasets import load_digits
        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
        labels = bunch.target.astype(np.int64)
        test = _stratified_split(labels, test_fraction, seed)
        keep = ~test if train else test
        self.train = bool(train)
        super().__init__(images[keep], labels[keep], transform, target_transform)


def load_digits():
    """The digits as two ``TensorDataset``s ``(train, test)``: float32 images 1x8x8 in [0, 1] and
    int64 labels, the split of :class:`Digits`."""
    from engine.utils.data import TensorDataset
    out = []
    for train in (True, False):
        d = Digits(train=train)
        x = (d._images.astype(np.float32) / 255.0)[:, None]
        out.append(TensorDataset(Tensor(x), Tensor(d._labels)))
    return tuple(out)
