"""Activation modules (PyTorch names and defaults); each wraps the function of the same name in
``nn.functional``. ``inplace=`` is accepted and ignored (every op is out of place)."""
from __future__ import annotations

import numpy as np

from engine import dtypes

from ..functional import activation as F
from ..module import Module
from ..validation import size_arg
from ..parameter import Parameter

__all__ = ["ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "Softplus", "Sigmoid", "Tanh",
           "GELU", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """ReLU(x) = max(0, x)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.relu(input)


class LeakyReLU(Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope · x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):  # noqa: A002
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """PReLU(x) = x if x > 0 else a·x with learnable ``weight`` a of shape (num_parameters,),
    initialised to ``init``; one slope shared, or one per channel (dim 1)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = size_arg(num_parameters, "num_parameters", "PReLU", 1)
        dt = np.dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
        self.weight = Parameter(np.full((self.num_parameters,), init, dtype=dt))

    def forward(self, input):  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """x if x ≥ 0 else a·x; a ~ U(lower, upper) per element in training, (lower + upper)/2 in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):  # noqa: A002
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}"


class ELU(Module):
    """ELU(x) = x if x > 0 else α(eˣ − 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):  # noqa: A002
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(Module):
    """SELU(x) = scale · ELU_α(x), α = 1.6732632423543772848170429916717,
    scale = 1.0507009873554804934193349852946."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.selu(input)


class Softplus(Module):
    """Softplus(x) = (1/β) log(1 + e^(βx)), linear where βx > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ)."""

    def forward(self, input):  # noqa: A002
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input):  # noqa: A002
        return F.tanh(input)


class GELU(Module):
    """GELU(x) = x·Φ(x) (``approximate='tanh'``: the tanh approximation)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):  # noqa: A002
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax(x)ᵢ = xᵢ − log Σⱼ e^(xⱼ) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
