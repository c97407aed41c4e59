"""Data and grad of every value of a Scalar graph (micrograd's picture) without private access.

The engine keeps neither intermediate values nor their gradients (only leaves keep ``.grad``).
We recover them: values the program still holds come from ``engine.graph.live_outputs`` (with
their ``label``); the others are recomputed by replaying each op's public ``forward`` on the
values of its inputs, and gradients by replaying the ops' ``backward`` from the root (seed 1).
The replayed leaf gradients are checked against the leaves' real ``.grad``: intermediate
gradients are shown only when they agree (otherwise "?"), so the picture never lies.
"""
from __future__ import annotations

import math

from engine.graph import live_outputs


class _ReplayCtx:
    """A stand-in ctx for replaying a built-in (raw) Scalar op on floats."""

    def __init__(self, n):
        self.needs_input_grad = (True,) * n
        self.saved_tensors = ()

    def save_for_backward(self, *values):
        self.saved_tensors = values

    def mark_non_differentiable(self, *values):
        pass


def scalar_values(gnodes, root_keys):
    """``(data, grad, labels)``: dicts keyed by ``(graph id, output_nr)`` (leaves: ``-1``).

    ``grad`` misses the keys whose gradient is unknown; before any backward every grad is 0.
    """
    ops = [g for g in gnodes if g.kind == "op"]
    live = live_outputs([g.node for g in ops])
    data, labels, grad = {}, {}, {}
    leaves = [g for g in gnodes if g.kind == "leaf"]
    for g in leaves:
        data[(g.id, -1)] = float(g.value._data)
        labels[(g.id, -1)] = getattr(g.value, "label", "")
    ctxs = {}
    for g in reversed(ops):                      # producers before consumers
        outs = live.get(g.node, {})
        for nr, v in outs.items():
            data[(g.id, nr)] = float(v._data)
            labels[(g.id, nr)] = getattr(v, "label", "")
        args = [data.get(tuple(i)) if i is not None else None for i in g.inputs]
        if not getattr(g.node.fn, "raw", False) or any(a is None for a in args):
            continue
        ctx = _ReplayCtx(len(args))
        try:
            out = g.node.fn.forward(ctx, *args)
        except (ArithmeticError, ValueError):
            continue
        ctxs[g.id] = ctx
        data.setdefault((g.id, 0), float(out))
    done = any(g.freed for g in ops) or any(_float(g.value.grad) != 0.0 for g in leaves)
    if not done:
        return data, {k: 0.0 for k in list(data) + [(g.id, 0) for g in ops]}, labels
    acc, bad = {k: 1.0 for k in root_keys}, set()
    for g in ops:                                # consumers before producers
        key = (g.id, 0)
        ctx = ctxs.get(g.id)
        if key in bad or key not in acc or ctx is None:
            bad.update(tuple(i) for i in g.inputs if i is not None)
            continue
        grad[key] = acc[key]
        try:
            res = g.node.fn.backward(ctx, acc[key])
        except (ArithmeticError, ValueError):
            bad.update(tuple(i) for i in g.inputs if i is not None)
            continue
        res = res if isinstance(res, tuple) else (res,)
        for i, r in zip(g.inputs, res):
            if i is not None:
                acc[tuple(i)] = acc.get(tuple(i), 0.0) + (0.0 if r is None else _float(r))
    trusted = True
    for g in leaves:
        key = (g.id, -1)
        real = _float(g.value.grad)
        if key in acc and key not in bad and not _close(acc[key], real):
            trusted = False
        grad[key] = real
    if not trusted:
        grad = {k: v for k, v in grad.items() if k[1] == -1}
    return data, grad, labels


def _float(x):
    return float(getattr(x, "data", x))


def _close(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
