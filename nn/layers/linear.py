"""``Linear`` (y = x Wᵀ + b) and ``Maxout`` (y = max over k linear pieces)."""
from __future__ import annotations

import math

import numpy as np

from engine import dtypes

from .. import init
from ..functional.linear import linear
from ..module import Module
from ..validation import size_arg
from ..parameter import Parameter
from ..regularizers import Regularized

__all__ = ["Linear", "Maxout"]


def _empty(shape, dtype):
    return Parameter(np.empty(shape, dtype=np.dtype(dtype) if dtype is not None else dtypes.get_default_dtype()))


def _reset(weight, bias):
    """PyTorch's default: kaiming_uniform_(a=√5) on weight, i.e. U(±1/√fan_in), bias U(±1/√fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Regularized, Module):
    """y = x Wᵀ + b, W of shape (out_features, in_features), b of shape (out_features,).

    Init as PyTorch: W, b ~ U(−1/√in_features, 1/√in_features). Keras-style
    ``kernel_regularizer``/``bias_regularizer``/``activity_regularizer`` feed
    ``regularization_loss()``.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None):
        super().__init__()
        self.in_features = size_arg(in_features, "in_features", "Linear")
        self.out_features = size_arg(out_features, "out_features", "Linear")
        self.weight = _empty((self.out_features, self.in_features), dtype)
        if bias:
            self.bias = _empty((self.out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.set_regularizers(kernel_regularizer, bias_regularizer, activity_regularizer)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw the parameters with the default init."""
        _reset(self.weight, self.bias)

    def forward(self, input):  # noqa: A002
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Maxout(Regularized, Module):
    """Maxout (Goodfellow et al. 2013): y_j = max_{i<k} (x W_iᵀ + b_i)_j over ``pieces`` = k linear
    pieces. ``weight`` has shape (k·out_features, in_features): piece i is rows
    [i·out_features, (i+1)·out_features). Init as Linear.
    """

    def __init__(self, in_features, out_features, pieces=2, bias=True, device=None, dtype=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None):
        super().__init__()
        self.pieces = size_arg(pieces, "pieces", "Maxout", 1)
        self.in_features = size_arg(in_features, "in_features", "Maxout")
        self.out_features = size_arg(out_features, "out_features", "Maxout")
        rows = self.pieces * self.out_features
        self.weight = _empty((rows, self.in_features), dtype)
        if bias:
            self.bias = _empty((rows,), dtype)
        else:
            self.register_parameter("bias", None)
        self.set_regularizers(kernel_regularizer, bias_regularizer, activity_regularizer)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw the parameters with Linear's default init."""
        _reset(self.weight, self.bias)

    def forward(self, input):  # noqa: A002
        z = linear(input, self.weight, self.bias)
        z = z.reshape(*z.shape[:-1], self.pieces, self.out_features)
        return z.amax(dim=-2)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")
