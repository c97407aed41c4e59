"""Switches read on every op: grad recording (no_grad/enable_grad) and anomaly detection.

Both are *thread-local*, as in PyTorch: a thread inside ``no_grad`` (or inside a ``backward``,
which records nothing unless ``create_graph=True``) never stops another thread from recording.
Every thread starts with grad recording on and anomaly detection off.
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Per-thread flags (``threading.local`` runs ``__init__`` once in each thread that reads
    them); the hot path still reads one attribute: ``STATE.grad_enabled``."""

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False


STATE = _State()


def is_grad_enabled() -> bool:
    """True when ops record a graph for backward."""
    return STATE.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad recording to ``self.mode`` and restores it."""

    mode = True

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Inside ``with no_grad():`` ops build no graph and results have ``requires_grad=False``."""

    mode = False


class enable_grad(_GradMode):
    """Re-enables graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``with set_grad_enabled(flag):`` records a graph iff ``flag``."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class detect_anomaly:
    """Inside ``with detect_anomaly():`` a NaN/Inf produced by any op's forward or backward raises
    ``RuntimeError`` naming the op (its Function class) and, for backward, where its forward ran."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = STATE.anomaly
        STATE.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self._prev
        return False


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()``."""
    return STATE.anomaly
