"""nn layers vs PyTorch: Conv2d 64->64 3x3, BatchNorm2d(64) train, MaxPool2d(2) fwd+bwd on a
32x64x32x32 float32 input (whole train steps of CNNs are in ``cnn_training.py``)."""
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


def _conv(nn):
    return nn.Conv2d(64, 64, 3, padding=1)


def _bn(nn):
    return nn.BatchNorm2d(64)


def _pool(nn):
    return nn.MaxPool2d(2)


WORKLOADS = [
    Workload("Conv2d(64,64,3,p=1) fwd+bwd 32x64x32x32", _layer_ours(_conv), _layer_torch(_conv),
             group="nn", target=1.0, iters=20),
    Workload("BatchNorm2d(64) train fwd+bwd 32x64x32x32", _layer_ours(_bn), _layer_torch(_bn),
             group="nn", target=1.0, iters=30),
    Workload("MaxPool2d(2) fwd+bwd 32x64x32x32", _layer_ours(_pool), _layer_torch(_pool),
             group="nn", target=0.85, iters=30),
]
