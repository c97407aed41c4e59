"""Thresholding and shrinking activations, and the softmax/gating variants, with PyTorch's names,
arguments and gradients: ``threshold hardshrink softshrink tanhshrink celu softmin glu``.
The pointwise ones are fused Functions (forward stores f'(x) and, for the selects, where the
gradient passes: an infinite upstream gradient gives 0 where the input was cut, as PyTorch)."""
from __future__ import annotations

import numbers

import numpy as np

from engine import as_tensor

from .activation import _pointwise, softmax

__all__ = ["threshold", "hardshrink", "softshrink", "tanhshrink", "celu", "softmin", "glu"]


def _threshold(x, threshold, value, need):
    """out = x where x > threshold else value;  f' = 1 where x > threshold (NaN passes), else 0."""
    cut = x <= threshold
    return np.where(cut, np.asarray(value, x.dtype), x), ((None, ~cut) if need else None)


def _inside(x, lambd):
    return (x >= -lambd) & (x <= lambd)


def _hardshrink(x, lambd, need):
    """out = x where |x| > λ else 0;  f' = 0 on [−λ, λ] (a select), else 1."""
    inside = _inside(x, lambd)
    return np.where(inside, np.zeros((), x.dtype), x), ((None, ~inside) if need else None)


def _softshrink(x, lambd, need):
    """out = x − clip(x, −λ, λ): x − λ for x > λ, x + λ for x < −λ, else 0 (NaN stays NaN);
    f' = 0 on [−λ, λ] (a select), else 1."""
    out = x - np.clip(x, -lambd, lambd)
    return out, ((None, ~_inside(x, lambd)) if need else None)


def _tanhshrink(x, need):
    """out = x − tanh x;  f' = tanh² x."""
    t = np.tanh(x)
    return x - t, (t * t if need else None)


def _celu(x, alpha, need):
    """out = x for x > 0, else α(e^(x/α) − 1);  f' = e^(x/α) where x <= 0, else 1 (NaN included)."""
    neg = alpha * np.expm1(np.minimum(x, 0) / alpha)
    return np.where(x > 0, x, neg).astype(x.dtype, copy=False), \
        (np.where(x <= 0, np.exp(np.minimum(x, 0) / alpha), 1.0) if need else None)


_Threshold = _pointwise("Threshold", _threshold)
_Hardshrink = _pointwise("Hardshrink", _hardshrink)
_Softshrink = _pointwise("Softshrink", _softshrink)
_Tanhshrink = _pointwise("Tanhshrink", _tanhshrink)
_CELU = _pointwise("CELU", _celu)


def _number(name, arg, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}(): argument '{arg}' must be a number, got {type(value).__name__}")
    return float(value)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """Threshold(x) = x if x > threshold else value."""
    return _Threshold.apply(as_tensor(input), _number("threshold", "threshold", threshold),
                            _number("threshold", "value", value))


def _lambd(name, lambd):
    lambd = _number(name, "lambd", lambd)
    if not lambd >= 0:
        raise ValueError(f"{name}: lambd must be greater or equal to 0, got {lambd}")
    return lambd


def hardshrink(input, lambd=0.5):  # noqa: A002
    """Hardshrink(x) = x if |x| > λ else 0."""
    return _Hardshrink.apply(as_tensor(input), _number("hardshrink", "lambd", lambd))


def softshrink(input, lambd=0.5):  # noqa: A002
    """Softshrink(x) = x − λ if x > λ, x + λ if x < −λ, else 0 (λ >= 0)."""
    return _Softshrink.apply(as_tensor(input), _lambd("softshrink", lambd))


def tanhshrink(input):  # noqa: A002
    """Tanhshrink(x) = x − tanh(x)."""
    return _Tanhshrink.apply(as_tensor(input))


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """CELU(x) = max(0, x) + min(0, α(e^(x/α) − 1)) (α ≠ 0)."""
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the input is divided by it)")
    return _CELU.apply(as_tensor(input), alpha)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """softmin(x) = softmax(−x) along ``dim``."""
    input = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)  # noqa: A001
    return softmax(-input, dim)


def glu(input, dim=-1):  # noqa: A002
    """GLU(a ‖ b) = a ⊗ σ(b): the input is split in halves a, b along ``dim`` (its size must be even)."""
    input = as_tensor(input)  # noqa: A001
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"glu(): argument 'dim' must be an int, got {type(dim).__name__}")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for a {input.ndim}-D input")
    d = int(dim) % input.ndim
    size = input.shape[d]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    a, b = input.chunk(2, d)
    return a * b.sigmoid()
