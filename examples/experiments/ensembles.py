"""Experiment 14, ensembles: k independently trained nets with their softmax outputs averaged vs
one net; next to it the lecture's "dropout trains an ensemble with shared weights": the dropout
net's weight-scaled prediction (eval mode) vs averaging many sampled dropout masks."""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim

from . import common

NAME = "ensembles"
TITLE = "14. Ensembles"
CLAIM = ("averaging k independently trained nets beats a single net (typically by a few percent); "
         "dropout is an ensemble of exponentially many thinned nets with shared weights, and "
         "scaling the weights at test time approximates averaging them")


def accuracy(prob, y):
    return float(np.mean(prob.argmax(1) == y))


def nll(prob, y):
    return float(-np.mean(np.log(np.maximum(prob[np.arange(len(y)), y], 1e-12))))


def mc_dropout(model, x, samples, seed):
    """Softmax probabilities averaged over ``samples`` random dropout masks (train-mode forward
    passes without grad); returns the running averages after 1..samples masks."""
    engine.manual_seed(seed)
    model.train()
    total, running = None, []
    with engine.no_grad():
        xt = engine.tensor(x)
        for i in range(samples):
            p = model(xt).softmax(dim=-1).numpy()
            total = p.copy() if total is None else total + p
            running.append(total / (i + 1))
    model.eval()
    return running


def run(cfg):
    k, hidden, epochs = (3, 64, 6) if cfg.quick else (5, 128, 15)
    samples = 10 if cfg.quick else 50
    lr = 3e-3 if cfg.quick else 1e-3
    data = common.load_data(cfg, n_train=500 if cfg.quick else None)
    folder = cfg.folder(NAME)
    y = data.y_val
    probs = []
    for i in range(k):
        common.seed_all(cfg.seed + 1000 * i)
        model = common.mlp([data.n_features, hidden, hidden, data.n_classes])
        common.train(model, data, optim.Adam(model.parameters(), lr=lr), epochs, seed=cfg.seed + 1000 * i)
        probs.append(common.predict_proba(model, data.x_val))
    single = [accuracy(p, y) for p in probs]
    ens_curve = [accuracy(np.mean(probs[:j], axis=0), y) for j in range(1, k + 1)]
    ens_nll = [nll(np.mean(probs[:j], axis=0), y) for j in range(1, k + 1)]

    common.seed_all(cfg.seed)
    dnet = common.mlp([data.n_features, hidden, hidden, data.n_classes], dropout=0.5)
    common.train(dnet, data, optim.Adam(dnet.parameters(), lr=lr), epochs, seed=cfg.seed)
    scaled = common.predict_proba(dnet, data.x_val)
    running = mc_dropout(dnet, data.x_val, samples, cfg.seed)
    mc_curve = [accuracy(p, y) for p in running]
    agree = float(np.mean(running[-1].argmax(1) == scaled.argmax(1)))

    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    axes[0].plot(range(1, k + 1), ens_curve, marker="o", label="average of the first k nets")
    axes[0].plot(range(1, k + 1), single, "x", label="each net alone")
    axes[0].set_xlabel("k (independently trained nets)")
    axes[0].set_ylabel("validation accuracy")
    axes[0].set_title(f"ensembles of MLP {data.n_features}-{hidden}-{hidden}-{data.n_classes}")
    axes[0].legend()
    axes[1].semilogx(range(1, samples + 1), mc_curve, label="average of m sampled dropout masks")
    axes[1].axhline(accuracy(scaled, y), color="red", ls="--", label="weight scaling (eval mode)")
    axes[1].set_xlabel("m (dropout masks averaged)")
    axes[1].set_ylabel("validation accuracy")
    axes[1].set_title("dropout(0.5) net: an ensemble with shared weights")
    axes[1].legend()
    common.save_figure(fig, folder)

    rows = [{"predictor": "single net (mean over the k nets)", "val accuracy": float(np.mean(single)),
             "val NLL": float(np.mean([nll(p, y) for p in probs]))},
            {"predictor": "best single net", "val accuracy": max(single)},
            {"predictor": f"ensemble of {k}", "val accuracy": ens_curve[-1], "val NLL": ens_nll[-1]},
            {"predictor": "dropout net, one sampled mask", "val accuracy": mc_curve[0], "val NLL": nll(running[0], y)},
            {"predictor": f"dropout net, {samples} masks averaged", "val accuracy": mc_curve[-1],
             "val NLL": nll(running[-1], y)},
            {"predictor": "dropout net, weight scaling (eval)", "val accuracy": accuracy(scaled, y),
             "val NLL": nll(scaled, y)}]
    outcome = (f"val accuracy: single net {np.mean(single):.3f} (mean of {k}), ensemble of {k} {ens_curve[-1]:.3f} "
               f"(NLL {np.mean([nll(p, y) for p in probs]):.3f} → {ens_nll[-1]:.3f}); dropout net: one mask "
               f"{mc_curve[0]:.3f}, {samples} masks averaged {mc_curve[-1]:.3f}, weight scaling "
               f"{accuracy(scaled, y):.3f} (same class as the {samples}-mask average on {agree:.1%} of examples)")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"Adam({lr:g}), {epochs} epochs, batch 64, seeds differ per net", rows)],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "single": single, "ensemble": ens_curve, "ensemble_nll": ens_nll,
            "single_nll": [nll(p, y) for p in probs], "mc": mc_curve, "scaled": accuracy(scaled, y),
            "agreement": agree}
