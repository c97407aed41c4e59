"""``summary(model, input_size)``: per-layer output shapes, parameter counts and multiply-adds,
and totals (what Keras' ``model.summary()`` and torchinfo print)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

import engine

__all__ = ["summary", "ModelSummary", "LayerInfo"]

LayerInfo = namedtuple("LayerInfo", ["name", "type", "output_shape", "params", "mult_adds"])


def _mult_adds(module, out):
    """Multiply-adds of one call: a Linear or Conv (any N-d, transposed too) does weight.size
    multiply-adds per output position: weight.size · (batch·positions), positions = product of
    the output's spatial sizes (Conv) or of all but the last dimension (Linear)."""
    w = module._parameters.get("weight")
    if w is None:
        w = module.__dict__.get("weight")          # a pruned layer's effective weight
    if w is None or not isinstance(out, engine.Tensor):
        return 0
    name = type(module).__name__
    shape = tuple(out.shape)
    if name in ("Linear", "Bilinear", "Maxout"):
        return int(np.prod(w.shape)) * int(np.prod(shape[:-1]))
    if name.startswith("Conv"):
        return int(np.prod(w.shape)) * shape[0] * int(np.prod(shape[2:]))
    return 0


class ModelSummary:
    """The table (``str()``) and the numbers: ``layers`` (LayerInfo rows), ``total_params``,
    ``trainable_params``, ``total_mult_adds``, ``input_size``."""

    def __init__(self, model_name, layers, total, trainable, input_size):
        self.model_name, self.layers, self.input_size = model_name, layers, input_size
        self.total_params, self.trainable_params = total, trainable
        self.total_mult_adds = sum(r.mult_adds for r in layers)

    def __str__(self):
        head = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds")
        rows = [(f"{r.name} ({r.type})", str(list(r.output_shape)) if r.output_shape is not None else "--",
                 f"{r.params:,}", f"{r.mult_adds:,}") for r in self.layers]
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
        sep = "=" * len(line)
        body = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                for r in rows]
        return "\n".join([f"{self.model_name} summary, input {list(self.input_size)}", sep, line, sep, *body, sep,
                          f"Total params: {self.total_params:,}",
                          f"Trainable params: {self.trainable_params:,}",
                          f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                          f"Total mult-adds: {self.total_mult_adds:,}"])

    __repr__ = __str__


def summary(model, input_size, dtype=np.float32) -> ModelSummary:
    """Run ``model`` once (eval mode, no_grad) on zeros of ``input_size`` (batch dimension
    included, e.g. ``(1, 1, 28, 28)``; a list of sizes for several inputs) and report, for
    every leaf module in call order (and every module holding parameters of its own), the output
    shape, its parameter count and its multiply-adds. Totals count each parameter once."""
    sizes = [tuple(input_size)] if input_size and isinstance(tuple(input_size)[0], int) else \
        [tuple(s) for s in input_size]
    for s in sizes:
        if not all(isinstance(d, int) and d > 0 for d in s):
            raise ValueError(f"summary: input_size must be a tuple of positive ints (batch first), got {s}")
    names = {id(m): n or type(model).__name__ for n, m in model.named_modules()}
    calls, handles = [], []

    def hook(m, inputs, out):
        calls.append((m, out))

    for m in model.modules():
        handles.append(m.register_forward_hook(hook))
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with engine.no_grad():
            model(*[engine.Tensor(np.zeros(s, dtype=dtype)) for s in sizes])
    finally:
        for h in handles:
            h.remove()
        for m, was in modes:
            m.training = was
    rows, seen = [], set()
    for m, out in calls:
        own = sum(int(np.prod(p.shape)) for p in m._parameters.values() if p is not None)
        if list(m.children()) and not own:
            continue
        first = id(m) not in seen
        seen.add(id(m))
        shape = tuple(out.shape) if isinstance(out, engine.Tensor) else None
        rows.append(LayerInfo(names.get(id(m), type(m).__name__), type(m).__name__, shape,
                              own if first else 0, _mult_adds(m, out)))
    for m in model.modules():                     # parameters of modules never called
        own = sum(int(np.prod(p.shape)) for p in m._parameters.values() if p is not None)
        if own and id(m) not in seen:
            rows.append(LayerInfo(names.get(id(m), type(m).__name__), type(m).__name__, None, own, 0))
    params = list({id(p): p for p in model.parameters()}.values())
    total = sum(int(np.prod(p.shape)) for p in params)
    trainable = sum(int(np.prod(p.shape)) for p in params if p.requires_grad)
    return ModelSummary(type(model).__name__, rows, total, trainable, sizes[0] if len(sizes) == 1 else sizes)
