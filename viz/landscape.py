"""Loss-landscape pictures (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"):
the loss along the straight line between two parameter vectors (1-D interpolation, Goodfellow
et al. 2015) and on a 2-D plane spanned by two filter-normalised random directions.

Models are duck-typed: ``named_parameters()``, ``train(mode)`` and ``training``; parameters are
engine Tensors whose ``numpy()`` arrays are overwritten in place while probing and restored
afterwards. ``loss_fn(model(x), y)`` must return a 0-d Tensor.
"""
from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["filter_normalized_direction", "interpolate_losses", "landscape_2d", "plot_loss_landscape"]


def _check(model, loss_fn, batch):
    """TypeError naming the argument unless model/loss_fn/batch look usable."""
    if not (callable(model) and callable(getattr(model, "named_parameters", None))
            and callable(getattr(model, "train", None))):
        raise TypeError(f"model must be a Module (callable, with named_parameters() and train()), "
                        f"got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(f"batch must be a pair (x, y), got {type(batch).__name__}")


def _params(model):
    return [(n, p) for n, p in model.named_parameters()]


def _arrays(state):
    """name -> float64 copy of every array-like in a state dict (Tensors via ``numpy()``)."""
    out = {}
    for k, v in state.items():
        arr = v.numpy() if hasattr(v, "numpy") else v
        out[k] = np.array(arr, dtype=np.float64, copy=True)
    return out


@contextlib.contextmanager
def _probing(model):
    """Eval mode and no grad while probing; parameters and mode restored on exit."""
    import engine
    saved = [(p, p.numpy().copy()) for _, p in _params(model)]
    was_training = getattr(model, "training", False)
    model.train(False)
    try:
        with engine.no_grad():
            yield
    finally:
        for p, arr in saved:
            p.numpy()[...] = arr
        model.train(was_training)


def _loss(model, loss_fn, batch):
    x, y = batch
    return float(loss_fn(model(x), y).item())


def _set(model, theta):
    for name, p in _params(model):
        p.numpy()[...] = theta[name].astype(p.numpy().dtype, copy=False)


def filter_normalized_direction(model, seed=0, ignore_1d=True):
    """A random direction d ~ N(0, I) in parameter space, scaled filter by filter:
    d_{i,j} ← d_{i,j} / ‖d_{i,j}‖ · ‖θ_{i,j}‖ for every filter j (index along dim 0 — a Linear
    row, a Conv2d output channel) of every parameter i, so the direction has the scale of the
    weights it perturbs. 1-D parameters (biases, norm scales) get d = 0 when ``ignore_1d``
    (Li et al.'s choice), else are normalised as one filter. Returns name -> float64 ndarray."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, p in _params(model):
        theta = np.asarray(p.numpy(), dtype=np.float64)
        d = rng.standard_normal(theta.shape)
        if theta.ndim <= 1:
            if ignore_1d:
                d[...] = 0.0
            else:
                d *= np.linalg.norm(theta) / max(np.linalg.norm(d), 1e-12)
        else:
            axes = tuple(range(1, theta.ndim))
            dn = np.sqrt((d * d).sum(axis=axes, keepdims=True))
            tn = np.sqrt((theta * theta).sum(axis=axes, keepdims=True))
            d *= tn / np.maximum(dn, 1e-12)
        out[name] = d
    return out


def interpolate_losses(model, loss_fn, batch, start, end=None, alphas=None):
    """Loss at θ(α) = θ_start + α (θ_end − θ_start) for each α in ``alphas`` (default 25 points in
    [−0.5, 1.5]). ``start``/``end`` are state dicts (a model's ``state_dict()``; only parameter
    names are used); ``end`` defaults to the model's current parameters. Returns (alphas, losses)."""
    _check(model, loss_fn, batch)
    if not hasattr(start, "items") or (end is not None and not hasattr(end, "items")):
        raise TypeError("start and end must be state dicts (name -> Tensor/array)")
    alphas = np.linspace(-0.5, 1.5, 25) if alphas is None else np.asarray(alphas, dtype=np.float64).reshape(-1)
    names = [n for n, _ in _params(model)]
    current = {n: np.asarray(p.numpy(), dtype=np.float64).copy() for n, p in _params(model)}
    a, b = _arrays(start), (_arrays(end) if end is not None else current)
    missing = [n for n in names if n not in a or n not in b]
    if missing:
        raise ValueError(f"interpolate_losses: start/end state dicts lack parameters {missing}")
    for n in names:
        if a[n].shape != current[n].shape or b[n].shape != current[n].shape:
            raise ValueError(f"interpolate_losses: parameter {n!r} has shape {tuple(current[n].shape)}, "
                             f"start {tuple(a[n].shape)}, end {tuple(b[n].shape)}")
    losses = []
    with _probing(model):
        for alpha in alphas:
            _set(model, {n: a[n] + alpha * (b[n] - a[n]) for n in names})
            losses.append(_loss(model, loss_fn, batch))
    return alphas, np.array(losses)


def landscape_2d(model, loss_fn, batch, d1, d2, xs, ys):
    """Loss at θ* + x·d1 + y·d2 on the grid ``xs`` × ``ys`` around the current parameters θ*;
    returns an array of shape (len(ys), len(xs)) (rows follow y, as ``contour`` expects)."""
    _check(model, loss_fn, batch)
    theta = {n: np.asarray(p.numpy(), dtype=np.float64).copy() for n, p in _params(model)}
    for name, d in (("d1", d1), ("d2", d2)):
        if not hasattr(d, "keys") or set(d.keys()) != set(theta):
            raise ValueError(f"landscape_2d: {name} must map every parameter name of the model to an array")
    grid = np.empty((len(ys), len(xs)))
    with _probing(model):
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                _set(model, {n: theta[n] + x * d1[n] + y * d2[n] for n in theta})
                grid[i, j] = _loss(model, loss_fn, batch)
    return grid


def plot_loss_landscape(model, loss_fn, batch, start=None, steps=21, span=1.0, seed=0, log=True,
                        path=None, ax=None, title=None):
    """Draw the loss landscape of ``model`` on ``batch`` = (x, y) and return the Figure.

    With ``start`` (e.g. the ``state_dict()`` saved before training) the 1-D interpolation from
    ``start`` (α = 0) to the current parameters (α = 1) is drawn; without it, the contours of the
    2-D slice θ* + a·d1 + b·d2, a, b ∈ [−span, span] on a ``steps`` × ``steps`` grid, d1, d2
    filter-normalised random directions (seeds ``seed``, ``seed + 1``). ``log`` uses log-spaced
    contour levels. The model's parameters and train/eval mode are left as they were."""
    _check(model, loss_fn, batch)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 3 <= steps <= 501:
        raise ValueError(f"steps must be an integer in [3, 501], got {steps!r}")
    if isinstance(span, bool) or not isinstance(span, (int, float)) or not 0 < span < float("inf"):
        raise ValueError(f"span must be a positive finite number, got {span!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if start is not None and not hasattr(start, "items"):
        raise TypeError(f"start must be a state dict or None, got {type(start).__name__}")
    from .plots import _finish, _plt
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(5.5, 4.5))[0]
    ax = ax or fig.axes[0]
    if start is not None:
        alphas, losses = interpolate_losses(model, loss_fn, batch, start,
                                            alphas=np.linspace(-0.5, 1.5, max(steps, 3)))
        ax.plot(alphas, losses, marker="o", ms=3)
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        ax.axvline(1, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("α  (0 = start, 1 = trained)")
        ax.set_ylabel("loss")
        if log and np.all(losses > 0):
            ax.set_yscale("log")
        ax.set_title(title or "loss along θ(α) = (1 − α) θ₀ + α θ*")
    else:
        d1 = filter_normalized_direction(model, seed)
        d2 = filter_normalized_direction(model, seed + 1)
        xs = ys = np.linspace(-span, span, steps)
        grid = landscape_2d(model, loss_fn, batch, d1, d2, xs, ys)
        finite = grid[np.isfinite(grid)]
        lo, hi = float(finite.min()), float(finite.max())
        if log and lo > 0 and hi > lo:
            levels = np.geomspace(lo, hi, 30)
        else:
            levels = np.linspace(lo, hi if hi > lo else lo + 1, 30)
        cs = ax.contour(xs, ys, grid, levels=levels, cmap="viridis", linewidths=0.8)
        fig.colorbar(cs, ax=ax, label="loss")
        ax.plot([0], [0], "r*", ms=10)
        ax.set_xlabel("direction 1 (filter-normalised)")
        ax.set_ylabel("direction 2 (filter-normalised)")
        ax.set_title(title or "2-D loss slice around θ*")
    return _finish(fig, path)
