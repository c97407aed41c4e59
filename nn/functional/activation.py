"""Activation functions (``F.relu``, ``F.gelu``, …) with PyTorch's names and defaults.

The pointwise ones are fused Functions: one graph node whose forward also stores the local
derivative f'(x), so backward is one multiply (no double backward for those).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import engine
from engine import Function, as_tensor
from engine.ops._util import where_kept
from engine.ops.erf import erf_array
from engine.ops.unary import sigmoid_array

__all__ = ["relu", "leaky_relu", "prelu", "rrelu", "elu", "selu", "softplus", "sigmoid", "tanh",
           "gelu", "softmax", "log_softmax", "erf"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class _Pointwise(Function):
    """out = f(x) with f'(x) computed in forward; dx = g · f'(x), or for a clipping function
    ``select(g · f'(x), keep)`` (0 where the input was clipped, even for an infinite g: PyTorch's
    hardtanh/hardsigmoid/hardswish backward select there; a product would give NaN)."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def backward(ctx, g, *_):
        d, keep = ctx.saved_tensors
        gx = g if d is None else g * d
        return (gx if keep is None else where_kept(gx, keep),) + (None,) * ctx.meta  # meta: # non-tensor args


def _pointwise(name, f):
    """A fused Function class whose ``f(x, *args, need_grad)`` returns ``(out, d)``: ``d`` is
    f'(x), or ``(f'(x) or None, keep)`` for a clipping function (``keep``: where g passes), or None
    when no gradient is needed."""

    def forward(ctx, x, *args):
        out, d = f(x, *args, ctx.needs_input_grad[0])
        if d is not None:
            d, keep = d if isinstance(d, tuple) else (d, None)
            ctx.meta = len(args)
            ctx.save_for_backward(None if d is None else np.asarray(d).astype(out.dtype, copy=False), keep)
        return out

    return type(name, (_Pointwise,), {"forward": staticmethod(forward), "__doc__": f.__doc__})


def _leaky(x, slope, need):
    """out = x if x > 0 else slope·x;  f' = 1 or slope."""
    pos = x > 0
    return np.where(pos, x, x * slope), (np.where(pos, 1.0, slope) if need else None)


def _elu(x, alpha, scale, need):
    """out = scale·x if x > 0 else scale·α(eˣ − 1);  f' = scale·α·eˣ where x <= 0, else scale (NaN
    included), as PyTorch's elu_backward. (f' as out/scale + α lost digits to cancellation: at
    x = −30 it was 1.7e-4 off in relative terms.)"""
    pos = x > 0
    neg = alpha * np.expm1(np.minimum(x, 0))
    out = np.where(pos, x, neg)
    if scale != 1:
        out *= scale
    return out, (scale * np.where(x <= 0, alpha * np.exp(np.minimum(x, 0)), 1.0) if need else None)


def _softplus(x, beta, threshold, need):
    """out = log(1 + e^(βx)) / β, or x where βx > threshold;  f' = σ(βx) (1 past the threshold)."""
    bx = x * beta
    lin = bx > threshold
    out = np.where(lin, x, np.logaddexp(0, bx) / beta)
    return out, (np.where(lin, 1.0, sigmoid_array(bx)) if need else None)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu(x, approximate, need):
    """'none': out = x·Φ(x), f' = Φ(x) + x·φ(x);  'tanh': out = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)."""
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = np.tanh(u)
        out = 0.5 * x * (1 + t)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x) if need else None
        return out, d
    cdf = (0.5 * (1 + erf_array(x * (1 / math.sqrt(2))))).astype(x.dtype, copy=False)
    d = cdf + x * np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi)) if need else None
    return x * cdf, d


_LeakyReLU = _pointwise("LeakyReLU", _leaky)
_ELU = _pointwise("ELU", _elu)
_Softplus = _pointwise("Softplus", _softplus)
_GELU = _pointwise("GELU", _gelu)


def erf(input):  # noqa: A002
    """The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, elementwise (``engine.erf``)."""
    return engine.erf(input)


# -- the activations ----------------------------------------------------------------------------
def relu(input, inplace=False):  # noqa: A002
    """ReLU(x) = max(0, x). ``inplace`` is accepted and ignored."""
    return engine.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """LeakyReLU(x) = x if x > 0 else negative_slope · x."""
    return _LeakyReLU.apply(as_tensor(input), negative_slope)


def _channel_weight(input, weight):
    """PReLU's weight broadcast on dim 1 (the channel dim) of ``input``."""
    n = weight._data.size
    if n == 1:
        return weight.reshape(())
    if input.ndim < 2 or input.shape[1] != n:
        raise ValueError(f"prelu: weight has {n} parameters but input {tuple(input.shape)} has "
                         f"{input.shape[1] if input.ndim >= 2 else 1} channels (dim 1)")
    return weight.reshape((n,) + (1,) * (input.ndim - 2))


def prelu(input, weight):  # noqa: A002
    """PReLU(x) = x if x > 0 else a·x, a = ``weight`` (one slope, or one per channel on dim 1)."""
    input = as_tensor(input)  # noqa: A001
    a = _channel_weight(input, weight)
    return engine.where(input._data > 0, input, input * a)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):  # noqa: A002
    """Randomized leaky ReLU: x if x ≥ 0 else a·x with a ~ U(lower, upper) drawn per element in
    training, a = (lower + upper)/2 in evaluation."""
    input = as_tensor(input)  # noqa: A001
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    a = engine.random.generator().uniform(lower, upper, input.shape)
    return input * np.where(input._data >= 0, 1, a).astype(input.dtype, copy=False)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """ELU(x) = x if x > 0 else α(eˣ − 1)."""
    return _ELU.apply(as_tensor(input), alpha, 1.0)


def selu(input, inplace=False):  # noqa: A002
    """SELU(x) = scale · (x if x > 0 else α(eˣ − 1)), α ≈ 1.6733, scale ≈ 1.0507 (self-normalising)."""
    return _ELU.apply(as_tensor(input), SELU_ALPHA, SELU_SCALE)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """Softplus(x) = (1/β) log(1 + e^(βx)); linear (x) where βx > threshold."""
    return _Softplus.apply(as_tensor(input), beta, threshold)


def sigmoid(input):  # noqa: A002
    """σ(x) = 1 / (1 + e⁻ˣ)."""
    return engine.sigmoid(input)


def tanh(input):  # noqa: A002
    """tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)."""
    return engine.tanh(input)


def gelu(input, approximate="none"):  # noqa: A002
    """GELU(x) = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)); with approximate='tanh':
    ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return _GELU.apply(as_tensor(input), approximate)


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim`` (cast to ``dtype`` first when given)."""
    input = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)  # noqa: A001
    return engine.softmax(input, _softmax_dim("softmax", input.ndim) if dim is None else dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """log_softmax(x)ᵢ = xᵢ − log Σⱼ e^(xⱼ) along ``dim``."""
    input = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)  # noqa: A001
    return engine.log_softmax(input, _softmax_dim("log_softmax", input.ndim) if dim is None else dim)
