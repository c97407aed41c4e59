"""Experiment 7, learning rates: fixed vs step vs exponential vs cyclical vs SGDR vs one-cycle on
the same net and budget; the LR range test ("LR finder") and the momentum finder with their
suggestions, and a run at the suggested values."""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim
from optim import lr_scheduler as S

from . import common

NAME = "lr_schedules"
TITLE = "7. Learning-rate schedules and finders"
CLAIM = ("decaying or cyclical learning rates beat a fixed one; a cyclical LR / one-cycle reaches "
         "good minima faster (super-convergence, Smith 2017-2018); the LR range test picks a good "
         "learning rate (the steepest descent of the loss) and the momentum finder a good momentum")

BASE_LR, MAX_LR = 0.02, 0.2


def schedules(total):
    """name -> factory(optimizer) of the scheduler (stepped once per optimizer step) for a run of
    ``total`` steps. Factories, because constructing a scheduler already sets the optimizer's lr
    (and, for the cyclical ones, its momentum)."""
    return {
        "fixed": lambda opt: None,
        "step (÷10 at 1/2, 3/4)": lambda opt: S.MultiStepLR(opt, milestones=[total // 2, 3 * total // 4], gamma=0.1),
        "exponential (→ 1 %)": lambda opt: S.ExponentialLR(opt, gamma=0.01 ** (1 / total)),
        "cyclical (triangular)": lambda opt: S.CyclicLR(opt, base_lr=BASE_LR / 10, max_lr=MAX_LR,
                                                        step_size_up=max(1, total // 8)),
        "SGDR (cosine restarts)": lambda opt: S.CosineAnnealingWarmRestarts(opt, T_0=max(1, total // 7), T_mult=2),
        "one-cycle": lambda opt: S.OneCycleLR(opt, max_lr=MAX_LR, total_steps=total),
    }


def make(data, hidden):
    return common.mlp([data.n_features, hidden, hidden, data.n_classes])


def batches(data, batch_size, seed):
    """A list of (x, y) Tensor batches of one shuffled epoch (the finder's loader)."""
    rng = np.random.default_rng(seed)
    return [(engine.tensor(data.x_train[i]), engine.tensor(data.y_train[i]))
            for i in common.batches(len(data.x_train), batch_size, rng)]


def run(cfg):
    hidden, epochs = (64, 3) if cfg.quick else (128, 10)
    data = common.load_data(cfg, n_train=400 if cfg.quick else None)
    folder = cfg.folder(NAME)
    steps_per_epoch = -(-len(data.x_train) // 64)
    total = epochs * steps_per_epoch
    names = list(schedules(total))
    runs, rows = {}, []
    for name in names:
        common.seed_all(cfg.seed)
        model = make(data, hidden)
        opt = optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9)
        sched = schedules(total)[name](opt)
        lrs = [opt.param_groups[0]["lr"]]
        hist = common.train(model, data, opt, epochs, seed=cfg.seed, scheduler=sched,
                            on_step=lambda step, loss: lrs.append(opt.param_groups[0]["lr"]) and False)
        lrs.pop()                       # the lr after the last step is never used
        runs[name] = (hist, lrs)
        rows.append({"schedule": name, "final train loss": hist["loss"][-1], "val accuracy": hist["val_accuracy"][-1],
                     "best val accuracy": max(hist["val_accuracy"]),
                     "epochs to 95 % of the best": 1 + int(np.argmax(np.array(hist["val_accuracy"])
                                                                     >= 0.95 * max(hist["val_accuracy"])))})

    common.seed_all(cfg.seed)
    model = make(data, hidden)
    loss_fn = nn.CrossEntropyLoss()
    loader = batches(data, 64, cfg.seed)
    num_iter = 40 if cfg.quick else 100
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9), loss_fn)
    lr_hist = finder.range_test(loader, start_lr=1e-4, end_lr=10, num_iter=num_iter)
    lr_hist = {k: list(v) for k, v in lr_hist.items()}
    lr_sugg = finder.suggestion(skip_start=3 if cfg.quick else 10)
    mfinder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=lr_sugg, momentum=0.5), loss_fn)
    m_hist = mfinder.range_test(loader, start_lr=0.5, end_lr=0.99, num_iter=num_iter, param="momentum")
    m_hist = {k: list(v) for k, v in m_hist.items()}
    m_sugg = mfinder.suggestion(skip_start=3 if cfg.quick else 10)
    common.seed_all(cfg.seed)
    model = make(data, hidden)
    check = common.train(model, data, optim.SGD(model.parameters(), lr=lr_sugg, momentum=m_sugg), epochs,
                         seed=cfg.seed)
    rows.append({"schedule": f"fixed at the finders' suggestion (lr {lr_sugg:.3g}, momentum {m_sugg:.3g})",
                 "final train loss": check["loss"][-1], "val accuracy": check["val_accuracy"][-1],
                 "best val accuracy": max(check["val_accuracy"])})

    plt = common.plt()
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    for name, (hist, lrs) in runs.items():
        axes[0, 0].plot(lrs, label=name)
        ys = np.asarray(hist["step_loss"])
        k = max(1, len(ys) // 50)
        axes[0, 1].plot(np.arange(len(ys) - k + 1) + k, np.convolve(ys, np.ones(k) / k, mode="valid"), label=name)
    axes[0, 0].set_title("learning rate per step")
    axes[0, 0].set_yscale("log")
    axes[0, 1].set_title("training loss (moving average)")
    axes[0, 1].set_yscale("log")
    for ax in axes[0]:
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    axes[1, 0].semilogx(lr_hist["lr"], lr_hist["loss"])
    axes[1, 0].axvline(lr_sugg, color="red", ls="--", label=f"suggestion {lr_sugg:.3g}")
    axes[1, 0].set_title("LR finder (SGD, momentum 0.9): smoothed loss vs lr")
    axes[1, 0].set_xlabel("learning rate")
    axes[1, 0].legend()
    axes[1, 1].plot(m_hist["momentum"], m_hist["loss"])
    axes[1, 1].axvline(m_sugg, color="red", ls="--", label=f"suggestion {m_sugg:.3g}")
    axes[1, 1].set_title(f"momentum finder at lr {lr_sugg:.3g}: smoothed loss vs momentum")
    axes[1, 1].set_xlabel("momentum")
    axes[1, 1].legend()
    common.save_figure(fig, folder)

    r = {row["schedule"]: row for row in rows}
    best = max(rows[:len(names)], key=lambda row: row["val accuracy"])
    outcome = (f"final val accuracy: " + ", ".join(f"{n} {r[n]['val accuracy']:.3f}" for n in names)
               + f" (best: {best['schedule']}); LR finder suggests {lr_sugg:.3g}, momentum finder {m_sugg:.3g}; "
               f"a fixed run at those reaches {check['val_accuracy'][-1]:.3f}")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"MLP {data.n_features}-{hidden}-{hidden}-{data.n_classes}, SGD(momentum 0.9), base lr "
                           f"{BASE_LR}, peak lr {MAX_LR} for the cyclical ones, {epochs} epochs = {total} steps",
                           rows)], outcome, cfg, data.name)
    return {"outcome": outcome, "rows": r, "names": names, "lr_suggestion": lr_sugg,
            "momentum_suggestion": m_sugg, "lr_history": lr_hist, "check": check["val_accuracy"][-1],
            "lrs": {n: runs[n][1] for n in names}}
