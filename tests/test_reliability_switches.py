"""Properties of the switches and the random streams (written against the mutants that survived
``make mutation``): grad mode and anomaly mode nest and restore, let exceptions through and work as
decorators; ``manual_seed`` is deterministic, per thread, wraps any int and seeds NumPy's legacy
generator from the main thread only; the optimizer base reports bad input by name."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import optim
from engine.random import generator


@settings(deadline=None, max_examples=20)
@given(st.lists(st.sampled_from(["no_grad", "enable_grad", "on", "off", "anomaly", "quiet"]), max_size=6))
def test_switches_nest_and_restore(stack):
    """Entering a sequence of switches sets each flag to the innermost value; leaving restores every
    outer value, also when the block raises (and the exception propagates)."""
    make = {"no_grad": engine.no_grad, "enable_grad": engine.enable_grad,
            "on": lambda: engine.set_grad_enabled(True), "off": lambda: engine.set_grad_enabled(False),
            "anomaly": engine.detect_anomaly, "quiet": lambda: engine.detect_anomaly(check_nan=False)}
    expect_grad, expect_anom = [True], [False]
    ctxs = []
    for name in stack:
        ctx = make[name]()
        ctx.__enter__()
        ctxs.append(ctx)
        expect_grad.append({"no_grad": False, "off": False, "enable_grad": True, "on": True}.get(name, expect_grad[-1]))
        expect_anom.append({"anomaly": True, "quiet": False}.get(name, expect_anom[-1]))
        assert engine.is_grad_enabled() is expect_grad[-1]
        assert engine.is_anomaly_enabled() is expect_anom[-1]
    for ctx in reversed(ctxs):
        assert ctx.__exit__(ValueError, ValueError("x"), None) is False     # never swallows
        expect_grad.pop()
        expect_anom.pop()
        assert engine.is_grad_enabled() is expect_grad[-1]
        assert engine.is_anomaly_enabled() is expect_anom[-1]
    assert engine.is_grad_enabled() and not engine.is_anomaly_enabled()


def test_switches_let_exceptions_through_and_decorate():
    with pytest.raises(KeyError):
        with engine.no_grad():
            raise KeyError("inside")
    assert engine.is_grad_enabled()
    with pytest.raises(KeyError):
        with engine.detect_anomaly():
            raise KeyError("inside")
    assert not engine.is_anomaly_enabled()

    @engine.no_grad()
    def f(x):
        return engine.is_grad_enabled(), (x * 2).requires_grad

    @engine.set_grad_enabled(False)
    def g():
        return engine.is_grad_enabled()

    @engine.set_grad_enabled(True)
    def h():
        return engine.is_grad_enabled()

    assert f(engine.ones(2, requires_grad=True)) == (False, False)
    assert g() is False
    with engine.no_grad():
        assert h() is True
    assert f.__name__ == "f"


def test_detect_anomaly_names_the_op():
    x = engine.Tensor([-1.0], requires_grad=True)
    with engine.detect_anomaly():
        with pytest.raises(RuntimeError, match="Log|Sqrt"):
            x.log()
    with engine.detect_anomaly(check_nan=False):
        x.log()                                        # no check: a NaN is just a value


@settings(deadline=None, max_examples=25)
@given(st.integers(-2 ** 70, 2 ** 70))
def test_manual_seed_is_deterministic_and_wraps_any_int(seed):
    a = engine.manual_seed(seed).random(3)
    assert engine.manual_seed(seed) is generator()
    b = generator().random(3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(engine.manual_seed(seed % 2 ** 64).random(3), a)
    engine.manual_seed(seed)
    legacy = np.random.random(2)
    np.random.seed(seed % 2 ** 32)
    np.testing.assert_array_equal(np.random.random(2), legacy)


def test_manual_seed_rejects_non_integers():
    for bad in (1.5j, None, object(), [1]):
        with pytest.raises(TypeError, match="integer seed"):
            engine.manual_seed(bad)


def test_a_thread_seeding_itself_changes_neither_the_default_nor_numpys_legacy_stream():
    engine.manual_seed(5)
    np.random.seed(11)
    main_gen = generator()
    seen = {}

    def worker():
        seen["before"] = generator() is main_gen      # an unseeded thread shares the default
        own = engine.manual_seed(3)
        seen["own"] = generator() is own and own is not main_gen
        seen["draw"] = own.random()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["before"] and seen["own"]
    assert seen["draw"] == np.random.default_rng(3).random()
    assert generator() is main_gen
    np.testing.assert_array_equal(np.random.random(2), np.random.RandomState(11).random_sample(2))
    first = engine.seed()
    assert isinstance(first, int) and 0 <= first < 2 ** 63
    assert np.array_equal(engine.manual_seed(first).random(2), np.random.default_rng(first).random(2))


def test_optimizer_base_errors_name_the_type_and_the_shapes():
    with pytest.raises(TypeError, match=r"params is builtins\.int"):
        optim.SGD([1], lr=0.1)
    with pytest.raises(TypeError, match=r"engine\..*Tensor"):
        optim.SGD(engine.ones(2, requires_grad=True), lr=0.1)
    p = engine.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = engine.ones(3)
    p.grad._data = np.ones(4, np.float32)              # past the .grad setter's own shape check
    with pytest.raises(RuntimeError, match=r"gradient of shape \(4,\) does not match parameter of shape \(3,\)"):
        opt.step()
    p.grad = engine.ones(3)
    with engine.no_grad():
        loss = opt.step(lambda: (engine.is_grad_enabled(), 7.0))
    assert loss == (True, 7.0)                          # the closure runs with grad enabled
    np.testing.assert_allclose(p.numpy(), np.full(3, 0.9, np.float32))
    q = engine.ones(2, requires_grad=True)
    opt2 = optim.SGD([p, q], lr=1.0)
    p.grad, q.grad = None, engine.ones(2)
    opt2.step()                                         # a parameter without .grad is skipped
    np.testing.assert_allclose(p.numpy(), np.full(3, 0.9, np.float32))
    np.testing.assert_allclose(q.numpy(), np.zeros(2))


def test_optimizer_repr_lists_every_group_and_hyper_parameter():
    a, b = engine.ones(2, requires_grad=True), engine.ones(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    text = repr(opt)
    lines = text.splitlines()
    assert lines[0] == "SGD (" and lines[-1] == ")"
    g0, g1 = lines.index("Parameter Group 0"), lines.index("Parameter Group 1")
    assert "    lr: 0.1" in lines[g0:g1] and "    lr: 0.5" in lines[g1:]
    assert "    momentum: 0.9" in lines[g0:g1] and "    momentum: 0.9" in lines[g1:]
    assert not any("params" in ln for ln in lines)
    keys = [ln.split(":")[0].strip() for ln in lines[g0 + 1:g1]]
    assert keys == sorted(keys)
    assert repr(optim.optimizer.required) == "<required parameter>"
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        optim.Optimizer([a], {"lr": optim.optimizer.required})


def test_every_new_thread_starts_recording_with_anomaly_detection_off():
    """The switches are per thread and start at PyTorch's defaults in each new thread, whatever the
    creating thread has set."""
    seen = []

    def probe():
        x = engine.Tensor(np.ones(2, np.float32), requires_grad=True)
        seen.append((engine.is_grad_enabled(), engine.is_anomaly_enabled(), (x * 2).requires_grad))

    with engine.no_grad(), engine.detect_anomaly():
        t = threading.Thread(target=probe)
        t.start()
        t.join()
        seen.append((engine.is_grad_enabled(), engine.is_anomaly_enabled()))
    assert seen == [(True, False, True), (False, True)]
