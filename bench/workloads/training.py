"""Full train steps (forward, cross-entropy, backward, optimizer step) vs PyTorch, and start-up.

* MLP 784-512-256-10, batch 128, SGD(momentum=0.9): the DESIGN's reference step (a plain-NumPy
  version takes 2.4 ms here, PyTorch 2.9-3.3 ms).
* Start-up, each in a fresh interpreter: import the library, build LeNet-5, one forward+backward
  of one image. "warm" reuses Numba's on-disk cache; "cold" first deletes this project's
  ``__pycache__`` kernel caches (``*.nbi``/``*.nbc``), so every kernel compiles again.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import numpy as np
from harness import Workload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BATCH, SIZES = 128, (784, 512, 256, 10)


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32), rng.integers(0, 10, BATCH)


def _mlp_step(lib, tnn, optim, tensor, labels):
    """The same step for both libraries (their APIs are the same: that is the point)."""
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(tnn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(tnn.ReLU())
    model = tnn.Sequential(*layers)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = tnn.CrossEntropyLoss()
    x, y = _data()
    x, y = tensor(x), labels(y)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _mlp_ours():
    import engine
    import nn
    import optim

    engine.manual_seed(0)
    return _mlp_step(engine, nn, optim, engine.Tensor, lambda y: engine.Tensor(y.astype(np.int64)))


def _mlp_torch():
    import torch

    torch.manual_seed(0)
    return _mlp_step(torch, torch.nn, torch.optim, torch.from_numpy,
                     lambda y: torch.from_numpy(y.astype(np.int64)))


_START_OURS = ("import engine, nn; m = nn.models.lenet5(); "
               "m(engine.randn(1, 1, 28, 28)).sum().backward()")
_START_TORCH = ("import torch, torch.nn as tnn; m = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), "
                "tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), "
                "tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10)); "
                "m(torch.randn(1, 1, 28, 28)).sum().backward()")


def _run(code, clear_cache=False):
    def step():
        if clear_cache:
            for f in glob.glob(os.path.join(ROOT, "engine", "kernels", "__pycache__", "*.nb[ic]")):
                os.unlink(f)
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

    return lambda: step


WORKLOADS = [
    Workload("MLP 784-512-256-10 train step (batch 128)", _mlp_ours, _mlp_torch, group="training"),
    Workload("warm start: import + LeNet-5 fwd+bwd", _run(_START_OURS), _run(_START_TORCH),
             group="startup", iters=5, warmup=1),
    Workload("cold start (Numba cache cleared)", _run(_START_OURS, clear_cache=True), _run(_START_TORCH),
             group="startup", iters=3, warmup=0),
]
