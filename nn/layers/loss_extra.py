"""``SmoothL1Loss`` and ``KLDivLoss`` modules (PyTorch names, arguments and defaults)."""
from __future__ import annotations

from ..functional import loss_extra as F
from .loss import _Loss

__all__ = ["SmoothL1Loss", "KLDivLoss"]


class SmoothL1Loss(_Loss):
    """ℓ = ½(x − y)²/β where |x − y| < β, else |x − y| − ½β; reduced (see ``F.smooth_l1_loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class KLDivLoss(_Loss):
    """ℓ = p·(log p − q) for log-probabilities q = input and target p (see ``F.kl_div``);
    ``reduction`` may also be ``'batchmean'`` (the per-sample KL divergence)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__()
            self.reduction = "batchmean"
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


