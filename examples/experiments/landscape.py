"""Experiment 8, loss landscape: the loss along the straight line from the initial to the trained
weights, and a 2-D slice along two filter-normalised random directions (Li et al. 2018), for a
deep plain MLP and the same MLP with skip connections (``viz.plot_loss_landscape``)."""
from __future__ import annotations

import numpy as np

import engine
import nn
import optim
import viz
from viz.landscape import filter_normalized_direction, interpolate_losses, landscape_2d

from . import common

NAME = "landscape"
TITLE = "8. Loss landscape"
CLAIM = ("skip connections make the loss surface of a deep net smooth and nearly convex around the "
         "minimum, while the plain net's surface is chaotic (Li et al. 2018); the loss falls "
         "monotonically along the line from the initial to the trained weights (Goodfellow et al. 2015)")


class Block(nn.Module):
    """x + Linear(ReLU(Linear(x))) when ``residual``, else Linear(ReLU(Linear(x))), then ReLU."""

    def __init__(self, width, residual):
        super().__init__()
        self.fc1, self.fc2, self.residual = nn.Linear(width, width), nn.Linear(width, width), residual

    def forward(self, x):
        h = self.fc2(self.fc1(x).relu())
        return (x + h if self.residual else h).relu()


def deep_mlp(n_in, n_out, width, blocks, residual):
    """Linear(n_in, width) + ReLU, ``blocks`` two-layer blocks (with or without skips), head;
    He-initialised weights (``kaiming_normal_``, experiment 1's init for ReLU) and zero biases, so
    that the plain net trains too (with PyTorch's default init its activations vanish at this
    depth and its 'landscape' is flat at ln C)."""
    model = nn.Sequential(nn.Linear(n_in, width), nn.ReLU(),
                          *[Block(width, residual) for _ in range(blocks)], nn.Linear(width, n_out))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def nonconvex_fraction(grid):
    """Fraction of interior grid points where the finite-difference Hessian of the loss surface
    has a negative eigenvalue (0 for a convex bowl)."""
    fxx = grid[1:-1, 2:] - 2 * grid[1:-1, 1:-1] + grid[1:-1, :-2]
    fyy = grid[2:, 1:-1] - 2 * grid[1:-1, 1:-1] + grid[:-2, 1:-1]
    fxy = (grid[2:, 2:] - grid[2:, :-2] - grid[:-2, 2:] + grid[:-2, :-2]) / 4
    min_eig = (fxx + fyy) / 2 - np.sqrt(((fxx - fyy) / 2) ** 2 + fxy ** 2)
    return float(np.mean(min_eig < 0))


def run(cfg):
    blocks, width = (4, 32) if cfg.quick else (6, 64)
    epochs, steps = (4, 7) if cfg.quick else (15, 15)
    data = common.load_data(cfg, n_train=400 if cfg.quick else None, n_val=200 if cfg.quick else None)
    batch = (engine.tensor(data.x_val), engine.tensor(data.y_val))
    loss_fn = nn.CrossEntropyLoss()
    folder = cfg.folder(NAME)
    plt = common.plt()
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    rows, results = [], {}
    xs = np.linspace(-1, 1, steps)
    for k, residual in enumerate((False, True)):
        label = "residual" if residual else "plain"
        common.seed_all(cfg.seed)
        model = deep_mlp(data.n_features, data.n_classes, width, blocks, residual)
        start = common.snapshot(model)
        hist = common.train(model, data, optim.SGD(model.parameters(), lr=0.02, momentum=0.9), epochs,
                            seed=cfg.seed)
        alphas, line = interpolate_losses(model, loss_fn, batch, start, alphas=np.linspace(-0.25, 1.25, 31))
        grid = landscape_2d(model, loss_fn, batch, filter_normalized_direction(model, cfg.seed),
                            filter_normalized_direction(model, cfg.seed + 1), xs, xs)
        inside = line[(alphas >= 0) & (alphas <= 1)]
        center = grid[steps // 2, steps // 2]
        row = {"net": f"{label} ({2 * blocks + 2} Linear layers)", "val accuracy": hist["val_accuracy"][-1],
               "loss at θ*": float(center), "mean loss on the slice / loss at θ*": float(grid.mean() / center),
               "non-convex fraction of the slice": nonconvex_fraction(np.log(grid)),
               "largest rise along the line (0 = monotone)": max(0.0, float(np.max(np.diff(inside)))),
               "interp. loss at α=0.5": float(np.interp(0.5, alphas, line))}
        rows.append(row)
        results[label] = row
        axes[0].plot(alphas, line, marker="o", ms=3, label=label)
        viz.plot_loss_landscape(model, loss_fn, batch, steps=steps, seed=cfg.seed, ax=axes[1 + k],
                                title=f"{label}: 2-D slice (val acc {row['val accuracy']:.2f})")
    axes[0].set_yscale("log")
    axes[0].axvline(0, color="grey", ls=":")
    axes[0].axvline(1, color="grey", ls=":")
    axes[0].set_xlabel("α (0 = init, 1 = trained)")
    axes[0].set_ylabel(f"validation loss ({data.name})")
    axes[0].set_title("1-D interpolation θ(α) = (1 − α) θ₀ + α θ*")
    axes[0].legend()
    common.save_figure(fig, folder)
    p, r = results["plain"], results["residual"]
    outcome = (f"non-convex fraction of the 2-D slice: plain {p['non-convex fraction of the slice']:.2f} vs "
               f"residual {r['non-convex fraction of the slice']:.2f}; mean slice loss / minimum: plain "
               f"{p['mean loss on the slice / loss at θ*']:.3g} vs residual "
               f"{r['mean loss on the slice / loss at θ*']:.3g}; largest rise along the init→trained line: plain "
               f"{p['largest rise along the line (0 = monotone)']:.2g}, residual "
               f"{r['largest rise along the line (0 = monotone)']:.2g}; val accuracy plain "
               f"{p['val accuracy']:.3f}, residual {r['val accuracy']:.3f}")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"He init, SGD(0.02, momentum 0.9), {epochs} epochs; slices on {steps}×{steps} grids over "
                           f"[−1, 1]², validation set", rows)], outcome, cfg, data.name)
    return {"outcome": outcome, **results}
