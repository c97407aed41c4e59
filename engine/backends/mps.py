"""``engine.backends.mps``: Apple's Metal backend is not part of this CPU-only build."""


def is_available() -> bool:
    """False: no MPS device."""
    return False


def is_built() -> bool:
    """False: not built with MPS."""
    return False
