"""ResNet (He et al. 2015): the ImageNet ResNet-18 of torchvision and the 6n+2 CIFAR ResNets."""
from __future__ import annotations

import math

from engine import pad
from engine.random import generator

from ..containers import Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..layers.normalization import BatchNorm2d
from ..layers.pooling import AdaptiveAvgPool2d, MaxPool2d
from ..module import Module

__all__ = ["BasicBlock", "ResNet", "resnet18", "cifar_resnet"]


def conv3x3(in_planes, out_planes, stride=1) -> Conv2d:
    """3×3 convolution, padding 1, no bias (a BatchNorm follows)."""
    return Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


class PadShortcut(Module):
    """The parameter-free shortcut "option A" of the CIFAR ResNets: subsample by ``stride`` and
    zero-pad the channels from ``in_planes`` to ``out_planes`` (half before, half after)."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.in_planes, self.out_planes, self.stride = in_planes, out_planes, stride

    def forward(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_planes - self.in_planes
        return pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2)) if extra else x

    def extra_repr(self):
        return f"{self.in_planes}, {self.out_planes}, stride={self.stride}"


class BasicBlock(Module):
    """y = ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + shortcut(x)), two 3×3 convs; ``shortcut`` is
    ``downsample`` (e.g. 1×1 conv + BN, or :class:`PadShortcut`) or the identity."""

    expansion = 1
    #: (layer, batch-norm) attribute pairs that ``nn.utils.fuse_batchnorm`` may fold.
    _fuse_pairs = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(Module):
    """Stem → stages of ``layers[i]`` blocks (width ``widths[i]``, stride 2 from the 2nd stage) →
    global average pool → fc.

    ``stem="imagenet"``: 7×7/2 conv 64 + BN + ReLU + 3×3/2 max pool, projection shortcuts (1×1 conv
    + BN, "option B"); ``stem="cifar"``: 3×3 conv + BN + ReLU, zero-padding shortcuts ("option A").
    Convs are initialised ``kaiming_normal_(mode="fan_out", nonlinearity="relu")`` as torchvision."""

    def __init__(self, block=BasicBlock, layers=(2, 2, 2, 2), num_classes=1000, widths=(64, 128, 256, 512),
                 stem="imagenet", in_channels=3):
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.stem_kind = stem
        self.inplanes = widths[0]
        if stem == "imagenet":
            self.conv1 = Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU()
        self.maxpool = MaxPool2d(3, stride=2, padding=1) if stem == "imagenet" else None
        for i, (w, n) in enumerate(zip(widths, layers)):
            setattr(self, f"layer{i + 1}", self._make_layer(block, w, n, 1 if i == 0 else 2))
        self.num_stages = len(layers)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(widths[len(layers) - 1] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight._data[...] = generator().normal(0.0, math.sqrt(2.0 / fan_out), m.weight.shape)

    _fuse_pairs = (("conv1", "bn1"),)

    def _make_layer(self, block, planes, blocks, stride) -> Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            if self.stem_kind == "cifar":
                downsample = PadShortcut(self.inplanes, planes * block.expansion, stride)
            else:
                downsample = Sequential(
                    Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                    BatchNorm2d(planes * block.expansion))
        mods = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        mods += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return Sequential(*mods)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def resnet18(num_classes=1000, **kwargs) -> ResNet:
    """ResNet-18 for 3×224×224 images: BasicBlocks [2, 2, 2, 2] (11,689,512 parameters)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, **kwargs)


def cifar_resnet(depth=20, num_classes=10, **kwargs) -> ResNet:
    """The CIFAR ResNet of He et al. (sec. 4.2) for 3×32×32 images: depth = 6n + 2, three stages
    of n BasicBlocks with 16, 32, 64 channels, option-A shortcuts (ResNet-20: 269,722 parameters)."""
    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"cifar_resnet: depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n, n, n], num_classes=num_classes, widths=(16, 32, 64), stem="cifar", **kwargs)
