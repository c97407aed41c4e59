"""Keras-style weight/activity regularizers: callables mapping a Tensor to a 0-d penalty Tensor.

Pass them to a layer that accepts them (``nn.Linear(..., kernel_regularizer=nn.regularizers.l2(1e-4))``;
such layers inherit the ``Regularized`` mixin) and add ``model.regularization_loss()`` to the
training loss; the penalty is differentiable. A plain ``Module`` carries none of this.
"""
from __future__ import annotations

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "Regularized"]


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


def _record_activity_penalty(module, inputs, output):
    """Forward hook of a Regularized module: keep activity_regularizer(output) for
    ``regularization_terms``."""
    module.__dict__["_activity_penalty"] = module.activity_regularizer(output)


class Regularized:
    """Mixin for a Module with ``weight``/``bias`` parameters that accepts keras-style penalties
    (``class Linear(Regularized, Module)``; its constructor calls ``set_regularizers``).

    ``kernel_regularizer(weight)`` and ``bias_regularizer(bias)`` are evaluated when
    ``regularization_terms()`` is called; ``activity_regularizer(output)`` is evaluated by a
    forward hook (registered only while an activity regularizer is set, so a layer without one
    pays nothing per call) and the penalty of the last output is kept. The hook runs in
    registration order among the module's forward hooks: it sees the output of the forward
    hooks registered before it was set.
    """

    kernel_regularizer = None
    bias_regularizer = None
    _activity_regularizer = None
    _activity_hook = None
    _activity_penalty = None

    def set_regularizers(self, kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None):
        """Attach keras-style penalties: on ``weight``, on ``bias``, and on this module's output
        (None removes one)."""
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = activity_regularizer

    @property
    def activity_regularizer(self):
        """The penalty on this module's output (None: none); setting it (un)registers the hook
        and forgets the last output's penalty."""
        return self._activity_regularizer

    @activity_regularizer.setter
    def activity_regularizer(self, regularizer):
        if regularizer is not None and not callable(regularizer):
            raise TypeError(f"activity_regularizer must be callable or None, got {type(regularizer).__name__}")
        if self._activity_hook is not None:
            self._activity_hook.remove()
        d = self.__dict__
        d["_activity_regularizer"] = regularizer
        d["_activity_penalty"] = None
        d["_activity_hook"] = (self.register_forward_hook(_record_activity_penalty)
                               if regularizer is not None else None)

    def regularization_terms(self):
        """This module's own penalties: kernel_regularizer(weight), bias_regularizer(bias), and
        the activity_regularizer of its last output (each only when set)."""
        terms = []
        w, b = self._parameters.get("weight"), self._parameters.get("bias")
        if self.kernel_regularizer is not None and w is not None:
            terms.append(self.kernel_regularizer(w))
        if self.bias_regularizer is not None and b is not None:
            terms.append(self.bias_regularizer(b))
        if self._activity_penalty is not None:
            terms.append(self._activity_penalty)
        return terms
