"""``fit``, ``evaluate`` and ``predict``: the training loop around a model, a loss, an optimizer
and DataLoaders.

Batches are ``(input, target)`` pairs (or ``(*inputs, target)``: the model gets every element but
the last). ``fit`` puts the model in train mode for each epoch and in eval mode under ``no_grad``
for validation; ``fit``, ``evaluate`` and ``predict`` put every submodule's train/eval flag back
as it was when they return."""
from __future__ import annotations

import contextlib
import math
from numbers import Integral

import numpy as np

import engine
from engine.random import Generator

from ..utils.clip_grad import clip_grad_norm_
from .callbacks import Callback
from .checkpoint import _digest, _snapshot, load_checkpoint, training_state, write_state
from .distributed import _is_main_process, _reduce_metrics
from .history import History
from .metrics import resolve
from .progress import EpochProgress


@contextlib.contextmanager
def _restored_modes(model):
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        for m, was in modes:
            m.training = was


def _split(batch):
    if isinstance(batch, (list, tuple)) and len(batch) >= 2:
        return tuple(batch[:-1]), batch[-1]
    raise TypeError(f"fit/evaluate expect batches of (input, target) (or (*inputs, target)); got "
                    f"{type(batch).__name__}" + (f" of length {len(batch)}" if isinstance(batch, (list, tuple)) else ""))


def _inputs(batch):
    if isinstance(batch, (list, tuple)):
        return tuple(batch[:-1]) if len(batch) >= 2 else tuple(batch)
    return (batch,)


def _size(y):
    return int(np.shape(y)[0]) if np.ndim(y) else 1


def _class_name_in(obj, *names):
    return obj is not None and any(c.__name__ in names for c in type(obj).__mro__)


class _Meter:
    """Sample-weighted sums of the loss and metrics (reduced over processes at the end)."""

    def __init__(self, names):
        self.names, self.sums, self.n = list(names), np.zeros(len(names)), 0

    def add(self, n, values):
        self.sums += n * np.asarray(values, dtype=np.float64)
        self.n += n

    def running(self):
        return {k: (v / self.n if self.n else math.nan) for k, v in zip(self.names, self.sums)}

    def result(self):
        total = _reduce_metrics(np.append(self.sums, self.n))
        n = total[-1]
        return {k: (float(v / n) if n else math.nan) for k, v in zip(self.names, total[:-1])}


def _metric_values(metric_fns, out, y):
    if not metric_fns:
        return []
    o = np.asarray(out.detach() if isinstance(out, engine.Tensor) else out)
    t = np.asarray(y.detach() if isinstance(y, engine.Tensor) else y)
    return [fn(o, t) for _, fn in metric_fns]


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",)) -> dict:
    """Mean loss (if ``loss_fn``) and metrics over ``loader`` (sample-weighted), in eval mode
    under ``no_grad``: ``{"loss": ..., "accuracy": ...}``."""
    metric_fns = resolve(metrics)
    names = (["loss"] if loss_fn is not None else []) + [n for n, _ in metric_fns]
    meter = _Meter(names)
    with _restored_modes(model), engine.no_grad():
        model.eval()
        for batch in loader:
            inputs, y = _split(batch)
            out = model(*inputs)
            values = [float(loss_fn(out, y).item())] if loss_fn is not None else []
            meter.add(_size(y), values + _metric_values(metric_fns, out, y))
    return meter.result()


def predict(model, loader):
    """The model's outputs for every batch of ``loader`` concatenated along dim 0 (eval mode,
    ``no_grad``). A batch that is a tuple/list (e.g. (input, target)) feeds all but its last
    element to the model (a 1-element tuple: that element)."""
    outs = []
    with _restored_modes(model), engine.no_grad():
        model.eval()
        for batch in loader:
            outs.append(np.asarray(model(*_inputs(batch))))
    if not outs:
        raise ValueError("predict: the loader yielded no batches")
    return engine.Tensor(np.concatenate(outs))


def _generators(*loaders):
    """The ``engine.Generator``s that drive the loaders' shuffling (their states are saved)."""
    found = {}
    for ld in loaders:
        if ld is None:
            continue
        bs = getattr(ld, "batch_sampler", None)
        for obj in (ld, getattr(ld, "sampler", None), getattr(bs, "sampler", None)):
            g = getattr(obj, "generator", None)
            if isinstance(g, Generator):
                found[id(g)] = g
    return list(found.values())


class _Trainer:
    """What callbacks see of the running ``fit`` (and how ModelCheckpoint saves a resumable file)."""

    def __init__(self, model, optimizer, scheduler, history, generators, callbacks, params):
        self.model, self.optimizer, self.scheduler, self.history = model, optimizer, scheduler, history
        self.generators, self.callbacks, self.params = generators, callbacks, params
        self._written = []                       # (path, state) saved during the current epoch's end

    def callback_states(self):
        return {f"{i}:{type(cb).__name__}": cb.state_dict()
                for i, cb in enumerate(self.callbacks) if hasattr(cb, "state_dict")}

    def save(self, path, epoch):
        state = _snapshot(training_state(self.model, self.optimizer, self.scheduler, epoch, self.generators,
                                         {"history": self.history.state_dict(),
                                          "callbacks": self.callback_states()}))
        write_state(path, state)
        self._written.append((path, state))

    def end_epoch(self):
        """Called once every callback's ``on_epoch_end`` has run: a checkpoint written by a callback
        earlier in the list (e.g. ModelCheckpoint before EarlyStopping) is rewritten with the
        callbacks' states as they are now, the rest of it (weights, optimizer, RNG...) as saved."""
        written, self._written = self._written, []
        if not written:
            return
        states = _snapshot(self.callback_states())
        for path, state in written:
            if _digest(states) != _digest(state["extra"]["callbacks"]):
                write_state(path, {**state, "extra": {**state["extra"], "callbacks": states}})

    def resume(self, path):
        info = load_checkpoint(path, self.model, self.optimizer, self.scheduler, generators=self.generators)
        if info.get("epoch") is None:
            raise ValueError(f"fit(resume_from={path!r}): the checkpoint records no epoch")
        h = info.get("history") or {}
        self.history.history = {k: [float(x) for x in v] for k, v in (h.get("history") or {}).items()}
        self.history.epoch = [int(e) for e in h.get("epoch") or []]
        states = info.get("callbacks") or {}
        for i, cb in enumerate(self.callbacks):
            key = f"{i}:{type(cb).__name__}"
            if key in states and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(states[key])
        return int(info["epoch"]) + 1


def _check_args(epochs, scheduler, scheduler_interval, clip_grad_norm, callbacks):
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
    if scheduler_interval not in (None, "epoch", "step"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"fit: clip_grad_norm must be positive, got {clip_grad_norm!r}")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances, got {type(cb).__name__}")
    if scheduler_interval is None:
        per_batch = _class_name_in(scheduler, "OneCycleLR", "CyclicLR")
        return "step" if per_batch else "epoch"
    if scheduler_interval == "step" and _class_name_in(scheduler, "ReduceLROnPlateau"):
        raise ValueError("fit: ReduceLROnPlateau steps once per epoch on a monitored value; use "
                         "scheduler_interval='epoch'")
    return scheduler_interval


def fit(model, train_loader, *, loss_fn, optimizer, epochs, val_loader=None, scheduler=None,
        scheduler_interval=None, metrics=("accuracy",), callbacks=(), clip_grad_norm=None, progress=True,
        resume_from=None) -> History:
    """Train ``model`` for ``epochs`` epochs over ``train_loader`` and return a ``History``.

    Per batch: ``loss = loss_fn(model(x), y)``, ``zero_grad``, ``backward``, optional
    ``clip_grad_norm_(parameters, clip_grad_norm)``, ``optimizer.step()``, and the scheduler's
    ``step()`` when it steps per batch. ``scheduler_interval`` is ``"step"`` or ``"epoch"``;
    left as None it is ``"step"`` for OneCycleLR and CyclicLR and ``"epoch"`` otherwise;
    ReduceLROnPlateau is stepped with ``val_loss`` (``loss`` without a ``val_loader``).
    Per epoch the logs are the sample-weighted means of the loss and ``metrics`` on the training
    batches (weights updated along the way, as Keras), ``val_*`` from ``evaluate`` on
    ``val_loader``, and the ``lr`` used. ``resume_from`` is a checkpoint written by
    ``ModelCheckpoint`` (or ``save_checkpoint`` with the same data): training continues after
    its epoch with every state restored, reproducing the uninterrupted run exactly."""
    interval = _check_args(epochs, scheduler, scheduler_interval, clip_grad_norm, callbacks)
    metric_fns = resolve(metrics)
    names = ["loss"] + [n for n, _ in metric_fns]
    callbacks = list(callbacks)
    history = History()
    steps = len(train_loader) if hasattr(train_loader, "__len__") else None
    trainer = _Trainer(model, optimizer, scheduler, history, _generators(train_loader, val_loader), callbacks,
                       {"epochs": epochs, "steps": steps})
    start = trainer.resume(resume_from) if resume_from is not None else 0
    for cb in callbacks:
        cb.set_trainer(trainer)
        cb.stop_training = False
    show = bool(progress) and _is_main_process()
    plateau = _class_name_in(scheduler, "ReduceLROnPlateau")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    with _restored_modes(model):
        for cb in callbacks:
            cb.on_train_begin({})
        for epoch in range(start, epochs):
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            lr = float(optimizer.param_groups[0]["lr"])
            model.train()
            meter = _Meter(names)
            bar = EpochProgress(show, steps, epoch, epochs)
            for i, batch in enumerate(train_loader):
                inputs, y = _split(batch)
                n = _size(y)
                for cb in callbacks:
                    cb.on_batch_begin(i, {"batch": i, "size": n})
                out = model(*inputs)
                loss = loss_fn(out, y)
                optimizer.zero_grad()
                loss.backward()
                if clip_grad_norm is not None:
                    clip_grad_norm_(params, clip_grad_norm)
                optimizer.step()
                if scheduler is not None and interval == "step":
                    scheduler.step()
                values = [float(loss.item())] + _metric_values(metric_fns, out, y)
                meter.add(n, values)
                batch_logs = {"batch": i, "size": n, **dict(zip(names, values))}
                for cb in callbacks:
                    cb.on_batch_end(i, batch_logs)
                bar.update(1, {**meter.running(), "lr": float(optimizer.param_groups[0]["lr"])})
                if any(cb.stop_training for cb in callbacks):
                    break
            logs = meter.result()
            if val_loader is not None:
                logs.update({f"val_{k}": v for k, v in evaluate(model, val_loader, loss_fn, metrics).items()})
            logs["lr"] = lr
            bar.close(logs)
            history.append(epoch, logs)
            if scheduler is not None and interval == "epoch":
                if plateau:
                    scheduler.step(logs["val_loss" if val_loader is not None else "loss"])
                else:
                    scheduler.step()
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            trainer.end_epoch()
            if any(cb.stop_training for cb in callbacks):
                break
        for cb in callbacks:
            cb.on_train_end({})
    return history
