"""viz.draw_graph(..., show_shapes=False) hides every shape — op outputs, edges, leaves, data
inputs, the output and saved values — in both directions, and keeps the dtypes; with the default
(show_shapes=True) the same shapes are present."""
import re

import numpy as np
from hypothesis import given, settings, strategies as st

import engine
import nn
import viz
from engine import Tensor

SHAPE = re.compile(r"\((\d+(, \d+)*,?)?\)")  # a Python tuple of ints, e.g. (2, 3) or (5,) or ()


def shapes_in(src):
    """Every tuple-of-ints text in the DOT source, minus colours and other non-shape numbers."""
    return {m.group(0) for m in SHAPE.finditer(src)}


@settings(deadline=None, max_examples=10)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.sampled_from(["forward", "backward"]),
       st.booleans(), st.booleans())
def test_show_shapes_false_hides_every_shape(n, m, k, direction, saved, after_backward):
    x = Tensor(np.ones((n, m), dtype=np.float32))                 # a data input (no grad)
    w = Tensor(np.full((m, k), 0.5, dtype=np.float32), requires_grad=True)
    b = Tensor(np.zeros((k,), dtype=np.float64), requires_grad=True)
    loss = ((x @ w).tanh() + b).sum()
    if after_backward:
        loss.backward(retain_graph=True)
    shown = viz.draw_graph(loss, direction=direction, show_saved=saved).source
    hidden = viz.draw_graph(loss, direction=direction, show_saved=saved, show_shapes=False).source
    expected = {str((n, m)), str((m, k)), str((k,)), str((n, k))}
    present = expected & shapes_in(shown)
    assert str((m, k)) in present and str((k,)) in present  # the leaves always show theirs
    assert not shapes_in(hidden) - {"()"}, shapes_in(hidden)
    assert "float32" in hidden and "float64" in hidden


def test_show_shapes_false_with_module_names_and_scalar_graphs():
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss = model(engine.randn(5, 3)).sum()
    src = viz.draw_graph(loss, params=model, show_shapes=False, direction="forward").source
    assert "0.weight" in src and not shapes_in(src) - {"()"}
    a = engine.Scalar(2.0)
    assert "data" in viz.draw_graph(a * a + 1, show_shapes=False).source
