"""Modules of ``nn.functional.activation_shrink`` and ``Softmax2d`` (PyTorch names and defaults):
``Threshold Hardshrink Softshrink Tanhshrink CELU Softmin GLU Softmax2d``."""
from __future__ import annotations

from engine import as_tensor

from ..functional import activation as FA
from ..functional import activation_shrink as F
from ..module import Module

__all__ = ["Threshold", "Hardshrink", "Softshrink", "Tanhshrink", "CELU", "Softmin", "GLU", "Softmax2d"]


class Threshold(Module):
    """Threshold(x) = x if x > threshold else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):  # noqa: A002
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}"


class Hardshrink(Module):
    """Hardshrink(x) = x if |x| > λ else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):  # noqa: A002
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """Softshrink(x) = x − λ if x > λ, x + λ if x < −λ, else 0."""

    def forward(self, input):  # noqa: A002
        return F.softshrink(input, self.lambd)


class Tanhshrink(Module):
    """Tanhshrink(x) = x − tanh(x)."""

    def forward(self, input):  # noqa: A002
        return F.tanhshrink(input)


class CELU(Module):
    """CELU(x) = max(0, x) + min(0, α(e^(x/α) − 1))."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):  # noqa: A002
        return F.celu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softmin(Module):
    """softmin(x) = softmax(−x) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.softmin(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GLU(Module):
    """GLU(a ‖ b) = a ⊗ σ(b), halves along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels of a (C, H, W) or (N, C, H, W) input (dim −3)."""

    def forward(self, input):  # noqa: A002
        input = as_tensor(input)  # noqa: A001
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got {input.ndim}-D {tuple(input.shape)}")
        return FA.softmax(input, -3)
