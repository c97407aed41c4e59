"""``smooth_l1_loss`` and ``kl_div`` with PyTorch's arguments, defaults and reductions."""
from __future__ import annotations

import warnings

from engine import Tensor, log, where

from .loss import _same_shape_pair, _reduce, _reduction, huber_loss, l1_loss

__all__ = ["smooth_l1_loss", "kl_div"]


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """ℓ = ½(x − y)²/β where |x − y| < β, else |x − y| − ½β (= Huber(δ=β)/β; L1 when β = 0);
    reduced by ``reduction``."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return huber_loss(input, target, reduction=reduction, delta=beta) / beta


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """Kullback-Leibler divergence with ``input`` = log-probabilities q and ``target`` = p
    (probabilities, or log-probabilities when ``log_target``): ℓ = p·(log p − q), 0 where p = 0.

    ``reduction``: ``'mean'`` (over all elements, PyTorch's default, which is not the true KL),
    ``'batchmean'`` (sum / batch size: the KL divergence per sample), ``'sum'`` or ``'none'``."""
    if reduction == "batchmean":
        if size_average is not None or reduce is not None:
            reduction = _reduction(size_average, reduce, "mean")
    else:
        reduction = _reduction(size_average, reduce, reduction)
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                          "support size. 'batchmean' divides only by the batch size, and aligns with "
                          "the KL div math definition.", stacklevel=2)
    input, target = _same_shape_pair("kl_div", input, target)  # noqa: A001
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        safe = where(positive, target, Tensor(1.0, dtype=target.dtype))
        loss = where(positive, target * (log(safe) - input), Tensor(0.0, dtype=input.dtype) * input)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)
