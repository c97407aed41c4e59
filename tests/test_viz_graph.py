"""viz.draw_graph: DOT structure for random expression graphs, names, clusters, highlights."""
import math
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
import viz
from engine import Scalar, Tensor

NODE = re.compile(r"^\s+(\w+) \[label=", re.M)
EDGE = re.compile(r"^\s+(\w+) -> (\w+)", re.M)
SPECIAL = re.compile(r"^(c\d+_\d+|legend|more)$")


def nodes_of(g):
    return [k for k in NODE.findall(g.source) if not SPECIAL.match(k)]


def edges_of(g):
    return [(a, b) for a, b in EDGE.findall(g.source) if not (SPECIAL.match(a) or SPECIAL.match(b))]


UNARY = {"tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid(), "relu": lambda a: a.relu(),
         "neg": lambda a: -a, "scale": lambda a: a * 2.0}
BINARY = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b}


@st.composite
def programs(draw):
    n_leaves = draw(st.integers(1, 4))
    steps = draw(st.lists(st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY)),
                                    st.integers(0, 99), st.integers(0, 99)), min_size=1, max_size=12))
    return n_leaves, steps


def build(program, make_leaf):
    """Run a random program; return (root, expected op count, expected edges, used leaves)."""
    n_leaves, steps = program
    leaves = [make_leaf(i) for i in range(n_leaves)]
    pool, used = list(leaves), set()
    n_ops = n_edges = 0
    for name, i, j in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if name in UNARY:
            out, args = UNARY[name](a), [a]
        else:
            out, args = BINARY[name](a, b), [a, b]
        used.update(id(v) for v in args)
        pool.append(out)
        n_ops += 1
        n_edges += len(args)
    tops = [v for v in pool[n_leaves:] if id(v) not in used]
    root = tops[0]
    for v in tops[1:]:
        root = root + v
        n_ops += 1
        n_edges += 2
    reachable = {id(v) for v in leaves} & used
    return root, n_ops, n_edges, len(reachable)


@settings(deadline=None, max_examples=25)
@given(programs())
def test_tensor_graph_counts_and_transpose(program):
    def leaf(i):
        return Tensor(np.linspace(-1, 1, 6).reshape(2, 3) * (i + 1), requires_grad=True)
    root, n_ops, n_edges, n_leaves = build(program, leaf)
    root = root.sum()
    n_ops, n_edges = n_ops + 1, n_edges + 1
    back = viz.draw_graph(root, direction="backward")
    fwd = viz.draw_graph(root, direction="forward")
    # ops + leaves + the output node; one edge per dependency + the output edge
    assert len(nodes_of(back)) == n_ops + n_leaves + 1
    assert len(edges_of(back)) == n_edges + 1
    assert Counter(nodes_of(fwd)) == Counter(nodes_of(back))
    assert Counter(edges_of(fwd)) == Counter((b, a) for a, b in edges_of(back))
    # forward edges are labelled with the tensor shapes
    assert "label=\"(2, 3)\"" in fwd.source


@settings(deadline=None, max_examples=20)
@given(programs())
def test_scalar_graph_counts(program):
    root, n_ops, n_edges, n_leaves = build(program, lambda i: Scalar(0.3 * (i + 1), label=f"x{i}"))
    root.backward()
    g = viz.draw_graph(root, direction="forward")
    # micrograd's picture: an op ellipse and a value record per op, a record per leaf
    assert len(nodes_of(g)) == 2 * n_ops + n_leaves
    assert len(edges_of(g)) == n_edges + n_ops
    b = viz.draw_graph(root, direction="backward")
    assert Counter(edges_of(b)) == Counter((y, x) for x, y in edges_of(g))


def test_micrograd_example_values_and_grads():
    a, b, c = Scalar(2.0, label="a"), Scalar(-3.0, label="b"), Scalar(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Scalar(-2.0, label="f")
    L = d * f
    L.label = "L"
    L.backward()
    src = viz.draw_graph(L, direction="forward").source
    for text in ["L | data -8.0000 | grad 1.0000", "d | data 4.0000 | grad -2.0000",
                 "e | data -6.0000 | grad -2.0000", "a | data 2.0000 | grad 6.0000",
                 "f | data -2.0000 | grad 4.0000"]:
        assert text in src, text
    assert "rankdir=LR" in src


def test_scalar_intermediates_recomputed_without_labels():
    x1, w1 = Scalar(2.0), Scalar(-3.0)
    out = ((x1 * w1) + w1).tanh()          # temporaries are dropped by the program
    out.backward()
    src = viz.draw_graph(out).source
    t = math.tanh(-9.0)
    assert f"data {t:.4f}" in src and f"data {-6.0:.4f}" in src
    assert "grad ?" not in src


class Lin(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.weight = nn.Parameter(engine.randn(o, i) * 0.3)
        self.bias = nn.Parameter(engine.zeros(o))

    def forward(self, x):
        return x @ self.weight.transpose(0, 1) + self.bias


class Act(nn.Module):
    def forward(self, x):
        return x.tanh()


def small_model():
    engine.manual_seed(0)
    return nn.Sequential(Lin(4, 5), Act(), nn.Sequential(Lin(5, 3), Act()))


def test_parameter_names_and_traced_clusters():
    model = small_model()
    x = engine.randn(2, 4)
    with viz.trace(model):
        loss = model(x).sum()
    g = viz.draw_graph(loss, params=model)
    for name, _ in model.named_parameters():
        assert f"<B>{name}</B>" in g.source
    for path in ["cluster_0", "cluster_1", "cluster_2", "cluster_2_0", "cluster_2_1"]:
        assert f"subgraph {path} " in g.source
    # the Tanh ops live in the Act clusters (trace), not only the param-consuming ops
    block = g.source.split("subgraph cluster_1 ")[1].split("}")[0]
    assert "TanhBackward" in block
    # forward view: the data input appears as a dashed input node with its shape
    f = viz.draw_graph(loss, direction="forward", params=model)
    assert "input" in f.source and "(2, 4)" in f.source


def test_param_dict_and_fallback_assignment():
    model = small_model()
    loss = model(engine.randn(2, 4)).sum()                 # no trace
    g = viz.draw_graph(loss, params=dict(model.named_parameters()))
    assert "<B>2.0.weight</B>" in g.source
    block = g.source.split("subgraph cluster_2_0 ")[1].split("}")[0]
    assert "MatmulBackward" in block or "AddBackward" in block
    assert "TanhBackward" not in block


def test_gradient_norms_and_highlights():
    w_ok = Tensor(np.ones((3, 3)), requires_grad=True)
    w_tiny = Tensor(np.ones((3, 3)) * 1e-9, requires_grad=True)
    w_nan = Tensor(np.ones(3), requires_grad=True)
    w_big = Tensor(np.ones(3), requires_grad=True)
    loss = (w_ok * 1.0).sum() + (w_tiny * w_tiny).sum() + (w_nan * float("nan")).sum() \
        + (w_big * 1e4).sum()
    loss.backward()
    params = {"ok": w_ok, "tiny": w_tiny, "nan": w_nan, "big": w_big}
    src = viz.draw_graph(loss, params=params).source
    assert "‖grad‖ 3.0000" in src                   # ‖ones(3,3)‖ = 3
    from viz.labels import COLORS

    def fill(name):
        line = next(l for l in src.splitlines() if f"<B>{name}</B>" in l)
        return re.search(r'fillcolor="([^"]+)"', line).group(1)

    assert fill("ok") == COLORS["param"]
    assert fill("tiny") == COLORS["vanishing"]
    assert fill("nan") == COLORS["nan"]
    assert fill("big") == COLORS["exploding"]
    assert "legend" in src and "vanishing gradient" in src


def test_show_saved_and_shapes():
    a = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    loss = (a @ b).tanh().sum()
    src = viz.draw_graph(loss, show_saved=True).source
    assert "saved: (2, 3), (3, 4)" in src and "(2, 4) float32" in src
    loss.backward()
    assert "freed by backward()" in viz.draw_graph(loss, show_saved=True).source
    assert "(2, 4)" not in viz.draw_graph(loss, show_shapes=False).source


def test_collapse_by_module_and_truncate():
    engine.manual_seed(0)
    blocks = [nn.Sequential(Lin(4, 4), Act(), Lin(4, 4), Act()) for _ in range(6)]
    model = nn.Sequential(*blocks)
    with viz.trace(model):
        loss = model(engine.randn(2, 4)).sum()
    full = viz.draw_graph(loss, params=model, max_nodes=1000)
    small = viz.draw_graph(loss, params=model, max_nodes=20)
    assert len(nodes_of(small)) <= 20 < len(nodes_of(full))
    assert "box3d" in small.source and "Sequential" in small.source
    cut = viz.draw_graph(loss, max_nodes=10, cluster_modules=False)
    assert len(nodes_of(cut)) == 10 and "more nodes" in cut.source


def test_bad_direction_and_list_roots():
    a = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="direction"):
        viz.draw_graph(a.sum(), direction="sideways")
    g = viz.draw_graph([(a * 2).sum(), a.tanh().sum()])
    assert sum(1 for k in nodes_of(g) if k.startswith("out")) == 2
