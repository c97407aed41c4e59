"""``grad``: gradients of outputs w.r.t. chosen inputs, returned instead of accumulated
(PyTorch's ``torch.autograd.grad``)."""
from __future__ import annotations

import numpy as np

from ._backward import run_backward
from .variable import Variable, as_list, root_gradients


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return (d outputs / d inputᵢ · grad_outputs) for each input, without touching ``.grad``.

    With ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    outputs = as_list(outputs, "grad", "outputs")
    inputs = as_list(inputs, "grad", "inputs")
    seeds = root_gradients(outputs, grad_outputs, create_graph, "grad", "grad_outputs")
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
                np.broadcast_to(g.numpy(), inp.shape).copy())
        result.append(g)
    return tuple(result)
