"""Which op belongs to which module: ``viz.trace(model)`` (exact) or parameter ownership (fallback).

* ``with viz.trace(model): out = model(x)`` registers forward hooks on every submodule. When a
  module's forward returns, the ops reachable from its outputs that are not reachable through its
  inputs (``engine.graph.created_between``) are the ops *its* forward recorded; the innermost
  module claims them first (hooks of children fire before their parent's), so every op lands in
  the deepest module whose forward created it — activations, reshapes and functional calls
  included. Ops a top-level ``forward`` creates itself stay outside every cluster. The owner is
  remembered in a weak map keyed by the op node, so ``draw_graph`` finds it later without being
  told, and nothing is kept alive.
* Without a trace, ``draw_graph(root, params=model)`` assigns an op to the deepest module whose
  parameters it consumes directly (a conv/matmul op goes to ``conv1``; a parameter-free op, e.g.
  the activation after it, stays outside the clusters).
"""
from __future__ import annotations

import weakref

from engine.graph import created_between

_OWNER = weakref.WeakKeyDictionary()   # op Node -> (module path, module type name)


class trace:
    """Context manager: record which module's forward created each op (see module docstring).

    ``with viz.trace(model): loss = model(x).sum()`` then ``viz.draw_graph(loss, params=model)``
    draws every module as a cluster that contains exactly the ops its forward recorded.
    """

    def __init__(self, model):
        self.model = model
        self._handles = []

    def __enter__(self):
        for path, mod in self.model.named_modules():
            if path == "":
                continue
            self._handles.append(mod.register_forward_hook(_hook(path, type(mod).__name__)))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False


def _hook(path, type_name):
    def hook(module, inputs, output):
        for node in created_between(inputs, output):
            if node not in _OWNER:
                _OWNER[node] = (path, type_name)
    return hook


def param_names(params) -> dict:
    """``{id(tensor): name}`` from a Module (``named_parameters``), a ``{name: tensor}`` dict or an
    iterable of ``(name, tensor)`` pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        pairs = params.named_parameters()
    elif hasattr(params, "items"):
        pairs = params.items()
    else:
        pairs = params
    return {id(t): str(n) for n, t in pairs}


def module_types(params) -> dict:
    """``{path: type name}`` of every submodule when ``params`` is a Module, else ``{}``."""
    if hasattr(params, "named_modules"):
        return {p: type(m).__name__ for p, m in params.named_modules() if p}
    return {}


def assign(gnodes, names) -> tuple[dict, dict]:
    """``({graph id: module path}, {path: type name})`` for the ops and parameters of a walk.

    Traced ops use the trace; otherwise an op goes to the deepest module among the parameters
    it consumes directly. A named parameter goes to the module that owns it (its name minus the
    last part).
    """
    owner, types = {}, {}
    traced = False
    leaf_path = {}
    for g in gnodes:
        if g.kind == "leaf":
            name = names.get(id(g.value))
            if name and "." in name:
                leaf_path[g.id] = owner[g.id] = name.rsplit(".", 1)[0]
        elif g.node in _OWNER:
            traced = True
    for g in gnodes:
        if g.kind != "op":
            continue
        if traced:
            hit = _OWNER.get(g.node)
            if hit is not None:
                owner[g.id], types[hit[0]] = hit
            continue
        paths = [leaf_path[i[0]] for i in g.inputs if i is not None and i[0] in leaf_path]
        if paths:
            owner[g.id] = max(paths, key=lambda p: p.count("."))
    return owner, types
