"""AlexNet (Krizhevsky et al. 2012), the single-tower 96-256-384-384-256 layout, 3×227×227 input."""
from __future__ import annotations

from ..containers import Flatten, Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ..layers.pooling import AdaptiveAvgPool2d, MaxPool2d
from ..module import Module

__all__ = ["AlexNet", "alexnet"]


class AlexNet(Module):
    """conv 96 (11×11/4) → pool → conv 256 (5×5, pad 2) → pool → conv 384, 384, 256 (3×3, pad 1)
    → pool (6×6 for 227×227 input; an adaptive average pool makes other sizes work) → dropout →
    fc 4096 → dropout → fc 4096 → fc num_classes, ReLU after every conv/hidden fc
    (62,378,344 parameters for 1000 classes; no local response normalization)."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = Sequential(
            Conv2d(3, 96, 11, stride=4), ReLU(), MaxPool2d(3, stride=2),
            Conv2d(96, 256, 5, padding=2), ReLU(), MaxPool2d(3, stride=2),
            Conv2d(256, 384, 3, padding=1), ReLU(),
            Conv2d(384, 384, 3, padding=1), ReLU(),
            Conv2d(384, 256, 3, padding=1), ReLU(), MaxPool2d(3, stride=2))
        self.avgpool = AdaptiveAvgPool2d((6, 6))
        self.classifier = Sequential(
            Flatten(), Dropout(dropout), Linear(256 * 6 * 6, 4096), ReLU(),
            Dropout(dropout), Linear(4096, 4096), ReLU(), Linear(4096, num_classes))

    def forward(self, x):
        x = self.features(x)
        if tuple(x.shape[2:]) != (6, 6):
            x = self.avgpool(x)
        return self.classifier(x)


def alexnet(num_classes=1000, **kwargs) -> AlexNet:
    """An :class:`AlexNet` for 3×227×227 images."""
    return AlexNet(num_classes=num_classes, **kwargs)
