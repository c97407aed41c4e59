"""Training pictures with matplotlib (an optional extra, imported inside the functions): metric
curves, the LR-finder curve, per-layer activation and gradient histograms. Every function
returns the Figure and saves it when ``path=`` is given (under data parallelism only rank 0 of
``engine.distributed`` writes the file: every rank draws the same figure); without a display,
the Agg backend."""
from __future__ import annotations

import os
import sys

import numpy as np

from engine import distributed as dist

ACTIVATIONS = {"Tanh", "ReLU", "Sigmoid", "LeakyReLU", "ELU", "SELU", "GELU", "Softplus", "PReLU",
               "RReLU", "Maxout"}


def _plt():
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover
        raise ImportError("viz plots need matplotlib: pip install 'gradbricks[plot]'") from e
    if ("matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND")
            and sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _writes_files() -> bool:
    """False on the ranks other than 0 of an initialized process group (is_initialized first:
    asking it imports no MPI)."""
    return not dist.is_initialized() or dist.get_rank() == 0


def _finish(fig, path):
    fig.tight_layout()
    if path is not None and _writes_files():
        fig.savefig(path, dpi=120)
    return fig


def _check_model(fn, model):
    if not (hasattr(model, "named_parameters") and hasattr(model, "named_modules")):
        raise TypeError(f"{fn}: model must be an nn.Module, got {type(model).__name__}")


def plot_history(history, path=None, metrics=None):
    """Loss/metric curves: one axes per metric ("loss", "accuracy", …), the training curve and,
    when present, its ``val_`` twin, against the epoch. ``history`` is a dict of lists (Keras'
    ``History.history``) or an object with a ``.history`` dict."""
    h = getattr(history, "history", history)
    if not isinstance(h, dict) or not all(isinstance(k, str) for k in h):
        raise TypeError(f"plot_history: history must be a dict of lists (or have a .history dict), "
                        f"got {type(history).__name__}")
    if metrics is not None and (isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics)):
        raise TypeError(f"plot_history: metrics must be a list of names, got {metrics!r}")
    plt = _plt()
    names = metrics or [k for k in h if not k.startswith("val_")] or \
        [k[4:] for k in h if k.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, style in ((name, "-"), ("val_" + name, "--")):
            if key in h and len(h[key]):
                ys = np.asarray(h[key], dtype=float)
                ax.plot(np.arange(1, len(ys) + 1), ys, style, marker="o", ms=3,
                        label="val" if key.startswith("val_") else "train")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if name in ("lr", "loss") and all(v > 0 for v in h.get(name, [1])):
            ax.set_yscale("log" if name == "lr" else "linear")
        ax.legend()
        ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_lr_finder(finder, path=None, skip_start=10, skip_end=5, ax=None):
    """The LR range test: loss against learning rate (log scale) from ``finder.history``
    (``{"lr": [...], "loss": [...]}``; a plain dict works too), trimmed like ``LRFinder.plot``
    (``skip_start``/``skip_end`` points, unless that would leave fewer than 2), with
    ``finder.suggestion()`` marked when the finder offers one."""
    plt = _plt()
    h = getattr(finder, "history", finder)
    n = len(h["lr"])
    if n - skip_start - skip_end < 2:
        skip_start = skip_end = 0
    lrs = np.asarray(h["lr"][skip_start:n - skip_end], float)
    losses = np.asarray(h["loss"][skip_start:n - skip_end], float)
    fig = ax.figure if ax is not None else plt.subplots(figsize=(5.5, 3.8))[0]
    ax = ax or fig.axes[0]
    ax.plot(lrs, losses, label="loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("LR range test")
    sugg = None
    if callable(getattr(finder, "suggestion", None)):
        try:
            sugg = finder.suggestion(skip_start=skip_start, skip_end=skip_end)
        except TypeError:
            sugg = finder.suggestion()
    if sugg is not None and len(lrs):
        i = int(np.argmin(np.abs(np.log(lrs) - np.log(sugg))))
        ax.plot([sugg], [losses[i]], "o", color="red", label=f"suggestion {sugg:.2e}")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return _finish(fig, path)


def _layers(model, layers):
    mods = [(n, m) for n, m in model.named_modules() if n]
    if layers is not None:
        want = list(layers)
        return [(n, m) for n, m in mods if n in want or any(m is w for w in want)]
    acts = [(n, m) for n, m in mods if type(m).__name__ in ACTIVATIONS]
    return acts or [(n, m) for n, m in mods if not any(True for _ in m.children())]


def plot_activation_histograms(model, x, layers=None, path=None, bins=60, overlay=True, ax=None):
    """Histogram of each layer's output for one forward pass of ``x`` (no grad): by default every
    activation module (Tanh, ReLU…; else every leaf module). ``overlay=True`` draws one line per
    layer on one axes (the lectures' picture); ``overlay=False`` one axes per layer. Legends
    give mean, std and the saturated fraction (|a| > 0.97 for tanh)."""
    import engine

    _check_model("plot_activation_histograms", model)
    outs = []
    chosen = _layers(model, layers)
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: outs.append((n, mod, o)))
               for n, m in chosen]
    try:
        with engine.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    series = []
    for n, mod, o in outs:
        a = np.asarray(getattr(o, "data", o), dtype=float).ravel()
        sat = f", saturated {np.mean(np.abs(a) > 0.97):.0%}" if type(mod).__name__ == "Tanh" else ""
        series.append((f"{n} ({type(mod).__name__}): mean {a.mean():+.2f}, std {a.std():.2f}{sat}", a))
    return _hist_figure(series, "activation distribution", "activation", path, bins, overlay, ax)


def plot_gradient_histograms(model, path=None, bins=60, overlay=True, weights_only=True, ax=None):
    """Histogram of each parameter's ``.grad`` after ``backward()`` (weights only, i.e. ≥ 2-d,
    unless ``weights_only=False``); legends give the gradient std and the grad:data ratio
    (std of grad / std of weight) — tiny ratios in the first layers are vanishing gradients."""
    _check_model("plot_gradient_histograms", model)
    series = []
    for name, p in model.named_parameters():
        if p.grad is None or (weights_only and p.ndim < 2):
            continue
        g = np.asarray(p.grad._data, dtype=float).ravel()
        w = np.asarray(p._data, dtype=float).ravel()
        ratio = g.std() / w.std() if w.std() > 0 else float("nan")
        series.append((f"{name} {tuple(p.shape)}: std {g.std():.2e}, grad:data {ratio:.2e}", g))
    return _hist_figure(series, "gradient distribution", "gradient", path, bins, overlay, ax)


def _hist_figure(series, title, xlabel, path, bins, overlay, ax):
    plt = _plt()
    if not series:
        raise ValueError(f"nothing to plot for the {title}: no layer output / no .grad found "
                         f"(run forward, and backward for gradients)")
    if overlay:
        fig = ax.figure if ax is not None else plt.subplots(figsize=(8, 3.8))[0]
        axes = [ax or fig.axes[0]] * len(series)
    else:
        fig, grid = plt.subplots(1, len(series), figsize=(3.2 * len(series), 3.0), squeeze=False)
        axes = list(grid[0])
    for a, (label, vals) in zip(axes, series):
        finite = vals[np.isfinite(vals)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (-1.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 1e-12 - abs(lo) * 1e-3, hi + 1e-12 + abs(hi) * 1e-3
        hy, hx = np.histogram(finite, bins=bins, range=(lo, hi), density=True)
        a.plot(0.5 * (hx[1:] + hx[:-1]), hy, label=label)
        if not overlay:
            a.set_title(label.split(":")[0], fontsize=9)
            a.set_xlabel(label.split(":", 1)[1].strip(), fontsize=7)
    if overlay:
        axes[0].set_title(title)
        axes[0].set_xlabel(xlabel)
        axes[0].legend(fontsize=7)
    return _finish(fig, path)
