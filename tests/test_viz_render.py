"""viz.save: .dot always; SVG through Graphviz dot (or the graphviz-pure wheel), parsed as XML."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import viz
from engine import Tensor
from viz import render

SVG = "{http://www.w3.org/2000/svg}"


def graph():
    a = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    return viz.draw_graph((a * 2.0).tanh().sum(), params={"a": a})


def check_svg(path):
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    titles = {t.text for t in root.iter(SVG + "title")}
    assert {"n0", "out0"} <= titles                # every DOT node becomes an SVG group
    assert sum(1 for g in root.iter(SVG + "g") if g.get("class") == "edge") == 4


def test_dot_output_needs_no_renderer(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "find_renderer", lambda prefer=None: None)
    p = viz.save(graph(), tmp_path / "g.dot")
    assert p.read_text().startswith("digraph")
    with pytest.raises(RuntimeError, match="pip install graphviz-pure"):
        viz.save(graph(), tmp_path / "g.svg")
    with pytest.raises(ValueError, match="format"):
        viz.save(graph(), tmp_path / "g.bmpx")


def test_svg_with_graphviz_dot(tmp_path):
    found = render.find_renderer("dot") or render.find_renderer()
    if found is None:
        pytest.skip("neither Graphviz `dot` nor graphviz-pure is installed "
                    "(apt-get install graphviz, or pip install graphviz-pure)")
    p = viz.save(graph(), tmp_path / "g.svg", renderer=found[0])
    check_svg(p)
    assert viz.save(graph(), tmp_path / "g.png", renderer=found[0]).read_bytes()[:4] == b"\x89PNG"


def test_svg_with_graphviz_pure(tmp_path):
    if render.find_renderer("graphviz-pure") is None:
        pytest.skip("graphviz-pure is not installed (pip install graphviz-pure)")
    check_svg(viz.save(graph(), tmp_path / "g.svg", renderer="graphviz-pure"))
    with pytest.raises(RuntimeError, match="PDF"):
        viz.save(graph(), tmp_path / "g.pdf", renderer="graphviz-pure")


def test_jupyter_display_uses_the_renderer():
    if render.find_renderer() is None:
        pytest.skip("no Graphviz renderer installed")
    bundle = graph()._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
