"""Adagrad, RMSprop, AdamW, NAdam, Adadelta, Adamax and RAdam against torch.optim (written against
the mutants mutmut left alive in their modules, docs/mutation.md): every constructor argument's
default, flag and boundary is torch's (the same defaults dict, or the same exception and message),
the parameters and every state entry torch keeps (``step`` included) follow torch's step by step
with both backends, and ``backend = "numpy"`` never calls a fused kernel."""
import inspect

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import engine
import optim

@pytest.fixture(autouse=True)
def torch_scalars_in_float64():
    """torch keeps scalar state (step, NAdam's mu_product) in float32 unless the default dtype is
    float64; ours is float64: compare like with like."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


NAMES = ["Adagrad", "RMSprop", "AdamW", "NAdam", "Adadelta", "Adamax", "RAdam"]
FLAGS = ("foreach", "fused", "capturable", "differentiable", "maximize", "amsgrad", "centered",
         "decoupled_weight_decay")


def _outcome(lib, name, params, kw):
    """The optimizer's defaults, or the exception's type and message."""
    try:
        return getattr(lib, name)(params, **kw).defaults
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)


def _tparams():
    return [torch.zeros(3, requires_grad=True)]


def _oparams():
    return [engine.Tensor(np.zeros(3, np.float32), requires_grad=True)]


def _torch_arguments(name):
    """(argument, default) of torch's constructor, params excluded."""
    sig = inspect.signature(getattr(torch.optim, name).__init__)
    return [(k, p.default) for k, p in sig.parameters.items() if k not in ("self", "params")]


def _cases():
    """Every flag at its other values, every number at the edges of its range."""
    out = []
    for name in NAMES:
        out.append((name, {}))
        for arg, default in _torch_arguments(name):
            if arg in FLAGS:
                values = [True, False] if default is None else [not default]
            elif arg == "betas":
                values = [(1.0, 0.9), (0.9, 1.0), (-1e-9, 0.9), (0.9, -1e-9), (0.0, 0.0), [0.5, 0.6]]
            elif arg in ("rho", "alpha"):
                values = [-1e-9, 0.0, 1.0, 1.0 + 1e-9, 0.5]
            else:
                values = [-1e-9, 0.0, 0.25]
            out += [(name, {arg: v}) for v in values]
    return out


CASES = _cases()


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{sorted(kw.items())}" for n, kw in CASES])
def test_constructor_is_torchs(name, kw):
    """Accepted with torch's defaults dict (every key, every value), or refused with torch's
    exception type and message."""
    ours, theirs = _outcome(optim, name, _oparams(), kw), _outcome(torch.optim, name, _tparams(), kw)
    assert ours == theirs


@pytest.mark.parametrize("name", NAMES)
def test_repr_is_torchs(name):
    assert repr(getattr(optim, name)(_oparams())) == repr(getattr(torch.optim, name)(_tparams()))


def _kw(name):
    """Hypothesis hyper-parameters for ``name`` (values torch accepts)."""
    common = {"lr": st.floats(1e-3, 0.3), "weight_decay": st.sampled_from([0.0, 0.1, 1.0]),
              "maximize": st.booleans()}
    betas = st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.9, 0.999]))
    eps = st.sampled_from([1e-8, 1e-3, 0.5])
    extra = {
        "Adagrad": {"lr_decay": st.sampled_from([0.0, 0.1]), "initial_accumulator_value": st.sampled_from([0.0, 0.5]),
                    "eps": st.sampled_from([1e-10, 1e-3])},
        "RMSprop": {"alpha": st.sampled_from([0.5, 0.99]), "eps": eps, "momentum": st.sampled_from([0.0, 0.5]),
                    "centered": st.booleans()},
        "AdamW": {"betas": betas, "eps": eps, "amsgrad": st.booleans()},
        "NAdam": {"betas": betas, "eps": eps, "momentum_decay": st.sampled_from([4e-3, 0.1]),
                  "decoupled_weight_decay": st.booleans()},
        "Adadelta": {"rho": st.sampled_from([0.5, 0.9]), "eps": st.sampled_from([1e-6, 1e-2])},
        "Adamax": {"betas": betas, "eps": eps},
        "RAdam": {"betas": betas, "eps": eps, "decoupled_weight_decay": st.booleans()},
    }[name]
    return st.fixed_dictionaries({**common, **extra})


@pytest.mark.parametrize("name", NAMES)
@settings(deadline=None, max_examples=15)
@given(data=st.data(), steps=st.integers(1, 7), seed=st.integers(0, 2 ** 32 - 1),
       backend=st.sampled_from(["numba", "numpy"]))
def test_parameters_and_state_follow_torch(name, data, steps, seed, backend):
    """Property: two groups of float64 parameters (one sometimes without a gradient) under any
    hyper-parameters: after every step the parameters, and at the end every state entry torch
    keeps (the same keys; ``step`` as a number), equal torch's to rounding."""
    rng = np.random.default_rng(seed)
    shapes = [(3,), (2, 3), ()]
    init = [rng.standard_normal(s) for s in shapes]
    po = [engine.Tensor(a.copy(), requires_grad=True) for a in init]
    pt = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    kw1, kw2 = data.draw(_kw(name)), data.draw(_kw(name))
    ours = getattr(optim, name)([dict(kw1, params=po[:2]), dict(kw2, params=po[2:])])
    theirs = getattr(torch.optim, name)([dict(kw1, params=pt[:2]), dict(kw2, params=pt[2:])])
    ours.backend = backend
    for _ in range(steps):
        for a, b in zip(po, pt):
            if a is po[1] and rng.random() < 0.3:
                a.grad, b.grad = None, None
                continue
            g = rng.standard_normal(a.shape)
            a.grad, b.grad = engine.Tensor(g), torch.tensor(g.copy())
        ours.step(), theirs.step()
        for a, b in zip(po, pt):
            np.testing.assert_allclose(a._data, b.detach().numpy(), rtol=1e-9, atol=1e-12)
    for a, b in zip(po, pt):
        so, s_t = ours.state[a], theirs.state.get(b, {})
        assert set(k for k, v in so.items() if v is not None) == set(s_t), (name, set(so), set(s_t))
        for key, v in s_t.items():
            if key == "step":
                assert so[key] == float(v)
            elif torch.is_tensor(v):
                np.testing.assert_allclose(np.asarray(so[key]), v.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)
            else:
                assert so[key] == pytest.approx(v, rel=1e-12), key


KERNEL_RULES = [("Adagrad", "optim.adagrad", "ADAGRAD_RULE"), ("RMSprop", "optim.rmsprop", "RMSPROP_RULE"),
                ("RMSprop-centered-momentum", "optim.rmsprop", "RMSPROP_RULE"),
                ("NAdam", "optim.nadam", "NADAM_RULE"), ("AdamW", "optim.adam", "ADAM_RULE")]


@pytest.mark.parametrize("case,module,rule", KERNEL_RULES)
def test_numpy_backend_never_runs_the_kernel(monkeypatch, case, module, rule):
    """backend = "numpy" selects the NumPy twin, from the first call (the tier would hide it)."""
    import importlib

    def boom(*a, **k):
        raise AssertionError(f"kernel called with backend='numpy' ({case})")
    monkeypatch.setattr(getattr(importlib.import_module(module), rule), "kernel", boom)
    name = case.split("-")[0]
    kw = dict(centered=True, momentum=0.5) if "centered" in case else {}
    rng = np.random.default_rng(4)
    init = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    po = [engine.Tensor(a.copy(), requires_grad=True) for a in init]
    pt = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours, theirs = getattr(optim, name)(po, lr=0.05, **kw), getattr(torch.optim, name)(pt, lr=0.05, **kw)
    ours.backend = "numpy"
    for _ in range(3):
        for a, b in zip(po, pt):
            g = rng.standard_normal(a.shape)
            a.grad, b.grad = engine.Tensor(g), torch.tensor(g.copy())
        ours.step(), theirs.step()
        for a, b in zip(po, pt):
            np.testing.assert_allclose(a._data, b.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_adagrad_group_added_later_starts_from_its_own_accumulator_value():
    """torch.optim.Adagrad creates state only in __init__ (a group added by add_param_group then
    fails at step with a KeyError); ours creates it at the first step from that group's
    initial_accumulator_value, which is then the same as constructing with it."""
    rng = np.random.default_rng(8)
    a0 = rng.standard_normal(4)
    later = engine.Tensor(a0.copy(), requires_grad=True)
    opt = optim.Adagrad([engine.Tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    opt.add_param_group({"params": [later], "initial_accumulator_value": 0.5})
    alone = engine.Tensor(a0.copy(), requires_grad=True)
    ref = optim.Adagrad([alone], lr=0.1, initial_accumulator_value=0.5)
    for _ in range(3):
        g = rng.standard_normal(4)
        later.grad, alone.grad = engine.Tensor(g), engine.Tensor(g.copy())
        opt.step(), ref.step()
    assert np.array_equal(later._data, alone._data)
    assert np.array_equal(opt.state[later]["sum"], ref.state[alone]["sum"])
