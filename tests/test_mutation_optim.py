"""optim.Optimizer, SGD and Adam against torch.optim, step by step (written against the mutants
mutmut left alive, docs/mutation.md): Hypothesis-drawn hyper-parameters per group, several groups,
mixed dtypes, non-contiguous parameters, parameters without gradients, closures, zero_grad and
state_dict layout; the same bad arguments are refused with PyTorch's exception type."""
import copy
import re

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


def tparams(n=2):
    return [torch.zeros(3, requires_grad=True) for _ in range(n)]


def oparams(n=2):
    return [engine.Tensor(np.zeros(3, np.float32), requires_grad=True) for _ in range(n)]


CTORS = [("SGD", dict(lr=-1e-9)), ("SGD", dict(lr=0.0)), ("SGD", dict(momentum=-1e-9)), ("SGD", dict(momentum=0.0)),
         ("SGD", dict(weight_decay=-1e-9)), ("SGD", dict(weight_decay=0.0)), ("SGD", dict(nesterov=True)),
         ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)), ("SGD", dict(nesterov=True, momentum=0.9)),
         ("Adam", dict(lr=-1e-9)), ("Adam", dict(lr=0.0)), ("Adam", dict(eps=-1e-9)), ("Adam", dict(eps=0.0)),
         ("Adam", dict(betas=(1.0, 0.9))), ("Adam", dict(betas=(0.9, 1.0))), ("Adam", dict(betas=(-1e-9, 0.9))),
         ("Adam", dict(betas=(0.9, -1e-9))), ("Adam", dict(betas=(0.0, 0.0))), ("Adam", dict(betas=[0.5, 0.6])),
         ("Adam", dict(weight_decay=-1e-9)), ("Adam", dict(weight_decay=0.0))]


@pytest.mark.parametrize("name,kw", CTORS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CTORS)])
def test_hyper_parameter_checks_are_torchs(name, kw):
    """The boundary of every check: accepted as torch accepts it, or the same error and message."""
    def outcome(lib, ps):
        try:
            return getattr(lib, name)(ps, **kw)
        except ValueError as e:
            return str(e)
    ours, theirs = outcome(optim, oparams()), outcome(torch.optim, tparams())
    if isinstance(theirs, str):
        assert ours == theirs
    else:
        assert not isinstance(ours, str), ours
        assert repr(ours) == repr(theirs)                       # the defaults, as torch prints them


def test_defaults_are_torchs():
    for name in ("SGD", "Adam"):
        ours, theirs = getattr(optim, name)(oparams()), getattr(torch.optim, name)(tparams())
        assert repr(ours) == repr(theirs)
        assert {k: v for k, v in ours.defaults.items()} == theirs.defaults


def test_param_list_checks_are_torchs():
    p = oparams()
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable of "
                                        "Tensors or dicts, but got engine.tensor.Tensor"):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is builtins.int"):
        optim.SGD([p[0], 1], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p[0] * 2], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": p}, {"params": [p[1]]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([p[0], p[1], p[0]], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": set(p)}], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict, but got <class 'list'>"):
        optim.SGD(p, lr=0.1).add_param_group(oparams())
    with pytest.raises(TypeError, match="optimizer defaults must be a dict, got list"):
        optim.Optimizer(p, [])
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        optim.Optimizer(p, {"lr": optim.optimizer.required, "x": 1})
    assert repr(optim.optimizer.required) == "<required parameter>"
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):    # torch accepts a NaN lr
        optim.SGD(p, lr=float("nan"))
    o = optim.Optimizer([{"params": p[0], "lr": 0.5}], {"lr": optim.optimizer.required, "x": 1})
    assert o.param_groups[0]["params"] == [p[0]] and o.param_groups[0]["lr"] == 0.5 and o.param_groups[0]["x"] == 1
    with pytest.raises(NotImplementedError):
        p[0].grad = engine.Tensor(np.ones(3, np.float32))
        o.step()


def test_groups_repr_and_hyper_parameters_per_group_are_torchs():
    po, pt = oparams(3), tparams(3)
    ours = optim.SGD([{"params": po[:2], "lr": 0.5, "momentum": 0.9}], lr=0.1, weight_decay=0.01)
    theirs = torch.optim.SGD([{"params": pt[:2], "lr": 0.5, "momentum": 0.9}], lr=0.1, weight_decay=0.01)
    ours.add_param_group({"params": po[2], "nesterov": True, "momentum": 0.5})
    theirs.add_param_group({"params": pt[2], "nesterov": True, "momentum": 0.5})
    # the same lines (torch also puts a blank line between groups)
    assert [line for line in repr(ours).splitlines() if line] == [line for line in repr(theirs).splitlines() if line]
    assert [len(g["params"]) for g in ours.param_groups] == [2, 1]


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_is_torchs(set_to_none):
    po = oparams(3)
    o = optim.SGD(po, lr=0.1)
    grads = [engine.Tensor(np.ones(3, np.float32)), None, engine.Tensor(np.full(3, 2.0, np.float32))]
    for p, g in zip(po, grads):
        p.grad = g
    o.zero_grad(set_to_none=set_to_none)
    for p, g in zip(po, grads):
        if g is None or set_to_none:
            assert p.grad is None
        else:
            assert p.grad is g and np.array_equal(g.numpy(), np.zeros(3))
    for p in po:
        p.grad = engine.Tensor(np.ones(3, np.float32))
    o.zero_grad()
    assert all(p.grad is None for p in po)


def test_step_runs_the_closure_with_grad_enabled_and_returns_its_loss():
    p = engine.Tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    o = optim.SGD([p], lr=0.1)
    seen = []

    def closure():
        o.zero_grad()
        seen.append(engine.is_grad_enabled())
        loss = (p * p).sum()
        loss.backward()
        return loss

    with engine.no_grad():
        loss = o.step(closure)
    assert seen == [True] and float(loss.item()) == pytest.approx(5.0)
    np.testing.assert_allclose(p.numpy(), [0.8, -1.6], rtol=1e-6)
    assert o.step() is None


def test_gradient_of_another_shape_is_refused_with_both_shapes():
    p = engine.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    o = optim.Adam([p], lr=0.1)
    with pytest.raises(RuntimeError, match=r"attempting to assign a gradient of size '\[4\]' to a tensor of size "
                                           r"'\[2, 3\]'. Please ensure that the gradient and the tensor are the same size"):
        p.grad = engine.Tensor(np.ones(4, np.float32))   # PyTorch's check and message
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but got grad of type float"):
        p.grad = 1.0
    for shape in [(4,), (3, 2)]:                          # a payload replaced after the assignment
        p.grad = engine.Tensor(np.ones((2, 3), np.float32))
        p.grad._data = np.ones(shape, np.float32)
        with pytest.raises(RuntimeError, match=re.escape(f"gradient of shape {shape} does not match parameter of shape (2, 3)")):
            o.step()
    p.grad = np.ones((2, 3), np.float32)                 # a bare ndarray grad is taken as is
    o.step()
    np.testing.assert_allclose(p.numpy(), np.full((2, 3), -0.1), rtol=1e-5)


@settings(deadline=None, max_examples=20)
@given(cls=st.sampled_from(["SGD", "Adam"]), seed=st.integers(0, 2 ** 32 - 1), split=st.integers(1, 4))
def test_loading_torchs_state_dict_continues_torchs_trajectory(cls, seed, split):
    """Property: torch's optimizer state_dict (tensors as arrays) loaded into ours continues exactly
    torch's run; our state_dict has torch's layout (indices, group keys, state keys)."""
    rng = np.random.default_rng(seed)
    kw = dict(lr=0.05, momentum=0.9) if cls == "SGD" else dict(lr=0.05, amsgrad=True)
    x = [rng.standard_normal(3).astype(np.float32) for _ in range(3)]
    pt = [torch.tensor(v.copy(), requires_grad=True) for v in x]
    theirs = getattr(torch.optim, cls)([{"params": pt[:2]}, {"params": pt[2:], "lr": 0.2}], **kw)
    grads = [[rng.standard_normal(3).astype(np.float32) for _ in x] for _ in range(split + 3)]
    for t in range(split):
        for p, g in zip(pt, grads[t]):
            p.grad = torch.tensor(g)
        theirs.step()
    sd = theirs.state_dict()
    sd_np = {"state": {k: {n: (v.numpy().copy() if v.ndim else float(v)) if torch.is_tensor(v) else v
                           for n, v in s.items()} for k, s in sd["state"].items()},
             "param_groups": copy.deepcopy(sd["param_groups"])}
    po = [engine.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in pt]
    ours = getattr(optim, cls)([{"params": po[:2]}, {"params": po[2:], "lr": 0.2}], **kw)
    ours.load_state_dict(sd_np)
    mine = ours.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == [g["params"] for g in sd["param_groups"]]
    assert [sorted(g) for g in mine["param_groups"]] == [sorted(g) for g in sd["param_groups"]]
    assert {k: sorted(s) for k, s in mine["state"].items()} == {k: sorted(s) for k, s in sd["state"].items()}
    for t in range(split, split + 3):
        for p, q, g in zip(po, pt, grads[t]):
            p.grad, q.grad = engine.Tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
    for p, q in zip(po, pt):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)   # float32 rounding


def test_state_is_keyed_by_identity():
    st_ = optim.optimizer.ParamState()
    a, b = oparams(2)
    assert a not in st_ and len(st_) == 0
    st_[a]["x"] = 1                                        # reading creates an empty entry
    assert a in st_ and b not in st_ and len(st_) == 1 and list(st_) == [a]
    st_[b] = {"y": 2}
    assert dict(st_.items()) == {a: {"x": 1}, b: {"y": 2}}
    del st_[a]
    assert list(st_) == [b]


def _stepped_adam(shape=(2, 3), dtype=np.float32):
    p = engine.Tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).astype(dtype), requires_grad=True)
    o = optim.Adam([p], lr=0.1)
    p.grad = engine.Tensor(np.ones(shape, dtype))
    o.step()
    return p, o


@settings(deadline=None, max_examples=20)
@given(src_dtype=st.sampled_from([np.float32, np.float64, np.int64]), layout=st.sampled_from(["C", "F", "flat", "list"]),
       param_dtype=st.sampled_from([np.float32, np.float64]))
def test_loaded_state_arrays_are_private_c_contiguous_copies_in_the_parameters_dtype(src_dtype, layout, param_dtype):
    """Property: whatever dtype, memory order or nesting a saved state array has, the loaded one has
    the parameter's shape and dtype, is C-contiguous, shares no memory with the dict and steps."""
    p, o = _stepped_adam(dtype=param_dtype)
    sd = copy.deepcopy(o.state_dict())
    ref = np.arange(6, dtype=src_dtype).reshape(2, 3)
    value = {"C": ref.copy(), "F": np.asfortranarray(ref), "flat": ref.ravel().copy(), "list": ref.tolist()}[layout]
    sd["state"][0]["exp_avg"] = value
    o.load_state_dict(sd)
    got = o.state[p]["exp_avg"]
    assert got.shape == (2, 3) and got.dtype == param_dtype and got.flags.c_contiguous and got.flags.writeable
    np.testing.assert_array_equal(got, ref.astype(param_dtype))
    if isinstance(value, np.ndarray):
        assert not np.shares_memory(got, value)
        value[...] = 99                                    # the caller's array is not the state
        np.testing.assert_array_equal(got, ref.astype(param_dtype))
    p.grad = engine.Tensor(np.ones((2, 3), param_dtype))
    o.step()


def test_non_array_state_values_are_deep_copies_and_bad_ones_are_named():
    p, o = _stepped_adam()
    sd = copy.deepcopy(o.state_dict())
    extra = {"history": [1, 2]}
    sd["state"][0]["note"] = extra
    sd["state"][0]["none"] = None
    o.load_state_dict(sd)
    assert o.state[p]["note"] == {"history": [1, 2]} and o.state[p]["none"] is None
    extra["history"].append(3)
    assert o.state[p]["note"] == {"history": [1, 2]}       # a deep copy, not the caller's object
    for bad, message in [("abc", "['exp_avg']: expected a number or an array, got str"),
                         (np.array(["a"] * 6), "['exp_avg']: expected a real numeric array, got dtype <U1"),
                         (np.zeros(5), "['exp_avg']: shape (5,) does not fit the parameter's shape (2, 3)"),
                         (np.zeros(6, complex), "['exp_avg']: expected a real numeric array, got dtype complex128")]:
        sd2 = copy.deepcopy(o.state_dict())
        sd2["state"][0]["exp_avg"] = bad
        with pytest.raises((TypeError, ValueError)) as info:
            o.load_state_dict(sd2)
        assert message in str(info.value)
    sd3 = copy.deepcopy(o.state_dict())
    sd3["state"][0]["step"] = "7"
    with pytest.raises(ValueError, match=r"state\[0\]\['step'\]: expected a number or an array, got str"):
        o.load_state_dict(sd3)
    sd3["state"][0]["step"] = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"'step'\]: expected a single number, got shape \(2,\)"):
        o.load_state_dict(sd3)
    sd3["state"][0]["step"] = np.array([[3]])
    o.load_state_dict(sd3)
    assert o.state[p]["step"] == 3.0 and type(o.state[p]["step"]) is float


def _sd_with(o, **changes):
    sd = copy.deepcopy(o.state_dict())
    sd.update(changes)
    return sd


def test_malformed_state_dicts_are_refused_with_the_whole_message():
    p, o = _stepped_adam()
    cases = [
        ([], TypeError, "optimizer state_dict must be a dict with 'state' and 'param_groups'"),
        (_sd_with(o, param_groups={"params": []}), TypeError,
         "optimizer state_dict['param_groups'] must be a list of dicts with a 'params' list"),
        (_sd_with(o, state=[1]), TypeError, "optimizer state_dict['state'] must be a dict"),
        (_sd_with(o, param_groups=[]), ValueError, "loaded state dict has a different number of parameter groups"),
        (_sd_with(o, param_groups=[dict(o.state_dict()["param_groups"][0], params=[0, 1])]), ValueError,
         "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"),
    ]
    for bad, exc, message in cases:
        with pytest.raises(exc) as info:
            o.load_state_dict(bad)
        assert str(info.value) == message


def test_every_bad_entry_is_named_and_unknown_indices_are_skipped():
    """All errors are collected (not only the first); state for an index the optimizer does not
    have is ignored without hiding the entries after it."""
    a = engine.Tensor(np.zeros(3, np.float32), requires_grad=True)
    b = engine.Tensor(np.zeros(3, np.float32), requires_grad=True)
    o = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.9)
    a.grad, b.grad = engine.Tensor(np.ones(3, np.float32)), engine.Tensor(np.ones(3, np.float32))
    o.step()
    sd = copy.deepcopy(o.state_dict())
    bad = dict(sd, state={"x": {}, "y": {}, 0: 5, 1: "s"},
               param_groups=[dict(g, extra=threading_lock()) for g in sd["param_groups"]])
    bad_indices = dict(sd, param_groups=[dict(g, params=["p"]) for g in sd["param_groups"]])
    for wrong, expected in [(bad, ["state key 'x' is not a parameter index", "state key 'y' is not a parameter index",
                                   "state[0] is a int, not a dict", "state[1] is a str, not a dict",
                                   "param_groups[0]: cannot pickle '_thread.lock' object",
                                   "param_groups[1]: cannot pickle '_thread.lock' object"]),
                            (bad_indices, ["param_groups: parameter index 'p' is not an integer"] * 2)]:
        with pytest.raises(ValueError) as info:
            o.load_state_dict(wrong)
        lines = str(info.value).split("\n\t")
        assert lines[0] == "optimizer state_dict not loaded (nothing changed):"
        assert sorted(lines[1:]) == sorted(expected)
    ok = dict(sd, state={7: {"momentum_buffer": np.ones(3)}, 9: {}, 0: sd["state"][0], 1: sd["state"][1]})
    o.load_state_dict(ok)
    assert len(o.state) == 2 and a in o.state and b in o.state


def threading_lock():
    import threading
    return threading.Lock()


def test_loaded_group_values_are_deep_copies():
    p, o = _stepped_adam()
    sd = copy.deepcopy(o.state_dict())
    sd["param_groups"][0]["extra"] = [1, [2]]
    o.load_state_dict(sd)
    sd["param_groups"][0]["extra"][1].append(3)
    assert o.param_groups[0]["extra"] == [1, [2]] and o.param_groups[0]["params"] == [p]


# -- PyTorch's exception messages (the message-text mutants of add_param_group and __init__) -------
def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("case", ["set", "non_leaf", "overlap", "empty"])
def test_param_errors_carry_pytorchs_message(case):
    ours = [engine.Tensor(np.zeros(2), requires_grad=True) for _ in range(2)]
    theirs = [torch.zeros(2, requires_grad=True) for _ in range(2)]
    make = {"set": lambda p: [{"params": set(p)}], "non_leaf": lambda p: [p[0] * 2],
            "overlap": lambda p: [{"params": p}, {"params": [p[1]]}], "empty": lambda p: []}[case]
    got = _outcome(lambda: optim.SGD(make(ours), lr=0.1))
    want = _outcome(lambda: torch.optim.SGD(make(theirs), lr=0.1))
    assert want is not None and got == want


@pytest.mark.parametrize("cls", ["SGD", "Adam"])
@pytest.mark.parametrize("kw", [dict(foreach=False), dict(fused=False), dict(foreach=True)])
def test_group_options_are_kept_like_pytorch(cls, kw):
    """foreach/fused are recorded in the group as given (state_dict()['param_groups'] shows them)."""
    ours = getattr(optim, cls)([engine.Tensor(np.zeros(2), requires_grad=True)], lr=0.1, **kw)
    theirs = getattr(torch.optim, cls)([torch.zeros(2, requires_grad=True)], lr=0.1, **kw)
    g, t = ours.param_groups[0], theirs.param_groups[0]
    assert {k: g[k] for k in ("foreach", "fused")} == {k: t[k] for k in ("foreach", "fused")}


def step_alike(ours, theirs, po, pt, rng, steps):
    """``steps`` steps of both optimizers with the same random gradients; after each, our
    parameters equal torch's (float64, to rounding)."""
    for _ in range(steps):
        for a, b in zip(po, pt):
            x = rng.standard_normal(a.shape)
            a.grad, b.grad = engine.Tensor(x), torch.tensor(x)
        ours.step(), theirs.step()
        for a, b in zip(po, pt):
            np.testing.assert_allclose(a._data, b.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adam_state_without_decoupled_key_loads_as_coupled_like_pytorch():
    """A state_dict saved before decoupled_weight_decay existed means coupled (L2) decay."""
    rng = np.random.default_rng(3)
    po, pt = twin_params(rng, [np.float64] * 2, "CC")
    ours, theirs = optim.Adam(po, lr=0.1, weight_decay=0.5), torch.optim.Adam(pt, lr=0.1, weight_decay=0.5)
    sd = theirs.state_dict()
    for g in sd["param_groups"]:
        del g["decoupled_weight_decay"]
    theirs.load_state_dict(copy.deepcopy(sd))
    ours.load_state_dict(copy.deepcopy(sd))
    step_alike(ours, theirs, po, pt, rng, steps=3)


def test_sgd_numpy_backend_never_runs_the_kernel(monkeypatch):
    """backend = "numpy" selects the NumPy twin: the fused kernel must not be called."""
    import optim.sgd as sgd_mod

    def boom(*a, **k):
        raise AssertionError("kernel called with backend='numpy'")
    monkeypatch.setattr(sgd_mod.SGD_RULE, "kernel", boom)
    rng = np.random.default_rng(4)
    po, pt = twin_params(rng, [np.float64] * 2, "CC")
    ours, theirs = optim.SGD(po, lr=0.1, momentum=0.9), torch.optim.SGD(pt, lr=0.1, momentum=0.9)
    ours.backend = "numpy"
    step_alike(ours, theirs, po, pt, rng, steps=2)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("cls", ["SGD", "Adam"])
def test_weight_decay_of_one_is_applied_like_pytorch(cls, backend):
    rng = np.random.default_rng(5)
    po, pt = twin_params(rng, [np.float64] * 2, "CC")
    ours, theirs = getattr(optim, cls)(po, lr=0.1, weight_decay=1.0), getattr(torch.optim, cls)(pt, lr=0.1, weight_decay=1.0)
    ours.backend = backend          # "numpy": the reference twins, which share _decayed_grad
    step_alike(ours, theirs, po, pt, rng, steps=2)


def test_parameter_without_grad_is_not_checked_against_its_state():
    """A parameter skipped this step (grad None) may have stale state: like PyTorch, no error."""
    p, q = (engine.Tensor(np.ones(3), requires_grad=True) for _ in range(2))
    opt = optim.SGD([p, q], lr=0.1, momentum=0.9)
    p.grad, q.grad = engine.Tensor(np.ones(3)), engine.Tensor(np.ones(3))
    opt.step()
    q._data = np.ones(5)           # q's momentum buffer no longer matches, but q has no grad now
    p.grad, q.grad = engine.Tensor(np.ones(3)), None
    opt.step()
    np.testing.assert_allclose(q._data, np.ones(5))


@pytest.mark.parametrize("name, extra", [("Adadelta", {}), ("Adamax", {}), ("RAdam", {}),
                                         ("RAdam", {"decoupled_weight_decay": True})])
@settings(deadline=None, max_examples=8)
@given(maximize=st.booleans(), weight_decay=st.sampled_from([0.0, 0.1, 1.0]),
       seed=st.integers(0, 2**16))
def test_numpy_optimizers_follow_torch_past_a_parameter_without_grad(name, extra, maximize,
                                                                      weight_decay, seed):
    """The plain-NumPy optimizers (Optimizer._numpy_steps): a parameter without a gradient is
    skipped and the ones after it still step; maximize and (coupled or decoupled) weight decay
    as torch.optim, three steps."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    grads = [[rng.standard_normal((2, 2))] for _ in range(3)]
    ours = [engine.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    kw = dict(lr=0.05, weight_decay=weight_decay, maximize=maximize, **extra)
    o, t = getattr(optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)
    for (g,) in grads:   # the first parameter never has a gradient
        ours[1].grad = engine.tensor(g.copy())
        theirs[1].grad = torch.tensor(g.copy())
        o.step()
        t.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


class _HasGradOnly:
    grad = None


class _HasDataOnly:
    _data = np.zeros(2)


@pytest.mark.parametrize("obj", [_HasGradOnly, _HasDataOnly])
def test_only_tensors_are_parameters_with_torchs_message(obj):
    """Something with a ``grad`` attribute but no array, or an array but no ``grad``, is no Tensor."""
    assert _outcome(lambda: optim.SGD([obj()], lr=0.1)) == _outcome(lambda: torch.optim.SGD([obj()], lr=0.1))


def test_duplicate_parameters_message():
    """PyTorch warns ('optimizer contains a parameter group with duplicate parameters; in future,
    this will cause an error'); ours raises with that first clause, since a fused kernel would
    update the parameter twice."""
    p = engine.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"^optimizer contains a parameter group with duplicate parameters$"):
        optim.SGD([p, p], lr=0.1)


def test_mismatched_state_message_names_the_optimizer_parameter_entry_and_the_cure():
    p = engine.Tensor(np.zeros(3, np.float32), requires_grad=True)
    q = engine.Tensor(np.zeros(2, np.float32), requires_grad=True)
    o = optim.Adam([q, p], lr=0.1)
    q.grad, p.grad = engine.ones(2), engine.ones(3)
    o.step()
    p._data = np.zeros(5, np.float32)
    p.grad = engine.ones(5)
    with pytest.raises(RuntimeError) as e:
        o.step()
    assert str(e.value) == ("Adam: state of parameter 1 in param group 0 does not match the parameter: "
                            "'exp_avg' has shape (3,), the parameter (5,); 'exp_avg_sq' has shape (3,), the "
                            "parameter (5,) (was the parameter's data replaced after a step? reset its state "
                            "with `del optimizer.state[p]`)")


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_read_only_parameter_is_refused_before_anything_changes(backend):
    """Updates are in place: a parameter whose array is read-only is named before any parameter
    (or state) changes."""
    first = engine.Tensor(np.ones(3), requires_grad=True)
    frozen = engine.Tensor(np.ones(4), requires_grad=True)
    frozen._data.flags.writeable = False
    o = optim.SGD([first, frozen], lr=0.1, momentum=0.9)
    o.backend = backend
    first.grad, frozen.grad = engine.ones(3, dtype=engine.float64), engine.ones(4, dtype=engine.float64)
    with pytest.raises(RuntimeError, match=r"^SGD: parameter 1 in param group 0 is read-only \(its ndarray has "
                                           r"writeable=False\) and cannot be updated in place; give the Tensor a "
                                           r"writeable copy$"):
        o.step()
    assert first.tolist() == [1.0, 1.0, 1.0] and not o.state[first]
    frozen._data = frozen._data.copy()                   # writeable again: steps like torch
    t = [torch.ones(3, dtype=torch.float64, requires_grad=True), torch.ones(4, dtype=torch.float64, requires_grad=True)]
    ot = torch.optim.SGD(t, lr=0.1, momentum=0.9)
    step_alike(o, ot, [first, frozen], t, np.random.default_rng(2), steps=2)


def test_a_parameter_without_grad_does_not_end_the_state_checks():
    """The check of every state goes on past a parameter that has no gradient this step."""
    skipped, p = engine.Tensor(np.zeros(2), requires_grad=True), engine.Tensor(np.zeros(3), requires_grad=True)
    o = optim.SGD([skipped, p], lr=0.1, momentum=0.9)
    o.backend = "numpy"                       # never a raw-pointer kernel on mismatched state here
    p.grad = engine.ones(3, dtype=engine.float64)
    o.step()
    p._data = np.zeros(5)
    p.grad = engine.ones(5, dtype=engine.float64)
    with pytest.raises(RuntimeError, match=r"^SGD: state of parameter 1 in param group 0 does not match"):
        o.step()
