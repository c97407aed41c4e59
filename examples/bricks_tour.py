"""A tour of the bricks (``python examples/bricks_tour.py``), offline, on real data.

1. XOR with a hand-written Function brick (forward + backward in ten lines), trained by plain
   gradient descent: the loss falls and the four predictions come out right.
2. The 1,797 handwritten digits bundled with scikit-learn (8x8 images, no download): an MLP
   trained with nn + optim (Adam, cosine schedule); prints loss and held-out accuracy per epoch.
3. Pictures: the backward graph of the MLP and a micrograd-style Scalar graph, written as SVG to
   ``out/`` (with Graphviz's ``dot``, or the ``graphviz-pure`` wheel when there is no ``dot``).
"""
from __future__ import annotations

import os
import time

import numpy as np

import engine
import nn
import optim
from engine import Function, Scalar, Tensor

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "out")


class Sigmoid(Function):
    """A user brick: y = 1 / (1 + e⁻ˣ), dy/dx = y (1 − y)."""

    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + (-x).exp())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


def xor_with_bricks(steps=2000, lr=2.0):
    """A 2-8-1 net on XOR: tanh hidden layer, the Sigmoid brick on the output, MSE loss."""
    print("== 1. XOR with a Function brick ==")
    engine.manual_seed(0)
    x = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = Tensor([[0], [1], [1], [0]], dtype=np.float64)
    w1 = engine.randn(2, 8, dtype=np.float64, requires_grad=True)
    b1 = engine.zeros(8, dtype=np.float64, requires_grad=True)
    w2 = engine.randn(8, 1, dtype=np.float64, requires_grad=True)
    b2 = engine.zeros(1, dtype=np.float64, requires_grad=True)
    params = [w1, b1, w2, b2]
    assert engine.gradcheck(lambda t: Sigmoid.apply(t), [engine.randn(3, dtype=np.float64, requires_grad=True)])
    for step in range(steps + 1):
        out = Sigmoid.apply((x @ w1 + b1).tanh() @ w2 + b2)
        loss = ((out - y) ** 2).mean()
        loss.backward()
        with engine.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        if step % 400 == 0:
            print(f"  step {step:5d}  loss {loss.item():.5f}")
    print("  predictions:", np.round(out.numpy().ravel(), 3), "targets: [0 1 1 0]")


def digits_mlp(epochs=12, batch=64):
    """nn.Sequential MLP 64-128-10 on scikit-learn's bundled digits, Adam + cosine schedule."""
    from sklearn.datasets import load_digits

    print("\n== 2. Handwritten digits (scikit-learn's bundled 8x8 set) with nn + optim ==")
    engine.manual_seed(0)
    data = load_digits()
    xs = (data.data / 16.0).astype(np.float32)
    ys = data.target.astype(np.int64)
    order = engine.random.generator().permutation(len(xs))
    split = int(0.8 * len(xs))
    tr, te = order[:split], order[split:]
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    print(model)
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = engine.random.generator().permutation(tr)
        total = 0.0
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            loss = loss_fn(model(Tensor(xs[idx])), Tensor(ys[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        model.eval()
        with engine.no_grad():
            pred = model(Tensor(xs[te])).argmax(dim=1).numpy()
        acc = (pred == ys[te]).mean()
        print(f"  epoch {epoch:2d}  train loss {total / len(tr):.4f}  test accuracy {acc:.3f}  "
              f"lr {sched.get_last_lr()[0]:.5f}")
    print(f"  {epochs} epochs in {time.perf_counter() - t0:.1f} s")
    return model, xs[te[:8]], ys[te[:8]]


def pictures(model, x, y):
    """Backward graph of the trained MLP and a Scalar neuron graph, as SVG in out/."""
    import viz

    print("\n== 3. Pictures ==")
    os.makedirs(OUT, exist_ok=True)
    loss = nn.CrossEntropyLoss()(model(Tensor(x)), Tensor(y))
    loss.backward()
    paths = []
    try:
        g = viz.draw_graph(loss, params=model)
        paths.append(viz.save(g, os.path.join(OUT, "mlp_backward.svg")))
        x1, w1 = Scalar(2.0, label="x1"), Scalar(-3.0, label="w1")
        x2, w2 = Scalar(0.0, label="x2"), Scalar(1.0, label="w2")
        b = Scalar(6.8813735870195432, label="b")
        o = (x1 * w1 + x2 * w2 + b).tanh()
        o.label = "o"
        o.backward()
        paths.append(viz.save(viz.draw_graph(o), os.path.join(OUT, "scalar_neuron.svg")))
    except RuntimeError as e:  # no renderer at all: say so, the rest of the demo stands
        print(f"  (no picture: {e})")
    for p in paths:
        print(f"  wrote {p}")


def main():
    xor_with_bricks()
    model, x, y = digits_mlp()
    pictures(model, x, y)


if __name__ == "__main__":
    main()
