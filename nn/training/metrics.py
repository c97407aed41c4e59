"""Metrics for ``fit``/``evaluate``: each maps (output, target) of one batch to the batch mean;
the loop averages them over samples. Names: ``"accuracy"``, ``"top_k_accuracy"`` (k=5)."""
from __future__ import annotations

import numpy as np


def _arrays(output, target):
    return np.asarray(output), np.asarray(target)


def accuracy(output, target) -> float:
    """Fraction of correct predictions. Class scores (N, C) with C > 1 against class indices
    (N,): argmax over C. One score per sample ((N,) or (N, 1)) against 0/1 targets: predicted 1
    when the score is > 0.5 if every score lies in [0, 1] (probabilities), else > 0 (logits)."""
    out, y = _arrays(output, target)
    if out.ndim >= 2 and out.shape[1] > 1:
        if y.shape != (out.shape[0],) + out.shape[2:]:
            raise ValueError(f"accuracy: scores of shape {tuple(out.shape)} need class-index targets of "
                             f"shape {(out.shape[0],) + out.shape[2:]}, got {tuple(y.shape)}")
        return float(np.mean(out.argmax(axis=1) == y))
    out = out.reshape(out.shape[0], -1)[:, 0] if out.ndim > 1 else out
    threshold = 0.5 if out.size and out.min() >= 0 and out.max() <= 1 else 0.0
    return float(np.mean((out > threshold) == (y.reshape(out.shape) > 0.5)))


def top_k_accuracy(output, target, k=5) -> float:
    """Fraction of samples whose target class is among the ``k`` highest scores (N, C)."""
    out, y = _arrays(output, target)
    if out.ndim != 2 or y.shape != (out.shape[0],):
        raise ValueError(f"top_k_accuracy: expected scores (N, C) and targets (N,), got {tuple(out.shape)} "
                         f"and {tuple(y.shape)}")
    k = min(int(k), out.shape[1])
    top = np.argpartition(-out, k - 1, axis=1)[:, :k]
    return float(np.mean((top == y[:, None]).any(axis=1)))


_NAMED = {"accuracy": accuracy, "acc": accuracy, "top_k_accuracy": top_k_accuracy}


def resolve(metrics):
    """``metrics`` (names, callables, or (name, callable) pairs) → list of (name, fn)."""
    out = []
    for m in metrics or ():
        if isinstance(m, str):
            if m not in _NAMED:
                raise ValueError(f"unknown metric {m!r}; known: {sorted(_NAMED)} or pass a callable "
                                 f"fn(output, target) -> float")
            out.append(("accuracy" if m == "acc" else m, _NAMED[m]))
        elif isinstance(m, tuple) and len(m) == 2 and callable(m[1]):
            out.append((str(m[0]), m[1]))
        elif callable(m):
            out.append((getattr(m, "__name__", None) or getattr(getattr(m, "func", None), "__name__", "metric"), m))
        else:
            raise TypeError(f"metric must be a name, a callable or a (name, callable) pair, got {m!r}")
    return out
