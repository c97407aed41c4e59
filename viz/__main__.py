"""Command line: draw the forward and backward graph of a model defined in a Python file.

    python -m viz model.py:build_fn --input-shape 1,1,28,28 -o graph.svg [--direction both]

``build_fn()`` (no arguments) returns a Module. We run it on ``randn(input_shape)`` inside
``viz.trace`` (module clusters), reduce the output with ``.sum()`` unless it already is a single
number, call ``backward()`` and draw. ``--direction forward|backward`` writes exactly ``-o``;
``both`` (the default) writes ``<stem>.forward<ext>`` and ``<stem>.backward<ext>`` next to it
(``graph.forward.svg``, ``graph.backward.svg``). The extension picks the format (.svg .png .pdf .dot).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path


def load_builder(spec: str):
    """``path/to/file.py:function`` (or ``package.module:function``) -> the function."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise SystemExit(f"expected FILE.py:FUNCTION, got {spec!r}")
    if target.endswith(".py") or Path(target).is_file():
        path = Path(target).resolve()
        if not path.is_file():
            raise SystemExit(f"no such file: {target}")
        sys.path.insert(0, str(path.parent))
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    fn = getattr(module, name, None)
    if fn is None:
        raise SystemExit(f"{target} defines no {name!r}")
    return fn


def main(argv=None):
    """Parse arguments, build the model, run forward + backward, write the picture(s)."""
    p = argparse.ArgumentParser(prog="python -m viz", description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="FILE.py:build_fn — a function returning an nn.Module")
    p.add_argument("--input-shape", required=True, help="comma-separated, e.g. 1,1,28,28")
    p.add_argument("-o", "--output", default="graph.svg", help="output path (.svg .png .pdf .dot)")
    p.add_argument("--direction", choices=("both", "forward", "backward"), default="both")
    p.add_argument("--show-saved", action="store_true", help="list saved tensors in the backward view")
    p.add_argument("--max-nodes", type=int, default=300, help="fold modules beyond this many nodes")
    p.add_argument("--no-clusters", action="store_true", help="do not group ops by module")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)

    import engine

    from . import draw_graph, save, trace

    try:
        shape = tuple(int(s) for s in a.input_shape.replace("x", ",").split(",") if s.strip())
    except ValueError:
        raise SystemExit(f"--input-shape must be integers separated by commas, got {a.input_shape!r}")
    engine.manual_seed(a.seed)
    model = load_builder(a.model)()
    x = engine.randn(*shape)
    with trace(model):
        out = model(x)
    out = out[0] if isinstance(out, (tuple, list)) else out
    root = out if out.numel() == 1 else out.sum()
    opts = dict(params=model, cluster_modules=not a.no_clusters, max_nodes=a.max_nodes)
    outp = Path(a.output)
    written = []
    if a.direction in ("both", "forward"):
        g = draw_graph(root, direction="forward", **opts)     # before backward: inputs still known
        dest = outp if a.direction == "forward" else outp.with_name(f"{outp.stem}.forward{outp.suffix}")
        written.append(save(g, dest))
    root.backward(retain_graph=True)
    if a.direction in ("both", "backward"):
        g = draw_graph(root, direction="backward", show_saved=a.show_saved, **opts)
        dest = outp if a.direction == "backward" else outp.with_name(f"{outp.stem}.backward{outp.suffix}")
        written.append(save(g, dest))
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
