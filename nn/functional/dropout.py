"""Dropout functions: inverted ``dropout``, channel-wise ``dropout2d``, SELU's ``alpha_dropout``.
Masks come from the library's generator (``engine.manual_seed`` makes them reproducible)."""
from __future__ import annotations

import numpy as np

from engine import as_tensor
from engine.random import generator

__all__ = ["dropout", "dropout2d", "alpha_dropout"]

SELU_ALPHA_PRIME = -1.7580993408473766  # −scale·α of SELU: the value SELU saturates to


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, dtype):
    """Bernoulli(1 − p) keep mask (0/1) of ``shape`` in ``dtype``."""
    rdtype = dtype if np.dtype(dtype) in (np.float32, np.float64) else np.float64
    return (generator().random(shape, dtype=rdtype) >= p).astype(dtype)


def _masked(input, p, mask_shape):
    if p == 1.0:
        return input * 0
    mask = _keep_mask(mask_shape, p, input.dtype)
    mask *= 1.0 / (1.0 - p)
    return input * mask


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Inverted dropout: in training, y = x · m / (1 − p) with m ~ Bernoulli(1 − p) per element
    (so E[y] = x); identity when not training; zeros when p = 1."""
    _check_p(p)
    input = as_tensor(input)  # noqa: A001
    if not training or p == 0.0:
        return input
    return _masked(input, p, input.shape)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Channel dropout: zeros whole channels — per (n, c) of an (N, C, H, W) input, per c of a
    (C, H, W) input — and scales the kept ones by 1 / (1 − p)."""
    _check_p(p)
    input = as_tensor(input)  # noqa: A001
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    lead = 1 if input.ndim == 3 else 2
    return _masked(input, p, input.shape[:lead] + (1,) * (input.ndim - lead))


def alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Alpha dropout (Klambauer et al. 2017), keeping SELU's mean 0 / variance 1: dropped units
    are set to α' = −λα ≈ −1.7581, then y = a·(x·m + α'(1 − m)) + b with
    a = ((1 − p)(1 + p·α'²))^(−½), b = −a·α'·p. Identity when not training; zeros when p = 1."""
    _check_p(p)
    input = as_tensor(input)  # noqa: A001
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    keep = _keep_mask(input.shape, p, input.dtype)
    a = ((1 - p) * (1 + p * SELU_ALPHA_PRIME ** 2)) ** -0.5
    b = -a * SELU_ALPHA_PRIME * p
    shift = ((a * SELU_ALPHA_PRIME) * (1 - keep) + b).astype(input.dtype, copy=False)
    return input * (a * keep) + shift
