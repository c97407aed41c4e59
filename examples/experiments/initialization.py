"""Experiment 1, initialisation: activation statistics of a deep net per layer under different
weight inits, and zero (constant) init keeping hidden units identical through training.

Folds in the former ``examples/viz_tanh_experiment.py`` (tanh with N(0, 0.01²) / N(0, 0.05²) /
Xavier), adds ReLU with Xavier vs He, and trains a 2-layer net from zero, constant and default
init on the digits to measure whether the hidden units ever become different.
"""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim

from . import common

NAME = "initialization"
TITLE = "1. Initialisation"
CLAIM = ("small random init (std 0.01) makes deep tanh activations collapse to 0 layer after layer; "
         "Xavier keeps their spread; ReLU needs He (Xavier halves the variance per layer); zero "
         "init never breaks symmetry: all hidden units stay identical")

TANH_INITS = {
    "N(0, 0.01²)": lambda w: nn.init.normal_(w, 0.0, 0.01),
    "N(0, 0.05²)": lambda w: nn.init.normal_(w, 0.0, 0.05),
    "Xavier": lambda w: nn.init.xavier_normal_(w),
}
RELU_INITS = {
    "Xavier": lambda w: nn.init.xavier_normal_(w),
    "He": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}


def deep_net(width, depth, activation, init):
    """``depth`` × (Linear(width, width) + activation), weights by ``init``, zero biases."""
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        init(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, activation()]
    return nn.Sequential(*layers)


def layer_activations(model, x):
    """The output (ndarray) of every activation module of a Sequential for input ``x``."""
    outs = []
    with engine.no_grad():
        h = engine.tensor(x)
        for m in model:
            h = m(h)
            if not isinstance(m, nn.Linear):
                outs.append(h.numpy().copy())
    return outs


def unit_spread(weight):
    """How different the hidden units are: max over input features of the std across units of
    the incoming weights (rows of ``weight``); 0 when all units are identical."""
    w = np.asarray(weight, dtype=np.float64)
    return float(w.std(axis=0).max())


def train_symmetric(data, init_name, steps, seed):
    """Train Linear(F, 32) + Tanh + Linear(32, C) with SGD for ``steps`` steps from ``init_name``
    ('zero', 'constant' or 'default'); returns (spread of hidden rows over steps, val accuracy)."""
    common.seed_all(seed)
    model = common.mlp([data.n_features, 32, data.n_classes], activation=nn.Tanh)
    if init_name != "default":
        value = 0.0 if init_name == "zero" else 0.05
        for p in model.parameters():
            nn.init.constant_(p, value)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    spreads = [unit_spread(model[0].weight.numpy())]

    def record(step, loss):
        spreads.append(unit_spread(model[0].weight.numpy()))
        return step >= steps

    common.train(model, data, opt, epochs=10 ** 6, seed=seed, on_step=record)
    return spreads, common.evaluate(model, data.x_val, data.y_val)[1]


def run(cfg):
    width, depth, batch = (64, 6, 256) if cfg.quick else (256, 8, 1000)
    steps = 30 if cfg.quick else 300
    rng = common.seed_all(cfg.seed)
    x = rng.standard_normal((batch, width)).astype(np.float32)

    stats = {}
    tanh_rows, relu_rows = [], []
    for family, inits, act, rows in (("tanh", TANH_INITS, nn.Tanh, tanh_rows),
                                     ("relu", RELU_INITS, nn.ReLU, relu_rows)):
        for name, init in inits.items():
            engine.manual_seed(cfg.seed)
            acts = layer_activations(deep_net(width, depth, act, init), x)
            stds = [float(a.std()) for a in acts]
            stats[(family, name)] = (acts, stds)
            row = {"init": name}
            row.update({f"layer {i + 1}": s for i, s in enumerate(stds)})
            rows.append(row)

    data = common.load_data(cfg, n_train=300 if cfg.quick else None)
    sym = {name: train_symmetric(data, name, steps, cfg.seed) for name in ("zero", "constant", "default")}

    plt = common.plt()
    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    for ax, name in zip(axes[0], TANH_INITS):
        acts, stds = stats[("tanh", name)]
        for i, a in enumerate(acts):
            ax.hist(a.ravel(), bins=60, histtype="step", density=True, label=f"layer {i + 1}: std {stds[i]:.3g}")
        ax.set_title(f"tanh, init {name}")
        ax.set_xlabel("activation")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax = axes[1, 0]
    for (family, name), (acts, stds) in stats.items():
        ax.semilogy(range(1, depth + 1), stds, marker="o", label=f"{family} + {name}")
    ax.set_xlabel("layer")
    ax.set_ylabel("std of activations")
    ax.set_title("activation std per layer")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    for name in RELU_INITS:
        acts, stds = stats[("relu", name)]
        ax.hist(acts[-1].ravel(), bins=60, histtype="step", density=True, log=True,
                label=f"ReLU + {name}, layer {depth}: std {stds[-1]:.3g}")
    ax.set_title(f"ReLU, layer {depth} activations")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    for name, (spreads, acc) in sym.items():
        ax.plot(np.maximum(spreads, 1e-12), label=f"{name} init (val acc {acc:.2f})")
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("spread of hidden units' weights")
    ax.set_title("symmetry: zero/constant init never break it")
    ax.legend(fontsize=7)
    folder = cfg.folder(NAME)
    common.save_figure(fig, folder)

    t001, txav = stats[("tanh", "N(0, 0.01²)")][1], stats[("tanh", "Xavier")][1]
    rx, rhe = stats[("relu", "Xavier")][1], stats[("relu", "He")][1]
    sym_rows = [{"init": n, "spread at start": s[0], f"spread after {len(s) - 1} steps": s[-1], "val accuracy": a}
                for n, (s, a) in sym.items()]
    outcome = (f"tanh layer {depth}/layer 1 std: {t001[-1] / t001[0]:.2g} with N(0, 0.01²) vs "
               f"{txav[-1] / txav[0]:.2g} with Xavier; ReLU layer {depth}/layer 1 std: "
               f"{rx[-1] / rx[0]:.2g} with Xavier vs {rhe[-1] / rhe[0]:.2g} with He; hidden-unit "
               f"spread after {steps} steps: zero {sym['zero'][0][-1]:.1g}, constant "
               f"{sym['constant'][0][-1]:.1g}, default {sym['default'][0][-1]:.2g} "
               f"(val accuracy {sym['zero'][1]:.2f} / {sym['constant'][1]:.2f} / {sym['default'][1]:.2f})")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"std of tanh activations per layer (width {width}, batch {batch})", tanh_rows),
                          ("std of ReLU activations per layer", relu_rows),
                          ("symmetry of a Linear-Tanh-Linear net trained with SGD on " + data.name, sym_rows)],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "tanh_std": {k[1]: v[1] for k, v in stats.items() if k[0] == "tanh"},
            "relu_std": {k[1]: v[1] for k, v in stats.items() if k[0] == "relu"},
            "spread": {k: v[0] for k, v in sym.items()}, "val_accuracy": {k: v[1] for k, v in sym.items()}}
