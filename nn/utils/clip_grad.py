"""Gradient clipping (PyTorch semantics): ``clip_grad_norm_`` and ``clip_grad_value_``."""
from __future__ import annotations

import math

import numpy as np


def _grads(parameters):
    if isinstance(getattr(parameters, "_data", None), np.ndarray):
        parameters = [parameters]
    return [p.grad._data for p in parameters if p.grad is not None]


def _norm(g, norm_type):
    a = np.abs(g.reshape(-1).astype(np.float64, copy=False))
    if a.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(a.max())
    if norm_type == -math.inf:
        return float(a.min())
    if norm_type == 0:
        return float(np.count_nonzero(a))
    if norm_type == 2:
        return float(math.sqrt(np.dot(a, a)))
    if norm_type == 1:
        return float(a.sum())
    return float(np.sum(a ** norm_type) ** (1.0 / norm_type))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    r"""Scale all gradients in place so that their joint norm is at most ``max_norm``.

    total = ‖(‖g₁‖ₚ, …, ‖gₖ‖ₚ)‖ₚ  (p = ``norm_type``, ``inf`` for the max-norm);
    every g ← g · min(1, max_norm / (total + 1e-6)).  Returns ``total`` as a 0-d Tensor
    (the norm *before* clipping).  ``foreach`` is accepted for compatibility and ignored.
    """
    from engine import Tensor
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    norms = np.array([_norm(g, norm_type) for g in grads])
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(max_norm / (total + 1e-6), 1.0) if not math.isnan(total) else math.nan
    for g in grads:
        np.multiply(g, g.dtype.type(coef), out=g)
    return Tensor(np.array(total, dtype=np.result_type(*[g.dtype for g in grads])))


def clip_grad_value_(parameters, clip_value, foreach=None):
    r"""Clamp every gradient element in place to [−clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
