"""Optimizers: trajectories equal plain-NumPy transcriptions of PyTorch's published algorithms,
invariants, convergence, state_dict round trips and input validation."""
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import optim
from tiers import kernels_from_the_first_call  # noqa: F401  (the kernels, not their NumPy tier)

SHAPES = [(3, 2), (4,), ()]


# ---- plain NumPy transcriptions of torch.optim's documented algorithms (float64) ----------------
def ref_sgd(P, Gs, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    P = [p.copy() for p in P]
    b = [None] * len(P)
    for t, G in enumerate(Gs, 1):
        for i, (p, g) in enumerate(zip(P, G)):
            g = -g if maximize else g
            if weight_decay:
                g = g + weight_decay * p
            if momentum:
                b[i] = g.copy() if t == 1 else momentum * b[i] + (1 - dampening) * g
                g = g + momentum * b[i] if nesterov else b[i]
            P[i] = p - lr * g
    return P


def ref_adagrad(P, Gs, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False):
    P = [p.copy() for p in P]
    S = [np.full_like(p, initial_accumulator_value) for p in P]
    for t, G in enumerate(Gs, 1):
        clr = lr / (1 + (t - 1) * lr_decay)
        for i, (p, g) in enumerate(zip(P, G)):
            g = -g if maximize else g
            if weight_decay:
                g = g + weight_decay * p
            S[i] = S[i] + g * g
            P[i] = p - clr * g / (np.sqrt(S[i]) + eps)
    return P


def ref_rmsprop(P, Gs, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False):
    P = [p.copy() for p in P]
    V = [np.zeros_like(p) for p in P]
    Ga = [np.zeros_like(p) for p in P]
    B = [np.zeros_like(p) for p in P]
    for G in Gs:
        for i, (p, g) in enumerate(zip(P, G)):
            g = -g if maximize else g
            if weight_decay:
                g = g + weight_decay * p
            V[i] = alpha * V[i] + (1 - alpha) * g * g
            vt = V[i]
            if centered:
                Ga[i] = alpha * Ga[i] + (1 - alpha) * g
                vt = vt - Ga[i] ** 2
            if momentum > 0:
                B[i] = momentum * B[i] + g / (np.sqrt(vt) + eps)
                P[i] = p - lr * B[i]
            else:
                P[i] = p - lr * g / (np.sqrt(vt) + eps)
    return P


def ref_adam(P, Gs, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             decoupled=False):
    b1, b2 = betas
    P = [p.copy() for p in P]
    M = [np.zeros_like(p) for p in P]
    V = [np.zeros_like(p) for p in P]
    Vmax = [np.zeros_like(p) for p in P]
    for t, G in enumerate(Gs, 1):
        for i, (p, g) in enumerate(zip(P, G)):
            g = -g if maximize else g
            if decoupled:
                p = p - lr * weight_decay * p
            elif weight_decay:
                g = g + weight_decay * p
            M[i] = b1 * M[i] + (1 - b1) * g
            V[i] = b2 * V[i] + (1 - b2) * g * g
            mhat = M[i] / (1 - b1 ** t)
            if amsgrad:
                Vmax[i] = np.maximum(Vmax[i], V[i])
                vhat = Vmax[i] / (1 - b2 ** t)
            else:
                vhat = V[i] / (1 - b2 ** t)
            P[i] = p - lr * mhat / (np.sqrt(vhat) + eps)
    return P


def ref_nadam(P, Gs, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    P = [p.copy() for p in P]
    M = [np.zeros_like(p) for p in P]
    V = [np.zeros_like(p) for p in P]
    mu_prod = 1.0
    for t, G in enumerate(Gs, 1):
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_prod *= mu
        for i, (p, g) in enumerate(zip(P, G)):
            g = -g if maximize else g
            if decoupled_weight_decay:
                p = p * (1 - lr * weight_decay)
            elif weight_decay:
                g = g + weight_decay * p
            M[i] = b1 * M[i] + (1 - b1) * g
            V[i] = b2 * V[i] + (1 - b2) * g * g
            vhat = V[i] / (1 - b2 ** t)
            P[i] = p - lr * (1 - mu) / (1 - mu_prod) * g / (np.sqrt(vhat) + eps) \
                - lr * mu_next / (1 - mu_prod * mu_next) * M[i] / (np.sqrt(vhat) + eps)
    return P


def ref_adamw(P, Gs, lr, weight_decay=1e-2, **kw):
    return ref_adam(P, Gs, lr, weight_decay=weight_decay, decoupled=True, **kw)


GRID = {
    "SGD": (ref_sgd, {"momentum": [0, 0.5, 0.9], "dampening": [0, 0.3], "weight_decay": [0, 0.1],
                      "nesterov": [False, True], "maximize": [False, True]}),
    "Adagrad": (ref_adagrad, {"lr_decay": [0, 0.1], "weight_decay": [0, 0.1],
                              "initial_accumulator_value": [0, 0.5], "maximize": [False, True]}),
    "RMSprop": (ref_rmsprop, {"alpha": [0.9, 0.99], "weight_decay": [0, 0.1], "momentum": [0, 0.5],
                              "centered": [False, True], "maximize": [False, True]}),
    "Adam": (ref_adam, {"betas": [(0.9, 0.999), (0.5, 0.9)], "weight_decay": [0, 0.1],
                        "amsgrad": [False, True], "maximize": [False, True]}),
    "AdamW": (ref_adamw, {"weight_decay": [0, 0.01, 0.3], "amsgrad": [False, True], "maximize": [False, True]}),
    "NAdam": (ref_nadam, {"weight_decay": [0, 0.1], "decoupled_weight_decay": [False, True],
                          "momentum_decay": [4e-3, 0.1], "maximize": [False, True]}),
}
OPTS = {name: (ref, st.fixed_dictionaries({k: st.sampled_from(v) for k, v in grid.items()}))
        for name, (ref, grid) in GRID.items()}
ALL_COMBOS = [(name, dict(zip(grid, values))) for name, (_, grid) in GRID.items()
              for values in itertools.product(*grid.values())
              if not (name == "SGD" and values[3] and (values[0] == 0 or values[1] != 0))]


def make_params(P):
    return [engine.Tensor(p.copy(), requires_grad=True) for p in P]


def set_grads(params, G):
    for p, g in zip(params, G):
        p.grad = engine.Tensor(g.copy())


def random_problem(seed, steps):
    rng = np.random.default_rng(seed)
    P = [np.asarray(rng.standard_normal(s)) for s in SHAPES]
    Gs = [[np.asarray(rng.standard_normal(s)) for s in SHAPES] for _ in range(steps)]
    return P, Gs


@settings(deadline=None, max_examples=25)
@given(name=st.sampled_from(sorted(OPTS)), data=st.data(), seed=st.integers(0, 2**31 - 1),
       steps=st.integers(1, 6), lr=st.sampled_from([1e-3, 0.05, 0.3]), backend=st.sampled_from(["numba", "numpy"]))
def test_trajectory_matches_published_algorithm(name, data, seed, steps, lr, backend):
    ref, kw_strategy = OPTS[name]
    kw = data.draw(kw_strategy)
    if name == "SGD" and kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
        kw["nesterov"] = False
    P, Gs = random_problem(seed, steps)
    params = make_params(P)
    opt = getattr(optim, name)(params, lr=lr, **kw)
    opt.backend = backend
    for G in Gs:
        set_grads(params, G)
        opt.step()
    for p, want in zip(params, ref(P, Gs, lr, **kw)):
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name,kw", ALL_COMBOS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ALL_COMBOS)])
def test_trajectory_every_option_combination(name, kw, backend):
    """Every combination of the options above, 4 steps from a fixed random start, both backends."""
    P, Gs = random_problem(len(str(kw)), 4)
    params = make_params(P)
    opt = getattr(optim, name)(params, lr=0.05, **kw)
    opt.backend = backend
    for G in Gs:
        set_grads(params, G)
        opt.step()
    for p, want in zip(params, GRID[name][0](P, Gs, 0.05, **kw)):
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-10, atol=1e-10)


@settings(deadline=None, max_examples=10)
@given(name=st.sampled_from(sorted(OPTS)), seed=st.integers(0, 2**31 - 1), split=st.integers(1, 4))
def test_state_dict_resume_continues_identically(name, seed, split):
    """Train, save through JSON (arrays as lists), load into a fresh optimizer, continue: same trajectory."""
    P, Gs = random_problem(seed, 6)
    kw = {"SGD": dict(momentum=0.9, nesterov=True), "RMSprop": dict(centered=True, momentum=0.5),
          "Adam": dict(amsgrad=True)}.get(name, {})
    a = make_params(P)
    opt_a = getattr(optim, name)(a, lr=0.05, **kw)
    for G in Gs[:split]:
        set_grads(a, G)
        opt_a.step()
    sd = opt_a.state_dict()
    text = json.dumps(sd, default=lambda v: v.tolist())        # ndarrays, numbers, strings, lists, dicts
    b = make_params([p.numpy() for p in a])
    opt_b = getattr(optim, name)(b, lr=123.0)
    opt_b.load_state_dict(json.loads(text))
    assert opt_b.param_groups[0]["lr"] == 0.05
    for G in Gs[split:]:
        for params, opt in ((a, opt_a), (b, opt_b)):
            set_grads(params, G)
            opt.step()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_state_dict_layout_is_pytorch_like():
    params = make_params([np.ones(3), np.ones(2)])
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1)
    set_grads(params[:1], [np.ones(3)])
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert set(sd["state"]) == {0}            # the parameter without grad has no state
    assert sd["state"][0]["step"] == 1.0
    assert isinstance(sd["state"][0]["exp_avg"], np.ndarray)


@pytest.mark.parametrize("name,kw", [("SGD", dict(momentum=0.9)), ("SGD", dict(momentum=0.9, nesterov=True)),
                                     ("Adam", {}), ("Adam", dict(amsgrad=True)), ("AdamW", dict(weight_decay=0)),
                                     ("NAdam", {})])
def test_zero_gradient_leaves_parameters_unchanged(name, kw):
    P, _ = random_problem(0, 0)
    params = make_params(P)
    opt = getattr(optim, name)(params, lr=0.1, **kw)
    for _ in range(3):
        set_grads(params, [np.zeros_like(p) for p in P])
        opt.step()
    for p, p0 in zip(params, P):
        np.testing.assert_array_equal(p.numpy(), p0)


def test_adamw_with_zero_lr_does_not_move():
    P, Gs = random_problem(1, 4)
    params = make_params(P)
    opt = optim.AdamW(params, lr=0.0, weight_decay=0.5)
    for G in Gs:
        set_grads(params, G)
        opt.step()
    for p, p0 in zip(params, P):
        np.testing.assert_array_equal(p.numpy(), p0)


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), lr_decay=st.sampled_from([0.0, 0.1]))
def test_adagrad_effective_step_never_increases(seed, lr_decay):
    """clr/(sqrt(s)+eps) is non-increasing per element (s only grows, clr only shrinks)."""
    rng = np.random.default_rng(seed)
    p = engine.Tensor(rng.standard_normal(5), requires_grad=True)
    opt = optim.Adagrad([p], lr=0.5, lr_decay=lr_decay)
    prev = np.full(5, np.inf)
    for t in range(1, 8):
        p.grad = engine.Tensor(rng.standard_normal(5))
        opt.step()
        s = opt.state[p]["sum"]
        eff = 0.5 / (1 + (t - 1) * lr_decay) / (np.sqrt(s) + 1e-10)
        assert np.all(eff <= prev * (1 + 1e-12))
        prev = eff


def test_parameters_without_grad_are_skipped():
    a, b = make_params([np.ones(3), np.ones(3)])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = engine.Tensor(np.ones(3))
    opt.step()
    np.testing.assert_array_equal(b.numpy(), np.ones(3))
    assert b not in opt.state and a in opt.state
    assert np.all(a.numpy() < 1)


def test_param_groups_have_their_own_hyperparameters_and_add_param_group():
    a, b, c = make_params([np.ones(2), np.ones(2), np.ones(2)])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    opt.add_param_group({"params": c, "lr": 2.0})
    for p in (a, b, c):
        p.grad = engine.Tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0], c.numpy()[0]], [0.9, 0.0, -1.0])
    assert opt.param_groups[2]["momentum"] == 0


def test_zero_grad():
    a, = make_params([np.ones(2)])
    opt = optim.SGD([a], lr=0.1)
    a.grad = engine.Tensor(np.ones(2))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), 0)
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_loss():
    w = engine.Tensor(np.array([3.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss.item()) == 9.0
    np.testing.assert_allclose(w.numpy(), [1.5])


def test_float32_parameters_stay_float32():
    p = engine.Tensor(np.ones(4, np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = engine.Tensor(np.ones(4, np.float32))
    opt.step()
    assert p.numpy().dtype == np.float32 and opt.state[p]["exp_avg"].dtype == np.float32


# ---- convergence ---------------------------------------------------------------------------------
def _minimise(name, kw, fn_grad, x0, steps):
    x = engine.Tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = getattr(optim, name)([x], **kw)
    for _ in range(steps):
        x.grad = engine.Tensor(fn_grad(x.numpy()))
        opt.step()
    return x.numpy()


A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])
X_STAR = np.linalg.solve(A, B)
# RMSprop with a constant lr keeps oscillating at amplitude ~lr around the minimum: looser tolerance
CONVERGENCE = [("SGD", dict(lr=0.1, momentum=0.9), 1e-6), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), 1e-6),
               ("Adagrad", dict(lr=0.5), 1e-6), ("RMSprop", dict(lr=0.01), 2e-2),
               ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), 2e-2),
               ("Adam", dict(lr=0.05), 1e-3), ("Adam", dict(lr=0.05, amsgrad=True), 1e-3),
               ("AdamW", dict(lr=0.05, weight_decay=0), 1e-3), ("NAdam", dict(lr=0.05), 1e-3)]


@pytest.mark.parametrize("name,kw,tol", CONVERGENCE)
def test_convex_quadratic_converges(name, kw, tol):
    """f(x) = ½xᵀAx − bᵀx, minimum at A⁻¹b, from x0 = (5, 5): |x − x*| < tol after 2000 steps."""
    x = _minimise(name, kw, lambda x: A @ x - B, [5.0, 5.0], 2000)
    assert np.linalg.norm(x - X_STAR) < tol


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=1e-3, momentum=0.9)), ("Adagrad", dict(lr=0.5)),
                                     ("RMSprop", dict(lr=1e-3)), ("Adam", dict(lr=0.02)),
                                     ("AdamW", dict(lr=0.02, weight_decay=0)), ("NAdam", dict(lr=0.02))])
def test_rosenbrock_converges(name, kw):
    """Rosenbrock (1 − x)² + 100(y − x²)² from (−1.5, 2): within 0.05 of (1, 1) after 10000 steps."""
    def grad(v):
        x, y = v
        return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    v = _minimise(name, kw, grad, [-1.5, 2.0], 10000)
    assert np.linalg.norm(v - 1.0) < 0.05


# ---- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ctor,msg", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, momentum=-0.1), "Invalid momentum value: -0.1"),
    (lambda p: optim.SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (lambda p: optim.RMSprop(p, alpha=-1), "Invalid alpha value: -1"),
])
def test_invalid_hyperparameters_raise(ctor, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        ctor(make_params([np.ones(2)]))


def test_bad_params_raise():
    a, b = make_params([np.ones(2), np.ones(2)])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a, b]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.Adam(a)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.Adam([np.ones(2)])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.Adam([{"params": {a}}])
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]})


def test_optimizer_requires_lr_when_no_default():
    from optim.optimizer import Optimizer, required
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Optimizer(make_params([np.ones(2)]), {"lr": required})
    assert math.isfinite(optim.SGD(make_params([np.ones(1)])).defaults["lr"])
