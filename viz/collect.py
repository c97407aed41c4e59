"""From ``engine.graph.walk`` to a plain picture model: nodes and edges in data-flow orientation
(producer → consumer). ``draw_graph`` reverses the edges for the backward view."""
from __future__ import annotations

from dataclasses import dataclass, field

from .labels import (COLORS, STATUS_TEXT, fmt_dtype, fmt_num, fmt_shape, grad_stats, grad_status,
                     html_label, op_title, record_label)


@dataclass
class VNode:
    key: str                  # DOT node name
    kind: str                 # op | param | leaf | input | output | value | module | more | legend
    label: str                # DOT label (HTML-like <...> or record)
    fill: str
    module: str | None = None
    gid: int | None = None
    shape: str = "box"
    tooltip: str = ""
    status: str | None = None
    style: str = "filled,rounded"


@dataclass
class VEdge:
    src: str
    dst: str
    label: str = ""
    extra: dict = field(default_factory=dict)


def tensor_picture(gnodes, roots, names, direction, show_shapes, show_saved, show_inputs,
                   show_grads, grad_range):
    """Nodes and edges of a Tensor graph (see module docstring)."""
    gmap = {g.id: g for g in gnodes}
    nodes, edges = {}, []
    stats = {}
    if show_grads:
        for g in gnodes:
            if g.kind == "leaf" and getattr(g.value, "grad", None) is not None:
                stats[g.id] = grad_stats(g.value.grad)
    largest = max((s[1] for s in stats.values() if s[2] and s[1] <= grad_range[1]), default=0.0)
    fwd = direction == "forward"
    for g in gnodes:
        key = f"n{g.id}"
        if g.kind == "op":
            fn = g.node.fn.__name__
            lines = []
            if show_shapes and not fwd:
                lines += [f"{fmt_shape(s)} {fmt_dtype(d)}".strip()
                          for s, d in zip(g.output_shapes, g.output_dtypes or [None] * len(g.output_shapes))]
            if show_saved:
                saved = ([fmt_shape(s) for s in g.saved_shapes] if show_shapes else
                         [f"{len(g.saved_shapes)} value(s)"] if g.saved_shapes else [])
                lines.append("saved: freed by backward()" if g.freed else
                             "saved: " + (", ".join(saved) or "nothing"))
            nodes[key] = VNode(key, "op", html_label(op_title(fn, direction, False), lines),
                               COLORS["op"], gid=g.id, tooltip=f"{fn} (engine Function)")
            for i, inp in enumerate(g.inputs):
                if inp is None:
                    continue
                src = gmap.get(inp[0])
                shp = _edge_shape(src, inp[1])
                edges.append(VEdge(f"n{inp[0]}", key, fmt_shape(shp) if (show_shapes and fwd) else ""))
            if fwd and show_inputs:
                for i, shp, dt in g.const_inputs:
                    ckey = f"c{g.id}_{i}"
                    nodes[ckey] = VNode(ckey, "input", html_label("input", [_meta(shp, dt, show_shapes)], bold=False),
                                        COLORS["input"], style="dashed,rounded",
                                        tooltip="a tensor argument that needs no grad")
                    edges.append(VEdge(ckey, key, fmt_shape(shp) if show_shapes else ""))
        else:
            v = g.value
            name = names.get(id(v))
            kind = "param" if name else "leaf"
            lines = [_meta(getattr(v, "shape", ()), getattr(v, "dtype", None), show_shapes)]
            status = None
            if g.id in stats:
                norm, rms, finite = stats[g.id]
                status = grad_status(rms, finite, largest, grad_range)
                lines.append(f"‖grad‖ {fmt_num(norm)}")
                if status:
                    lines.append(STATUS_TEXT[status])
            fill = COLORS[status] if status else COLORS[kind]
            nodes[key] = VNode(key, kind, html_label(name or "tensor", lines), fill, gid=g.id,
                               status=status, tooltip=name or "leaf tensor (requires grad)")
    for k, r in enumerate(roots):
        if r.grad_fn is None:
            continue
        root_g = next((g for g in gnodes if g.node is r.grad_fn), None)
        if root_g is None:
            continue
        okey = f"out{k}"
        lines = [_meta(r.shape, r.dtype, show_shapes)]
        if getattr(r._data, "size", 0) == 1:
            lines.append(f"value {fmt_num(float(r._data.reshape(-1)[0]))}")
        nodes[okey] = VNode(okey, "output", html_label("output", lines), COLORS["output"],
                            tooltip="the root of the graph")
        edges.append(VEdge(f"n{root_g.id}", okey, fmt_shape(r.shape) if (show_shapes and fwd) else ""))
    return nodes, edges


def _meta(shape, dtype, show_shapes) -> str:
    """``"(2, 3) float32"``, or only the dtype when shapes are hidden (``show_shapes=False``)."""
    return (f"{fmt_shape(shape)} {fmt_dtype(dtype)}" if show_shapes else fmt_dtype(dtype)).strip()


def _edge_shape(src, output_nr):
    if src is None:
        return None
    if output_nr < 0:
        return src.output_shapes[0] if src.output_shapes else None
    return src.output_shapes[output_nr] if output_nr < len(src.output_shapes) else None


def scalar_picture(gnodes, values, direction, show_saved):
    """Nodes and edges of a Scalar graph: micrograd's records ``{label | data | grad}`` for
    values, small ellipses for ops."""
    data, grad, labels = values
    nodes, edges = {}, []

    def value_node(key, vkey, gid, kind):
        d, gr = data.get(vkey), grad.get(vkey)
        bad = any(x is not None and x != x or x in (float("inf"), float("-inf")) for x in (d, gr))
        cells = [labels.get(vkey, ""), f"data {fmt_num(d)}", f"grad {fmt_num(gr)}"]
        nodes[key] = VNode(key, kind, record_label(cells), COLORS["nan"] if bad else COLORS["value"],
                           gid=gid, shape="record", style="filled",
                           status="nan" if bad else None, tooltip=labels.get(vkey, "") or "value")

    for g in gnodes:
        if g.kind == "leaf":
            value_node(f"n{g.id}", (g.id, -1), g.id, "value")
            continue
        fn = g.node.fn.__name__
        lines = []
        if show_saved:
            lines.append("freed" if g.freed else f"saved {len(g.saved_shapes)}")
        okey = f"n{g.id}"
        nodes[okey] = VNode(okey, "op", html_label(op_title(fn, direction, True), lines, bold=False),
                            COLORS["op"], gid=g.id, shape="ellipse", style="filled", tooltip=fn)
        value_node(f"v{g.id}", (g.id, 0), g.id, "value")
        edges.append(VEdge(okey, f"v{g.id}"))
        for inp in g.inputs:
            if inp is not None:
                edges.append(VEdge(f"v{inp[0]}" if inp[1] >= 0 else f"n{inp[0]}", okey))
    return nodes, edges
