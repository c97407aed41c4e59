"""Dropout modules (active in ``train()``, identity in ``eval()``) and ``DropConnect``."""
from __future__ import annotations

from ..functional.dropout import _check_p, alpha_dropout, dropout, dropout2d
from ..functional.linear import linear
from ..module import Module

__all__ = ["Dropout", "Dropout2d", "AlphaDropout", "DropConnect"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1 − p)
    in training; identity in eval."""

    def forward(self, input):  # noqa: A002
        return dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Spatial dropout: zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability
    p, scale the rest by 1/(1 − p); identity in eval."""

    def forward(self, input):  # noqa: A002
        return dropout2d(input, self.p, self.training)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: keeps mean 0 and variance 1 (see ``F.alpha_dropout``)."""

    def forward(self, input):  # noqa: A002
        return alpha_dropout(input, self.p, self.training)


class DropConnect(Module):
    """DropConnect (Wan et al. 2013) around a ``Linear``: in training each forward draws a fresh
    mask M ~ Bernoulli(1 − p) over the weight and computes y = x (W ⊙ M / (1 − p))ᵀ + b (the bias
    is not dropped); in eval y = x Wᵀ + b."""

    def __init__(self, module, p=0.5):
        super().__init__()
        _check_p(p)
        if getattr(module, "weight", None) is None or getattr(module.weight, "ndim", 0) != 2:
            raise TypeError(f"DropConnect wraps a Linear-like module with a 2-D weight, got "
                            f"{type(module).__name__}")
        self.module, self.p = module, p

    def forward(self, input):  # noqa: A002
        if not self.training:
            return self.module(input)
        weight = dropout(self.module.weight, self.p, True)
        return linear(input, weight, self.module.bias)

    def extra_repr(self):
        return f"p={self.p}"
