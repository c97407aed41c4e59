"""PyTorch's other elementwise functions of two tensors: ``atan2 hypot fmod remainder`` (each a
``BinaryOp``: broadcasting, promotion and the reduction of gradients to each input's shape are the
base class's) and ``lerp`` (a composition). Derivatives as PyTorch's derivatives.yaml."""
from __future__ import annotations

import numpy as np

from ._util import payload
from .elementwise import BinaryOp


def _truncated_quotient(a, b):
    """trunc(a / b) on the payloads: piecewise constant, so a constant even in double backward."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.trunc(payload(a) / payload(b))


class Atan2(BinaryOp):
    """out = atan2(a, b), the angle of the point (b, a);  da = g · b / (a² + b²),
    db = −g · a / (a² + b²)."""

    op = np.arctan2

    @staticmethod
    def da(g, a, b, out):
        return g * b / (a * a + b * b)

    @staticmethod
    def db(g, a, b, out):
        return -g * a / (a * a + b * b)


class Hypot(BinaryOp):
    """out = √(a² + b²);  da = g · a / out, db = g · b / out."""

    op = np.hypot
    saves = "ab+out"

    @staticmethod
    def da(g, a, b, out):
        return g * a / out

    @staticmethod
    def db(g, a, b, out):
        return g * b / out


class Fmod(BinaryOp):
    """out = a − b · trunc(a / b) (C's fmod: the sign of a);  da = g, db = −g · trunc(a / b)."""

    op = np.fmod

    @staticmethod
    def da(g, a, b, out):
        return g

    @staticmethod
    def db(g, a, b, out):
        return -g * _truncated_quotient(a, b)


class Remainder(BinaryOp):
    """out = a − b · ⌊a / b⌋ (Python's %: the sign of b);  da = g, db = −g · (a // b) (floor
    division as Python's and PyTorch's: exact near integers, NaN for an infinite a)."""

    op = np.remainder

    @staticmethod
    def da(g, a, b, out):
        return g

    @staticmethod
    def db(g, a, b, out):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -g * np.floor_divide(payload(a), payload(b))


def lerp(input, end, weight):  # noqa: A002
    """input + weight · (end − input) (weight a number or a tensor, broadcasting)."""
    return input + weight * (end - input)
