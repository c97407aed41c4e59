"""Experiment 3, dropout: the train/validation gap against p for Dropout (MLP), Dropout2d (CNN)
and DropConnect (MLP) on over-parameterised nets trained on few examples; and inverted dropout
vs the original "scale at test time" dropout giving the same predictions."""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim
from nn import functional as F

from . import common

NAME = "dropout"
TITLE = "3. Dropout, Dropout2d, DropConnect"
CLAIM = ("dropout closes the gap between training and validation accuracy of an over-parameterised "
         "net (more so for larger p, until it underfits); inverted dropout (scale by 1/(1 − p) in "
         "training) and the original dropout (scale by 1 − p at test time) compute the same function")


class ClassicDropout(nn.Module):
    """The original dropout (Srivastava et al. 2014): y = m ⊙ x in training, y = (1 − p) x at test."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.training:
            return F.dropout(x, self.p, True) * (1 - self.p)
        return x * (1 - self.p)


def mlp(data, hidden, p, connect=False):
    """Two hidden layers of ``hidden`` ReLU units with Dropout(p) after each (or DropConnect(p) on
    their weights when ``connect``)."""
    dims = [data.n_features, hidden, hidden]
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        lin = nn.Linear(a, b)
        layers += [nn.DropConnect(lin, p) if connect else lin, nn.ReLU()]
        if not connect:
            layers.append(nn.Dropout(p))
    return nn.Sequential(*layers, nn.Linear(hidden, data.n_classes))


def cnn(data, channels, p):
    """Two 3×3 conv layers of ``channels`` channels, Dropout2d(p) after each ReLU, a Linear head."""
    c, h, w = data.image_shape
    return nn.Sequential(nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(), nn.Dropout2d(p),
                         nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Dropout2d(p),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(channels * (h // 2) * (w // 2), data.n_classes))


def to_classic(model, p, build):
    """A copy of an inverted-dropout MLP rewritten as the original dropout: every Dropout becomes
    ClassicDropout and the Linear after it gets W / (1 − p), so both nets compute the same
    function in training (same mask) and at test."""
    classic = common.restore(build(p), common.snapshot(model))
    mods = list(classic)
    for i, m in enumerate(mods):
        if isinstance(m, nn.Dropout):
            mods[i] = ClassicDropout(p)
            nxt = next(j for j in range(i + 1, len(mods)) if isinstance(mods[j], nn.Linear))
            mods[nxt].weight.numpy()[...] /= (1 - p)
    return nn.Sequential(*mods)


def equivalence(model, p, x, seed, build):
    """(max |Δ logits| at test, max |Δ logits| in training with the same dropout masks) between
    the inverted-dropout ``model`` and its original-dropout twin."""
    classic = to_classic(model, p, build)
    xt = engine.tensor(x)
    model.eval(), classic.eval()
    with engine.no_grad():
        test = float(np.abs(model(xt).numpy() - classic(xt).numpy()).max())
        model.train(), classic.train()
        engine.manual_seed(seed)
        a = model(xt).numpy().copy()
        engine.manual_seed(seed)
        b = classic(xt).numpy().copy()
    return test, float(np.abs(a - b).max())


def run(cfg):
    n_train, hidden, channels = (100, 64, 4) if cfg.quick else (300, 256, 16)
    epochs = 12 if cfg.quick else 40
    ps = (0.0, 0.5) if cfg.quick else (0.0, 0.2, 0.5, 0.7)
    data = common.load_data(cfg, n_train=n_train)
    folder = cfg.folder(NAME)
    lr = 3e-3 if cfg.quick else 1e-3
    kinds = {
        "Dropout (MLP)": (lambda p: mlp(data, hidden, p), None, lr),
        "DropConnect (MLP)": (lambda p: mlp(data, hidden, p, connect=True), None, lr),
        "Dropout2d (CNN)": (lambda p: cnn(data, channels, p), data.images, lr),
    }
    rows, gaps, kept = [], {}, {}
    for kind, (build, transform, lr) in kinds.items():
        gaps[kind] = []
        for p in ps:
            common.seed_all(cfg.seed)
            model = build(p)
            hist = common.train(model, data, optim.Adam(model.parameters(), lr=lr), epochs, seed=cfg.seed,
                                transform=transform)
            gap = hist["accuracy"][-1] - hist["val_accuracy"][-1]
            lgap = hist["val_loss"][-1] - hist["loss"][-1]
            gaps[kind].append((p, gap, lgap, hist["val_accuracy"][-1]))
            rows.append({"layer": kind, "p": p, "train accuracy": hist["accuracy"][-1],
                         "val accuracy": hist["val_accuracy"][-1], "accuracy gap": gap,
                         "val loss − train loss": lgap})
            if kind == "Dropout (MLP)" and p == 0.5:
                kept = {"model": model, "hist": hist}

    eq_test, eq_train = equivalence(kept["model"], 0.5, data.x_val, cfg.seed,
                                   kinds["Dropout (MLP)"][0])
    plt = common.plt()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    for kind, pts in gaps.items():
        axes[0].plot([q[0] for q in pts], [q[2] for q in pts], marker="o", label=kind)
        axes[1].plot([q[0] for q in pts], [q[3] for q in pts], marker="o", label=kind)
    axes[0].set_title("generalisation gap: val loss − train loss")
    axes[1].set_title("validation accuracy")
    for ax in axes[:2]:
        ax.set_xlabel("p (drop probability)")
        ax.legend(fontsize=8)
    h = kept["hist"]
    e = np.arange(1, len(h["loss"]) + 1)
    axes[2].plot(e, h["loss"], label="train (eval mode)")
    axes[2].plot(e, h["val_loss"], label="val")
    axes[2].set_title(f"MLP, Dropout(0.5): inverted vs test-time scaling differ by {eq_test:.1e}")
    axes[2].set_xlabel("epoch")
    axes[2].set_yscale("log")
    axes[2].legend()
    common.save_figure(fig, folder)

    def at(kind, p):
        return next(q for q in gaps[kind] if q[0] == p)
    pmax = max(ps)
    outcome = "; ".join(f"{kind}: val−train loss gap {at(kind, 0.0)[2]:.3f} at p=0 → "
                        f"{min(q[2] for q in gaps[kind] if q[0] > 0):.3f} at best p>0 "
                        f"({at(kind, pmax)[2]:.3f} at p={pmax})" for kind in gaps)
    outcome += (f"; inverted vs original dropout: max |Δ logits| {eq_test:.1e} at test, {eq_train:.1e} "
                f"in training with the same masks")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"{n_train} training examples, Adam({lr:g}), {epochs} epochs (train accuracy in eval "
                           f"mode)", rows),
                          ("inverted dropout vs original dropout (MLP trained with p = 0.5)",
                           [{"compared": "eval-mode logits", "max abs difference": eq_test},
                            {"compared": "train-mode logits, same masks", "max abs difference": eq_train}])],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "gaps": gaps, "equivalence": (eq_test, eq_train)}
