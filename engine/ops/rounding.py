"""Piecewise-constant and cleaning ops: ``floor ceil trunc round sign`` (gradient 0 almost everywhere,
as PyTorch), ``nan_to_num`` (gradient 1 where the input is finite, else 0) and the tests
``isnan isinf isfinite`` (bool, no gradient)."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import copy_keeping_dtype, where_kept


class _Flat(Function):
    """Base of ops whose derivative is 0 wherever it exists: da = 0 (zeros, as PyTorch: not
    ``0 · g``, which is NaN for an infinite or NaN g)."""
    raw = True

    @staticmethod
    def backward(ctx, g, *rest):
        return (where_kept(g, False),) + (None,) * len(ctx.needs_input_grad[1:])


class Floor(_Flat):
    """out = ⌊a⌋;  da = 0."""
    @staticmethod
    def forward(ctx, a):
        return np.floor(a)


class Ceil(_Flat):
    """out = ⌈a⌉;  da = 0."""
    @staticmethod
    def forward(ctx, a):
        return np.ceil(a)


class Round(_Flat):
    """out = a rounded to ``decimals`` places, halves to even (as PyTorch);  da = 0."""
    @staticmethod
    def forward(ctx, a, decimals):
        return np.round(a, decimals)


class Trunc(_Flat):
    """out = a rounded towards zero;  da = 0."""
    @staticmethod
    def forward(ctx, a):
        return np.trunc(a)


def sign_array(a):
    """sign(a) ∈ {−1, 0, 1}, and 0 for NaN (PyTorch's ``sign``; NumPy's gives NaN)."""
    s = np.sign(a)
    if s.dtype.kind == "f":
        s = np.where(np.isnan(s), np.zeros((), s.dtype), s) if np.isnan(s).any() else s
    return s


class Sign(_Flat):
    """out = sign(a) ∈ {−1, 0, 1} (0 for NaN, as PyTorch);  da = 0."""
    @staticmethod
    def forward(ctx, a):
        return sign_array(a)


def _is_int(x) -> bool:
    return x.dtype.kind in "biu"


def floor(input):  # noqa: A002
    """⌊x⌋ elementwise (integer tensors are returned unchanged, copied)."""
    return copy_keeping_dtype(input) if _is_int(input) else Floor.apply(input)


def ceil(input):  # noqa: A002
    """⌈x⌉ elementwise (integer tensors are returned unchanged, copied)."""
    return copy_keeping_dtype(input) if _is_int(input) else Ceil.apply(input)


def trunc(input):  # noqa: A002
    """x rounded towards zero elementwise (integer tensors are returned unchanged, copied)."""
    return copy_keeping_dtype(input) if _is_int(input) else Trunc.apply(input)


def round(input, decimals=0):  # noqa: A001,A002
    """x rounded to ``decimals`` decimal places, ties to even."""
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round(): decimals must be an int, got {decimals!r}")
    return copy_keeping_dtype(input) if _is_int(input) and decimals >= 0 else Round.apply(input, int(decimals))


def sign(input):  # noqa: A002
    """sign(x) elementwise: −1, 0 or 1 (bool stays bool)."""
    if input.dtype == np.bool_:
        return input._wrap(input.numpy().copy())
    return Sign.apply(input)


class NanToNum(Function):
    """out = a with NaN → nan, +inf → posinf, −inf → neginf;  da = g · [a finite]."""
    raw = True

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.meta = np.isfinite(a)
        return np.nan_to_num(a, copy=True, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.meta, None, None, None


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """Replace NaN by ``nan`` and ±inf by ``posinf``/``neginf`` (default: the dtype's largest /
    lowest finite value)."""
    if _is_int(input):
        return copy_keeping_dtype(input)
    return NanToNum.apply(input, nan, posinf, neginf)


def _test(fn, input):  # noqa: A002

    return input._wrap(np.asarray(fn(input.numpy())))


def isnan(input):  # noqa: A002
    """True where x is NaN (bool tensor, no gradient)."""
    return _test(np.isnan, input)


def isinf(input):  # noqa: A002
    """True where x is +inf or −inf (bool tensor, no gradient)."""
    return _test(np.isinf, input)


def isfinite(input):  # noqa: A002
    """True where x is neither NaN nor ±inf (bool tensor, no gradient)."""
    return _test(np.isfinite, input)
