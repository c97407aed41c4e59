"""More activation functions with PyTorch's names and defaults — ``silu mish relu6 hardtanh
hardswish hardsigmoid logsigmoid softsign`` — each one fused Function (forward stores f'(x)).
At the kinks of the piecewise ones the derivative is PyTorch's (0 at hardtanh's bounds).
``inplace=`` is accepted and ignored (every op is out of place)."""
from __future__ import annotations

import numpy as np

from engine import as_tensor
from engine.ops.unary import sigmoid_array

from .activation import _pointwise

__all__ = ["silu", "mish", "relu6", "hardtanh", "hardswish", "hardsigmoid", "logsigmoid", "softsign"]


def _silu(x, need):
    """out = x·σ(x);  f' = σ(x)(1 + x(1 − σ(x)))."""
    s = sigmoid_array(x)
    return x * s, (s * (1 + x * (1 - s)) if need else None)


def _mish(x, need):
    """out = x·tanh(softplus(x));  f' = tanh(sp) + x·σ(x)(1 − tanh²(sp))."""
    t = np.tanh(np.logaddexp(0, x))
    return x * t, (t + x * sigmoid_array(x) * (1 - t * t) if need else None)


def _hardtanh(x, lo, hi, need):
    """out = min(max(x, lo), hi);  f' = 0 where x <= lo or x >= hi (a select), else 1 (NaN included, as PyTorch)."""
    return np.clip(x, lo, hi), ((None, ~((x <= lo) | (x >= hi))) if need else None)


def _hardswish(x, need):
    """out = x·min(max(x + 3, 0), 6)/6;  f' = 0 for x <= −3 (a select), x/3 + ½ for −3 < x < 3,
    else 1 (x = ±3 and NaN included: PyTorch's hardswish_backward)."""
    out = x * np.clip(x + 3, 0, 6) / 6
    return out, ((np.where(x < 3, x / 3 + 0.5, 1.0), ~(x <= -3)) if need else None)


def _hardsigmoid(x, need):
    """out = min(max(x/6 + ½, 0), 1);  f' = 1/6 for −3 < x < 3, else 0 (a select)."""
    return np.clip(x / 6 + 0.5, 0, 1), ((1 / 6, (x > -3) & (x < 3)) if need else None)


def _logsigmoid(x, need):
    """out = log σ(x) = −log(1 + e⁻ˣ) (stable);  f' = 1 − σ(x) = σ(−x)."""
    return -np.logaddexp(0, -x), (sigmoid_array(-x) if need else None)


def _softsign(x, need):
    """out = x / (1 + |x|);  f' = 1 / (1 + |x|)²."""
    d = 1 + np.abs(x)
    return x / d, (1 / (d * d) if need else None)


_SiLU = _pointwise("SiLU", _silu)
_Mish = _pointwise("Mish", _mish)
_Hardtanh = _pointwise("Hardtanh", _hardtanh)
_Hardswish = _pointwise("Hardswish", _hardswish)
_Hardsigmoid = _pointwise("Hardsigmoid", _hardsigmoid)
_LogSigmoid = _pointwise("LogSigmoid", _logsigmoid)
_Softsign = _pointwise("Softsign", _softsign)


def silu(input, inplace=False):  # noqa: A002
    """SiLU(x) = x · σ(x) (also called swish)."""
    return _SiLU.apply(as_tensor(input))


def mish(input, inplace=False):  # noqa: A002
    """Mish(x) = x · tanh(softplus(x))."""
    return _Mish.apply(as_tensor(input))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """Hardtanh(x) = min(max(x, min_val), max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
    return _Hardtanh.apply(as_tensor(input), min_val, max_val)


def relu6(input, inplace=False):  # noqa: A002
    """ReLU6(x) = min(max(x, 0), 6)."""
    return _Hardtanh.apply(as_tensor(input), 0.0, 6.0)


def hardswish(input, inplace=False):  # noqa: A002
    """Hardswish(x) = x · ReLU6(x + 3) / 6."""
    return _Hardswish.apply(as_tensor(input))


def hardsigmoid(input, inplace=False):  # noqa: A002
    """Hardsigmoid(x) = ReLU6(x + 3) / 6."""
    return _Hardsigmoid.apply(as_tensor(input))


def logsigmoid(input):  # noqa: A002
    """LogSigmoid(x) = log(1 / (1 + e⁻ˣ))."""
    return _LogSigmoid.apply(as_tensor(input))


def softsign(input):  # noqa: A002
    """Softsign(x) = x / (1 + |x|)."""
    return _Softsign.apply(as_tensor(input))
