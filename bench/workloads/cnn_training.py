"""Convolutional train steps (forward, cross-entropy, backward, optimizer step) vs PyTorch.

The model code is written once and built twice, from ``(nn, F)`` = ours or torch's: the APIs are
the same, which is the point. Random float32 data (the timing does not depend on the values).

* LeNet-5 (1x28x28, batch 64) with Adam.
* PyTorch's CIFAR-10 tutorial loop: its LeNet (3x32x32, conv 5x5 -> 6 -> 16, fc 120-84-10) at
  batch 4 with SGD(lr=0.001, momentum=0.9) and ``running_loss += loss.item()``; each timed call
  runs 25 steps over 25 different batches, times are per step.
* A CIFAR ResNet with 16/32/64 channels, 2 BasicBlocks a stage and 1x1 stride-2 projection
  shortcuts with BatchNorm (option B), batch 32, SGD(lr=0.1, momentum=0.9).
"""
from __future__ import annotations

import numpy as np
from harness import Workload

LOOP_STEPS = 25


def _lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def _tutorial_net(nn, F):
    """The ``Net`` of PyTorch's "Training a classifier" (CIFAR-10) tutorial, verbatim."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.flatten(1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return Net()


def _projection_resnet(nn, F):
    """CIFAR ResNet, widths 16/32/64, 2 BasicBlocks a stage, 1x1 stride-2 conv + BN shortcuts."""

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for i, width in enumerate((16, 32, 64)):
        for j in range(2):
            layers.append(Block(cin, width, 2 if (i > 0 and j == 0) else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def _libs(which):
    if which == "ours":
        import engine
        import nn
        import nn.functional as F
        import optim

        return engine, nn, F, optim, engine.Tensor
    import torch

    return torch, torch.nn, torch.nn.functional, torch.optim, torch.from_numpy


def _batches(shape, count, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape, dtype=np.float32), rng.integers(0, 10, shape[0]))
            for _ in range(count)]


def _train(which, build, shape, make_opt, count=1, item=False):
    """A factory: ``count`` train steps per call over ``count`` fixed batches of ``shape``."""

    def factory():
        lib, nn, F, optim, tensor = _libs(which)
        lib.manual_seed(0)
        model = build(nn, F)
        opt = make_opt(optim, model.parameters())
        criterion = nn.CrossEntropyLoss()
        data = [(tensor(x), tensor(y.astype(np.int64))) for x, y in _batches(shape, count)]

        def step():
            running_loss = 0.0
            for inputs, labels in data:
                opt.zero_grad()
                loss = criterion(model(inputs), labels)
                loss.backward()
                opt.step()
                if item:
                    running_loss += loss.item()
            return running_loss

        return step

    return factory


def _pair(name, build, shape, make_opt, target, iters, count=1, item=False):
    return Workload(name, _train("ours", build, shape, make_opt, count, item),
                    _train("torch", build, shape, make_opt, count, item),
                    group="training", target=target, iters=iters, per_call=count)


def _adam(optim, params):
    return optim.Adam(params, lr=1e-3)


def _tutorial_sgd(optim, params):
    return optim.SGD(params, lr=0.001, momentum=0.9)


def _resnet_sgd(optim, params):
    return optim.SGD(params, lr=0.1, momentum=0.9)


WORKLOADS = [
    _pair("LeNet-5 train step (batch 64, Adam)", lambda nn, F: _lenet5(nn), (64, 1, 28, 28), _adam,
          0.8, 30),
    _pair("LeNet tutorial loop (batch 4, SGD), per step", _tutorial_net, (4, 3, 32, 32), _tutorial_sgd,
          1.0, 12, count=LOOP_STEPS, item=True),
    _pair("ResNet 16/32/64 proj. shortcuts (b 32, SGD)", _projection_resnet, (32, 3, 32, 32),
          _resnet_sgd, 1.0, 12),
]
