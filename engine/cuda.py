"""``engine.cuda``: PyTorch's ``torch.cuda`` queries for a CPU-only build (no CUDA device)."""
from __future__ import annotations

from .device import check_device


def is_available() -> bool:
    """False: this build runs on the CPU only."""
    return False


def device_count() -> int:
    """0: no CUDA device."""
    return 0


def is_initialized() -> bool:
    """False: CUDA is never initialised here."""
    return False


def manual_seed(seed) -> None:
    """Accepted and ignored (no CUDA generator), as PyTorch does without CUDA."""


def manual_seed_all(seed) -> None:
    """Accepted and ignored (no CUDA generator), as PyTorch does without CUDA."""


def synchronize(device=None) -> None:
    """Nothing to wait for on the CPU; raises like PyTorch only when a device is named."""
    if device is not None:
        check_device(device)


def current_device() -> int:
    """Raises: there is no current CUDA device in a CPU-only build."""
    raise RuntimeError("engine.cuda.current_device(): this build of gradbricks is CPU only")
