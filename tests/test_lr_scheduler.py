"""optim.lr_scheduler: PyTorch's recursive forms agree with the closed forms, bounds, restarts,
cycling momentum, plateau logic, chaining and state_dict round trips."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import optim
from optim import lr_scheduler as S


def make_opt(cls=optim.SGD, lr=0.1, **kw):
    return cls([engine.Tensor(np.zeros(2), requires_grad=True)], lr=lr, **kw)


def run(sched, n):
    lrs = []
    for _ in range(n):
        lrs.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return lrs


CLOSED = {
    "StepLR": (dict(step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    "MultiStepLR": (dict(milestones=[2, 5, 5, 9], gamma=0.3),
                    lambda b, e: b * 0.3 ** sum(m <= e for m in [2, 5, 5, 9])),
    "ExponentialLR": (dict(gamma=0.9), lambda b, e: b * 0.9 ** e),
    "LinearLR": (dict(start_factor=0.1, end_factor=1.0, total_iters=6),
                 lambda b, e: b * (0.1 + 0.9 * min(e, 6) / 6)),
    "CosineAnnealingLR": (dict(T_max=7, eta_min=0.01),
                          lambda b, e: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 7)) / 2),
    "LambdaLR": (dict(lr_lambda=lambda e: 1 / (1 + e)), lambda b, e: b / (1 + e)),
}


@settings(deadline=None, max_examples=25)
@given(name=st.sampled_from(sorted(CLOSED)), base=st.floats(1e-4, 1.0), n=st.integers(1, 40))
def test_recursive_form_equals_closed_form(name, base, n):
    kw, closed = CLOSED[name]
    sched = getattr(S, name)(make_opt(lr=base), **kw)
    got = run(sched, n)
    np.testing.assert_allclose(got, [closed(base, e) for e in range(n)], rtol=1e-12)


def test_constructor_performs_initial_step_and_sets_initial_lr():
    opt = make_opt(lr=0.3)
    sched = S.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert opt.param_groups[0]["initial_lr"] == 0.3
    assert opt.param_groups[0]["lr"] == pytest.approx(0.15) and sched.last_epoch == 0
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_opt(), 2, last_epoch=3)


def test_step_with_epoch_uses_closed_form():
    sched = S.StepLR(make_opt(lr=1.0), step_size=2, gamma=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.get_last_lr()[0] == pytest.approx(0.25)


@settings(deadline=None, max_examples=20)
@given(T_max=st.integers(1, 20), eta_min=st.floats(0, 0.05), n=st.integers(1, 80))
def test_cosine_stays_within_bounds(T_max, eta_min, n):
    lrs = run(S.CosineAnnealingLR(make_opt(lr=0.1), T_max=T_max, eta_min=eta_min), n)
    assert min(lrs) >= eta_min - 1e-12 and max(lrs) <= 0.1 + 1e-12


@settings(deadline=None, max_examples=20)
@given(T_0=st.integers(1, 6), T_mult=st.integers(1, 3), eta_min=st.floats(0, 0.01))
def test_warm_restarts_restart_exactly_at_T0_T0Tmult(T_0, T_mult, eta_min):
    lrs = run(S.CosineAnnealingWarmRestarts(make_opt(lr=0.1), T_0=T_0, T_mult=T_mult, eta_min=eta_min), 60)
    restarts, T, e = [0], T_0, 0
    while e + T < 60:
        e += T
        restarts.append(e)
        T *= T_mult
    assert [i for i, lr in enumerate(lrs) if lr == pytest.approx(0.1, abs=1e-15)] == restarts
    assert all(eta_min - 1e-12 <= lr <= 0.1 + 1e-12 for lr in lrs)
    cycle = restarts[1] if len(restarts) > 1 else 60     # inside a cycle: the cosine closed form
    np.testing.assert_allclose(lrs[:cycle], [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t / T_0)) / 2
                                            for t in range(cycle)], rtol=1e-12)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_lr_shape_and_momentum(mode):
    opt = make_opt(lr=1.0, momentum=0.9)
    sched = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=2, mode=mode, gamma=0.95)
    lrs, moms = [], []
    for _ in range(24):
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.01) and moms[0] == pytest.approx(0.9)
    assert all(0.01 - 1e-12 <= lr <= 0.1 + 1e-12 for lr in lrs)
    assert all(0.8 - 1e-12 <= m <= 0.9 + 1e-12 for m in moms)
    # the momentum mirrors the lr: (lr − base)/(max − base) == (max_m − m)/(max_m − base_m)
    np.testing.assert_allclose((np.array(lrs) - 0.01) / 0.09, (0.9 - np.array(moms)) / 0.1, atol=1e-12)
    assert lrs[4] == pytest.approx(0.1 if mode == "triangular2" or mode == "triangular" else 0.01 + 0.09 * 0.95 ** 4)
    if mode == "triangular":
        assert lrs[:6] == pytest.approx(lrs[6:12])
    if mode == "triangular2":
        assert lrs[10] - 0.01 == pytest.approx((lrs[4] - 0.01) / 2)


def test_cyclic_lr_uses_beta1_for_adam_and_needs_momentum():
    opt = make_opt(optim.Adam, lr=0.1)
    S.CyclicLR(opt, 0.01, 0.1, step_size_up=2)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        S.CyclicLR(make_opt(optim.Adagrad), 0.01, 0.1)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle(strategy, three_phase):
    opt = make_opt(optim.Adam, lr=0.1)
    total = 50
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=total, anneal_strategy=strategy, three_phase=three_phase)
    lrs, b1 = [], []
    for _ in range(total):
        lrs.append(sched.get_last_lr()[0])
        b1.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step() if len(lrs) < total else None
    assert lrs[0] == pytest.approx(1.0 / 25) and b1[0] == pytest.approx(0.95)
    peak = int(0.3 * total) - 1
    assert lrs[peak] == pytest.approx(1.0) and b1[peak] == pytest.approx(0.85)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert max(lrs) <= 1.0 + 1e-12 and min(lrs) >= 1.0 / 25 / 1e4 - 1e-15
    assert np.all(np.diff(lrs[:peak + 1]) > 0)
    if three_phase:
        assert lrs[2 * peak] == pytest.approx(1.0 / 25)
    with pytest.raises(ValueError, match="Tried to step 51 times"):
        sched.step()
        sched.step()


def test_one_cycle_validation():
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        S.OneCycleLR(make_opt(), max_lr=1.0)
    with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start"):
        S.OneCycleLR(make_opt(), max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        S.OneCycleLR(make_opt(), max_lr=1.0, total_steps=10, anneal_strategy="exp")


def _plateau_reference(metrics, lr, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr):
    """Independent transcription of the documented ReduceLROnPlateau rule."""
    best = math.inf if mode == "min" else -math.inf
    bad, cool, out = 0, 0, []
    for m in metrics:
        if mode == "min":
            better = m < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
        else:
            better = m > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > 1e-8:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


@settings(deadline=None, max_examples=25)
@given(metrics=st.lists(st.floats(0.1, 10), min_size=1, max_size=40), mode=st.sampled_from(["min", "max"]),
       patience=st.integers(0, 4), cooldown=st.integers(0, 3), threshold_mode=st.sampled_from(["rel", "abs"]),
       min_lr=st.sampled_from([0.0, 0.01]))
def test_reduce_lr_on_plateau(metrics, mode, patience, cooldown, threshold_mode, min_lr):
    opt = make_opt(lr=1.0)
    sched = S.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=patience, threshold=0.01,
                                threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr)
    got = []
    for m in metrics:
        sched.step(m)
        got.append(opt.param_groups[0]["lr"])
    assert got == _plateau_reference(metrics, 1.0, mode, 0.5, patience, 0.01, threshold_mode, cooldown, min_lr)
    assert sched.get_last_lr() == [got[-1]]


def test_reduce_lr_on_plateau_validation():
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        S.ReduceLROnPlateau(make_opt(), factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown!"):
        S.ReduceLROnPlateau(make_opt(), mode="avg")
    with pytest.raises(ValueError, match="threshold mode x is unknown!"):
        S.ReduceLROnPlateau(make_opt(), threshold_mode="x")


def test_sequential_lr_warmup_then_cosine():
    opt = make_opt(lr=1.0)
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=4)
    cos = S.CosineAnnealingLR(opt, T_max=10)
    lrs = run(S.SequentialLR(opt, [warm, cos], milestones=[5]), 15)
    np.testing.assert_allclose(lrs[:5], [0.1 + 0.9 * min(e, 4) / 4 for e in range(5)], rtol=1e-12)
    np.testing.assert_allclose(lrs[5:], [(1 + math.cos(math.pi * e / 10)) / 2 for e in range(10)], rtol=1e-12)
    with pytest.raises(ValueError, match="one more than the number of milestone points"):
        S.SequentialLR(opt, [warm, cos], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        S.SequentialLR(opt, [warm, S.ReduceLROnPlateau(opt)], milestones=[3])


SCHEDS = [lambda o: S.StepLR(o, 3), lambda o: S.MultiStepLR(o, [2, 4]), lambda o: S.CosineAnnealingLR(o, 5),
          lambda o: S.CosineAnnealingWarmRestarts(o, 2, 2), lambda o: S.CyclicLR(o, 0.01, 0.1, 3),
          lambda o: S.OneCycleLR(o, 1.0, total_steps=30), lambda o: S.LinearLR(o),
          lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.StepLR(o, 2)], [4])]


@pytest.mark.parametrize("k", range(len(SCHEDS)))
def test_scheduler_state_dict_round_trip_through_json(k):
    opt_a = make_opt(lr=0.1, momentum=0.9)
    a = SCHEDS[k](opt_a)
    run(a, 7)
    opt_b = make_opt(lr=0.1, momentum=0.9)
    b = SCHEDS[k](opt_b)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    opt_b.load_state_dict(json.loads(json.dumps(opt_a.state_dict(), default=lambda v: v.tolist())))
    assert run(a, 12) == run(b, 12)


def test_plateau_state_dict_round_trip():
    a = S.ReduceLROnPlateau(make_opt(), patience=1)
    for m in [3, 2, 2, 2]:
        a.step(m)
    b = S.ReduceLROnPlateau(make_opt(), patience=1)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert (b.best, b.num_bad_epochs, b.last_epoch) == (a.best, a.num_bad_epochs, a.last_epoch)
