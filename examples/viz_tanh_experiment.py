"""The lectures' 6-layer tanh experiment, made visible with viz.

Six Linear(256, 256) + Tanh layers on a batch of unit-Gaussian inputs, three initialisations:
* N(0, 0.01²)  -- too small: activations shrink layer after layer towards 0, and so do the
  weight gradients of the first layers (vanishing gradients);
* N(0, 1)      -- too large: almost every tanh saturates at ±1, local gradients 1 − a² ≈ 0;
* Xavier       -- activations keep a healthy spread in every layer, gradients stay comparable.

Writes docs/viz_tanh_experiment.png (activation and gradient histograms per layer, one column per
initialisation) and docs/viz_tanh_vanishing.svg/.png (the backward graph of the small init, with
the vanishing gradients highlighted). Run: python examples/viz_tanh_experiment.py [out_dir]
"""
import sys
from pathlib import Path

import engine
import nn
import viz

WIDTH, DEPTH, BATCH = 256, 6, 512


def build(init):
    """6 × (Linear + Tanh) with weights drawn by ``init`` and zero biases."""
    layers = []
    for _ in range(DEPTH):
        lin = nn.Linear(WIDTH, WIDTH)
        init(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.Tanh()]
    return nn.Sequential(*layers)


INITS = {
    "N(0, 0.01²)": lambda w: nn.init.normal_(w, 0.0, 0.01),
    "N(0, 1)": lambda w: nn.init.normal_(w, 0.0, 1.0),
    "Xavier": lambda w: nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh")),
}


def main(out_dir="docs"):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")           # files only, no window
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(INITS), figsize=(6 * len(INITS), 7.5))
    engine.manual_seed(0)
    x = engine.randn(BATCH, WIDTH)
    y = engine.randn(BATCH, WIDTH)          # regression targets: the loss is an MSE
    for col, (name, init) in enumerate(INITS.items()):
        model = build(init)
        viz.plot_activation_histograms(model, x, ax=axes[0, col])
        axes[0, col].set_title(f"activations, init {name}")
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        viz.plot_gradient_histograms(model, ax=axes[1, col])
        axes[1, col].set_title(f"weight gradients, init {name}")
        grads = [f"{p.grad.numpy().std():.1e}" for n, p in model.named_parameters() if n.endswith("weight")]
        print(f"{name:12s} weight-grad std per layer: {' '.join(grads)}")
        if col == 0:   # the vanishing-gradient picture: first layers highlighted
            small = build(init)
            with viz.trace(small):
                loss = ((small(x[:8]) - y[:8]) ** 2).mean()
            loss.backward()
            g = viz.draw_graph(loss, params=small)
            for ext in (".svg", ".png"):
                viz.save(g, out / f"viz_tanh_vanishing{ext}")
    fig.tight_layout()
    fig.savefig(out / "viz_tanh_experiment.png", dpi=110)
    print("wrote", out / "viz_tanh_experiment.png", "and", out / "viz_tanh_vanishing.svg")


if __name__ == "__main__":
    main(*sys.argv[1:])
