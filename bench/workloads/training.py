"""Full train steps (forward, cross-entropy, backward, optimizer step) vs PyTorch, and start-up.

* MLP 784-512-256-10, batch 128, SGD(momentum=0.9): the DESIGN's reference step (a plain-NumPy
  version takes 2.4 ms here, PyTorch 2.9-3.3 ms).
* Start-up, each in a fresh interpreter: import the library, build LeNet-5, one train step at
  batch 64 (cross-entropy, backward, Adam). "warm" reuses Numba's on-disk cache; "cold" points
  ``NUMBA_CACHE_DIR`` at a new empty directory, so every kernel the step needs compiles again.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

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


# One LeNet-5 train step (batch 64, cross-entropy, Adam) after the imports: the same body for both.
_START_BODY = (
    "torch.manual_seed(0); "
    "m = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), "
    "nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), "
    "nn.ReLU(), nn.Linear(84, 10)); opt = optim.Adam(m.parameters()); "
    "x = torch.randn(64, 1, 28, 28); y = torch.tensor(np.arange(64) % 10); "
    "loss = nn.CrossEntropyLoss()(m(x), y); opt.zero_grad(); loss.backward(); opt.step(); loss.item()")
_START_OURS = "import numpy as np, engine as torch, nn, optim; " + _START_BODY
_START_TORCH = "import numpy as np, torch; from torch import nn, optim; " + _START_BODY


_PYC = []


def _bytecode_env():
    """The environment of a start-up run: our modules' bytecode cached (under a directory of this
    bench run, ``PYTHONPYCACHEPREFIX``, written once here, untimed), as for any installed package
    -- PyTorch's is, in site-packages -- even where ``PYTHONDONTWRITEBYTECODE`` is set (these
    machines set it: every start would otherwise compile ~150 modules from source, ~0.2 s)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if not _PYC:
        _PYC.append(tempfile.mkdtemp(prefix="gradbricks-pyc-"))
        atexit.register(shutil.rmtree, _PYC[0], True)
        env["PYTHONPYCACHEPREFIX"] = _PYC[0]
        subprocess.run([sys.executable, "-m", "compileall", "-q", "engine", "nn", "optim", "viz"],
                       check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    env["PYTHONPYCACHEPREFIX"] = _PYC[0]
    return env


def _run(code, cold=False):
    """A step that runs ``code`` in a fresh interpreter; ``cold``: with an empty Numba cache
    (``NUMBA_CACHE_DIR`` pointing at a new empty directory, so every kernel compiles; the
    project's own cache is left alone for anyone running tests meanwhile)."""

    def factory():
        base = _bytecode_env()

        def step():
            env = dict(base)
            with tempfile.TemporaryDirectory(prefix="gradbricks-cold-") as tmp:
                if cold:
                    env["NUMBA_CACHE_DIR"] = tmp
                subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)

        return step

    return factory


WORKLOADS = [
    Workload("MLP 784-512-256-10 train step (batch 128)", _mlp_ours, _mlp_torch, group="training",
             target=0.8),
    Workload("warm start: import + LeNet-5 Adam step", _run(_START_OURS), _run(_START_TORCH),
             group="startup", iters=5, warmup=1, block=1),
    Workload("cold start: same, empty Numba cache", _run(_START_OURS, cold=True), _run(_START_TORCH),
             group="startup", iters=3, warmup=0, block=1),
]
