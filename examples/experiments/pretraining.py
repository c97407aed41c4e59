"""Experiment 11, unsupervised pretraining: an autoencoder trained on all training images without
their labels; its encoder reused with a new linear head and fine-tuned on a few labelled
examples, against the same network trained from scratch on the same labels."""
from __future__ import annotations

import numpy as np

import nn
import optim

from . import common

NAME = "pretraining"
TITLE = "11. Pretraining"
CLAIM = ("pretraining on unlabelled data (an autoencoder) and fine-tuning on few labels beats "
         "training the same net from scratch when labels are scarce; the advantage shrinks as "
         "labels become plentiful")


def encoder(data, hidden, code):
    """Linear-ReLU-Linear to a linear code (a ReLU on the code leaves dead code units)."""
    return nn.Sequential(nn.Linear(data.n_features, hidden), nn.ReLU(), nn.Linear(hidden, code))


def few_labels(data, n, seed):
    """``n`` labelled training examples, balanced over the classes as far as possible."""
    rng = np.random.default_rng(seed)
    per = max(1, n // data.n_classes)
    idx = np.concatenate([rng.permutation(np.flatnonzero(data.y_train == c))[:per] for c in range(data.n_classes)])
    idx = rng.permutation(idx)[:n]
    return common.Data(data.x_train[idx], data.y_train[idx], data.x_val, data.y_val, data.image_shape, data.name)


def run(cfg):
    hidden, code = (64, 32) if cfg.quick else (256, 64)
    ae_epochs, ft_steps = (20, 100) if cfg.quick else (30, 200)
    labels = (20, 100) if cfg.quick else (10, 20, 50, 100, 300, 1000)
    data = common.load_data(cfg, n_train=500 if cfg.quick else None)
    labels = tuple(n for n in labels if n <= len(data.x_train))
    folder = cfg.folder(NAME)

    common.seed_all(cfg.seed)
    enc = encoder(data, hidden, code)
    auto = nn.Sequential(enc, nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, data.n_features))
    unlabelled = common.Data(data.x_train, data.x_train, data.x_val, data.x_val, data.image_shape, data.name)
    ae = common.train(auto, unlabelled, optim.Adam(auto.parameters(), lr=3e-3), ae_epochs, seed=cfg.seed,
                      loss_fn=nn.MSELoss(), eval_every_epoch=False)
    pretrained = common.snapshot(enc)
    recon = float(np.mean(ae["step_loss"][-10:]))
    base = float(np.mean((data.x_train - data.x_train.mean(0)) ** 2))

    rows, curves = [], {"pretrained encoder + new head": [], "from scratch": []}
    for n in labels:
        few = few_labels(data, n, cfg.seed)
        row = {"labels": n}
        for name in curves:
            common.seed_all(cfg.seed + n)
            e = encoder(data, hidden, code)
            if name.startswith("pretrained"):
                common.restore(e, pretrained)
            model = nn.Sequential(e, nn.Linear(code, data.n_classes))
            common.train(model, few, optim.Adam(model.parameters(), lr=1e-3), 10 ** 6, seed=cfg.seed,
                         batch_size=min(64, n), max_steps=ft_steps, eval_every_epoch=False)
            acc = common.evaluate(model, data.x_val, data.y_val)[1]
            curves[name].append(acc)
            row[f"val accuracy, {name}"] = acc
        rows.append(row)

    plt = common.plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for name, accs in curves.items():
        ax.semilogx(labels, accs, marker="o", label=name)
    ax.set_xlabel("labelled training examples")
    ax.set_ylabel("validation accuracy")
    ax.set_title(f"autoencoder {data.n_features}-{hidden}-{code}-{hidden}-{data.n_features} on "
                 f"{len(data.x_train)} unlabelled {data.name} images")
    ax.legend()
    common.save_figure(fig, folder)
    gain = [a - b for a, b in zip(curves["pretrained encoder + new head"], curves["from scratch"])]
    outcome = (f"autoencoder reconstruction MSE {recon:.4f} (predicting the mean image: {base:.4f}); accuracy gain "
               f"of pretraining over scratch: " + ", ".join(f"{g:+.3f} with {n} labels" for n, g in zip(labels, gain)))
    common.write_results(folder, TITLE, CLAIM,
                         [(f"fine-tuning: Adam(1e-3), {ft_steps} steps, batch ≤ 64; autoencoder: Adam(3e-3), {ae_epochs} epochs, MSE",
                           rows)], outcome, cfg, data.name)
    return {"outcome": outcome, "labels": labels, "gain": gain, "curves": curves, "recon": recon, "baseline": base}
