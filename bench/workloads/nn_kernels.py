"""nn kernels on raw ndarrays (engine.kernels) vs torch layers: forward + backward, float32, 32x64x32x32."""
from __future__ import annotations

import numpy as np
from harness import Workload

from engine.kernels import batchnorm, conv, pool

SHAPE = (32, 64, 32, 32)


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(SHAPE, dtype=np.float32), rng.standard_normal(SHAPE, dtype=np.float32)


def _torch_step(make_module):
    def factory():
        import torch

        x, _ = _arrays()
        xt = torch.from_numpy(x).requires_grad_(True)
        module = make_module(torch)
        gy = torch.from_numpy(_arrays(1)[1][:, :, : module(xt).shape[2], : module(xt).shape[3]].copy())

        def step():
            xt.grad = None
            module(xt).backward(gy)
        return step
    return factory


def conv_ours():
    x, _ = _arrays()
    rng = np.random.default_rng(2)
    w = (rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)
    b = np.zeros(64, np.float32)
    gy = _arrays(1)[1]

    def step():
        conv.conv2d_forward(x, w, b, padding=1)
        return conv.conv2d_backward(gy, x, w, padding=1)
    return step


def bn_ours():
    x, _ = _arrays()
    w, b = np.ones(64, np.float32), np.zeros(64, np.float32)
    gy = _arrays(1)[1]

    def step():
        _, mean, invstd, var = batchnorm.batchnorm_forward(x, w, b, 1e-5)
        return batchnorm.batchnorm_backward(gy, x, w, mean, invstd)
    return step


def maxpool_ours():
    x, _ = _arrays()
    gy = np.ascontiguousarray(_arrays(1)[1][:, :, :16, :16])

    def step():
        _, ind = pool.maxpool2d_forward(x, 2)
        return pool.maxpool2d_backward(gy, ind, x.shape)
    return step


WORKLOADS = [
    Workload("nn: Conv2d(64,64,3,p=1) fwd+bwd 32x64x32x32", conv_ours,
             _torch_step(lambda t: t.nn.Conv2d(64, 64, 3, padding=1)), group="nn", target=1.5),
    Workload("nn: BatchNorm2d(64) train fwd+bwd", bn_ours,
             _torch_step(lambda t: t.nn.BatchNorm2d(64)), group="nn", target=1.5, iters=50),
    Workload("nn: MaxPool2d(2) fwd+bwd", maxpool_ours,
             _torch_step(lambda t: t.nn.MaxPool2d(2)), group="nn", target=1.5, iters=50),
]
