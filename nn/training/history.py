"""``History``: what ``fit`` returns (Keras-style)."""
from __future__ import annotations


class History:
    """``history.history["val_loss"]`` is the list of per-epoch values of each logged quantity;
    ``history.epoch`` the list of (0-based) epoch indices they belong to."""

    def __init__(self, history=None, epoch=None):
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.epoch = list(epoch or [])

    def append(self, epoch, logs):
        """Record the logs of epoch ``epoch``."""
        self.epoch.append(int(epoch))
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))

    def state_dict(self):
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch)}

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"
