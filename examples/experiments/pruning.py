"""Experiment 13, pruning and BatchNorm folding: validation accuracy against global magnitude
sparsity with and without fine-tuning (``nn.utils.prune``), and the inference speed-up of folding
BatchNorm into the preceding convolution (``nn.utils.fuse_batchnorm``)."""
from __future__ import annotations

import time

import numpy as np

import engine
import nn
import optim
from nn.utils import fuse_batchnorm, prune

from . import common

NAME = "pruning"
TITLE = "13. Pruning and BatchNorm folding"
CLAIM = ("most weights of a trained net can be removed by magnitude with little loss of accuracy, "
         "and fine-tuning after pruning recovers most of the rest (Han et al. 2015); folding "
         "BatchNorm into the preceding layer gives the same outputs with less inference work")


def linears(model):
    return [(m, "weight") for m in model.modules() if isinstance(m, nn.Linear)]


def bn_cnn(data, channels):
    c = data.image_shape[0]
    layers = []
    for i in range(3):
        layers += [nn.Conv2d(c if i == 0 else channels, channels, 3, padding=1, bias=False),
                   nn.BatchNorm2d(channels), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, data.n_classes))


def best_time(fn, repeats):
    """The fastest of ``repeats`` timed calls (seconds): the least disturbed by other load."""
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(cfg):
    hidden, epochs, ft_epochs = (128, 6, 2) if cfg.quick else (256, 30, 5)
    amounts = (0.0, 0.5, 0.8, 0.9) if cfg.quick else (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
    data = common.load_data(cfg, n_train=500 if cfg.quick else None)
    folder = cfg.folder(NAME)
    common.seed_all(cfg.seed)
    model = common.mlp([data.n_features, hidden, hidden, data.n_classes])
    lr = 3e-3 if cfg.quick else 1e-3
    common.train(model, data, optim.Adam(model.parameters(), lr=lr), epochs, seed=cfg.seed)
    trained = common.snapshot(model)
    rows = []
    for amount in amounts:
        net = common.restore(common.mlp([data.n_features, hidden, hidden, data.n_classes]), trained)
        if amount > 0:
            prune.global_unstructured(linears(net), pruning_method=prune.L1Unstructured, amount=amount)
        pruned_acc = common.evaluate(net, data.x_val, data.y_val)[1]
        sp = prune.sparsity(net)
        if amount > 0:     # fine-tune with the masks in place (pruned weights stay 0)
            common.train(net, data, optim.Adam(net.parameters(), lr=lr / 3), ft_epochs, seed=cfg.seed + 1)
        tuned_acc = common.evaluate(net, data.x_val, data.y_val)[1]
        w = np.concatenate([m.weight.numpy().ravel() for m, _ in linears(net)])
        rows.append({"weights pruned": amount, "model sparsity": sp, "val accuracy, pruned": pruned_acc,
                     f"after {ft_epochs} epochs fine-tuning": tuned_acc if amount > 0 else pruned_acc,
                     "weights still 0 after fine-tuning": float(np.mean(w == 0))})

    channels, batch = (8, 64) if cfg.quick else (32, 256)
    common.seed_all(cfg.seed)
    cnn = bn_cnn(data, channels)
    common.train(cnn, data.subset(300), optim.Adam(cnn.parameters(), lr=3e-3), 2 if cfg.quick else 5,
                 seed=cfg.seed, transform=data.images)
    cnn.eval()
    fused = fuse_batchnorm(cnn)
    fused.eval()
    x = engine.tensor(data.images(data.x_val[:batch]))
    with engine.no_grad():
        diff = float(np.abs(cnn(x).numpy() - fused(x).numpy()).max())
        repeats = 5 if cfg.quick else 30
        t_bn = best_time(lambda: cnn(x), repeats)
        t_fused = best_time(lambda: fused(x), repeats)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in cnn.modules())
    n_fused = sum(isinstance(m, nn.BatchNorm2d) for m in fused.modules())

    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    xs = [r["weights pruned"] for r in rows]
    axes[0].plot(xs, [r["val accuracy, pruned"] for r in rows], marker="o", label="pruned, no fine-tuning")
    axes[0].plot(xs, [r[f"after {ft_epochs} epochs fine-tuning"] for r in rows], marker="o",
                 label=f"pruned + {ft_epochs} epochs fine-tuning")
    axes[0].set_xlabel("fraction of Linear weights pruned (global magnitude)")
    axes[0].set_ylabel("validation accuracy")
    axes[0].set_title(f"MLP {data.n_features}-{hidden}-{hidden}-{data.n_classes}")
    axes[0].legend()
    axes[1].bar(["Conv+BN", "BN folded"], [t_bn * 1e3, t_fused * 1e3], color=["tab:blue", "tab:green"])
    axes[1].set_ylabel(f"inference time of a batch of {batch} (ms, best of {repeats})")
    axes[1].set_title(f"3×(Conv{channels}-BN-ReLU): speed-up ×{t_bn / t_fused:.2f}, max |Δ| {diff:.1e}")
    common.save_figure(fig, folder)

    r = {row["weights pruned"]: row for row in rows}
    hi = max(a for a in amounts if r[a]["val accuracy, pruned"] >= r[0.0]["val accuracy, pruned"] - 0.01)
    outcome = (f"val accuracy {r[0.0]['val accuracy, pruned']:.3f} unpruned; up to {hi:.0%} of the weights "
               f"pruned it stays within 1 point; at {amounts[-1]:.0%}: {r[amounts[-1]]['val accuracy, pruned']:.3f} "
               f"pruned, {r[amounts[-1]][f'after {ft_epochs} epochs fine-tuning']:.3f} fine-tuned; BN folding: "
               f"{n_bn} → {n_fused} BatchNorm layers, outputs equal to {diff:.1e}, inference ×{t_bn / t_fused:.2f} faster")
    common.write_results(folder, TITLE, CLAIM,
                         [("global L1 (magnitude) pruning of all Linear weights, then fine-tuning with the masks",
                           rows),
                          ("BatchNorm folding (eval mode)",
                           [{"model": "Conv-BN-ReLU ×3", "BatchNorm layers": n_bn, "ms per batch": t_bn * 1e3},
                            {"model": "fuse_batchnorm(model)", "BatchNorm layers": n_fused, "ms per batch": t_fused * 1e3,
                             "max |Δ output|": diff}])], outcome, cfg, data.name)
    return {"outcome": outcome, "rows": r, "amounts": amounts, "ft": ft_epochs, "fold_diff": diff,
            "bn_layers": (n_bn, n_fused), "times": (t_bn, t_fused)}
