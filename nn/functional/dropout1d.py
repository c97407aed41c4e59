"""``dropout1d``: channel dropout for sequences — zeros whole channels of (N, C, L) or (C, L)."""
from __future__ import annotations

from engine import Tensor

from .dropout import _check_p, _masked

__all__ = ["dropout1d"]


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero each channel — per (n, c) of an (N, C, L) input, per c of a (C, L) input — with
    probability p and scale the kept ones by 1 / (1 − p); identity when not training."""
    _check_p(p)
    input = input if isinstance(input, Tensor) else Tensor(input)  # noqa: A001
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    return _masked(input, p, input.shape[:-1] + (1,))
