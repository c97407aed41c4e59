"""Experiment 9, depth: a deep plain CNN against the same depth with skip connections, next to a
shallow one (the degradation experiment of He et al. 2016, sized for 2 cores: 16 channels on the
8×8 digits or 28×28 MNIST)."""
from __future__ import annotations

import numpy as np

import nn
import optim

from . import common

NAME = "depth"
TITLE = "9. Depth: plain vs residual"
CLAIM = ("a deeper plain net trains worse than a shallower one (higher training error: degradation, "
         "not overfitting); with skip connections the deep net trains at least as well as the shallow one")


class Block(nn.Module):
    """conv3×3-BN-ReLU-conv3×3-BN, plus the input when ``residual``, then ReLU."""

    def __init__(self, channels, residual):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (h + x if self.residual else h).relu()


def cnn(data, channels, blocks, residual):
    """conv-BN-ReLU stem, ``blocks`` blocks (2 conv layers each), global average pool, Linear:
    2·blocks + 2 weight layers."""
    c = data.image_shape[0]
    return nn.Sequential(nn.Conv2d(c, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                         *[Block(channels, residual) for _ in range(blocks)],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, data.n_classes))


def run(cfg):
    channels = 8 if cfg.quick else 16
    shallow, deep = (1, 4) if cfg.quick else (2, 7)
    epochs = 8 if cfg.quick else 10
    data = common.load_data(cfg, n_train=300 if cfg.quick else None, n_val=200 if cfg.quick else None)
    if data.image_shape[1] > 8:          # MNIST: 2×2 average pooling first keeps it affordable
        data = common.Data(*(_pool(a) if a.ndim == 2 and a.dtype == np.float32 else a for a in
                             (data.x_train, data.y_train, data.x_val, data.y_val)),
                           (1, data.image_shape[1] // 2, data.image_shape[2] // 2), data.name)
    folder = cfg.folder(NAME)
    nets = {f"plain-{2 * shallow + 2}": (shallow, False), f"plain-{2 * deep + 2}": (deep, False),
            f"residual-{2 * shallow + 2}": (shallow, True), f"residual-{2 * deep + 2}": (deep, True)}
    hists, rows = {}, []
    for name, (blocks, residual) in nets.items():
        common.seed_all(cfg.seed)
        model = cnn(data, channels, blocks, residual)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        # cosine decay to 0 over the run (He et al. decay their lr too): at a constant 0.05 the
        # eval-mode errors of the last epochs jumped by 10× from one epoch to the next
        steps = epochs * -(-len(data.x_train) // 64)
        hist = common.train(model, data, opt, epochs, seed=cfg.seed, transform=data.images,
                            scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps))
        hists[name] = hist
        rows.append({"net": name, "weight layers": 2 * blocks + 2,
                     "parameters": sum(p.numel() for p in model.parameters()),
                     "final train loss": hist["loss"][-1], "train error": 1 - hist["accuracy"][-1],
                     "val error": 1 - hist["val_accuracy"][-1],
                     # one epoch's eval-mode error is noisy at this lr (see the figure): also the
                     # lowest and the mean over the second half of the epochs
                     "lowest train error": 1 - max(hist["accuracy"]),
                     "mean train error, 2nd half": 1 - float(np.mean(hist["accuracy"][epochs // 2:]))})

    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for name, hist in hists.items():
        style = "-" if name.startswith("residual") else "--"
        e = np.arange(1, len(hist["loss"]) + 1)
        axes[0].plot(e, 1 - np.array(hist["accuracy"]), style, marker="o", ms=3, label=name)
        axes[1].plot(e, 1 - np.array(hist["val_accuracy"]), style, marker="o", ms=3, label=name)
    for ax, what in zip(axes, ("training error", "validation error")):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.set_title(f"{what}: plain (dashed) vs residual (solid)")
        ax.legend()
    common.save_figure(fig, folder)

    r = {row["net"]: row for row in rows}
    ps, pd = r[f"plain-{2 * shallow + 2}"], r[f"plain-{2 * deep + 2}"]
    rs, rd = r[f"residual-{2 * shallow + 2}"], r[f"residual-{2 * deep + 2}"]
    outcome = (f"final training loss: plain {ps['final train loss']:.3g} ({2 * shallow + 2} layers) → "
               f"{pd['final train loss']:.3g} ({2 * deep + 2} layers); residual {rs['final train loss']:.3g} → "
               f"{rd['final train loss']:.3g}; val error plain-{2 * deep + 2} {pd['val error']:.3f} vs "
               f"residual-{2 * deep + 2} {rd['val error']:.3f}; mean train error over the second half of the "
               f"epochs: plain {ps['mean train error, 2nd half']:.3f} → {pd['mean train error, 2nd half']:.3f}, "
               f"residual {rs['mean train error, 2nd half']:.3f} → {rd['mean train error, 2nd half']:.3f}")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"{channels}-channel CNNs, SGD(0.05, momentum 0.9) with cosine decay, {epochs} epochs, "
                           f"batch 64 (errors measured in eval mode)", rows)],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "rows": r, "shallow": 2 * shallow + 2, "deep": 2 * deep + 2}


def _pool(x):
    """2×2 average pooling of flattened square images."""
    n, f = x.shape
    s = int(round(f ** 0.5))
    return x.reshape(n, s // 2, 2, s // 2, 2).mean(axis=(2, 4)).reshape(n, -1).astype(np.float32)
