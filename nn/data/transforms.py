"""torchvision's image transforms (``torchvision.transforms`` v1 semantics).

An "image" is an HxW or HxWxC ndarray (what torchvision's PIL image is here) or a Tensor of shape
(..., H, W). Random transforms draw from the library's generator (``engine.manual_seed``; each
DataLoader worker is seeded on its own, as in PyTorch)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from engine import Tensor
from engine.random import generator

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "RandomRotation",
           "Lambda"]


class Compose:
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return "Compose(" + "".join(f"\n    {t!r}" for t in self.transforms) + "\n)"


class ToTensor:
    """HxW(xC) ndarray → CxHxW Tensor; uint8 is scaled to float32 in [0, 1] (x / 255), other
    dtypes keep their values and dtype (torchvision)."""

    def __call__(self, pic):
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: pic should be an ndarray image (HxW or HxWxC), got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional, got shape {tuple(pic.shape)}")
        a = pic[:, :, None] if pic.ndim == 2 else pic
        a = np.ascontiguousarray(a.transpose(2, 0, 1))
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / np.float32(255)
        return Tensor(a)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """output[c] = (input[c] − mean[c]) / std[c] for a float Tensor of shape (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = list(np.atleast_1d(mean)), list(np.atleast_1d(std)), inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion, leading to division by zero "
                             f"(std={self.std})")

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: input should be a Tensor, got {type(tensor).__name__}")
        x = tensor.numpy()
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: input should be a float tensor, got {x.dtype}")
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of shape (..., C, H, W), got {tuple(x.shape)}")
        c = x.shape[-3]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"Normalize: {c} channels but mean has {len(self.mean)} and std {len(self.std)} values")
        mean = np.asarray(self.mean, x.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, x.dtype).reshape(-1, 1, 1)
        if self.inplace:
            np.subtract(x, mean, out=x)
            np.divide(x, std, out=x)
            return tensor
        return Tensor((x - mean) / std)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _spatial(img):
    """(array, H axis, W axis, wrap): ndarrays are HxW(xC), Tensors (..., H, W)."""
    if isinstance(img, Tensor):
        a = img.numpy()
        return a, a.ndim - 2, a.ndim - 1, Tensor
    if isinstance(img, np.ndarray):
        return img, 0, 1, lambda a: a
    raise TypeError(f"expected an ndarray image or a Tensor, got {type(img).__name__}")


def _pair(size, name):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{name} should be an int or a sequence of 1 or 2 ints, got {size!r}")
    return int(size[0]), int(size[1])


class RandomCrop:
    """Pad by ``padding`` (int: all sides; (lr, tb); or (left, top, right, bottom)) with
    ``fill``/``padding_mode``, then crop ``size`` at a uniformly random position."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size, "size")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"padding_mode should be constant, edge, reflect or symmetric, got {padding_mode!r}")
        if padding is not None and not isinstance(padding, numbers.Number) and len(padding) not in (2, 4):
            raise ValueError(f"padding must be an int or a 2- or 4-element sequence, got {padding!r}")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    def _pad(self, a, hax, wax, left, top, right, bottom):
        widths = [(0, 0)] * a.ndim
        widths[hax], widths[wax] = (top, bottom), (left, right)
        if self.padding_mode == "constant":
            return np.pad(a, widths, mode="constant", constant_values=self.fill)
        return np.pad(a, widths, mode=self.padding_mode)

    def __call__(self, img):
        a, hax, wax, wrap = _spatial(img)
        if self.padding is not None:
            p = self.padding
            p = (p,) * 4 if isinstance(p, numbers.Number) else (p[0], p[1], p[0], p[1]) if len(p) == 2 else tuple(p)
            a = self._pad(a, hax, wax, *p)
        th, tw = self.size
        if self.pad_if_needed:
            dh, dw = max(0, th - a.shape[hax]), max(0, tw - a.shape[wax])
            if dh or dw:
                a = self._pad(a, hax, wax, dw, dh, dw, dh)
        h, w = a.shape[hax], a.shape[wax]
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size {(h, w)}")
        i = int(generator().integers(0, h - th + 1))
        j = int(generator().integers(0, w - tw + 1))
        sl = [slice(None)] * a.ndim
        sl[hax], sl[wax] = slice(i, i + th), slice(j, j + tw)
        return wrap(np.ascontiguousarray(a[tuple(sl)]))

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        a, _, wax, wrap = _spatial(img)
        if generator().random() < self.p:
            return wrap(np.ascontiguousarray(np.flip(a, axis=wax)))
        return img

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (d → [−d, d]; or (min, max)),
    counter-clockwise for positive angles, about ``center`` (default the image centre), with
    nearest-neighbour sampling; pixels from outside the image get ``fill``. ``expand=False`` only."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: if degrees is a single number, it must be positive, got {degrees}")
            degrees = (-degrees, degrees)
        elif len(degrees) != 2:
            raise ValueError(f"RandomRotation: degrees should be a number or a sequence of 2, got {degrees!r}")
        if expand:
            raise ValueError("RandomRotation: expand=True is not supported (the output keeps the input size)")
        if str(getattr(interpolation, "value", interpolation)).lower() != "nearest":
            raise ValueError(f"RandomRotation: only interpolation='nearest' is supported, got {interpolation!r}")
        self.degrees, self.center, self.fill = (float(degrees[0]), float(degrees[1])), center, fill

    def __call__(self, img):
        a, hax, wax, wrap = _spatial(img)
        angle = float(generator().uniform(*self.degrees))
        return wrap(rotate(a, angle, hax, wax, self.center, self.fill))

    def __repr__(self):
        return f"RandomRotation(degrees={self.degrees})"


def rotate(a, angle, hax=0, wax=1, center=None, fill=0):
    """``a`` rotated by ``angle`` degrees counter-clockwise (nearest neighbour): output pixel
    (y, x) takes input (y', x') = R(−angle)·((y, x) − c) + c, or ``fill`` outside."""
    h, w = a.shape[hax], a.shape[wax]
    cx, cy = ((w - 1) / 2, (h - 1) / 2) if center is None else (float(center[0]), float(center[1]))
    t = math.radians(angle)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xs - cx, ys - cy
    # image y points down, so a counter-clockwise turn on screen maps (dx, dy) by R(+t) in (x, −y)
    sx = np.rint(cx + dx * math.cos(t) - dy * math.sin(t)).astype(np.int64)
    sy = np.rint(cy + dx * math.sin(t) + dy * math.cos(t)).astype(np.int64)
    inside = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
    moved = np.moveaxis(a, (hax, wax), (0, 1))
    out = np.full_like(moved, fill)
    out[inside] = moved[sy[inside], sx[inside]]
    return np.ascontiguousarray(np.moveaxis(out, (0, 1), (hax, wax)))


class Lambda:
    """Apply a user function ``lambd`` as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"
