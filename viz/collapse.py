"""Keeping a huge graph readable: fold modules into single nodes, deepest first, until the
picture has at most ``max_nodes`` nodes; without module information, keep the ``max_nodes``
nodes nearest the root and one "… N more" node."""
from __future__ import annotations

from .collect import VEdge, VNode
from .labels import COLORS, html_label


def _depth(path):
    return path.count(".") + 1


def _prefix(path, d):
    return ".".join(path.split(".")[:d])


def collapse_modules(nodes, edges, types, max_nodes):
    """Fold every module at depth ≥ d into one node, for the largest d that fits."""
    paths = {n.module for n in nodes.values() if n.module}
    if len(nodes) <= max_nodes or not paths:
        return nodes, edges
    rep = {}
    for d in range(max(_depth(p) for p in paths), 0, -1):
        rep = {k: "m_" + _prefix(n.module, d) for k, n in nodes.items()
               if n.module and _depth(n.module) >= d}
        if len({rep.get(k, k) for k in nodes}) <= max_nodes:
            break
    groups = {}
    for k, r in rep.items():
        groups.setdefault(r, []).append(nodes[k])
    out = {}
    for k, n in nodes.items():
        r = rep.get(k)
        if r is None:
            out[k] = n
        elif r not in out:
            members = groups[r]
            path = r[2:]
            n_ops = sum(m.kind == "op" for m in members)
            n_par = sum(m.kind == "param" for m in members)
            status = next((m.status for m in members if m.status), None)
            lines = [types.get(path, "module"), f"{n_ops} ops, {n_par} parameter tensors"]
            if status:
                lines.append(f"contains a {status} gradient")
            parent = path.rsplit(".", 1)[0] if "." in path else None
            out[r] = VNode(r, "module", html_label(path, lines),
                           COLORS[status] if status else COLORS["module"], module=parent,
                           shape="box3d", style="filled", status=status,
                           tooltip=f"{path}: collapsed ({len(members)} nodes)")
    return out, _remap(edges, rep)


def _remap(edges, rep):
    seen, out = set(), []
    for e in edges:
        s, d = rep.get(e.src, e.src), rep.get(e.dst, e.dst)
        if s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        out.append(VEdge(s, d, e.label, e.extra))
    return out


def truncate(nodes, edges, max_nodes):
    """Keep the first ``max_nodes`` nodes (walk order: nearest the root) and a summary node."""
    if len(nodes) <= max_nodes:
        return nodes, edges
    keep = dict(list(nodes.items())[:max_nodes])
    dropped = len(nodes) - len(keep)
    keep["more"] = VNode("more", "more", html_label(f"… {dropped} more nodes",
                                                    ["raise max_nodes, or pass params=model",
                                                     "to fold modules"], bold=False),
                         "#ffffff", shape="note", style="filled")
    rep = {k: "more" for k in nodes if k not in keep}
    return keep, _remap(edges, rep)
