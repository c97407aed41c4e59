"""Render the pictures of docs/viz.md: a micrograd-style Scalar graph and LeNet-5's backward graph.

    python examples/viz_graphs.py [out_dir]      # default: docs/

Writes viz_scalar_neuron.{svg,png}, viz_lenet_backward.{svg,png}, viz_lenet_forward.{svg,png}.
"""
import sys
from pathlib import Path

import engine
import nn
import nn.models
import viz
from engine import Scalar


def scalar_neuron():
    """The lectures' neuron o = tanh(x1·w1 + x2·w2 + b), every value labelled, after backward."""
    x1, x2 = Scalar(2.0, label="x1"), Scalar(0.0, label="x2")
    w1, w2 = Scalar(-3.0, label="w1"), Scalar(1.0, label="w2")
    b = Scalar(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return viz.draw_graph(o, direction="forward")


def lenet():
    """LeNet-5 on one 28×28 image: the README example."""
    engine.manual_seed(0)
    model = nn.models.lenet5()
    x = engine.randn(1, 1, 28, 28)
    with viz.trace(model):                      # remember which module created which op
        loss = model(x).sum()
    forward = viz.draw_graph(loss, direction="forward", params=model)
    loss.backward()
    backward = viz.draw_graph(loss, params=model)   # backward view, clusters, shapes, ‖grad‖
    return forward, backward


def main(out_dir="docs"):
    out = Path(out_dir)
    fwd, back = lenet()
    for name, g in [("viz_scalar_neuron", scalar_neuron()), ("viz_lenet_backward", back),
                    ("viz_lenet_forward", fwd)]:
        for ext in (".svg", ".png"):
            print(viz.save(g, out / f"{name}{ext}"))


if __name__ == "__main__":
    main(*sys.argv[1:])
