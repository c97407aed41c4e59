"""``Dropout1d``: channel dropout for (N, C, L) / (C, L) inputs (active in ``train()`` only)."""
from __future__ import annotations

from ..functional.dropout1d import dropout1d
from .dropout import _DropoutNd

__all__ = ["Dropout1d"]


class Dropout1d(_DropoutNd):
    """Zero whole channels with probability p, scale the rest by 1/(1 − p); identity in eval."""

    def forward(self, input):  # noqa: A002
        return dropout1d(input, self.p, self.training)
