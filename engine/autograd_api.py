"""``engine.grad``: gradients of outputs w.r.t. chosen inputs, returned instead of accumulated
(as ``torch.autograd.grad``)."""
from __future__ import annotations

from .autograd import run_backward
from .variable import Variable


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return (d outputs / d inputᵢ · grad_outputs) for each input, without touching ``.grad``.

    With ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    outputs = [outputs] if isinstance(outputs, Variable) else list(outputs)
    single = isinstance(inputs, Variable)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Variable):
        grad_outputs = [grad_outputs]
    seeds = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("element of outputs does not require grad and does not have a grad_fn")
        seed = out._seed_gradient(g)
        if create_graph and not isinstance(seed, Variable):
            seed = out._value_cls._wrap(seed)
        seeds.append(seed)
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outputs, seeds, retain_graph, create_graph, inputs=inputs)
    result = []
    for i, (inp, g) in enumerate(zip(inputs, res)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"One of the differentiated inputs (index {i}) appears to not have "
                                   f"been used in the graph. Set allow_unused=True if this is the "
                                   f"desired behavior.")
            result.append(None)
            continue
        if not isinstance(g, Variable):
            g = inp._value_cls._wrap(g)
        if hasattr(inp, "shape") and getattr(g, "shape", ()) != inp.shape:
            g = g.expand(*inp.shape) if create_graph else inp._value_cls._wrap(
                __import__("numpy").broadcast_to(g._data, inp.shape).copy())
        result.append(g)
    return tuple(result)
