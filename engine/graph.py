"""The public graph-walking API (what ``viz`` reads; never private attributes).

    for node in engine.graph.walk(loss):          # every op node, outputs before inputs
        node.name, node.inputs, node.saved_shapes

``walk(root)`` yields ``GraphNode`` records for op nodes and leaves reachable from ``root``
(a Tensor or Scalar, or a list of them) with their edges, in a topological order (consumers
first), iteratively (no recursion). Also: ``created_between(inputs, outputs)`` (the ops a
computation recorded: how ``viz.trace`` assigns ops to modules) and ``live_outputs(nodes)`` (op
outputs the program still holds, e.g. labelled Scalars).
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field

import numpy as np

from .node import Node
from .variable import Variable


@dataclass(slots=True)
class GraphNode:
    """One vertex of the graph: an op (``kind="op"``) or a leaf value (``kind="leaf"``).

    ``id`` is unique within one walk; ``inputs`` lists the ids of the vertices this one consumes
    (``(id, output_nr)`` of op inputs, leaves with output_nr -1); ``value`` is the leaf itself
    (Tensor/Scalar) or None; ``node`` the op's Node (its Function is ``node.fn``).
    ``const_inputs`` lists ``(arg_index, shape, dtype)`` for tensor arguments that are not in the
    graph (they need no grad, e.g. the data ``x``) when the op still holds them for backward
    (before ``backward()`` frees the saved values); other ``None`` inputs are plain arguments.
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
    const_inputs: list = field(default_factory=list)


def roots_of(root):
    """The root values as a list."""
    return [root] if isinstance(root, Variable) else list(root)


def walk(root):
    """Yield every op node and leaf reachable from ``root``, consumers before producers."""
    enabled = gc.isenabled()
    gc.disable()            # millions of short-lived records: no full collections meanwhile
    try:
        records = list(_walk(root))
    finally:
        if enabled:
            gc.enable()
    yield from records


def _walk(root):
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
    edges_of = {}
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        order.append(obj)
        if isinstance(obj, Node):
            edges = edges_of[id(obj)] = obj.next_functions
            for edge in edges:
                if edge is not None and id(edge[0]) not in seen:
                    stack.append(edge[0])
    for obj in _topological(order, edges_of):
        if isinstance(obj, Node):
            meta = obj.output_meta()
            edges = edges_of[id(obj)]
            yield GraphNode(
                id=vid(obj), kind="op", name=obj.name(),
                inputs=[None if e is None else (vid(e[0]), e[1]) for e in edges],
                node=obj, output_shapes=[tuple(m[0]) for m in meta],
                output_dtypes=[m[1] for m in meta] if any(m[1] is not None for m in meta) else [],
                saved_shapes=obj.saved_shapes(), freed=obj.is_freed,
                const_inputs=_const_inputs(obj, edges))
        else:
            yield GraphNode(id=vid(obj), kind="leaf", name=type(obj).__name__, value=obj,
                            output_shapes=[tuple(getattr(obj, "shape", ()))],
                            output_dtypes=[getattr(obj, "dtype", None)])


def _topological(objs, edges_of):
    """Order ``objs`` so that every consumer precedes the things it consumes (Kahn, iterative)."""
    indeg = {id(o): 0 for o in objs}
    for o in objs:
        for e in edges_of.get(id(o), ()):
            if e is not None and id(e[0]) in indeg:
                indeg[id(e[0])] += 1
    ready = [o for o in objs if indeg[id(o)] == 0]
    out = []
    while ready:
        o = ready.pop()
        out.append(o)
        for e in edges_of.get(id(o), ()):
            if e is None or id(e[0]) not in indeg:
                continue
            indeg[id(e[0])] -= 1
            if indeg[id(e[0])] == 0:
                ready.append(e[0])
    return out


def _const_inputs(node, edges):
    """Tensor arguments outside the graph (no grad), recovered from the values the op saved for
    backward: ``(arg_index, shape, dtype)``. Empty once backward freed them."""
    if node.is_freed or None not in edges:
        return []
    found = {}
    for payload, idx in node.saved_sources():
        if isinstance(payload, Variable):
            payload = payload._data
        if (idx is not None and 0 <= idx < len(edges) and edges[idx] is None
                and isinstance(payload, np.ndarray) and idx not in found):
            found[idx] = (idx, tuple(payload.shape), payload.dtype)
    return [found[i] for i in sorted(found)]


def created_between(inputs, outputs):
    """The op Nodes reachable from ``outputs`` without passing through the ops that produced
    ``inputs``: the ops a computation from ``inputs`` to ``outputs`` recorded (what a module's
    forward created). Both are Variables or sequences of them; non-Variables are ignored."""
    stop = {id(v.grad_fn) for v in _variables(inputs) if v.grad_fn is not None}
    stack = [v.grad_fn for v in _variables(outputs) if v.grad_fn is not None]
    found = {}
    while stack:
        node = stack.pop()
        if id(node) in found or id(node) in stop:
            continue
        found[id(node)] = node
        for e in node.next_functions:
            if e is not None and e[1] >= 0 and id(e[0]) not in found:
                stack.append(e[0])
    return list(found.values())


def _variables(obj):
    """Every Variable inside ``obj`` (a Variable, or nested tuples/lists/dicts of them)."""
    out, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Variable):
            out.append(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    return out


def live_outputs(nodes):
    """``{node: {output_nr: value}}`` for the op outputs among ``nodes`` that still exist as
    Python objects (e.g. a Scalar the user kept in a variable, with its ``label``). Values the
    program already dropped are absent. Scans the garbage collector: meant for small graphs."""
    wanted = {id(n): n for n in nodes}
    out = {}
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance reads __class__, which raises ReferenceError for a
        # weakref.proxy whose target is gone (any program may hold one)
        if issubclass(type(obj), Variable):
            fn = obj.grad_fn
            if fn is not None and id(fn) in wanted:
                out.setdefault(fn, {})[obj._output_nr] = obj
    return out
