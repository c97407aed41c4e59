"""Keras-style weight/activity regularizers: callables mapping a Tensor to a 0-d penalty Tensor.

Pass them to a layer (``nn.Linear(..., kernel_regularizer=nn.regularizers.l2(1e-4))``) and add
``model.regularization_loss()`` to the training loss; the penalty is differentiable.
"""
from __future__ import annotations

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2"]


def _check(name, value):
    value = float(value)
    if not value >= 0:
        raise ValueError(f"{name} regularization factor must be a non-negative number, got {value}")
    return value


class Regularizer:
    """Base class: ``__call__(x)`` returns the penalty of tensor ``x``."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments (as Keras)."""
        return dict(self.__dict__)

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """penalty(x) = l1 · Σ|x| + l2 · Σ x²."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check("l1", l1)
        self.l2 = _check("l2", l2)

    def __call__(self, x):
        total = None
        if self.l1:
            total = self.l1 * x.abs().sum()
        if self.l2:
            sq = self.l2 * (x * x).sum()
            total = sq if total is None else total + sq
        return total if total is not None else (x * 0).sum()


class L1(L1L2):
    """penalty(x) = l1 · Σ|x| (lasso: drives weights to exactly zero)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1, l2=0.0)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """penalty(x) = l2 · Σ x² (weight decay; no factor 1/2, as Keras)."""

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l=0.01):  # noqa: E741
    """An L1 regularizer: x ↦ l · Σ|x|."""
    return L1(l)


def l2(l=0.01):  # noqa: E741
    """An L2 regularizer: x ↦ l · Σ x²."""
    return L2(l)


def l1_l2(l1=0.01, l2=0.01):  # noqa: A002
    """An elastic-net regularizer: x ↦ l1 · Σ|x| + l2 · Σ x²."""
    return L1L2(l1=l1, l2=l2)
