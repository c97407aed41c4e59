"""The public graph-walking API (what ``viz`` reads; never private attributes).

    for node in engine.graph.walk(loss):          # every op node, outputs before inputs
        node.name, node.inputs, node.saved_shapes

``walk(root)`` yields ``GraphNode`` records for op nodes and leaves reachable from ``root``
(a Tensor or Scalar, or a list of them) with their edges, in a topological order (consumers
first), iteratively (no recursion).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .function import _FREED, Node
from .variable import Variable


@dataclass
class GraphNode:
    """One vertex of the graph: an op (``kind="op"``) or a leaf value (``kind="leaf"``).

    ``id`` is unique within one walk; ``inputs`` lists the ids of the vertices this one consumes
    (``(id, output_nr)`` of op inputs, leaves with output_nr -1); ``value`` is the leaf itself
    (Tensor/Scalar) or None; ``node`` the op's Node (its Function is ``node.fn``).
    """

    id: int
    kind: str
    name: str
    inputs: list = field(default_factory=list)
    value: object = None
    node: object = None
    output_shapes: list = field(default_factory=list)
    output_dtypes: list = field(default_factory=list)
    saved_shapes: list = field(default_factory=list)
    freed: bool = False


def roots_of(root):
    """The root values as a list."""
    return [root] if isinstance(root, Variable) else list(root)


def walk(root):
    """Yield every op node and leaf reachable from ``root``, consumers before producers."""
    roots = roots_of(root)
    ids = {}

    def vid(obj):
        key = id(obj)
        if key not in ids:
            ids[key] = len(ids)
        return ids[key]

    stack = [r.grad_fn if r.grad_fn is not None else r for r in roots]
    seen = set()
    order = []
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        order.append(obj)
        if isinstance(obj, Node):
            for edge in obj.next_functions:
                if edge is not None and id(edge[0]) not in seen:
                    stack.append(edge[0])
    for obj in _topological(order):
        if isinstance(obj, Node):
            yield GraphNode(
                id=vid(obj), kind="op", name=obj.name(),
                inputs=[None if e is None else (vid(e[0]), e[1]) for e in obj.next_functions],
                node=obj, output_shapes=_out_shapes(obj),
                output_dtypes=[m[1] for m in obj._out_meta] if obj._out_meta else [],
                saved_shapes=_saved_shapes(obj), freed=obj._saved is _FREED)
        else:
            yield GraphNode(id=vid(obj), kind="leaf", name=type(obj).__name__, value=obj,
                            output_shapes=[tuple(getattr(obj, "shape", ()))],
                            output_dtypes=[getattr(obj, "dtype", None)])


def _topological(objs):
    """Order ``objs`` so that every consumer precedes the things it consumes (Kahn, iterative)."""
    pos = {id(o): o for o in objs}
    indeg = {id(o): 0 for o in objs}
    for o in objs:
        if isinstance(o, Node):
            for e in o.next_functions:
                if e is not None and id(e[0]) in indeg:
                    indeg[id(e[0])] += 1
    ready = [o for o in objs if indeg[id(o)] == 0]
    out = []
    while ready:
        o = ready.pop()
        out.append(o)
        if isinstance(o, Node):
            for e in o.next_functions:
                if e is None or id(e[0]) not in pos:
                    continue
                indeg[id(e[0])] -= 1
                if indeg[id(e[0])] == 0:
                    ready.append(e[0])
    return out


def _out_shapes(node):
    if node._out_meta is not None:
        return [tuple(m[0]) for m in node._out_meta]
    return [()] * node._n_out


def _saved_shapes(node):
    saved = node._saved
    if saved is None or saved is _FREED:
        return []
    return [tuple(np.shape(entry[0])) for entry in saved]


def output_nodes(root):
    """For each root value: ``(grad_fn or leaf, output_nr)``."""
    return [(r.grad_fn, r._output_nr) if r.grad_fn is not None else (r, -1) for r in roots_of(root)]
