"""LeNet-5 (LeCun et al. 1998) for 1×28×28 input (conv1 padded by 2, as the 32×32 original)."""
from __future__ import annotations

from ..containers import Flatten, Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..layers.pooling import MaxPool2d
from ..module import Module

__all__ = ["LeNet5", "lenet5"]


class LeNet5(Module):
    """conv(1→6, 5×5, pad 2) → ReLU → maxpool 2 → conv(6→16, 5×5) → ReLU → maxpool 2 →
    flatten(16·5·5) → fc 120 → ReLU → fc 84 → ReLU → fc num_classes  (61,706 parameters for 10
    classes). Modern choices: ReLU and max pooling instead of the original tanh and subsampling."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = Sequential(
            Conv2d(in_channels, 6, 5, padding=2), ReLU(), MaxPool2d(2),
            Conv2d(6, 16, 5), ReLU(), MaxPool2d(2))
        self.classifier = Sequential(
            Flatten(), Linear(16 * 5 * 5, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def lenet5(num_classes=10, **kwargs) -> LeNet5:
    """A :class:`LeNet5` for 1×28×28 images."""
    return LeNet5(num_classes=num_classes, **kwargs)
