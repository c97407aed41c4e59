"""VGG (Simonyan & Zisserman 2014), torchvision's layout: 3×3 convs + max pools, 3 fc layers."""
from __future__ import annotations

from ..containers import Flatten, Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ..layers.normalization import BatchNorm2d
from ..layers.pooling import AdaptiveAvgPool2d, MaxPool2d
from ..module import Module

__all__ = ["VGG", "vgg11", "vgg16", "CFGS"]

#: conv widths per configuration; "M" is a 2×2 max pool (configurations A and D of the paper).
CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3) -> Sequential:
    """The feature extractor: for each width a 3×3 conv (pad 1) [→ BatchNorm2d] → ReLU; "M" pools."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(MaxPool2d(2, stride=2))
        else:
            layers.append(Conv2d(in_channels, v, 3, padding=1))
            if batch_norm:
                layers.append(BatchNorm2d(v))
            layers.append(ReLU())
            in_channels = v
    return Sequential(*layers)


class VGG(Module):
    """features → adaptive average pool to 7×7 → flatten → fc 4096 → ReLU → dropout → fc 4096 →
    ReLU → dropout → fc num_classes (vgg16: 138,357,544 parameters for 1000 classes)."""

    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = AdaptiveAvgPool2d((7, 7))
        self.classifier = Sequential(
            Flatten(), Linear(512 * 7 * 7, 4096), ReLU(), Dropout(dropout),
            Linear(4096, 4096), ReLU(), Dropout(dropout), Linear(4096, num_classes))

    def forward(self, x):
        x = self.features(x)
        if tuple(x.shape[2:]) != (7, 7):
            x = self.avgpool(x)
        return self.classifier(x)


def vgg11(num_classes=1000, batch_norm=False, **kwargs) -> VGG:
    """VGG-11 (configuration A) for 3×224×224 images."""
    return VGG(make_layers(CFGS["vgg11"], batch_norm), num_classes=num_classes, **kwargs)


def vgg16(num_classes=1000, batch_norm=False, **kwargs) -> VGG:
    """VGG-16 (configuration D) for 3×224×224 images."""
    return VGG(make_layers(CFGS["vgg16"], batch_norm), num_classes=num_classes, **kwargs)
