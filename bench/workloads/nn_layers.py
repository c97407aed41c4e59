"""nn layers and CNN train steps vs PyTorch: Conv2d 64->64 3x3, BatchNorm2d(64) train, MaxPool2d(2)
fwd+bwd on a 32x64x32x32 float32 input; LeNet-5 (batch 64) and CIFAR ResNet-20 (batch 32)
forward + cross-entropy + backward (no optimizer step)."""
from __future__ import annotations

import numpy as np
from harness import Workload

SHAPE = (32, 64, 32, 32)


def _x():
    return np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)


def _layer_ours(build):
    def factory():
        import engine
        import nn

        engine.manual_seed(0)
        layer = build(nn)
        x = engine.Tensor(_x(), requires_grad=True)
        g = engine.Tensor(np.ones(layer(x).shape, np.float32))

        def step():
            layer(x).backward(g)
            x.grad = None
            layer.zero_grad()

        return step
    return factory


def _layer_torch(build):
    def factory():
        import torch

        torch.manual_seed(0)
        layer = build(torch.nn)
        x = torch.from_numpy(_x()).requires_grad_()
        g = torch.ones(layer(x).shape)

        def step():
            layer(x).backward(g)
            x.grad = None
            layer.zero_grad()

        return step
    return factory


# ---------------------------------------------------------------- train steps: same models in torch
def _torch_lenet5():
    import torch.nn as tnn

    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
        tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
        tnn.Linear(84, 10))


def _torch_cifar_resnet(depth=20, num_classes=10):
    import torch.nn as tnn
    import torch.nn.functional as TF

    class Block(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.stride, self.extra = stride, cout - cin

        def forward(self, x):
            sc = x[:, :, ::self.stride, ::self.stride] if self.stride != 1 else x
            if self.extra:
                sc = TF.pad(sc, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
            out = TF.relu(self.bn1(self.conv1(x)))
            return TF.relu(self.bn2(self.conv2(out)) + sc)

    n = (depth - 2) // 6
    layers, cin = [tnn.Conv2d(3, 16, 3, 1, 1, bias=False), tnn.BatchNorm2d(16), tnn.ReLU()], 16
    for i, w in enumerate((16, 32, 64)):
        for j in range(n):
            layers.append(Block(cin, w, 2 if (i > 0 and j == 0) else 1))
            cin = w
    layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, num_classes)]
    return tnn.Sequential(*layers)


def _batch(shape, classes=10):
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape, dtype=np.float32), rng.integers(0, classes, shape[0])


def _train_ours(build, shape):
    def factory():
        import engine
        import nn.functional as F
        from nn import models

        engine.manual_seed(0)
        model = build(models)
        xb, yb = _batch(shape)
        x, y = engine.Tensor(xb), engine.Tensor(yb)

        def step():
            F.cross_entropy(model(x), y).backward()
            model.zero_grad()

        return step
    return factory


def _train_torch(build, shape):
    def factory():
        import torch
        import torch.nn.functional as TF

        torch.manual_seed(0)
        model = build()
        xb, yb = _batch(shape)
        x, y = torch.from_numpy(xb), torch.from_numpy(yb)

        def step():
            TF.cross_entropy(model(x), y).backward()
            model.zero_grad()

        return step
    return factory


def _conv(nn):
    return nn.Conv2d(64, 64, 3, padding=1)


def _bn(nn):
    return nn.BatchNorm2d(64)


def _pool(nn):
    return nn.MaxPool2d(2)


WORKLOADS = [
    Workload("Conv2d(64,64,3,p=1) fwd+bwd 32x64x32x32", _layer_ours(_conv), _layer_torch(_conv),
             group="nn", target=1.5, iters=20),
    Workload("BatchNorm2d(64) train fwd+bwd 32x64x32x32", _layer_ours(_bn), _layer_torch(_bn),
             group="nn", target=1.5, iters=30),
    Workload("MaxPool2d(2) fwd+bwd 32x64x32x32", _layer_ours(_pool), _layer_torch(_pool),
             group="nn", target=1.5, iters=30),
    Workload("LeNet-5 fwd+CE+bwd (batch 64)", _train_ours(lambda m: m.lenet5(), (64, 1, 28, 28)),
             _train_torch(_torch_lenet5, (64, 1, 28, 28)), group="nn", iters=30),
    Workload("cifar_resnet(20) fwd+CE+bwd (batch 32)", _train_ours(lambda m: m.cifar_resnet(20), (32, 3, 32, 32)),
             _train_torch(_torch_cifar_resnet, (32, 3, 32, 32)), group="nn", iters=15),
]
