"""Every optimizer's fused Numba kernel equals its NumPy twin (the readable reference), and the
launcher (engine/kernels/optim_updates) validates its input. Adding an optimizer = one row of RULES."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import optim_updates as ou
from tiers import kernels_from_the_first_call  # noqa: F401  (the kernels, not their NumPy tier)
from optim.adagrad import ADAGRAD_RULE
from optim.adam import ADAM_RULE
from optim.nadam import NADAM_RULE
from optim.rmsprop import RMSPROP_RULE
from optim.sgd import SGD_RULE

flag = st.booleans()
# one row per optimizer: rule, its hyper-parameters (strategies), per-tensor coefficients (range)
RULES = {
    "sgd": (SGD_RULE, dict(lr=st.just(0.1), momentum=st.sampled_from([0.0, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
                           weight_decay=st.sampled_from([0.0, 0.1]), nesterov=flag, maximize=flag),
            dict(first=(0, 2))),
    "adagrad": (ADAGRAD_RULE, dict(weight_decay=st.sampled_from([0.0, 0.1]), eps=st.just(1e-10), maximize=flag),
                dict(clr=(0.01, 0.5))),
    "rmsprop": (RMSPROP_RULE, dict(lr=st.just(0.01), alpha=st.sampled_from([0.9, 0.99]), eps=st.just(1e-8),
                                   weight_decay=st.sampled_from([0.0, 0.1]), momentum=st.sampled_from([0.0, 0.9]),
                                   centered=flag, maximize=flag), {}),
    "adam": (ADAM_RULE, dict(beta1=st.just(0.9), beta2=st.just(0.99), eps=st.just(1e-8),
                             weight_decay=st.sampled_from([0.0, 0.1]), decay=st.sampled_from([1.0, 0.99]),
                             amsgrad=flag, maximize=flag),
             dict(step_size=(0.01, 0.5), bias_correction2_sqrt=(0.1, 1.0))),
    "nadam": (NADAM_RULE, dict(beta1=st.just(0.9), beta2=st.just(0.99), eps=st.just(1e-8),
                               weight_decay=st.sampled_from([0.0, 0.1]), decay=st.sampled_from([1.0, 0.99]),
                               maximize=flag),
              dict(grad_coef=(-0.5, -0.01), avg_coef=(-0.5, -0.01), bias_correction2=(0.1, 1.0))),
}
SHAPES = st.lists(st.sampled_from([(), (1,), (3, 4), (7,), (2, 3, 2)]), min_size=1, max_size=4)
UNUSED = {"momentum_buffer": lambda h: h.get("momentum", 1) == 0, "grad_avg": lambda h: not h.get("centered"),
          "max_exp_avg_sq": lambda h: not h.get("amsgrad")}


def _zero_state(rule, params, hyper):
    return {k: (None if k in UNUSED and UNUSED[k](hyper) else [np.zeros_like(p) for p in params])
            for k in rule.state}


def _lockstep(rule, params, grads_per_step, coefs, hyper, tol):
    """Three steps from zero state (so the state stays valid, e.g. square averages >= 0), kernel and
    twin side by side; after each step their results must agree to ``tol`` (per-step tolerance:
    the kernel then continues from the twin's values, so float32 rounding does not compound)."""
    want = [p.copy() for p in params]
    want_state = _zero_state(rule, params, hyper)
    cache = {}
    for grads in grads_per_step:
        got = [p.copy() for p in want]
        got_state = {k: (None if v is None else [a.copy() for a in v]) for k, v in want_state.items()}
        rule.update(param=want, grad=grads, **want_state, **coefs, **hyper, backend="numpy")
        rule.update(param=got, grad=grads, **got_state, **coefs, **hyper, cache=cache)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
            assert rule.tier is None or a.tobytes() == b.tobytes(), "an exact rule's twin must give the kernel's bits"
        for k in rule.state:
            for a, b in zip(got_state[k] or [], want_state[k] or []):
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
                assert rule.tier is None or a.tobytes() == b.tobytes(), k
    return want


def _problem(rule, coef_ranges, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    params = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
    grads = [[np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes] for _ in range(3)]
    coefs = {k: list(rng.uniform(*coef_ranges[k], len(shapes))) for k in rule.per_tensor}
    return params, grads, coefs


@settings(deadline=None, max_examples=40)
@given(name=st.sampled_from(sorted(RULES)), shapes=SHAPES, seed=st.integers(0, 2**31 - 1),
       dtype=st.sampled_from([np.float64, np.float32]), data=st.data())
def test_kernel_equals_numpy_twin(name, shapes, seed, dtype, data):
    rule, hyper_strategies, coef_ranges = RULES[name]
    hyper = data.draw(st.fixed_dictionaries(hyper_strategies))
    if name == "sgd" and hyper["nesterov"]:
        hyper["dampening"] = 0.0
    params, grads, coefs = _problem(rule, coef_ranges, shapes, dtype, seed)
    final = _lockstep(rule, params, grads, coefs, hyper, 1e-12 if dtype == np.float64 else 1e-5)
    assert any(not np.array_equal(a, b) for a, b in zip(final, params)), "the update changed nothing"


def test_kernel_handles_many_chunks_and_mixed_sizes():
    rule, _, coef_ranges = RULES["adam"]
    shapes = [(3 * ou.CHUNK + 5,), (2,), (ou.CHUNK,), (0,)]
    params, grads, coefs = _problem(rule, coef_ranges, shapes, np.float32, 0)
    hyper = dict(beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decay=1.0, amsgrad=True, maximize=False)
    # 260k float32 elements: a few have g + λw cancelling to ~1e-7, where the kernel's fused
    # multiply-add (fastmath "contract") and the twin's two roundings differ in g's last bits and
    # m/(√v + ε) amplifies that to ~2e-5; such elements are rare in the small Hypothesis cases.
    _lockstep(rule, params, grads, coefs, hyper, 1e-4)


def test_non_contiguous_grads_and_stale_plans():
    """Strided gradients are copied; a plan cached for other arrays is rebuilt, not reused."""
    rule, _, coef_ranges = RULES["sgd"]
    rng = np.random.default_rng(1)
    hyper = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    cache = {}
    for _ in range(2):  # new arrays each round, same cache
        p = [rng.standard_normal((4, 6))]
        g = [rng.standard_normal((6, 4)).T]
        want = [p[0].copy()]
        rule.update(param=want, grad=g, momentum_buffer=[np.zeros((4, 6))], first=[True], **hyper, backend="numpy")
        rule.update(param=p, grad=g, momentum_buffer=[np.zeros((4, 6))], first=[True], **hyper, cache=cache)
        np.testing.assert_allclose(p[0], want[0], rtol=1e-12)


@pytest.mark.parametrize("bad, match", [
    (dict(grad=[np.zeros(5)]), "gradient of shape"),
    (dict(momentum_buffer=[np.zeros(3)]), "momentum_buffer"),
    (dict(momentum_buffer=[np.zeros(4, np.float32)]), "momentum_buffer"),
    (dict(first=[True, False]), "first has 2 entries"),
    (dict(grad=[np.zeros(4), np.zeros(4)]), "2 gradients"),
])
def test_launcher_rejects_wrong_sizes_before_any_kernel_runs(bad, match):
    """The kernel addresses arrays by raw pointer: a wrong size must raise, never overrun memory."""
    p = np.ones(4)
    args = dict(param=[p], grad=[np.ones(4)], momentum_buffer=[np.zeros(4)], first=[False], lr=0.1,
                momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        SGD_RULE.update(**args, cache={})
    np.testing.assert_array_equal(p, 1.0)


def test_launcher_rejects_unknown_backend_and_missing_arguments():
    with pytest.raises(ValueError, match="backend"):
        SGD_RULE.update(param=[np.ones(2)], grad=[np.ones(2)], momentum_buffer=None, first=[False], backend="gpu")
    with pytest.raises(TypeError, match="missing"):
        SGD_RULE.update(param=[np.ones(2)], grad=[np.ones(2)], momentum_buffer=None)


@pytest.mark.parametrize("threshold", [0, 1 << 62], ids=["parallel", "serial"])
def test_division_by_zero_gives_nan_like_the_twin(threshold, monkeypatch):
    """The kernels use NumPy's error model: 0/0 in an update (Adam with eps=0, a zero gradient and
    zero state) is NaN as in the twin, in the serial twin too (Numba's default model would raise
    ZeroDivisionError there, and its per-division check keeps the loop from vectorizing)."""
    from engine.kernels import _par
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", threshold)
    hyper = dict(beta1=0.9, beta2=0.99, eps=0.0, weight_decay=0.0, decay=1.0, amsgrad=False, maximize=False)
    results = []
    for backend in ("numpy", "numba"):
        p, g = np.ones(5, np.float32), np.zeros(5, np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            ADAM_RULE.update(param=[p], grad=[g], exp_avg=[np.zeros_like(p)], exp_avg_sq=[np.zeros_like(p)],
                             max_exp_avg_sq=None, step_size=[0.1], bias_correction2_sqrt=[0.5],
                             backend=backend, **hyper)
        results.append(p)
    assert np.isnan(results[0]).all() and np.isnan(results[1]).all()
