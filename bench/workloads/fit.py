"""End-to-end training throughput: one epoch of ``nn.training.fit`` with an
``engine.utils.data.DataLoader`` (shuffled, batch 64, loss and accuracy logged per batch) vs the
same loop written for PyTorch with ``torch.utils.data`` (same model, data, batch, epoch, threads).

* LeNet-5 on MNIST-shaped data: 2,048 random 1x28x28 images, 10 classes.
* The digits CNN of ``python -m nn.training`` on scikit-learn's bundled digits (1,437 8x8 images).
"""
from __future__ import annotations

import numpy as np
from harness import Workload

BATCH = 64


def _mnist_shaped():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2048, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 2048).astype(np.int64)


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images[:1437, None] / 16.0).astype(np.float32)
    return (x - x.mean()) / x.std(), d.target[:1437].astype(np.int64)


def _lenet_torch(tnn):
    return tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                          tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(),
                          tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))


def _digits_cnn(tnn):
    """The same layers as ``nn.training.cli.digits_cnn`` (written once for both libraries)."""
    return tnn.Sequential(
        tnn.Conv2d(1, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(),
        tnn.Conv2d(32, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Dropout(0.25), tnn.Linear(256, 10))


def _ours(data, model_fn):
    def factory():
        import engine
        import nn
        import optim
        from engine.utils.data import DataLoader, TensorDataset
        from nn.training import fit

        engine.manual_seed(0)
        x, y = data()
        model = model_fn(nn)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(engine.tensor(x), engine.tensor(y)), batch_size=BATCH, shuffle=True)
        loss_fn = nn.CrossEntropyLoss()
        return lambda: fit(model, loader, loss_fn=loss_fn, optimizer=opt, epochs=1, progress=False)
    return factory


def _torch(data, model_fn):
    def factory():
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        torch.manual_seed(0)
        x, y = data()
        model = model_fn(torch.nn)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=BATCH, shuffle=True)
        loss_fn = torch.nn.CrossEntropyLoss()

        def epoch():                      # what fit does per batch: step, then log loss and accuracy
            model.train()
            total = correct = seen = 0.0
            for xb, yb in loader:
                out = model(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                n = len(yb)
                total += loss.item() * n
                correct += (out.detach().argmax(1) == yb).sum().item()
                seen += n
            return total / seen, correct / seen
        return epoch
    return factory


def _lenet_ours(nn):
    return nn.models.lenet5()


def _digits_ours(nn):
    from nn.training.cli import digits_cnn
    return digits_cnn()


WORKLOADS = [
    Workload("fit + DataLoader: LeNet-5, 2048 MNIST-shaped images, 1 epoch (batch 64)",
             _ours(_mnist_shaped, _lenet_ours), _torch(_mnist_shaped, _lenet_torch),
             group="training", iters=5, warmup=1, target=1.0),
    Workload("fit + DataLoader: digits CNN, 1437 digits, 1 epoch (batch 64)",
             _ours(_digits, _digits_ours), _torch(_digits, _digits_cnn),
             group="training", iters=5, warmup=1, target=1.0),
]
