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


class Generator:
    """PyTorch's ``torch.Generator`` for CPU: an independent random stream to hand to samplers,
    ``DataLoader(generator=...)`` and ``random_split``. ``manual_seed(n)`` reseeds it (and
    returns it); ``get_state()``/``set_state(state)`` snapshot and restore it."""

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(f"Generator: device {device!r} is not available in this build (only 'cpu')")
        self.device = "cpu"
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed this generator with ``seed``; returns ``self``."""
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from OS entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._seed

    def initial_seed(self) -> int:
        """The seed last given to ``manual_seed`` (or drawn at construction)."""
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 array (JSON of NumPy's bit-generator state)."""
        return _state_bytes(self._rng)

    def set_state(self, state) -> "Generator":
        """Restore a state returned by ``get_state``."""
        _set_state_bytes(self._rng, state)
        return self


def _state_bytes(rng: np.random.Generator) -> np.ndarray:
    import json
    return np.frombuffer(json.dumps(rng.bit_generator.state).encode(), dtype=np.uint8).copy()


def _set_state_bytes(rng: np.random.Generator, state) -> None:
    import json
    try:
        rng.bit_generator.state = json.loads(bytes(np.asarray(state, dtype=np.uint8)).decode())
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as e:
        raise ValueError(f"set_state: not a generator state from get_state() ({e})") from None


def get_rng_state():
    """The library generator's state as a uint8 array (``torch.get_rng_state``)."""
    return _state_bytes(generator())


def set_rng_state(state) -> None:
    """Restore the library generator from ``get_rng_state()`` (``torch.set_rng_state``)."""
    _set_state_bytes(generator(), state)
