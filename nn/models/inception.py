"""The GoogLeNet Inception block (Szegedy et al. 2014): four parallel branches concatenated."""
from __future__ import annotations

from engine import cat

from ..containers import Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.pooling import MaxPool2d
from ..module import Module

__all__ = ["InceptionBlock"]


class InceptionBlock(Module):
    """out = cat([b1(x), b2(x), b3(x), b4(x)], dim=1) with
    b1 = 1×1 conv ``ch1x1``;  b2 = 1×1 conv ``ch3x3red`` → 3×3 conv ``ch3x3``;
    b3 = 1×1 conv ``ch5x5red`` → 5×5 conv ``ch5x5``;  b4 = 3×3/1 max pool → 1×1 conv ``pool_proj``;
    every conv followed by ReLU, spatial size preserved. Output channels:
    ``ch1x1 + ch3x3 + ch5x5 + pool_proj``."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = Sequential(Conv2d(in_channels, ch1x1, 1), ReLU())
        self.branch2 = Sequential(Conv2d(in_channels, ch3x3red, 1), ReLU(),
                                  Conv2d(ch3x3red, ch3x3, 3, padding=1), ReLU())
        self.branch3 = Sequential(Conv2d(in_channels, ch5x5red, 1), ReLU(),
                                  Conv2d(ch5x5red, ch5x5, 5, padding=2), ReLU())
        self.branch4 = Sequential(MaxPool2d(3, stride=1, padding=1), Conv2d(in_channels, pool_proj, 1), ReLU())
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)
