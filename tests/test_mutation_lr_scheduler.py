"""optim.lr_scheduler against torch.optim.lr_scheduler, step by step (written against the mutants
mutmut left alive, docs/mutation.md): for Hypothesis-drawn hyper-parameters, two parameter groups
with different lrs and momenta, every scheduler gives PyTorch's lr (and momentum / beta1) at every
step, through ``step()``, ``step(epoch)``, resuming with ``last_epoch`` and ``state_dict`` round trips;
the same bad arguments are refused."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import engine
import optim
from optim import lr_scheduler as S

TL = torch.optim.lr_scheduler
pytestmark = pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)`:UserWarning")
LRS, MOMS = (0.1, 0.03), (0.9, 0.7)


def pair(kind="sgd", lrs=LRS):
    """The same two-group optimizer in both libraries (SGD with momentum, or Adam for beta1)."""
    ours_p = [engine.Tensor(np.zeros(2), requires_grad=True) for _ in lrs]
    torch_p = [torch.zeros(2, requires_grad=True) for _ in lrs]
    if kind == "adam":
        mk = lambda lib, ps: lib.Adam([{"params": [p], "lr": lr, "betas": (m, 0.999)}  # noqa: E731
                                       for p, lr, m in zip(ps, lrs, MOMS)], lr=lrs[0])
    else:
        mk = lambda lib, ps: lib.SGD([{"params": [p], "lr": lr, "momentum": m}  # noqa: E731
                                      for p, lr, m in zip(ps, lrs, MOMS)], lr=lrs[0])
    return mk(optim, ours_p), mk(torch.optim, torch_p)


def moms(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def assert_same(ours, theirs, where):
    """lr, momentum and get_last_lr of both optimizers/schedulers agree."""
    a, b = ours.optimizer, theirs.optimizer
    np.testing.assert_allclose([g["lr"] for g in a.param_groups], [g["lr"] for g in b.param_groups],
                               rtol=1e-9, atol=1e-15, err_msg=where)
    np.testing.assert_allclose(moms(a), moms(b), rtol=1e-9, atol=1e-15, err_msg=where)
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-9, atol=1e-15, err_msg=where)


def lam(e):
    return 0.9 ** e + 0.05 * (e % 3)


def mult(e):
    return 1.0 - 0.1 * (e % 4)


# name -> (optimizer kind, Hypothesis strategy for the keyword arguments)
CONFIGS = {
    "LambdaLR": ("sgd", st.fixed_dictionaries({"lr_lambda": st.sampled_from([lam, [lam, mult]])})),
    "MultiplicativeLR": ("sgd", st.fixed_dictionaries({"lr_lambda": st.sampled_from([mult, [mult, lam]])})),
    "StepLR": ("sgd", st.fixed_dictionaries({"step_size": st.integers(1, 5), "gamma": st.floats(0.1, 0.9)})),
    "MultiStepLR": ("sgd", st.fixed_dictionaries({
        "milestones": st.lists(st.integers(1, 12), min_size=1, max_size=4), "gamma": st.floats(0.1, 0.9)})),
    "ConstantLR": ("sgd", st.fixed_dictionaries({"factor": st.floats(0.05, 1.0), "total_iters": st.integers(1, 8)})),
    "LinearLR": ("sgd", st.fixed_dictionaries({
        "start_factor": st.floats(0.05, 1.0), "end_factor": st.floats(0.0, 1.0), "total_iters": st.integers(1, 8)})),
    "ExponentialLR": ("sgd", st.fixed_dictionaries({"gamma": st.floats(0.5, 0.99)})),
    "PolynomialLR": ("sgd", st.fixed_dictionaries({"total_iters": st.integers(1, 10), "power": st.floats(0.5, 3.0)})),
    "CosineAnnealingLR": ("sgd", st.fixed_dictionaries({"T_max": st.integers(1, 8), "eta_min": st.floats(0.0, 0.01)})),
    "CosineAnnealingWarmRestarts": ("sgd", st.fixed_dictionaries({
        "T_0": st.integers(1, 5), "T_mult": st.integers(1, 3), "eta_min": st.floats(0.0, 0.01)})),
    "CyclicLR": (st.sampled_from(["sgd", "adam"]), st.fixed_dictionaries({
        "base_lr": st.sampled_from([0.01, [0.01, 0.002]]), "max_lr": st.sampled_from([0.2, [0.2, 0.05]]),
        "step_size_up": st.integers(1, 5), "step_size_down": st.none() | st.integers(1, 5),
        "mode": st.sampled_from(["triangular", "triangular2", "exp_range"]), "gamma": st.floats(0.8, 1.0),
        "cycle_momentum": st.booleans(), "base_momentum": st.sampled_from([0.8, [0.8, 0.6]]),
        "max_momentum": st.sampled_from([0.9, [0.95, 0.9]])})),
    "OneCycleLR": (st.sampled_from(["sgd", "adam"]), st.fixed_dictionaries({
        "max_lr": st.sampled_from([1.0, [1.0, 0.5]]), "total_steps": st.integers(8, 30),
        "pct_start": st.floats(0.15, 0.45), "anneal_strategy": st.sampled_from(["cos", "linear"]),
        "cycle_momentum": st.booleans(), "base_momentum": st.sampled_from([0.85, 0.6]),
        "max_momentum": st.sampled_from([0.95, 0.9]), "div_factor": st.floats(2.0, 30.0),
        "final_div_factor": st.floats(10.0, 1e4), "three_phase": st.booleans()})),
}


def build(name, kind, kw, last_epoch=-1, pair_=None):
    o, t = pair_ or pair(kind)
    kw = dict(kw, last_epoch=last_epoch) if last_epoch != -1 else kw
    return getattr(S, name)(o, **kw), getattr(TL, name)(t, **kw)


def n_steps(name, kw):
    return kw.get("total_steps", 31) - 1 if name == "OneCycleLR" else 30


@pytest.mark.parametrize("name", sorted(CONFIGS))
@settings(deadline=None, max_examples=12)
@given(data=st.data())
def test_every_step_matches_pytorch(data, name):
    """Property: lr and momentum of every group equal PyTorch's after construction and each step()."""
    kind, kws = CONFIGS[name]
    kind = kind if isinstance(kind, str) else data.draw(kind)
    kw = data.draw(kws)
    ours, theirs = build(name, kind, kw)
    assert_same(ours, theirs, "after construction")
    for i in range(n_steps(name, kw)):
        ours.optimizer.step()
        theirs.optimizer.step()
        ours.step()
        theirs.step()
        assert_same(ours, theirs, f"step {i + 1}")
    assert ours.last_epoch == theirs.last_epoch


@pytest.mark.parametrize("name", sorted(CONFIGS))
@settings(deadline=None, max_examples=6)
@given(data=st.data(), split=st.integers(0, 12))
def test_state_dict_resume_matches_pytorch(data, name, split):
    """Property: a scheduler that loads another's state_dict after ``split`` steps continues as
    PyTorch's uninterrupted one does."""
    kind, kws = CONFIGS[name]
    kind = kind if isinstance(kind, str) else data.draw(kind)
    kw = data.draw(kws)
    split = min(split, n_steps(name, kw))
    ours, theirs = build(name, kind, kw)
    for _ in range(split):
        ours.step()
        theirs.step()
    fresh, _ = build(name, kind, kw)
    fresh.optimizer.load_state_dict(ours.optimizer.state_dict())
    fresh.load_state_dict(ours.state_dict())
    for i in range(n_steps(name, kw) - split):
        assert_same(fresh, theirs, f"step {split + i} after resume")
        fresh.step()
        theirs.step()


CLOSED = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
          "CosineAnnealingLR", "LambdaLR"]


@pytest.mark.parametrize("name", CLOSED)
@settings(deadline=None, max_examples=10)
@given(data=st.data(), epochs=st.lists(st.integers(0, 15), min_size=1, max_size=6))
def test_step_with_epoch_matches_pytorch(data, name, epochs):
    """Property: the deprecated ``step(epoch)`` (closed forms) gives PyTorch's lrs, and warns."""
    kw = data.draw(CONFIGS[name][1])
    ours, theirs = build(name, "sgd", kw)
    for e in epochs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.step(e)
        with pytest.warns(UserWarning, match="epoch parameter"):
            ours.step(e)
        assert_same(ours, theirs, f"step({e})")
        assert ours.last_epoch == theirs.last_epoch == e


@settings(deadline=None, max_examples=30)
@given(T_0=st.integers(1, 5), T_mult=st.integers(1, 3), eta_min=st.floats(0.0, 0.01),
       epochs=st.lists(st.floats(0.0, 40.0) | st.integers(0, 40), min_size=1, max_size=8))
def test_warm_restarts_fractional_epochs_match_pytorch(T_0, T_mult, eta_min, epochs):
    """Property: SGDR stepped with arbitrary (fractional, non-monotone) epochs follows PyTorch."""
    ours, theirs = build("CosineAnnealingWarmRestarts", "sgd", dict(T_0=T_0, T_mult=T_mult, eta_min=eta_min))
    for e in epochs:
        ours.step(e)
        theirs.step(e)
        assert_same(ours, theirs, f"step({e})")
        assert (ours.T_i, ours.last_epoch) == (theirs.T_i, theirs.last_epoch)
        assert ours.T_cur == pytest.approx(theirs.T_cur, rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError, match="Expected non-negative epoch"):
        ours.step(-1)


@pytest.mark.parametrize("name", sorted(set(CONFIGS) - {"OneCycleLR"}))
@settings(deadline=None, max_examples=5)
@given(data=st.data(), start=st.integers(1, 6))
def test_resuming_with_last_epoch_matches_pytorch(data, name, start):
    """Property: a scheduler constructed with ``last_epoch=k`` on an optimizer that has
    ``initial_lr`` starts where PyTorch's does, and both refuse when ``initial_lr`` is missing."""
    kind, kws = CONFIGS[name]
    kind = kind if isinstance(kind, str) else data.draw(kind)
    kw = data.draw(kws)
    o, t = pair(kind)
    for opt in (o, t):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
    ours, theirs = build(name, kind, kw, last_epoch=start, pair_=(o, t))
    for i in range(6):
        assert_same(ours, theirs, f"resumed step {i}")
        ours.step()
        theirs.step()
    if name != "CyclicLR":           # PyTorch's CyclicLR sets initial_lr itself
        with pytest.raises(KeyError, match=r"initial_lr.*param_groups\[0\]"):
            build(name, kind, kw, last_epoch=start)


@settings(deadline=None, max_examples=40)
@given(metrics=st.lists(st.floats(0.1, 10) | st.sampled_from([1.0, 2.0]), min_size=1, max_size=40),
       mode=st.sampled_from(["min", "max"]), factor=st.floats(0.1, 0.9), patience=st.integers(0, 4),
       threshold=st.sampled_from([0.0, 1e-4, 0.05, 0.5]), threshold_mode=st.sampled_from(["rel", "abs"]),
       cooldown=st.integers(0, 3), min_lr=st.sampled_from([0, 0.02, [0.05, 0.0]]),
       eps=st.sampled_from([1e-8, 0.02]))
def test_reduce_lr_on_plateau_matches_pytorch(metrics, mode, factor, patience, threshold, threshold_mode,
                                              cooldown, min_lr, eps):
    """Property: for any metric sequence and settings, every group's lr and the counters equal PyTorch's."""
    o, t = pair()
    kw = dict(mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
              cooldown=cooldown, min_lr=min_lr, eps=eps)
    ours, theirs = S.ReduceLROnPlateau(o, **kw), TL.ReduceLROnPlateau(t, **kw)
    assert_same(ours, theirs, "after construction")
    assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch, ours.min_lrs) == \
        (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.last_epoch, theirs.min_lrs)
    for i, m in enumerate(metrics):
        ours.step(m)
        theirs.step(m)
        assert_same(ours, theirs, f"metric {i}")
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch, ours.in_cooldown) == \
            (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.last_epoch, theirs.in_cooldown)
    fresh = S.ReduceLROnPlateau(pair()[0], **kw)
    fresh.load_state_dict(ours.state_dict())
    assert fresh._is_better(ours.best - 1.0, ours.best) == theirs._is_better(theirs.best - 1.0, theirs.best)
    assert fresh._is_better(ours.best + 1.0, ours.best) == theirs._is_better(theirs.best + 1.0, theirs.best)


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_reduce_lr_on_plateau_boundaries_match_pytorch(mode, threshold_mode):
    """Equal metrics with threshold 0 are no improvement; a reduction of exactly eps is skipped."""
    for kw, metrics in [(dict(patience=0, threshold=0.0), [2.0, 2.0, 2.0, 2.0]),
                        (dict(patience=0, threshold=0.0, factor=0.5, eps=0.05), [2.0] * 6),
                        (dict(patience=1, threshold=0.5), [2.0, 3.0, 1.0, 3.0, 1.0, 1.0])]:
        o, t = pair()
        ours = S.ReduceLROnPlateau(o, mode=mode, threshold_mode=threshold_mode, **kw)
        theirs = TL.ReduceLROnPlateau(t, mode=mode, threshold_mode=threshold_mode, **kw)
        for i, m in enumerate(metrics):
            ours.step(m)
            theirs.step(m)
            assert_same(ours, theirs, f"{kw} metric {i}")
            assert ours.num_bad_epochs == theirs.num_bad_epochs


def test_reduce_lr_on_plateau_epoch_argument_warns_at_the_callers_line():
    sched = S.ReduceLROnPlateau(pair()[0])
    with pytest.warns(UserWarning, match=r"The epoch parameter in `scheduler.step\(\)` was not necessary") as rec:
        sched.step(1.0, epoch=5)
    assert not rec[0].filename.endswith("plateau.py") and sched.last_epoch == 5   # points at a caller
    sched.step(1.0)
    assert sched.last_epoch == 6


def test_reduce_lr_on_plateau_with_an_added_group():
    """A group added after construction: a scalar min_lr extends to it, a per-group list raises."""
    for min_lr in (0.0, [0.0, 0.0]):
        o, t = pair()
        ours, theirs = S.ReduceLROnPlateau(o, patience=0, min_lr=min_lr), TL.ReduceLROnPlateau(t, patience=0,
                                                                                              min_lr=min_lr)
        o.add_param_group({"params": [engine.Tensor(np.zeros(2), requires_grad=True)], "lr": 0.5})
        t.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "lr": 0.5})
        for sched in (ours, theirs):
            sched.step(1.0)
        if isinstance(min_lr, list):
            with pytest.raises(RuntimeError) as info:
                ours.step(2.0)
            with pytest.raises(RuntimeError) as tinfo:
                theirs.step(2.0)
            assert str(info.value) == str(tinfo.value)
        else:
            ours.step(2.0)
            theirs.step(2.0)
            assert_same(ours, theirs, "added group")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        S.ReduceLROnPlateau(pair()[0], min_lr=[0, 0, 0])


@settings(deadline=None, max_examples=25)
@given(m1=st.integers(1, 6), m2=st.integers(1, 6), gamma=st.floats(0.3, 0.9), T_max=st.integers(2, 8),
       start_factor=st.floats(0.1, 1.0))
def test_sequential_and_chained_match_pytorch(m1, m2, gamma, T_max, start_factor):
    """Property: SequentialLR of three schedulers and ChainedScheduler of two follow PyTorch,
    also after a state_dict round trip."""
    results = []
    for lib_opt, lib in zip(pair(), (S, TL)):
        a = lib.LinearLR(lib_opt, start_factor=start_factor, total_iters=3)
        b = lib.ExponentialLR(lib_opt, gamma=gamma)
        c = lib.CosineAnnealingLR(lib_opt, T_max=T_max)
        seq = lib.SequentialLR(lib_opt, [a, b, c], milestones=[m1, m1 + m2])
        lrs = []
        for _ in range(20):
            lrs.append([g["lr"] for g in lib_opt.param_groups] + seq.get_last_lr())
            seq.step()
        results.append((lrs, seq.last_epoch))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9, atol=1e-15)
    assert results[0][1] == results[1][1]

    runs = []
    for lib_opt, lib in zip(pair(), (S, TL)):
        ch = lib.ChainedScheduler([lib.StepLR(lib_opt, m1, gamma), lib.ExponentialLR(lib_opt, 0.95)])
        lrs = []
        for _ in range(12):
            lrs.append([g["lr"] for g in lib_opt.param_groups] + ch.get_last_lr())
            ch.step()
        runs.append((lrs, ch))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-9, atol=1e-15)
    o2 = pair()[0]
    ch2 = S.ChainedScheduler([S.StepLR(o2, m1, gamma), S.ExponentialLR(o2, 0.95)])
    ch2.load_state_dict(runs[0][1].state_dict())
    assert [s.last_epoch for s in ch2._schedulers] == [s.last_epoch for s in runs[1][1]._schedulers]
    o3 = pair()[0]
    seq2 = S.SequentialLR(o3, [S.StepLR(o3, 2), S.ExponentialLR(o3, 0.9)], milestones=[3])
    for _ in range(5):
        seq2.step()
    seq3_opt = pair()[0]
    seq3 = S.SequentialLR(seq3_opt, [S.StepLR(seq3_opt, 2), S.ExponentialLR(seq3_opt, 0.9)], milestones=[3])
    seq3.load_state_dict(seq2.state_dict())
    assert seq3.last_epoch == seq2.last_epoch
    assert [s.last_epoch for s in seq3._schedulers] == [s.last_epoch for s in seq2._schedulers]


def _ctor_outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:  # noqa: BLE001 - the outcome compared is the exception's type and message
        return type(e), str(e)
    return None, None



BAD = [
    ("StepLR", dict(step_size=2), None), ("ConstantLR", dict(factor=1.5), ValueError),
    ("ConstantLR", dict(factor=-0.1), ValueError), ("ConstantLR", dict(factor=1.0), None),
    ("ConstantLR", dict(factor=0.0), None),
    ("LinearLR", dict(start_factor=0.0), ValueError), ("LinearLR", dict(start_factor=1.5), ValueError),
    ("LinearLR", dict(start_factor=1.0), None), ("LinearLR", dict(end_factor=1.5), ValueError),
    ("LinearLR", dict(end_factor=-0.1), ValueError), ("LinearLR", dict(end_factor=0.0), None),
    ("CosineAnnealingWarmRestarts", dict(T_0=0), ValueError), ("CosineAnnealingWarmRestarts", dict(T_0=1), None),
    ("CosineAnnealingWarmRestarts", dict(T_0=2.0), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=0), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=1.5), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, eta_min="0"), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, eta_min=1), None),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, mode="sine"), ValueError),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, mode="sine", scale_fn=lambda x: 1.0), None),
    ("CyclicLR", dict(base_lr=[0.01] * 3, max_lr=0.1), ValueError),
    ("OneCycleLR", dict(max_lr=1.0), ValueError), ("OneCycleLR", dict(max_lr=1.0, total_steps=0), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5.0), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=1), None),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=3), None),
    ("OneCycleLR", dict(max_lr=1.0, epochs=0, steps_per_epoch=3), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2.0, steps_per_epoch=3), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=0), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=3.0), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, pct_start=-0.1), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, pct_start=1.0), None),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, pct_start=0.0), None),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, pct_start=1), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, anneal_strategy="exp"), ValueError),
    ("ReduceLROnPlateau", dict(factor=1.0), ValueError), ("ReduceLROnPlateau", dict(factor=0.99), None),
    ("ReduceLROnPlateau", dict(mode="avg"), ValueError), ("ReduceLROnPlateau", dict(threshold_mode="x"), ValueError),
    ("LambdaLR", dict(lr_lambda=[lam] * 3), ValueError), ("MultiplicativeLR", dict(lr_lambda=[mult] * 3), ValueError),
]


@pytest.mark.parametrize("name,kw,expected", BAD, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD)])
def test_argument_checks_match_pytorch(name, kw, expected):
    """The boundary values of each check: refused (with PyTorch's exception type) or accepted as PyTorch does."""
    o, t = pair()
    theirs = _ctor_outcome(lambda: getattr(TL, name)(t, **kw))
    ours = _ctor_outcome(lambda: getattr(S, name)(o, **kw))
    assert theirs[0] is expected
    assert ours[0] is not None and issubclass(ours[0], expected) if expected else ours[0] is None
    if expected:                                           # and PyTorch's message, word for word
        assert ours[1] == theirs[1]


@pytest.mark.parametrize("make", [lambda o: S.StepLR(o, 2), lambda o: S.LambdaLR(o, lam),
                                  lambda o: S.CyclicLR(o, 0.01, 0.1), lambda o: S.OneCycleLR(o, 1.0, 10),
                                  lambda o: S.ReduceLROnPlateau(o)])
def test_schedulers_refuse_non_optimizers(make):
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        make([])


COMPOSITE_ERRORS = {
    "chain_empty": lambda L, o, o2, a, b: L.ChainedScheduler([]),
    "chain_no_optimizer": lambda L, o, o2, a, b: L.ChainedScheduler([a, object()]),
    "chain_plateau": lambda L, o, o2, a, b: L.ChainedScheduler([a, L.ReduceLROnPlateau(o)]),
    "seq_empty": lambda L, o, o2, a, b: L.SequentialLR(o, [], milestones=[]),
    "seq_no_optimizer": lambda L, o, o2, a, b: L.SequentialLR(o, [a, object()], milestones=[2]),
    "seq_plateau": lambda L, o, o2, a, b: L.SequentialLR(o, [a, L.ReduceLROnPlateau(o)], milestones=[2]),
    "seq_milestones": lambda L, o, o2, a, b: L.SequentialLR(o, [a, b], milestones=[2, 3]),
}


@pytest.mark.parametrize("case", sorted(COMPOSITE_ERRORS))
def test_sequential_and_chained_refuse_with_pytorchs_message(case):
    """The same exception type and the same message, word for word."""
    outcomes = []
    for lib_opt, lib_other, L in zip(pair(), pair(), (S, TL)):
        a, b = L.StepLR(lib_opt, 2), L.ExponentialLR(lib_opt, 0.9)
        with pytest.raises((ValueError, TypeError)) as info:
            COMPOSITE_ERRORS[case](L, lib_opt, lib_other, a, b)
        outcomes.append((info.type, str(info.value)))
    assert outcomes[0] == outcomes[1]


def test_composites_refuse_a_scheduler_of_another_optimizer_and_chain_a_single_one():
    o, _ = pair()
    other, _ = pair()
    a, b = S.StepLR(o, 2), S.ExponentialLR(o, 0.9)
    with pytest.raises(ValueError, match="^SequentialLR expects all schedulers to belong to the same optimizer, "
                                         "but got scheduler StepLR at index 1 has"):
        S.SequentialLR(o, [a, S.StepLR(other, 2)], milestones=[2])
    with pytest.raises(ValueError, match="^ChainedScheduler expects all schedulers to belong to the same optimizer, "
                                         "but got scheduler StepLR at index 1 with a different optimizer$"):
        S.ChainedScheduler([b, S.StepLR(other, 2)])
    assert S.ChainedScheduler([a, b], optimizer=o).optimizer is o
    with pytest.raises(ValueError) as info:
        S.SequentialLR(o, [a, S.StepLR(other, 2)], milestones=[2])
    assert str(info.value).endswith(f"at index 1 has {other!r}, which is different from SGD.")
    results = []
    for lib_opt, L in zip(pair(), (S, TL)):                 # a sequence of one scheduler is that scheduler
        seq = L.SequentialLR(lib_opt, [L.ExponentialLR(lib_opt, 0.5)], milestones=[])
        for _ in range(3):
            seq.step()
        results.append([g["lr"] for g in lib_opt.param_groups] + seq.get_last_lr())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    results = []
    for lib_opt, L in zip(pair(), (S, TL)):                 # a chain of one scheduler is that scheduler
        ch = L.ChainedScheduler([L.ExponentialLR(lib_opt, 0.5)])
        for _ in range(3):
            ch.step()
        results.append([g["lr"] for g in lib_opt.param_groups] + ch.get_last_lr())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_lambda_state_dict_keeps_callable_objects_state():
    """LambdaLR's state_dict stores a callable object's attributes (not plain functions), as PyTorch does."""
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e

    fn = Decay()
    sched = S.LambdaLR(pair()[0], [fn, lam])
    fn.rate = 0.25
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.25}, None]
    fn2 = Decay()
    other = S.LambdaLR(pair()[0], [fn2, lam])
    other.load_state_dict(sd)
    assert fn2.rate == 0.25
    plain = {k: v for k, v in sd.items() if k != "lr_lambdas"}   # a dict saved without the lambdas
    other.load_state_dict(plain)
    assert fn2.rate == 0.25 and other.last_epoch == sched.last_epoch
    assert "optimizer" not in sd and "lr_lambdas" in sd and math.isclose(sd["base_lrs"][0], LRS[0])


@pytest.mark.parametrize("name", sorted(set(CONFIGS) | {"ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"}))
def test_defaults_are_pytorchs(name):
    """Every keyword argument's default equals torch's (the signatures are the same)."""
    import inspect
    ours = {k: v.default for k, v in inspect.signature(getattr(S, name)).parameters.items()}
    theirs = {k: v.default for k, v in inspect.signature(getattr(TL, name)).parameters.items()}
    assert ours == theirs


# Only the required arguments: the defaults act as PyTorch's do (a signature check cannot see a
# mutated default behind mutmut's trampoline, so compare the schedules).
REQUIRED = {"LambdaLR": dict(lr_lambda=lam), "MultiplicativeLR": dict(lr_lambda=mult), "StepLR": dict(step_size=3),
            "MultiStepLR": dict(milestones=[2, 5]), "ConstantLR": {}, "LinearLR": {}, "ExponentialLR": dict(gamma=0.9),
            "PolynomialLR": {}, "CosineAnnealingLR": dict(T_max=7), "CosineAnnealingWarmRestarts": dict(T_0=3),
            "CyclicLR": dict(base_lr=0.01, max_lr=0.2), "OneCycleLR": dict(max_lr=1.0, total_steps=40)}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_default_arguments_schedule_like_pytorch(name):
    ours, theirs = build(name, "sgd", REQUIRED[name])
    for e in range(30):
        assert_same(ours, theirs, f"{name} step {e}")
        sd, tsd = ours.state_dict(), theirs.state_dict()
        assert (sd["_step_count"], sd["_is_initial"]) == (tsd["_step_count"], tsd["_is_initial"])
        ours.optimizer.step(), theirs.optimizer.step()
        ours.step(), theirs.step()


def test_reduce_lr_on_plateau_defaults_act_like_pytorchs():
    o, t = pair()
    ours, theirs = S.ReduceLROnPlateau(o), TL.ReduceLROnPlateau(t)
    for e in range(40):
        ours.step(1.0), theirs.step(1.0)
        assert [g["lr"] for g in o.param_groups] == pytest.approx([g["lr"] for g in t.param_groups]), e


def test_resume_without_initial_lr_gives_pytorchs_message():
    o, t = pair()
    with pytest.raises(KeyError) as ours:
        S.StepLR(o, 2, last_epoch=3)
    with pytest.raises(KeyError) as theirs:
        TL.StepLR(t, 2, last_epoch=3)
    assert str(ours.value).strip('"') and str(theirs.value).strip('"').startswith(str(ours.value).strip('"'))


# -- CyclicLR / OneCycleLR survivors --------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [
    ("CyclicLR", dict(base_lr=[0.1, 0.2, 0.3], max_lr=1.0)), ("CyclicLR", dict(base_lr=0.1, max_lr=[1.0, 2, 3])),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, base_momentum=[0.8] * 3)),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, max_momentum=[0.9] * 3)),
    ("OneCycleLR", dict(max_lr=[1.0, 2.0, 3.0], total_steps=10))])
def test_cyclic_length_errors_name_the_argument_like_pytorch(name, kw):
    o, t = pair()
    with pytest.raises(ValueError) as ours:
        getattr(S, name)(o, **kw)
    with pytest.raises(ValueError) as theirs:
        getattr(TL, name)(t, **kw)
    assert str(ours.value) == str(theirs.value)


def test_cycle_momentum_without_momentum_gives_pytorchs_message():
    with pytest.raises(ValueError) as ours:
        S.CyclicLR(optim.Adagrad([engine.Tensor(np.zeros(2), requires_grad=True)], lr=0.1), 0.01, 0.1)
    with pytest.raises(ValueError) as theirs:
        TL.CyclicLR(torch.optim.Adagrad([torch.zeros(2, requires_grad=True)], lr=0.1), 0.01, 0.1)
    assert str(ours.value) == str(theirs.value)


def _cyc_scale(x):
    return 1.0 / (1.0 + 0.1 * x)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("kw", [dict(mode="exp_range"), dict(mode="exp_range", gamma=0.97), dict(scale_fn=_cyc_scale),
                                dict(scale_fn=_cyc_scale, scale_mode="iterations"), dict(mode="triangular2")])
def test_cyclic_defaults_scale_fn_and_state_like_pytorch(kind, kw):
    """Default gamma/scale_mode, a custom scale_fn in both scale modes; the group keys and the
    recorded scale_mode are PyTorch's."""
    o, t = pair(kind)
    ours, theirs = S.CyclicLR(o, 0.01, 0.2, step_size_up=3, **kw), TL.CyclicLR(t, 0.01, 0.2, step_size_up=3, **kw)
    assert [sorted(g) for g in o.param_groups] == [sorted(g) for g in t.param_groups]
    assert ours.state_dict()["scale_mode"] == theirs.state_dict()["scale_mode"]
    for e in range(25):
        assert_same(ours, theirs, f"{kw} step {e}")
        ours.optimizer.step(), theirs.optimizer.step()
        ours.step(), theirs.step()


@pytest.mark.parametrize("epochs,spe", [(1, 10), (10, 1), (2, 5), (3, 4)])
def test_one_cycle_epochs_times_steps_like_pytorch(epochs, spe):
    o, t = pair()
    ours = S.OneCycleLR(o, max_lr=1.0, epochs=epochs, steps_per_epoch=spe)
    theirs = TL.OneCycleLR(t, max_lr=1.0, epochs=epochs, steps_per_epoch=spe)
    assert ours.total_steps == theirs.total_steps
    for e in range(epochs * spe - 1):
        assert_same(ours, theirs, f"step {e}")
        ours.optimizer.step(), theirs.optimizer.step()
        ours.step(), theirs.step()


@settings(deadline=None, max_examples=10)
@given(kind=st.sampled_from(["sgd", "adam"]), start=st.integers(1, 12), three_phase=st.booleans())
def test_one_cycle_resumed_with_last_epoch_matches_pytorch(kind, start, three_phase):
    o, t = pair(kind)
    kw = dict(max_lr=1.0, total_steps=20, three_phase=three_phase)
    first_o, first_t = S.OneCycleLR(o, **kw), TL.OneCycleLR(t, **kw)
    for _ in range(start):
        o.step(), t.step()
        first_o.step(), first_t.step()
    ours, theirs = S.OneCycleLR(o, last_epoch=start - 1, **kw), TL.OneCycleLR(t, last_epoch=start - 1, **kw)
    for e in range(start, 19):
        assert_same(ours, theirs, f"resumed at {start}, step {e}")
        o.step(), t.step()
        ours.step(), theirs.step()


@pytest.mark.parametrize("name,kw", [("ExponentialLR", dict(gamma=0.9)), ("StepLR", dict(step_size=2))])
def test_resumed_last_epoch_is_kept_like_pytorch(name, kw):
    o, t = pair()
    ours, theirs = build(name, "sgd", kw, pair_=(o, t))
    for _ in range(3):
        ours.step(), theirs.step()
    ours, theirs = build(name, "sgd", kw, last_epoch=3, pair_=(o, t))
    assert ours.last_epoch == theirs.last_epoch
    assert ours.state_dict()["last_epoch"] == theirs.state_dict()["last_epoch"]
