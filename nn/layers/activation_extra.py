"""More activation modules (PyTorch names and defaults), each wrapping the function of the same
name in ``nn.functional``; ``inplace=`` is accepted and ignored (every op is out of place)."""
from __future__ import annotations

from ..functional import activation_extra as F
from ..module import Module

__all__ = ["SiLU", "Mish", "ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign"]


class _Inplace(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SiLU(_Inplace):
    """SiLU(x) = x · σ(x)."""

    def forward(self, input):  # noqa: A002
        return F.silu(input)


class Mish(_Inplace):
    """Mish(x) = x · tanh(softplus(x))."""

    def forward(self, input):  # noqa: A002
        return F.mish(input)


class Hardtanh(Module):
    """Hardtanh(x) = min(max(x, min_val), max_val)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """ReLU6(x) = min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)


class Hardswish(_Inplace):
    """Hardswish(x) = x · ReLU6(x + 3) / 6."""

    def forward(self, input):  # noqa: A002
        return F.hardswish(input)


class Hardsigmoid(_Inplace):
    """Hardsigmoid(x) = ReLU6(x + 3) / 6."""

    def forward(self, input):  # noqa: A002
        return F.hardsigmoid(input)


class LogSigmoid(Module):
    """LogSigmoid(x) = log σ(x)."""

    def forward(self, input):  # noqa: A002
        return F.logsigmoid(input)


class Softsign(Module):
    """Softsign(x) = x / (1 + |x|)."""

    def forward(self, input):  # noqa: A002
        return F.softsign(input)
