"""The learning-rate range test (Smith 2017; fastai / torch-lr-finder style)."""
from __future__ import annotations

import copy
import math

import numpy as np


def _snapshot(obj):
    """Deep copy of a state dict: arrays (and Tensors' arrays) are copied, containers rebuilt."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_snapshot(v) for v in obj)
    data = getattr(obj, "_data", None)
    if isinstance(data, np.ndarray):
        from engine import Tensor
        return Tensor(data.copy())
    return copy.deepcopy(obj)


class LRFinder:
    """``LRFinder(model, optimizer, loss_fn)``; ``range_test(loader)`` then ``history``,
    ``suggestion()`` and ``plot()``.  The model and optimizer are restored afterwards.

    ``model`` is duck-typed: ``model(x)`` → Tensor, ``parameters()``, ``state_dict()``,
    ``load_state_dict(sd)``, ``train()``; ``loss_fn(out, y)`` → 0-d Tensor with ``backward``/``item``.
    """

    def __init__(self, model, optimizer, loss_fn):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.history = {"lr": [], "loss": []}
        self.best_loss = None
        self._param = "lr"

    def reset(self):
        """Restore the model and optimizer to their state before ``range_test``."""
        self.model.load_state_dict(_snapshot(self._model_state))
        self.optimizer.load_state_dict(_snapshot(self._opt_state))

    def _set(self, value):
        for group in self.optimizer.param_groups:
            if self._param == "lr":
                group["lr"] = value
            elif "betas" in group:
                group["betas"] = (value, *group["betas"][1:])
            else:
                group["momentum"] = value

    def range_test(self, train_loader, start_lr=1e-7, end_lr=10, num_iter=100, smooth_f=0.05, diverge_th=5,
                   step_mode=None, param="lr"):
        r"""Train ``num_iter`` batches with value_i = start·(end/start)^(i/(num_iter−1)) (``step_mode="exp"``,
        the default for ``param="lr"``) or start + (end − start)·i/(num_iter−1) (``"linear"``, the
        default for ``param="momentum"``, which varies momentum or beta1 and keeps the lr).
        The recorded loss is smoothed: L̃_i = smooth_f·L_i + (1 − smooth_f)·L̃_{i−1}; the test stops
        early when L̃_i > diverge_th · min L̃.  Batches are re-drawn from ``train_loader`` as needed."""
        if param not in ("lr", "momentum"):
            raise ValueError(f"param must be 'lr' or 'momentum', got {param!r}")
        if param == "momentum":
            if not any(k in self.optimizer.defaults for k in ("momentum", "betas")):
                raise ValueError("param='momentum' needs an optimizer with momentum or betas")
            if not (0 <= start_lr < 1 and 0 <= end_lr < 1):
                raise ValueError("for param='momentum' give start_lr and end_lr in [0, 1) "
                                 f"(got {start_lr} and {end_lr})")
        step_mode = step_mode or ("exp" if param == "lr" else "linear")
        if step_mode not in ("exp", "linear"):
            raise ValueError(f"step_mode must be 'exp' or 'linear', got {step_mode!r}")
        if step_mode == "exp" and (start_lr <= 0 or end_lr <= 0):
            raise ValueError("exponential range needs positive start_lr and end_lr")
        if num_iter < 2:
            raise ValueError(f"num_iter must be >= 2, got {num_iter}")
        if not 0 <= smooth_f < 1:
            raise ValueError(f"smooth_f must be in [0, 1), got {smooth_f}")
        self._param = param
        self.history = {param: [], "loss": []} if param == "lr" else {"lr": [], "momentum": [], "loss": []}
        self.best_loss = None
        self._model_state = _snapshot(self.model.state_dict())
        self._opt_state = _snapshot(self.optimizer.state_dict())
        if hasattr(self.model, "train"):
            self.model.train()
        batches = iter(train_loader)
        try:
            for i in range(num_iter):
                r = i / (num_iter - 1)
                value = start_lr * (end_lr / start_lr) ** r if step_mode == "exp" else start_lr + (end_lr - start_lr) * r
                self._set(value)
                try:
                    x, y = next(batches)
                except StopIteration:
                    batches = iter(train_loader)
                    x, y = next(batches)
                loss = self._train_batch(x, y)
                if i > 0 and smooth_f > 0:
                    loss = smooth_f * loss + (1 - smooth_f) * self.history["loss"][-1]
                if self.best_loss is None or loss < self.best_loss:
                    self.best_loss = loss
                self.history[param].append(value)
                if param == "momentum":
                    self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
                self.history["loss"].append(loss)
                if not math.isfinite(loss) or loss > diverge_th * self.best_loss:
                    break
        finally:
            self.reset()
        return self.history

    def _train_batch(self, x, y):
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def _trimmed(self, skip_start, skip_end):
        xs, ys = np.asarray(self.history[self._param], float), np.asarray(self.history["loss"], float)
        n = len(xs)
        if n - skip_start - skip_end < 2:        # too short a run: use everything
            skip_start, skip_end = 0, 0
        return xs[skip_start:n - skip_end], ys[skip_start:n - skip_end]

    def suggestion(self, skip_start=10, skip_end=5):
        """The value at the steepest descent of the smoothed loss: argmin dL̃/d(log10 lr)
        (d/d(value) for momentum); None before a range test or with fewer than 2 points."""
        xs, ys = self._trimmed(skip_start, skip_end)
        if len(xs) < 2:
            return None
        t = np.log10(xs) if self._param == "lr" else xs
        return float(xs[int(np.argmin(np.gradient(ys, t)))])

    def plot(self, skip_start=10, skip_end=5, log_lr=True, ax=None):
        """Loss vs lr (log axis by default) with the suggestion marked; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt          # optional extra, imported only here
        xs, ys = self._trimmed(skip_start, skip_end)
        if ax is None:
            _, ax = plt.subplots()
        ax.plot(xs, ys)
        if log_lr and self._param == "lr":
            ax.set_xscale("log")
        ax.set_xlabel("Learning rate" if self._param == "lr" else "Momentum")
        ax.set_ylabel("Loss")
        s = self.suggestion(skip_start, skip_end)
        if s is not None:
            k = int(np.argmin(np.abs(xs - s)))
            ax.scatter([xs[k]], [ys[k]], s=75, marker="o", color="red", zorder=3,
                       label=f"suggestion {s:.2e}")
            ax.legend()
        return ax
