"""Experiment 12, dynamic network growth (lecture 001): start with too few hidden units; whenever
the training loss plateaus, add one unit, initialised by training it alone on the examples with
the highest loss, and continue training (``nn.utils.widen_linear`` keeps Adam's state consistent)."""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim
from nn.utils import widen_linear

from . import common

NAME = "growth"
TITLE = "12. Dynamic network growth"
CLAIM = ("a net that starts too small and adds a hidden unit whenever the loss plateaus, each new "
         "unit first trained on the highest-loss examples, ends up as good as a net of the final "
         "size trained from the start, and better than the small net")


def per_example_loss(model, x, y):
    """Cross-entropy of every example (eval mode, no grad)."""
    p = common.predict_proba(model, x)
    return -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))


def fit_new_unit(model, x, y, steps, lr, seed):
    """Train one candidate unit a = tanh(x w + b) with output weights v on (x, y) with the rest of
    the net frozen (logits = current logits + a vᵀ); returns (w, b, v) as ndarrays."""
    engine.manual_seed(seed)
    n_in, n_out = model[0].in_features, model[2].out_features
    model.eval()
    with engine.no_grad():
        base = model(engine.tensor(x)).numpy().copy()
    model.train()
    bound = 1 / np.sqrt(n_in)
    w = engine.tensor((engine.rand(n_in, 1).numpy() * 2 - 1) * bound, requires_grad=True)
    b = engine.zeros(1, requires_grad=True)
    v = engine.zeros(1, n_out, requires_grad=True)
    opt = optim.Adam([w, b, v], lr=lr)
    xt, yt, bt = engine.tensor(x), engine.tensor(y), engine.tensor(base)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(bt + (xt @ w + b).tanh() @ v, yt)
        loss.backward()
        opt.step()
    return w.numpy().T.copy(), b.numpy().copy(), v.numpy().T.copy()


def grow_run(data, h0, max_units, epochs, patience, seed, hard_init=True):
    """Train Linear(F, h0)-Tanh-Linear(h0, C) with Adam; on a plateau (training loss improved by
    less than 5 % over ``patience`` epochs) add a unit (``hard_init``: fitted to the worst 20 % of
    the training examples; else default init with zero outgoing weights). Returns the history,
    the epochs at which units were added and the model."""
    common.seed_all(seed)
    model = common.mlp([data.n_features, h0, data.n_classes], activation=nn.Tanh)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    hist = {"loss": [], "val_accuracy": [], "units": []}
    grown, last_growth = [], 0
    for epoch in range(epochs):
        h = common.train(model, data, opt, 1, seed=seed + epoch)
        hist["loss"].append(h["loss"][-1])
        hist["val_accuracy"].append(h["val_accuracy"][-1])
        hist["units"].append(model[0].out_features)
        window = hist["loss"][-patience - 1:]
        plateau = (epoch - last_growth >= patience and len(window) == patience + 1
                   and window[0] - window[-1] < 0.05 * window[0])
        if plateau and model[0].out_features < max_units:
            if hard_init:
                losses = per_example_loss(model, data.x_train, data.y_train)
                worst = np.argsort(losses)[-max(10, len(losses) // 5):]
                w, b, v = fit_new_unit(model, data.x_train[worst], data.y_train[worst], 100, 0.05, seed + epoch)
                widen_linear(model[0], 1, next_layer=model[2], optimizer=opt, weight=w, bias=b, next_weight=v)
            else:
                widen_linear(model[0], 1, next_layer=model[2], optimizer=opt)
            grown.append(epoch + 1)
            last_growth = epoch
    return hist, grown, model


def fixed_run(data, units, epochs, seed):
    common.seed_all(seed)
    model = common.mlp([data.n_features, units, data.n_classes], activation=nn.Tanh)
    return common.train(model, data, optim.Adam(model.parameters(), lr=1e-2), epochs, seed=seed)


def run(cfg):
    h0, max_units = 2, (6 if cfg.quick else 12)
    epochs, patience = (20, 2) if cfg.quick else (50, 3)
    data = common.load_data(cfg, n_train=400 if cfg.quick else None)
    folder = cfg.folder(NAME)
    hard, grown_at, model = grow_run(data, h0, max_units, epochs, patience, cfg.seed, hard_init=True)
    final_units = model[0].out_features
    rand, rand_at, rmodel = grow_run(data, h0, max_units, epochs, patience, cfg.seed, hard_init=False)
    small = fixed_run(data, h0, epochs, cfg.seed)
    big = fixed_run(data, final_units, epochs, cfg.seed)
    runs = {"grown, new unit fitted to the hardest examples": hard, "grown, new unit default init": rand,
            f"fixed {h0} units": small, f"fixed {final_units} units from the start": big}

    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for name, h in runs.items():
        e = np.arange(1, len(h["loss"]) + 1)
        axes[0].plot(e, h["loss"], label=name)
        axes[1].plot(e, h["val_accuracy"], label=name)
    for ep in grown_at:
        axes[0].axvline(ep, color="grey", lw=0.6, ls=":")
    axes[0].set_yscale("log")
    axes[0].set_title("training loss (dotted: a unit is added)")
    axes[1].set_title("validation accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    common.save_figure(fig, folder)

    rows = [{"net": name, "final hidden units": (final_units if "fitted" in name else
                                                  rmodel[0].out_features if "default" in name else
                                                  h0 if name.startswith(f"fixed {h0} ") else final_units),
             "final train loss": h["loss"][-1], "final val accuracy": h["val_accuracy"][-1]}
            for name, h in runs.items()]
    outcome = (f"grew from {h0} to {final_units} units (epochs {', '.join(map(str, grown_at)) or 'none'}); "
               f"final val accuracy: grown {hard['val_accuracy'][-1]:.3f}, grown with default-init units "
               f"{rand['val_accuracy'][-1]:.3f}, fixed {h0} units {small['val_accuracy'][-1]:.3f}, fixed "
               f"{final_units} units {big['val_accuracy'][-1]:.3f}")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"Linear-Tanh-Linear, Adam(1e-2), batch 64, {epochs} epochs, plateau = training loss "
                           f"down < 5 % in {patience} epochs", rows),
                          ("growth events (epoch after which a unit was added)",
                           [{"run": "hardest-examples init", "epochs": ", ".join(map(str, grown_at))},
                            {"run": "default init", "epochs": ", ".join(map(str, rand_at))}])],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "grown_at": grown_at, "units": final_units, "h0": h0,
            "val_accuracy": {"grown": hard["val_accuracy"][-1], "random": rand["val_accuracy"][-1],
                             "small": small["val_accuracy"][-1], "big": big["val_accuracy"][-1]},
            "loss": {"grown": hard["loss"][-1], "small": small["loss"][-1], "big": big["loss"][-1]}}
