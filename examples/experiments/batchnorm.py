"""Experiment 2, BatchNorm: steps to reach a target validation accuracy with and without BN, the
largest stable learning rate with and without, and BN placed before vs after the activation."""
from __future__ import annotations

import math

import numpy as np

import nn
import optim

from . import common

NAME = "batchnorm"
TITLE = "2. BatchNorm"
CLAIM = ("BatchNorm speeds up training (fewer steps to a given accuracy), allows much larger "
         "learning rates, and is placed before the nonlinearity (Ioffe & Szegedy 2015)")


def net(data, width, depth, bn):
    """``depth`` hidden layers of ``width`` units: Linear [+ BN] + ReLU ('before'), Linear + ReLU
    [+ BN] ('after') or Linear + ReLU (``bn=None``), then a Linear head."""
    layers, n_in = [], data.n_features
    for _ in range(depth):
        layers.append(nn.Linear(n_in, width))
        if bn == "before":
            layers += [nn.BatchNorm1d(width), nn.ReLU()]
        elif bn == "after":
            layers += [nn.ReLU(), nn.BatchNorm1d(width)]
        else:
            layers.append(nn.ReLU())
        n_in = width
    return nn.Sequential(*layers, nn.Linear(n_in, data.n_classes))


def steps_to_target(data, width, depth, bn, lr, target, max_steps, seed, every=5):
    """Train with SGD(lr, momentum 0.9), checking validation accuracy every ``every`` steps;
    returns (steps until it first reaches ``target`` or None, [(step, val accuracy)])."""
    common.seed_all(seed)
    model = net(data, width, depth, bn)
    curve, hit = [], [None]

    def check(step, loss):
        if step % every:
            return False
        acc = common.evaluate(model, data.x_val, data.y_val)[1]
        curve.append((step, acc))
        if acc >= target and hit[0] is None:
            hit[0] = step
        return hit[0] is not None or step >= max_steps

    common.train(model, data, optim.SGD(model.parameters(), lr=lr, momentum=0.9), 10 ** 6, seed=seed,
                 on_step=check, eval_every_epoch=False)
    return hit[0], curve


def stable(data, width, depth, bn, lr, steps, seed):
    """(trains?, mean training loss of the last 10 steps): it trains when every loss is finite and
    the final loss is below half of ln C (the loss of guessing uniformly among C classes)."""
    common.seed_all(seed)
    model = net(data, width, depth, bn)
    hist = common.train(model, data, optim.SGD(model.parameters(), lr=lr, momentum=0.9), 10 ** 6,
                        seed=seed, max_steps=steps, eval_every_epoch=False)
    tail = float(np.mean(hist["step_loss"][-10:]))
    return (not hist["diverged"]) and tail < 0.5 * math.log(data.n_classes), tail


def run(cfg):
    width, depth = (64, 4) if cfg.quick else (64, 6)
    target, max_steps = (0.7, 100) if cfg.quick else (0.9, 600)
    lr = 0.02
    lrs = (0.01, 0.3, 3.0) if cfg.quick else (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    lr_steps = 40 if cfg.quick else 100
    data = common.load_data(cfg, n_train=500 if cfg.quick else None)
    folder = cfg.folder(NAME)
    variants = {"no BN": None, "BN before ReLU": "before", "BN after ReLU": "after"}

    speed, curves = {}, {}
    for name, bn in variants.items():
        speed[name], curves[name] = steps_to_target(data, width, depth, bn, lr, target, max_steps, cfg.seed,
                                                    every=5 if cfg.quick else 10)
    stab = {name: [stable(data, width, depth, bn, x, lr_steps, cfg.seed) for x in lrs]
            for name, bn in variants.items()}
    largest = {name: max([x for x, (ok, _) in zip(lrs, res) if ok], default=None) for name, res in stab.items()}

    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for name, pts in curves.items():
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts], label=f"{name}: {speed[name] or '>' + str(max_steps)} steps")
    axes[0].axhline(target, color="grey", ls=":")
    axes[0].set_xlabel("SGD step")
    axes[0].set_ylabel("validation accuracy")
    axes[0].set_title(f"{depth} hidden layers of {width}, SGD(lr={lr}, momentum=0.9)")
    axes[0].legend()
    for name, res in stab.items():
        axes[1].semilogx(lrs, [min(t, 10.0) if np.isfinite(t) else 10.0 for _, t in res], marker="o", label=name)
    axes[1].axhline(math.log(data.n_classes), color="grey", ls=":", label="ln C (chance)")
    axes[1].set_xlabel("learning rate")
    axes[1].set_ylabel(f"training loss after {lr_steps} steps (clipped at 10)")
    axes[1].axhline(0.5 * math.log(data.n_classes), color="grey", ls="--", label="½ ln C (trains below)")
    axes[1].set_title("which learning rates train")
    axes[1].legend()
    common.save_figure(fig, folder)

    rows = [{"net": name, f"steps to val acc ≥ {target}": speed[name] if speed[name] else f"> {max_steps}",
             "largest lr that trains": largest[name] if largest[name] else "none",
             **{f"loss @ lr {x:g}": t for x, (_, t) in zip(lrs, stab[name])}} for name in variants]
    fmt = lambda s: str(s) if s else f"> {max_steps}"  # noqa: E731
    outcome = (f"steps to {target:.0%} validation accuracy: no BN {fmt(speed['no BN'])}, BN before ReLU "
               f"{fmt(speed['BN before ReLU'])}, BN after ReLU {fmt(speed['BN after ReLU'])}; largest lr that trains "
               f"(loss < ½ ln C after {lr_steps} steps; tried {', '.join(f'{x:g}' for x in lrs)}): no BN {largest['no BN']}, BN before "
               f"{largest['BN before ReLU']}, BN after {largest['BN after ReLU']}")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"{depth} hidden ReLU layers of {width} units (PyTorch default init), batch 64",
                           rows)], outcome, cfg, data.name)
    return {"outcome": outcome, "steps": speed, "largest_lr": largest, "target": target,
            "max_steps": max_steps}
