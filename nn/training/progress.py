"""The per-epoch progress display of ``fit``: a tqdm bar on a terminal, one summary line per
epoch otherwise, nothing with ``progress=False`` or off the main process."""
from __future__ import annotations

import sys


def _fmt(logs):
    return {k: (f"{v:.3g}" if k == "lr" else f"{v:.4f}") for k, v in logs.items()}


class EpochProgress:
    """``update(n, logs)`` after each batch, ``close(logs)`` at the end of the epoch."""

    def __init__(self, enabled, total, epoch, epochs, stream=None):
        self.stream = stream or sys.stderr
        self.enabled, self.epoch, self.epochs = enabled, epoch, epochs
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc=f"Epoch {epoch + 1}/{epochs}", file=self.stream, unit="batch",
                            leave=True, dynamic_ncols=True)

    def update(self, n, logs):
        if self.bar is not None:
            self.bar.set_postfix(_fmt(logs), refresh=False)
            self.bar.update(n)

    def close(self, logs):
        if self.bar is not None:
            self.bar.set_postfix(_fmt(logs), refresh=False)
            self.bar.close()
        elif self.enabled:
            text = " - ".join(f"{k}: {v}" for k, v in _fmt(logs).items())
            print(f"Epoch {self.epoch + 1}/{self.epochs} - {text}", flush=True)
