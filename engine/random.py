"""One random generator for the whole library: ``manual_seed(n)`` makes init, dropout and
shuffling reproducible."""
from __future__ import annotations

import numpy as np

_GEN = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library's generator (and NumPy's legacy global one); returns the generator."""
    global _GEN
    _GEN = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % (2 ** 32))
    return _GEN


def generator() -> np.random.Generator:
    """The library's current generator (use it for every random draw)."""
    return _GEN


def seed() -> int:
    """Seed from OS entropy (non-deterministic), as ``torch.seed``; returns the seed."""
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s
