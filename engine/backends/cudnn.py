"""``engine.backends.cudnn``: the flags programs set (``deterministic``, ``benchmark``, ``enabled``)
are plain attributes with PyTorch's defaults; they change nothing in a CPU-only build."""

enabled = True
benchmark = False
deterministic = False


def is_available() -> bool:
    """False: no cuDNN."""
    return False
