"""``draw_graph``: a computation graph as a ``graphviz.Digraph`` (forward or backward view)."""
from __future__ import annotations

import graphviz

import engine.graph as eg
from engine import Scalar, Tensor

from .collapse import collapse_modules, truncate
from .collect import scalar_picture, tensor_picture
from .labels import COLORS, STATUS_TEXT
from .modules import assign, module_types, param_names
from .scalar import scalar_values


def _str_parameter(name, optional):
    """``graphviz.Digraph``'s property ``name`` with a type check first (graphviz calls
    ``value.lower()``, an AttributeError for a non-str): a TypeError naming the argument."""
    base = getattr(graphviz.Digraph, name)

    def fset(self, value):
        if not (isinstance(value, str) or (optional and value is None)):
            raise TypeError(f"VizDigraph: {name} must be a str{' or None' if optional else ''}, "
                            f"got {type(value).__name__}")
        base.fset(self, value)

    return property(base.fget, fset, doc=base.__doc__)


class VizDigraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose Jupyter display renders with ``viz``'s renderer discovery
    (Graphviz ``dot``, else the ``graphviz-pure`` wheel), so notebooks work with pip alone.
    ``format``, ``engine``, ``renderer`` and ``formatter`` must be strings (None: graphviz's
    default)."""

    format = _str_parameter("format", optional=False)       # the constructor skips None
    engine = _str_parameter("engine", optional=False)
    renderer = _str_parameter("renderer", optional=True)
    formatter = _str_parameter("formatter", optional=True)

    def _repr_image_svg_xml(self):
        from .render import pipe
        return pipe(self.source, "svg").decode("utf-8")

    def _repr_image_png(self):
        from .render import pipe
        return pipe(self.source, "png")


def draw_graph(root, direction="backward", show_shapes=True, params=None, show_saved=False,
               cluster_modules=True, max_nodes=300, show_grads=True, grad_range=(1e-6, 1e2),
               show_inputs=True, rankdir=None):
    """Draw the graph that produced ``root`` (a Tensor or Scalar, or a list of them).

    * ``direction="backward"``: the gradient functions (``MulBackward``…) with edges in the
      direction the gradient flows, output → leaves; op nodes show their output shape/dtype.
    * ``direction="forward"``: data flow, inputs → ops (``Mul``, ``Matmul``…) → output; every
      tensor is an edge labelled with its shape (``show_shapes``); tensor arguments that need no
      grad (the data ``x``) appear as dashed "input" nodes while the graph still holds them.
    * Leaves: parameters are named by their module path (``features.0.weight``) when ``params``
      is a Module, a ``{name: tensor}`` dict or ``(name, tensor)`` pairs; with shape and dtype.
    * ``show_shapes=False`` hides every shape (op outputs, edges, leaves, inputs, output, saved
      values); dtypes stay.
    * After ``backward()`` (``show_grads``): the gradient norm of every leaf; NaN/Inf gradients
      red, exploding (RMS > ``grad_range[1]``) orange, vanishing (RMS < ``grad_range[0]`` or
      < 1e-3 × the largest leaf RMS) purple, with a legend.
    * ``show_saved``: the shapes each op saved for backward (or that backward freed them).
    * ``cluster_modules``: one cluster per module (see ``viz.trace``; without a trace, ops go to
      the deepest module whose parameters they consume). Above ``max_nodes`` nodes, modules are
      folded into single nodes (deepest first); without modules, the far end is cut off.
    * Scalar roots: micrograd's picture — every value a record ``label | data | grad``, every
      op a small ellipse (``*``, ``+``, ``tanh``); left to right.

    Returns a ``graphviz.Digraph`` (display it in Jupyter, or ``viz.save(g, "g.svg")``).
    """
    if direction not in ("backward", "forward"):
        raise ValueError(f"direction must be 'backward' or 'forward', not {direction!r}")
    roots = eg.roots_of(root) if isinstance(root, (Tensor, Scalar, list, tuple)) else None
    if roots is None or not all(isinstance(r, (Tensor, Scalar)) for r in roots):
        raise TypeError(f"draw_graph: root must be a Tensor or Scalar (or a list of them), got "
                        f"{type(root).__name__}")
    gnodes = list(eg.walk(roots))
    scalar = bool(roots) and all(isinstance(r, Scalar) for r in roots)
    names = param_names(params)
    if scalar:
        keys = [_root_key(gnodes, r) for r in roots]
        nodes, edges = scalar_picture(gnodes, scalar_values(gnodes, keys), direction, show_saved)
    else:
        nodes, edges = tensor_picture(gnodes, roots, names, direction, show_shapes, show_saved,
                                      show_inputs, show_grads, grad_range)
    types = {}
    if cluster_modules and (params is not None or not scalar):
        owner, types = assign(gnodes, names)
        types = {**module_types(params), **types}
        for n in nodes.values():
            if n.gid is not None and n.kind != "input":
                n.module = owner.get(n.gid)
    nodes, edges = collapse_modules(nodes, edges, types, max_nodes)
    nodes, edges = truncate(nodes, edges, max_nodes)
    return _to_dot(nodes, edges, types, direction, scalar, rankdir, cluster_modules)


def _root_key(gnodes, r):
    if r.grad_fn is None:
        return next(g.id for g in gnodes if g.value is r), -1
    return next(g.id for g in gnodes if g.node is r.grad_fn), 0


def _to_dot(nodes, edges, types, direction, scalar, rankdir, clusters):
    g = VizDigraph(
        "gradbricks", graph_attr={"rankdir": rankdir or ("LR" if scalar else "TB"),
                                  "fontname": "Helvetica", "nodesep": "0.25", "ranksep": "0.35",
                                  "label": f"{direction} graph", "labelloc": "t", "fontsize": "12"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "height": "0.2"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"})
    members = {}
    for n in nodes.values():
        members.setdefault(n.module if clusters else None, []).append(n)
    paths = set()
    for p in members:
        while p:
            paths.add(p)
            p = p.rsplit(".", 1)[0] if "." in p else None

    def parent(p):
        return p.rsplit(".", 1)[0] if "." in p else None

    order = {p: i for i, p in enumerate(types)}

    def emit(graph, path):
        kids = (c for c in paths if parent(c) == path)
        for child in sorted(kids, key=lambda c: (order.get(c, len(order)), _natural(c))):
            with graph.subgraph(name="cluster_" + child.replace(".", "_")) as c:
                t = types.get(child)
                c.attr(label=f"{child} ({t})" if t else child, style="rounded,dashed",
                       color="#868e96", fontsize="10", labeljust="l")
                emit(c, child)
        for n in members.get(path, []):
            graph.node(n.key, n.label, shape=n.shape, style=n.style, fillcolor=n.fill,
                       tooltip=n.tooltip or n.key)

    emit(g, None)
    back = direction == "backward"
    for e in edges:
        a, b = (e.dst, e.src) if back else (e.src, e.dst)
        attrs = {"label": e.label} if e.label else {}
        g.edge(a, b, **attrs, **e.extra)
    statuses = {n.status for n in nodes.values() if n.status}
    if statuses:
        rows = "".join(f'<TR><TD BGCOLOR="{COLORS[s]}">  </TD><TD ALIGN="LEFT">{STATUS_TEXT[s]}</TD></TR>'
                       for s in ("nan", "exploding", "vanishing") if s in statuses)
        g.node("legend", f'<<TABLE BORDER="0" CELLSPACING="2">{rows}</TABLE>>', shape="plaintext")
    return g


def _natural(path):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split(".")]
