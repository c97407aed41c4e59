"""Experiment 4, regularisation: L1 vs L2 kernel regularizers (weight histograms, sparsity,
accuracy) and weight decay as an L2 term inside Adam vs decoupled weight decay (AdamW)."""
from __future__ import annotations

import numpy as np

import nn
import optim

from . import common

NAME = "regularization"
TITLE = "4. Regularisation"
CLAIM = ("L1 drives weights to exactly zero (sparse weights) while L2 shrinks all of them "
         "smoothly; both reduce overfitting; in Adam, weight decay added to the gradient (L2) is "
         "not the same as decoupled weight decay (AdamW), which regularises better")

ZERO_TOL = 1e-3   # |w| below this counts as (numerically) zero


def net(data, hidden, reg=None):
    """Linear(F, hidden) + ReLU + Linear(hidden, C), ``reg`` on both kernels."""
    return nn.Sequential(nn.Linear(data.n_features, hidden, kernel_regularizer=reg), nn.ReLU(),
                         nn.Linear(hidden, data.n_classes, kernel_regularizer=reg))


def sparsity(model):
    """(fraction of kernel weights exactly 0, fraction with |w| < ZERO_TOL, mean |w|), over the
    kernels of all Linear layers."""
    w = np.concatenate([m.weight.numpy().ravel() for m in model if isinstance(m, nn.Linear)])
    return float(np.mean(w == 0)), float(np.mean(np.abs(w) < ZERO_TOL)), float(np.mean(np.abs(w)))


def run(cfg):
    n_train, hidden = (200, 64) if cfg.quick else (500, 128)
    epochs = 8 if cfg.quick else 50
    data = common.load_data(cfg, n_train=n_train)
    folder = cfg.folder(NAME)
    strength = 1e-3
    regs = {"none": None, f"L2({strength:g})": nn.regularizers.l2(strength),
            f"L1({strength:g})": nn.regularizers.l1(strength)}
    weights, reg_rows, results = {}, [], {}
    for name, reg in regs.items():
        common.seed_all(cfg.seed)
        model = net(data, hidden, reg)
        hist = common.train(model, data, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), epochs,
                            seed=cfg.seed, penalty=model.regularization_loss)
        exact, near, mean_abs = sparsity(model)
        weights[name] = model[0].weight.numpy().ravel().copy()
        row = {"regularizer": name, "train accuracy": hist["accuracy"][-1], "val accuracy": hist["val_accuracy"][-1],
               "gap": hist["accuracy"][-1] - hist["val_accuracy"][-1], "exact zeros": exact,
               f"|w| < {ZERO_TOL:g}": near, "mean |w|": mean_abs,
               f"first layer |w| < {ZERO_TOL:g} (figure)": float(np.mean(np.abs(weights[name]) < ZERO_TOL))}
        reg_rows.append(row)
        results[name.split("(")[0]] = row

    decays = (0.0, 1e-1) if cfg.quick else (0.0, 1e-2, 1e-1, 1.0)
    wd_rows, curves = [], {"Adam + L2": [], "AdamW": []}
    for wd in decays:
        for label, cls in (("Adam + L2", optim.Adam), ("AdamW", optim.AdamW)):
            common.seed_all(cfg.seed)
            model = net(data, hidden)
            hist = common.train(model, data, cls(model.parameters(), lr=1e-3, weight_decay=wd), epochs, seed=cfg.seed)
            norm = float(np.sqrt(sum((p.numpy().astype(np.float64) ** 2).sum() for p in model.parameters())))
            curves[label].append((wd, hist["val_accuracy"][-1], norm))
            wd_rows.append({"optimizer": label, "weight_decay": wd, "train accuracy": hist["accuracy"][-1],
                            "val accuracy": hist["val_accuracy"][-1], "‖θ‖₂": norm})

    plt = common.plt()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    lim = max(np.abs(w).max() for w in weights.values())
    for name, w in weights.items():
        axes[0].hist(w, bins=np.linspace(-lim, lim, 101), histtype="step", log=True,
                     label=f"{name}: {np.mean(np.abs(w) < ZERO_TOL):.1%} with |w| < {ZERO_TOL:g}")
    axes[0].set_title(f"first-layer weights after {epochs} epochs (SGD)")
    axes[0].set_xlabel("weight")
    axes[0].legend(fontsize=7)
    for label, pts in curves.items():
        xs = [max(p[0], decays[1] / 10) for p in pts]
        axes[1].semilogx(xs, [p[1] for p in pts], marker="o", label=label)
        axes[2].semilogx(xs, [p[2] for p in pts], marker="o", label=label)
    axes[1].set_title("validation accuracy vs weight_decay (leftmost = 0)")
    axes[2].set_title("parameter norm ‖θ‖₂ vs weight_decay")
    for ax in axes[1:]:
        ax.set_xlabel("weight_decay")
        ax.legend()
    common.save_figure(fig, folder)

    l1, l2, none = results["L1"], results["L2"], results["none"]
    best = {label: max(pts, key=lambda p: p[1]) for label, pts in curves.items()}
    outcome = (f"kernel weights with |w| < {ZERO_TOL:g}: L1 {l1[f'|w| < {ZERO_TOL:g}']:.1%}, "
               f"L2 {l2[f'|w| < {ZERO_TOL:g}']:.1%}, none {none[f'|w| < {ZERO_TOL:g}']:.1%} (exactly 0: L1 {l1['exact zeros']:.1%}, L2 "
               f"{l2['exact zeros']:.1%}); train−val gap none {none['gap']:.3f}, L2 {l2['gap']:.3f}, L1 "
               f"{l1['gap']:.3f}; best val accuracy Adam + L2 {best['Adam + L2'][1]:.3f} "
               f"(weight_decay {best['Adam + L2'][0]:g}) vs AdamW {best['AdamW'][1]:.3f} "
               f"(weight_decay {best['AdamW'][0]:g})")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"kernel regularizers, Linear-ReLU-Linear (hidden {hidden}), {n_train} training "
                           f"examples, SGD(0.05, momentum 0.9), {epochs} epochs (weight columns over both "
                           f"kernels unless named)", reg_rows),
                          ("weight decay in Adam (L2 added to the gradient) vs AdamW (decoupled), lr 1e-3",
                           wd_rows)], outcome, cfg, data.name)
    return {"outcome": outcome, "regularizers": results, "weight_decay": curves}
