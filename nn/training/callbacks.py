"""Keras-style callbacks for ``fit``: ``Callback``, ``EarlyStopping``, ``ModelCheckpoint``,
``CSVLogger``, ``LambdaCallback`` and ``TensorBoardLogger`` (optional ``tensorboardX``).

``fit`` sets ``self.model``, ``self.optimizer``, ``self.scheduler``, ``self.history``,
``self.params`` (epochs, steps) and ``self.trainer`` on each callback before training; a callback
sets ``self.stop_training = True`` to end training after the current batch/epoch. Only the main
process (rank 0) writes files."""
from __future__ import annotations

import csv
import math
import os
import warnings

import numpy as np

import engine

from .checkpoint import _snapshot
from .distributed import _is_main_process


class Callback:
    """Base class: override any of the hooks; ``logs`` is a dict of the current values."""

    def __init__(self):
        self.model = self.optimizer = self.scheduler = self.history = self.trainer = None
        self.params = {}
        self.stop_training = False

    def set_trainer(self, trainer):
        self.trainer, self.model = trainer, trainer.model
        self.optimizer, self.scheduler, self.history = trainer.optimizer, trainer.scheduler, trainer.history
        self.params = trainer.params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


def _auto_mode(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(s in monitor for s in ("acc", "auc", "precision", "recall", "f1")) else "min"


class _Monitor(Callback):
    """Shared by EarlyStopping and ModelCheckpoint: tracks the best value of ``monitor``."""

    def __init__(self, monitor, mode, min_delta=0.0):
        super().__init__()
        self.monitor, self.mode = monitor, _auto_mode(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _improved(self, current, reference):
        if self.mode == "min":
            return current + self.min_delta < reference
        return current - self.min_delta > reference

    def _current(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: monitored quantity {self.monitor!r} is not available; "
                          f"available: {sorted(logs or {})}", RuntimeWarning, stacklevel=3)
        return value


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs (Keras 3's rule: counted from the last improvement; never on the first epoch nor on an
    improving one; with ``baseline`` the count restarts only on improvements that also beat it).
    With ``restore_best_weights`` the weights of the best epoch are put back when training ends,
    whether it stopped early or not (Keras 3). ``mode="auto"`` maximizes quantities named like
    accuracy and minimizes the rest."""

    def __init__(self, monitor="val_loss", mode="auto", patience=0, min_delta=0, restore_best_weights=False,
                 baseline=None, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = int(patience), bool(restore_best_weights)
        self.baseline, self.start_from_epoch = baseline, int(start_from_epoch)
        self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = 0, 0, None, None
        self._restored = False

    def on_train_begin(self, logs=None):
        if not self._restored:                 # a resumed run keeps the state from the checkpoint
            self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = 0, 0, None, None
            self.best = math.inf if self.mode == "min" else -math.inf
        self._restored = False

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # no improvement yet (e.g. a NaN loss): the current weights are the best so far (Keras)
            self.best_weights, self.best_epoch = _snapshot(self.model.state_dict()), epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = float(current), epoch
            if self.restore_best_weights:
                self.best_weights = _snapshot(self.model.state_dict())
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch, self.stop_training = epoch, True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict({k: engine.Tensor(v) for k, v in self.best_weights.items()})

    def state_dict(self):
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.wait, self.best, self.stopped_epoch = int(state["wait"]), float(state["best"]), int(state["stopped_epoch"])
        self.best_epoch = state["best_epoch"]
        bw = state["best_weights"]
        self.best_weights = None if bw is None else {k: np.array(np.asarray(v)) for k, v in bw.items()}
        self._restored = True


class ModelCheckpoint(_Monitor):
    """Save after every epoch to ``path`` (``str.format``-ed with ``epoch`` (1-based) and the
    logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``), or with ``save_best_only`` only when
    ``monitor`` improved. The file is a full ``save_checkpoint`` (``fit(resume_from=path)``
    continues from it) unless ``save_weights_only`` (then ``engine.save(model.state_dict())``)."""

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto", save_weights_only=False):
        super().__init__(monitor, mode)
        self.path, self.save_best_only, self.save_weights_only = os.fspath(path), bool(save_best_only), bool(save_weights_only)
        self.best_path = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self._improved(current, self.best):
                return
            self.best = float(current)
        path = self.path.format(epoch=epoch + 1, **logs)
        if _is_main_process():
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
            if self.save_weights_only or self.trainer is None:
                engine.save(self.model.state_dict(), path)
            else:
                self.trainer.save(path, epoch)
        self.best_path = path

    def state_dict(self):
        return {"best": self.best, "best_path": self.best_path}

    def load_state_dict(self, state):
        self.best, self.best_path = float(state["best"]), state["best_path"]


class CSVLogger(Callback):
    """One CSV row per epoch: ``epoch`` then the logs in sorted key order (``append`` keeps
    an existing file's rows, e.g. when resuming)."""

    def __init__(self, path, separator=",", append=False):
        super().__init__()
        self.path, self.sep, self.append = os.fspath(path), separator, append
        self.keys = None

    def on_train_begin(self, logs=None):
        self.keys = None
        if _is_main_process() and not (self.append and os.path.exists(self.path)):
            open(self.path, "w").close()

    def on_epoch_end(self, epoch, logs=None):
        if not _is_main_process():
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        new = os.path.getsize(self.path) == 0 if os.path.exists(self.path) else True
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f, delimiter=self.sep)
            if new:
                w.writerow(["epoch", *self.keys])
            w.writerow([epoch, *(logs.get(k, "") for k in self.keys)])


class LambdaCallback(Callback):
    """A callback from plain functions: ``on_epoch_end=lambda epoch, logs: ...`` etc."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None):
        super().__init__()
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_batch_begin", on_batch_begin), ("on_batch_end", on_batch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, fn)


class TensorBoardLogger(Callback):
    """Write the epoch logs as TensorBoard scalars to ``log_dir`` (needs the optional
    ``tensorboardX`` package: ``pip install 'gradbricks[tensorboard]'``)."""

    def __init__(self, log_dir="runs"):
        super().__init__()
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoardLogger needs the optional 'tensorboardX' package: "
                              "pip install 'gradbricks[tensorboard]' (or pip install tensorboardX)") from None
        self.log_dir = os.fspath(log_dir)
        self._writer_cls, self.writer = SummaryWriter, None

    def on_train_begin(self, logs=None):
        if _is_main_process():
            self.writer = self._writer_cls(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is not None:
            for k, v in (logs or {}).items():
                self.writer.add_scalar(k, float(v), epoch)
            self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
