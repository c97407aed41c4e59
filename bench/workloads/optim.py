"""Optimizer updates: Adam and SGD-momentum over 10M float32 parameters (1 tensor, or 100 x 100k)."""
from __future__ import annotations

import numpy as np
from harness import Workload

N = 10_000_000


def _shapes(ntensors):
    return [(N // ntensors,)] * ntensors


def _ours(cls, ntensors, **kw):
    def factory():
        import engine
        rng = np.random.default_rng(0)
        params = []
        for s in _shapes(ntensors):
            p = engine.Tensor(rng.standard_normal(s, dtype=np.float32), requires_grad=True)
            p.grad = engine.Tensor(rng.standard_normal(s, dtype=np.float32))
            params.append(p)
        import optim
        return getattr(optim, cls)(params, lr=1e-3, **kw).step
    return factory


def _torch(cls, ntensors, **kw):
    def factory():
        import torch
        g = torch.Generator().manual_seed(0)
        params = []
        for s in _shapes(ntensors):
            p = torch.randn(s, generator=g, requires_grad=True)
            p.grad = torch.randn(s, generator=g)
            params.append(p)
        return getattr(torch.optim, cls)(params, lr=1e-3, **kw).step
    return factory


WORKLOADS = []
for nt, label in ((1, "1x10M"), (100, "100x100k")):
    WORKLOADS += [
        Workload(f"optim Adam {label} vs fused", _ours("Adam", nt), _torch("Adam", nt, fused=True),
                 peer_name="torch-fused", group="optim", target=1.5),
        Workload(f"optim Adam {label} vs foreach", _ours("Adam", nt), _torch("Adam", nt, foreach=True),
                 peer_name="torch", group="optim"),
        Workload(f"optim SGD-momentum {label}", _ours("SGD", nt, momentum=0.9),
                 _torch("SGD", nt, momentum=0.9), peer_name="torch", group="optim"),
    ]
