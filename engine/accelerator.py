"""``engine.accelerator``: PyTorch's device-agnostic accelerator queries; this build has none."""
from __future__ import annotations


def is_available() -> bool:
    """False: no accelerator (CUDA, MPS, XPU, …) in this CPU-only build."""
    return False


def device_count() -> int:
    """0 accelerators."""
    return 0


def current_accelerator(check_available=False):
    """None, as PyTorch returns when no accelerator is present."""
    return None
