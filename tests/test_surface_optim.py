"""optim extras: Adadelta, Adamax, RAdam (per-step NumPy references of PyTorch's update rules),
LBFGS (reaches the least-squares solution; fixed step and strong-Wolfe line search), PolynomialLR
and ChainedScheduler (closed forms); where torch is installed, every trajectory equals torch's."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import optim
from engine import Tensor

rng = np.random.default_rng(0)
A = rng.standard_normal((6, 4))
B = rng.standard_normal(6)


def loss_fn(lib, w, c, At, bt):
    r = At @ w - bt
    return (r * r).sum() + ((c - 3) ** 4).sum() + (w.abs() ** 3).sum() * 0.1


def trajectory(lib, make_opt, steps=12):
    """Parameters after ``steps`` steps of the optimizer on a fixed smooth problem (lib = engine or torch)."""
    w = lib.tensor(np.zeros(4), requires_grad=True)
    c = lib.tensor(np.ones(2), requires_grad=True)
    opt = make_opt([w, c])
    At, bt = lib.tensor(A), lib.tensor(B)

    def closure():
        opt.zero_grad()
        loss = loss_fn(lib, w, c, At, bt)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return np.concatenate([w.detach().numpy(), c.detach().numpy()]), opt


def grad_np(x):
    w, c = x[:4], x[4:]
    gw = 2 * A.T @ (A @ w - B) + 0.3 * w * np.abs(w)
    gc = 4 * (c - 3) ** 3
    return np.concatenate([gw, gc])


def adadelta_ref(x, steps, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    v, u = np.zeros_like(x), np.zeros_like(x)
    for _ in range(steps):
        g = grad_np(x) + wd * x
        v = rho * v + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        x = x - lr * delta
    return x


def adamax_ref(x, steps, lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    m, u = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = grad_np(x) + wd * x
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        x = x - lr / (1 - b1 ** t) * m / u
    return x


def radam_ref(x, steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    m, v = np.zeros_like(x), np.zeros_like(x)
    rho_inf = 2 / (1 - b2) - 1
    for t in range(1, steps + 1):
        g = grad_np(x)
        if decoupled:
            x = x * (1 - lr * wd)
        else:
            g = g + wd * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            x = x - lr * m_hat * r * math.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        else:
            x = x - lr * m_hat
    return x


X0 = np.concatenate([np.zeros(4), np.ones(2)])


@settings(deadline=None, max_examples=10)
@given(st.floats(0.01, 1.0), st.floats(0.5, 0.99), st.sampled_from([0.0, 0.1]), st.integers(1, 12))
def test_adadelta_and_adamax_follow_the_reference_rules(lr, beta, wd, steps):
    got, _ = trajectory(engine, lambda p: optim.Adadelta(p, lr=lr, rho=beta, weight_decay=wd), steps)
    np.testing.assert_allclose(got, adadelta_ref(X0, steps, lr, beta, wd=wd), rtol=1e-10, atol=1e-12)
    got, _ = trajectory(engine, lambda p: optim.Adamax(p, lr=lr, betas=(beta, 0.999), weight_decay=wd), steps)
    np.testing.assert_allclose(got, adamax_ref(X0, steps, lr, beta, wd=wd), rtol=1e-10, atol=1e-12)


@settings(deadline=None, max_examples=10)
@given(st.floats(0.001, 0.05), st.sampled_from([0.0, 0.1]), st.booleans(), st.integers(1, 12),
       st.sampled_from([0.9, 0.99, 0.999]))
def test_radam_follows_the_reference_rule(lr, wd, decoupled, steps, b2):
    got, _ = trajectory(engine, lambda p: optim.RAdam(p, lr=lr, betas=(0.9, b2), weight_decay=wd,
                                                      decoupled_weight_decay=decoupled), steps)
    np.testing.assert_allclose(got, radam_ref(X0, steps, lr, b2=b2, wd=wd, decoupled=decoupled),
                               rtol=1e-10, atol=1e-12)


def test_defaults_are_torchs_and_bad_hyperparameters_raise():
    p = [engine.zeros(2, requires_grad=True)]
    assert optim.Adadelta(p).defaults["lr"] == 1.0 and optim.Adadelta(p).defaults["rho"] == 0.9
    assert optim.Adamax(p).defaults["lr"] == 2e-3 and optim.RAdam(p).defaults["lr"] == 1e-3
    assert optim.LBFGS(p).defaults["max_eval"] == 25 and optim.LBFGS(p).defaults["history_size"] == 100
    for make, words in ((lambda: optim.Adadelta(p, rho=1.5), "rho"), (lambda: optim.Adamax(p, lr=-1), "learning rate"),
                        (lambda: optim.RAdam(p, betas=(0.9, 1.0)), "beta"), (lambda: optim.LBFGS(p, lr=0), "learning rate")):
        with pytest.raises(ValueError, match=words):
            make()
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        optim.LBFGS(p, line_search_fn="backtracking")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": p}, {"params": [engine.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS(p).step()


def test_state_dict_round_trip_continues_the_same_trajectory():
    for make in (lambda q: optim.Adadelta(q, lr=0.5), lambda q: optim.Adamax(q, lr=0.05),
                 lambda q: optim.RAdam(q, lr=0.05)):
        full, _ = trajectory(engine, make, 10)
        half, opt = trajectory(engine, make, 5)
        w = engine.tensor(half[:4], requires_grad=True)
        c = engine.tensor(half[4:], requires_grad=True)
        opt2 = make([w, c])
        opt2.load_state_dict(opt.state_dict())
        At, bt = engine.tensor(A), engine.tensor(B)
        for _ in range(5):
            opt2.zero_grad()
            loss_fn(engine, w, c, At, bt).backward()
            opt2.step()
        np.testing.assert_allclose(np.concatenate([w.numpy(), c.numpy()]), full, rtol=1e-12)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
@pytest.mark.parametrize("history", [2, 100])
def test_lbfgs_reaches_the_least_squares_solution(line_search, history):
    w = engine.tensor(np.zeros(4), requires_grad=True)
    At, bt = engine.tensor(A), engine.tensor(B)
    opt = optim.LBFGS([w], history_size=history, max_iter=50,
                      line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        r = At @ w - bt
        loss = (r * r).sum()
        loss.backward()
        return loss

    first = opt.step(closure)
    for _ in range(5):
        opt.step(closure)
    want = np.linalg.lstsq(A, B, rcond=None)[0]
    np.testing.assert_allclose(w.numpy(), want, rtol=1e-4, atol=1e-5)
    assert float(first) == pytest.approx(float((B ** 2).sum()))
    st = opt.state[w]
    assert len(st["old_dirs"]) <= history and st["func_evals"] >= st["n_iter"]


# -- schedulers ---------------------------------------------------------------------------------
@settings(deadline=None, max_examples=15)
@given(st.integers(1, 8), st.floats(0.5, 3.0), st.integers(0, 12))
def test_polynomial_lr_matches_the_closed_form(total, power, epochs):
    opt = optim.SGD([engine.zeros(1, requires_grad=True)], lr=0.1)
    sched = optim.lr_scheduler.PolynomialLR(opt, total_iters=total, power=power)
    for e in range(1, epochs + 1):
        opt.step()
        sched.step()
        want = 0.1 * (1 - min(e, total) / total) ** power
        assert sched.get_last_lr()[0] == pytest.approx(want, abs=1e-12)


def test_chained_scheduler_multiplies_the_factors():
    opt = optim.SGD([engine.zeros(1, requires_grad=True)], lr=1.0)
    s1 = optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    s2 = optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    chain = optim.lr_scheduler.ChainedScheduler([s1, s2])
    for e in range(1, 10):
        opt.step()
        chain.step()
        assert chain.get_last_lr()[0] == pytest.approx(0.9 ** e * 0.5 ** (e // 3), rel=1e-12)
    sd = chain.state_dict()
    assert len(sd["_schedulers"]) == 2 and "optimizer" not in sd
    with pytest.raises(ValueError, match="at least one"):
        optim.lr_scheduler.ChainedScheduler([])
    other = optim.SGD([engine.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="same optimizer"):
        optim.lr_scheduler.ChainedScheduler([s1, optim.lr_scheduler.StepLR(other, 2)])


# -- the same runs under torch (an oracle, skipped without torch) --------------------------------
@pytest.mark.parametrize("name, kw", [
    ("Adadelta", {}), ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)), ("Adamax", dict(lr=0.1)),
    ("RAdam", dict(lr=0.1, weight_decay=0.1)), ("RAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    ("LBFGS", {}), ("LBFGS", dict(lr=0.5, history_size=3, max_iter=7)), ("LBFGS", dict(line_search_fn="strong_wolfe")),
    ("LBFGS", dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4))])
def test_trajectories_equal_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours, _ = trajectory(engine, lambda p: getattr(optim, name)(p, **kw))
    theirs, _ = trajectory(torch, lambda p: getattr(torch.optim, name)(p, **kw))
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def test_schedulers_equal_torch():
    torch = pytest.importorskip("torch")

    def lrs(lib, mod):
        p = lib.zeros(1, requires_grad=True)
        opt = mod.SGD([p], lr=0.3)
        poly = mod.lr_scheduler.PolynomialLR(opt, total_iters=6, power=2.0)
        chain = mod.lr_scheduler.ChainedScheduler([poly, mod.lr_scheduler.ExponentialLR(opt, 0.95)])
        out = []
        for _ in range(9):
            opt.step()
            chain.step()
            out.append(chain.get_last_lr()[0])
        return out

    np.testing.assert_allclose(lrs(engine, optim), lrs(torch, torch.optim), rtol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adadelta", "Adamax", "RAdam"])
def test_a_non_contiguous_parameter_steps_like_its_contiguous_copy(name):
    """A transposed (Fortran-ordered) parameter: every step (its state is C-contiguous, so the state
    check of the next step accepts it) moves it exactly as the same optimizer moves a C copy."""
    r = np.random.default_rng(3)
    data, grads = r.standard_normal((4, 3)), [r.standard_normal((3, 4)) for _ in range(4)]
    kw = {"SGD": dict(momentum=0.9)}.get(name, {})
    start = data.T.copy()
    strided = Tensor(data.T, requires_grad=True)            # data.T is not C-contiguous
    plain = Tensor(np.ascontiguousarray(data.T), requires_grad=True)
    assert not strided.numpy().flags.c_contiguous
    opts = [getattr(optim, name)([p], lr=0.05, **kw) for p in (strided, plain)]
    for g in grads:
        for p, opt in zip((strided, plain), opts):
            p.grad = Tensor(g.copy())
            opt.step()
    np.testing.assert_array_equal(strided.numpy(), plain.numpy())
    assert not np.array_equal(plain.numpy(), start)
