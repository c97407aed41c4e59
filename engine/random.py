"""The library's random streams: ``manual_seed(n)`` makes init, dropout and shuffling reproducible.

Streams are per thread. The main thread's stream is the process default; another thread draws from
that default too (NumPy's ``Generator`` serialises concurrent draws) until it calls
``manual_seed`` itself, which gives that thread its own stream. So two threads that each seed and
then train produce exactly what the two runs produce one after the other, and a thread's seeding
never changes another thread's draws.
"""
from __future__ import annotations

import threading

import numpy as np

_DEFAULT = np.random.default_rng()
_LOCAL = threading.local()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the calling thread's generator and return it. In the main thread this is the process
    default stream (and NumPy's legacy global generator is seeded too, with ``seed mod 2**32``);
    in any other thread it becomes that thread's own stream."""
    global _DEFAULT
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed expected an integer seed, got {type(seed).__name__}") from None
    gen = np.random.default_rng(seed % (2 ** 64))
    if _in_main_thread():
        _DEFAULT = gen
        _LOCAL.gen = None
        np.random.seed(seed % (2 ** 32))
    else:
        _LOCAL.gen = gen
    return gen


def generator() -> np.random.Generator:
    """The calling thread's current generator (use it for every random draw)."""
    gen = getattr(_LOCAL, "gen", None)
    return _DEFAULT if gen is None else gen


def seed() -> int:
    """Seed from OS entropy (non-deterministic), as ``torch.seed``; returns the seed."""
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s
