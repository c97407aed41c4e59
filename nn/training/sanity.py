"""The lectures' sanity checks before a long run: the initial loss of a classifier should be
about ln C (C classes, uniform predictions), and the pipeline must be able to drive the loss of
one small batch to about zero."""
from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy as np

import engine

from .checkpoint import _snapshot
from .loop import _restored_modes, _split
from .metrics import accuracy

InitialLoss = namedtuple("InitialLoss", ["loss", "expected"])
OverfitResult = namedtuple("OverfitResult", ["loss", "accuracy", "initial_loss", "learned"])


def check_initial_loss(model, loss_fn, batch, rtol=0.25) -> InitialLoss:
    """The loss of the untrained ``model`` on ``batch`` (eval mode, no_grad) and ln C for its C
    output classes; warns when they differ by more than ``rtol``·ln C (a sign of a bad init or
    a wrong loss/label setup)."""
    inputs, y = _split(batch)
    with _restored_modes(model), engine.no_grad():
        model.eval()
        out = model(*inputs)
        loss = float(loss_fn(out, y).item())
    if out.ndim < 2 or out.shape[1] < 2:
        raise ValueError(f"check_initial_loss: expected class scores (N, C) with C >= 2, got output shape "
                         f"{tuple(out.shape)}")
    expected = math.log(out.shape[1])
    if not abs(loss - expected) <= rtol * expected:
        warnings.warn(f"check_initial_loss: initial loss {loss:.4f} is far from ln({out.shape[1]}) = "
                      f"{expected:.4f}: check the last layer's initialization and the loss/label setup",
                      RuntimeWarning, stacklevel=2)
    return InitialLoss(loss, expected)


def overfit_one_batch(model, loss_fn, optimizer, batch, steps=200, tol=0.05, restore=True) -> OverfitResult:
    """Train on the single ``batch`` for ``steps`` steps (train mode) and return the final loss
    and accuracy (eval mode). ``learned`` is True when the final loss is at most ``tol`` or the
    accuracy is 1; otherwise a ``RuntimeWarning`` says the pipeline cannot learn. With
    ``restore`` the model and optimizer are put back as they were."""
    inputs, y = _split(batch)
    saved = (_snapshot(model.state_dict()), _snapshot(optimizer.state_dict())) if restore else None
    initial = None
    try:
        with _restored_modes(model):
            model.train()
            for _ in range(int(steps)):
                loss = loss_fn(model(*inputs), y)
                if initial is None:
                    initial = float(loss.item())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            model.eval()
            with engine.no_grad():
                out = model(*inputs)
                final = float(loss_fn(out, y).item())
        try:
            acc = accuracy(np.asarray(out), np.asarray(y))
        except ValueError:
            acc = math.nan
    finally:
        if restore:
            model.load_state_dict({k: engine.Tensor(v) for k, v in saved[0].items()})
            optimizer.load_state_dict(saved[1])
    learned = bool(final <= tol or acc == 1.0)
    if not learned:
        warnings.warn(f"overfit_one_batch: the pipeline could not overfit one batch: loss {initial:.4g} -> "
                      f"{final:.4g}, accuracy {acc:.3f} after {steps} steps; check the learning rate, the "
                      f"loss/labels and that gradients reach every layer", RuntimeWarning, stacklevel=2)
    return OverfitResult(final, acc, initial, learned)
