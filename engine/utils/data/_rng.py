"""Turning a ``generator=`` argument into a NumPy generator, as PyTorch's samplers do."""
from __future__ import annotations

import numpy as np

from ...random import Generator, generator as _library_generator


def draw_seed(generator=None) -> int:
    """A 63-bit seed drawn from ``generator`` (an ``engine.Generator`` or NumPy generator) or,
    when it is None, from the library's generator (so ``engine.manual_seed`` governs it)."""
    return int(as_numpy(generator, fresh=False).integers(0, 2 ** 63 - 1))


def as_numpy(generator=None, fresh=True) -> np.random.Generator:
    """The NumPy generator behind ``generator``. With ``generator=None`` and ``fresh=True`` a new
    generator seeded from the library's one (PyTorch's samplers draw one seed per epoch)."""
    if generator is None:
        return np.random.default_rng(draw_seed(_library_generator())) if fresh else _library_generator()
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be an engine.Generator (or a numpy.random.Generator), got "
                    f"{type(generator).__name__}")
