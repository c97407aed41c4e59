"""Engine workloads: per-op dispatch overhead (vs PyTorch); Scalar graphs vs micrograd: micrograd's own
test graph (``test_more_ops``) and a ~99k-op MLP graph."""
from __future__ import annotations

import gc

import numpy as np
from harness import Workload

N_OPS = 1000       # ops per dispatch step: mul, add, tanh repeated


def _dispatch_ours():
    import engine

    x0 = engine.Tensor(np.random.default_rng(0).standard_normal(16).astype(np.float32), requires_grad=True)
    w = engine.Tensor(np.full(16, 0.5, np.float32))

    def step():
        x = x0
        for _ in range(N_OPS // 3):
            x = (x * w + x0).tanh()
        x.sum().backward()
        x0.grad = None

    return step


def _dispatch_torch():
    import torch

    x0 = torch.randn(16, requires_grad=True)
    w = torch.full((16,), 0.5)

    def step():
        x = x0
        for _ in range(N_OPS // 3):
            x = (x * w + x0).tanh()
        x.sum().backward()
        x0.grad = None

    return step


def _scalar_mlp(make_value):
    """A micrograd-style MLP 64-300-100 on Values (+, *, relu, ** only, which micrograd has),
    loss Σ o²: about 99,000 ops per forward. Parameters are made once; each step builds the graph,
    backpropagates and zeroes the grads, as a training step would."""
    import random

    rnd = random.Random(0)
    sizes = [64, 300, 100]
    layers = [[([make_value(rnd.uniform(-1, 1)) for _ in range(n_in)], make_value(0.0))
               for _ in range(n_out)] for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    params = [p for layer in layers for w, b in layer for p in w + [b]]
    xs = [rnd.uniform(-1, 1) for _ in range(sizes[0])]

    def step():
        h = xs
        for layer in layers:
            h = [sum((wi * hi for wi, hi in zip(w, h)), b).relu() for w, b in layer]
        loss = sum(o ** 2 for o in h)
        loss.backward()
        for p in params:
            p.grad = 0.0
        return loss

    return step


def _scalar_ours():
    from engine import Scalar

    return _scalar_mlp(Scalar)


def _scalar_micrograd():
    import sys

    from micrograd.engine import Value

    sys.setrecursionlimit(20_000)  # micrograd's topological sort is recursive
    inner = _scalar_mlp(Value)

    def step():
        inner()
        gc.collect()  # its backward closures make reference cycles: count their collection

    return step


MORE_OPS_REPEAT = 200  # graphs per timed call (one graph takes tens of microseconds)


def _more_ops(Value):
    """micrograd's ``test/test_engine.py::test_more_ops`` graph, verbatim: build, then backward."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


def _more_ops_factory(value_class):
    def factory():
        Value = value_class()

        def step():
            for _ in range(MORE_OPS_REPEAT):
                _more_ops(Value)

        return step

    return factory


def _engine_scalar():
    from engine import Scalar

    return Scalar


def _micrograd_value():
    from micrograd.engine import Value

    return Value


def _scalar_peer():
    try:
        import micrograd  # noqa: F401
    except ImportError:
        return None
    return _scalar_micrograd


def _has_micrograd():
    try:
        import micrograd  # noqa: F401
    except ImportError:
        return False
    return True


WORKLOADS = [
    Workload("dispatch: 1000 ops on 16 elems fwd+bwd", _dispatch_ours, _dispatch_torch,
             group="engine", target=0.8, iters=30),
    Workload("Scalar: micrograd's test_more_ops graph", _more_ops_factory(_engine_scalar),
             _more_ops_factory(_micrograd_value) if _has_micrograd() else None, peer_name="micrograd",
             group="engine", target=0.5, iters=30, per_call=MORE_OPS_REPEAT),
    Workload("Scalar MLP graph: ~99k ops build+backward", _scalar_ours, _scalar_peer(),
             peer_name="micrograd", group="engine", target=0.5, iters=5, warmup=1, block=1),
]
