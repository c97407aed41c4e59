"""``engine.device``: PyTorch's ``torch.device`` for a build that has one device, the CPU.

``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)`` and ``device(other_device)`` are
accepted; accelerator types PyTorch knows (``"cuda"``, ``"mps"``, …) can be named (so
``device("cuda" if engine.cuda.is_available() else "cpu")`` works) but putting a tensor or a
module on them raises ``RuntimeError`` saying this build is CPU only. Anything else raises.
"""
from __future__ import annotations

import numpy as np

# PyTorch's device types (its error lists them); only "cpu" exists in this build
KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "hip", "xla", "meta", "mtia", "hpu", "ipu", "vulkan",
               "mkldnn", "opengl", "opencl", "ideep", "ve", "fpga", "maia", "lazy", "privateuseone")


class device:  # noqa: N801  (PyTorch's name)
    """A device: ``.type`` (``"cpu"``, ``"cuda"``, …) and ``.index`` (None or an int ≥ 0).

    ``str(device("cpu", 0)) == "cpu:0"``; ``repr`` is ``device(type='cpu')``. Devices compare
    equal when type and index are equal; a device also equals its string (``device("cpu") ==
    "cpu"``).
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002  (PyTorch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): index= cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            raise RuntimeError(f"device({type!r}): an integer device means accelerator number "
                               f"{type}; this build of gradbricks is CPU only (use 'cpu')")
        if not isinstance(type, str):
            raise TypeError(f"device(): type must be a string such as 'cpu' or a device, "
                            f"got {_name(type)}")
        kind, sep, num = type.partition(":")
        if kind not in KNOWN_TYPES:
            raise RuntimeError(f"device({type!r}): expected one of {', '.join(KNOWN_TYPES)} at the "
                               f"start of the device string (this build has only 'cpu')")
        if sep:
            if index is not None:
                raise RuntimeError(f"device({type!r}, {index!r}): the index is given twice")
            if not num.isdigit():
                raise RuntimeError(f"device(): invalid device string {type!r} (expected "
                                   f"'{kind}' or '{kind}:N' with N >= 0)")
            index = int(num)
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                # PyTorch: an index that is not an int is a TypeError, a negative one a RuntimeError
                raise TypeError(f"device(): index must be an int >= 0, got {_name(index)}")
            if index < 0:
                raise RuntimeError(f"device(): index must be an int >= 0, got {index!r}")
            index = int(index)
        self.type, self.index = kind, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def is_device_like(obj) -> bool:
    """True for what ``.to`` reads as a device: a device, a str, or an int (accelerator index)."""
    return isinstance(obj, (device, str)) or (
        isinstance(obj, (int, np.integer)) and not isinstance(obj, bool))


def check_device(dev, argument="device") -> device:
    """``dev`` (device, str or int) as a CPU device, or raise.

    A device this build does not have raises ``RuntimeError`` saying the build is CPU only;
    a value that is not a device at all raises ``TypeError`` naming ``argument``.
    """
    if dev is None:
        return CPU
    if not is_device_like(dev):
        raise TypeError(f"{argument} must be a device, a string such as 'cpu', or a dtype; "
                        f"got {_name(dev)}")
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise RuntimeError(f"{argument}={str(d)!r}: this build of gradbricks is CPU only "
                           f"('{d.type}' is not available); use 'cpu' "
                           f"(engine.cuda.is_available() is False)")
    if d.index not in (None, 0):
        raise RuntimeError(f"{argument}={str(d)!r}: there is one CPU device, index 0")
    return d


def _name(obj) -> str:
    return f"{obj!r} ({type(obj).__name__})"
