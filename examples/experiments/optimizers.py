"""Experiment 6, optimizers: SGD, momentum, Nesterov, AdaGrad, RMSprop, Adam, AdamW and NAdam on
the same net (training loss vs step), and their trajectories on three 2-D surfaces (a ravine, a
saddle point, Rosenbrock's valley) drawn over the contours."""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim

from . import common

NAME = "optimizers"
TITLE = "6. Optimizers"
CLAIM = ("plain SGD zig-zags across ravines and stalls at saddle points; momentum and Nesterov "
         "damp the zig-zag; adaptive methods (AdaGrad, RMSprop, Adam) rescale each direction; "
         "Adam is the default choice")

# name -> (class, kwargs without lr)
OPTIMIZERS = {
    "SGD": (optim.SGD, {}),
    "Momentum": (optim.SGD, {"momentum": 0.9}),
    "Nesterov": (optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "AdaGrad": (optim.Adagrad, {}),
    "RMSprop": (optim.RMSprop, {}),
    "Adam": (optim.Adam, {}),
    "AdamW": (optim.AdamW, {"weight_decay": 1e-2}),
    "NAdam": (optim.NAdam, {}),
}
# learning rates for the MLP on the digits: each optimizer's usual range
NET_LR = {"SGD": 0.1, "Momentum": 0.01, "Nesterov": 0.01, "AdaGrad": 0.05, "RMSprop": 1e-3,
          "Adam": 1e-3, "AdamW": 1e-3, "NAdam": 2e-3}


def ravine(x, y):
    """An ill-conditioned quadratic: f = 0.05 x² + 2.5 y² (curvatures 0.1 and 5)."""
    return 0.05 * x * x + 2.5 * y * y


def saddle(x, y):
    """f = x² − y² + y⁴/4: a saddle at the origin, minima at (0, ±√2)."""
    return x * x - y * y + 0.25 * y ** 4


def rosenbrock(x, y):
    """f = (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1) at the end of a curved valley."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


# name -> (function, start, minimum value, plot box, steps (full, quick), goal: f − f* below which it is "reached")
SURFACES = {
    "ravine": (ravine, (-9.0, 1.2), 0.0, (-10, 10, -2, 2), (150, 40), 1e-3),
    "saddle": (saddle, (-1.5, 1e-4), -1.0, (-2, 2, -2, 2), (300, 40), 0.5),
    "rosenbrock": (rosenbrock, (-1.5, 1.5), 0.0, (-2, 2, -1, 3), (1500, 60), 1e-2),
}
# learning rate per surface and optimizer family; momentum methods get lr·(1 − β) so that their
# long-run step equals plain SGD's (the fair comparison); Adam's lr is used by AdamW and NAdam
SURFACE_LR = {
    "ravine": {"SGD": 0.36, "Momentum": 0.036, "AdaGrad": 1.0, "RMSprop": 0.02, "Adam": 0.2},
    "saddle": {"SGD": 0.02, "Momentum": 0.002, "AdaGrad": 0.2, "RMSprop": 0.005, "Adam": 0.05},
    "rosenbrock": {"SGD": 1e-3, "Momentum": 1e-4, "AdaGrad": 0.5, "RMSprop": 2e-3, "Adam": 0.02},
}
FAMILY = {"SGD": "SGD", "Momentum": "Momentum", "Nesterov": "Momentum", "AdaGrad": "AdaGrad",
          "RMSprop": "RMSprop", "Adam": "Adam", "AdamW": "Adam", "NAdam": "Adam"}


def trajectory(surface, opt_name, steps):
    """Points visited by optimizer ``opt_name`` on ``surface`` over ``steps`` steps (float64);
    stops early when it leaves the plot box by far or the point is not finite."""
    fn, start = SURFACES[surface][:2]
    cls, kw = OPTIMIZERS[opt_name]
    lr = SURFACE_LR[surface][FAMILY[opt_name]]
    p = nn.Parameter(np.array(start, dtype=np.float64))
    opt = cls([p], lr=lr, **kw)
    points = [np.array(start)]
    for _ in range(steps):
        opt.zero_grad()
        f = fn(p[0], p[1])
        f.backward()
        opt.step()
        xy = p.numpy().copy()
        if not np.all(np.isfinite(xy)) or np.abs(xy).max() > 1e3:
            break
        points.append(xy)
    return np.array(points)


def steps_to_goal(surface, pts):
    """First step at which f − f* < the surface's goal (None if never)."""
    fn, _, fmin, _, _, goal = SURFACES[surface]
    gaps = fn(pts[:, 0], pts[:, 1]) - fmin
    hit = np.flatnonzero(gaps < goal)
    return int(hit[0]) if hit.size else None


def _g(v):
    return f"{v:.2g}" if isinstance(v, float) else str(v)


def run(cfg):
    epochs = 3 if cfg.quick else 8
    data = common.load_data(cfg, n_train=400 if cfg.quick else None)
    folder = cfg.folder(NAME)

    steps = {s: v[4][1 if cfg.quick else 0] for s, v in SURFACES.items()}
    paths = {s: {o: trajectory(s, o, steps[s]) for o in OPTIMIZERS} for s in SURFACES}
    curves, net_rows = {}, []
    for name, (cls, kw) in OPTIMIZERS.items():
        common.seed_all(cfg.seed)
        model = common.mlp([data.n_features, 128, 128, data.n_classes])
        hist = common.train(model, data, cls(model.parameters(), lr=NET_LR[name], **kw), epochs, seed=cfg.seed)
        curves[name] = hist["step_loss"]
        net_rows.append({"optimizer": name, "lr": NET_LR[name], "final train loss": hist["loss"][-1],
                         "final val loss": hist["val_loss"][-1], "val accuracy": hist["val_accuracy"][-1]})

    plt = common.plt()
    fig, axes = plt.subplots(2, 2, figsize=(14, 10.5))
    surf_rows, reach_rows = [], []
    for ax, (surface, (fn, start, fmin, box, _, goal)) in zip(axes.ravel(), SURFACES.items()):
        xs, ys = np.meshgrid(np.linspace(box[0], box[1], 200), np.linspace(box[2], box[3], 200))
        zs = fn(xs, ys)
        levels = np.quantile(zs, np.linspace(0, 1, 25) ** 2)
        ax.contour(xs, ys, zs, levels=np.unique(levels), cmap="Greys", linewidths=0.6)
        row, reach = {"surface": surface}, {"surface": f"{surface} (f − f* < {goal:g})"}
        for name, pts in paths[surface].items():
            hit = steps_to_goal(surface, pts)
            ax.plot(pts[:, 0], pts[:, 1], "-", lw=1.2, marker=".", ms=2,
                    label=f"{name} (lr {SURFACE_LR[surface][FAMILY[name]]:g}): "
                          f"{hit if hit is not None else '>' + str(steps[surface])} steps")
            final = float(fn(*pts[-1])) - fmin
            row[name] = final if len(pts) == steps[surface] + 1 else "diverged"
            reach[name] = hit if hit is not None else f"> {steps[surface]}"
        surf_rows.append(row)
        reach_rows.append(reach)
        ax.plot(*start, "ko")
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_title(f"{surface}: {steps[surface]} steps from {start}; legend: steps to f − f* < {goal:g}")
        ax.legend(fontsize=7, loc="lower right")
    ax = axes[1, 1]
    for name, ys in curves.items():
        ys = np.asarray(ys)
        k = max(1, len(ys) // 40)
        smooth = np.convolve(ys, np.ones(k) / k, mode="valid")
        ax.plot(np.arange(len(smooth)) + k, smooth, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (moving average)")
    ax.set_title(f"MLP {data.n_features}-128-128-{data.n_classes} on {data.name}")
    ax.legend(fontsize=7)
    common.save_figure(fig, folder)

    best = min(net_rows, key=lambda r: r["final train loss"])
    rank = sorted(net_rows, key=lambda r: r["final train loss"])
    adam_rank = [r["optimizer"] for r in rank].index("Adam") + 1
    gap = {s: row for s, row in zip(SURFACES, reach_rows)}
    outcome = (f"on {data.name} after {epochs} epochs the lowest training loss is {best['optimizer']}'s "
               f"({best['final train loss']:.3g}); Adam ranks {adam_rank}/8 (val accuracy "
               f"{next(r['val accuracy'] for r in net_rows if r['optimizer'] == 'Adam'):.3f}); "
               "steps to the goal on the 2-D surfaces (ravine / saddle escape / Rosenbrock): " + "; ".join(
                   f"{o} {gap['ravine'][o]} / {gap['saddle'][o]} / {gap['rosenbrock'][o]}"
                   for o in ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam")))
    common.write_results(folder, TITLE, CLAIM,
                         [("steps until f − f* falls below the goal (saddle: escaped towards a minimum)", reach_rows),
                          ("f − f* after the last step (" + ", ".join(f"{k} {v}" for k, v in steps.items()) + " steps)",
                           surf_rows),
                          (f"MLP on {data.name}, batch 64, {epochs} epochs", net_rows)],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "surfaces": {s: r for s, r in zip(SURFACES, surf_rows)},
            "reach": {s: {k: (v if isinstance(v, int) else None) for k, v in r.items()} for s, r in zip(SURFACES, reach_rows)},
            "net": {r["optimizer"]: r for r in net_rows}, "paths": paths}
