"""Optimizers validate each parameter's state (shape, dtype, contiguity, type) before a fused kernel
runs: a mismatch raises a clear RuntimeError instead of overrunning memory (issue 10, item 1).

The crash-prone scenarios run in a fresh interpreter so that a segfault fails one test only."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import optim

OPTIMIZERS = ["SGD(momentum=0.9)", "Adagrad()", "RMSprop(centered=True, momentum=0.5)", "Adam(amsgrad=True)",
              "AdamW()", "NAdam()"]

SCRIPT = r"""
import numpy as np, engine, optim, sys
name, args = sys.argv[1].split("(", 1)
make = lambda ps: eval("optim." + name + "(ps, lr=0.01, " + args)

def set_payload(p, arr):
    p.data = arr  # PyTorch-style: swaps the payload (shape may change)

def fresh(n=4):
    p = engine.Tensor(np.ones(n, np.float32), requires_grad=True)
    o = make([p]); p.grad = engine.Tensor(np.ones(n, np.float32)); o.step()
    return p, o

outcomes = []
# 1. the parameter's data replaced by a much larger array
p, o = fresh(); set_payload(p, np.ones(200000, np.float32)); p.grad = engine.Tensor(np.ones(200000, np.float32))
try:
    o.step(); outcomes.append("stepped")
except RuntimeError as e:
    outcomes.append("shape" if "(200000,)" in str(e) and "(4,)" in str(e) else "bad message: " + str(e))
# 2. every state array replaced by a smaller / wrong-dtype / strided / non-array value
n = 1 << 17
for bad, word in [(np.zeros(1, np.float32), "shape"), (np.zeros(n, np.float64), "dtype"),
                  (np.zeros(2 * n, np.float32)[::2], "contiguous"), ([0.0] * n, "ndarray")]:
    p, o = fresh(n)
    keys = [k for k, v in o.state[p].items() if isinstance(v, np.ndarray)]
    o.state[p][keys[0]] = bad
    before = np.array(p.numpy(), copy=True)
    try:
        o.step(); outcomes.append("stepped")
    except RuntimeError as e:
        ok = word in str(e) and repr(keys[0]) in str(e) and np.array_equal(p.numpy(), before)
        outcomes.append(word if ok else "bad: " + str(e))
print(",".join(outcomes))
"""


@pytest.mark.parametrize("spec", OPTIMIZERS)
def test_mismatched_state_raises_instead_of_crashing(spec):
    out = subprocess.run([sys.executable, "-c", SCRIPT, spec], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() == "shape,shape,dtype,contiguous,ndarray", out.stdout


@settings(deadline=None, max_examples=15)
@given(n=st.integers(1, 40), m=st.integers(1, 40), use_adam=st.booleans())
def test_state_shape_must_equal_parameter_shape(n, m, use_adam):
    """Property: a step succeeds iff every state array has the parameter's shape; on failure
    neither the parameter nor the state changes."""
    p = engine.Tensor(np.linspace(-1, 1, n).astype(np.float32), requires_grad=True)
    o = optim.Adam([p], lr=0.1) if use_adam else optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = engine.Tensor(np.ones(n, np.float32))
    o.step()
    key = "exp_avg" if use_adam else "momentum_buffer"
    o.state[p][key] = np.full(m, 0.5, np.float32)
    before = np.array(p.numpy(), copy=True)
    if m == n:
        o.step()
        assert not np.array_equal(p.numpy(), before)
    else:
        with pytest.raises(RuntimeError, match=key):
            o.step()
        np.testing.assert_array_equal(p.numpy(), before)
        np.testing.assert_array_equal(o.state[p][key], np.full(m, 0.5, np.float32))


def test_a_bad_group_stops_the_whole_step_before_any_update():
    a = engine.Tensor(np.ones(3, np.float32), requires_grad=True)
    b = engine.Tensor(np.ones(5, np.float32), requires_grad=True)
    o = optim.Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    a.grad, b.grad = engine.Tensor(np.ones(3, np.float32)), engine.Tensor(np.ones(5, np.float32))
    o.step()
    o.state[b]["exp_avg_sq"] = np.zeros(2, np.float32)
    before = np.array(a.numpy(), copy=True)
    with pytest.raises(RuntimeError, match=r"parameter 0 in param group 1.*'exp_avg_sq' has shape \(2,\)"):
        o.step()
    np.testing.assert_array_equal(a.numpy(), before)
    assert o.state[a]["step"] == 1


def test_deleting_the_state_after_replacing_data_recovers():
    p = engine.Tensor(np.ones(4, np.float32), requires_grad=True)
    o = optim.Adam([p], lr=0.1)
    p.grad = engine.Tensor(np.ones(4, np.float32))
    o.step()
    with engine.no_grad():
        new = engine.Tensor(np.ones(6, np.float32), requires_grad=True)
    o.param_groups[0]["params"] = [new]
    o.state[new] = o.state[p]          # the old state moved onto a parameter of another shape
    new.grad = engine.Tensor(np.ones(6, np.float32))
    with pytest.raises(RuntimeError, match="del optimizer.state"):
        o.step()
    del o.state[new]
    o.step()
    # a fresh Adam step moves every element by lr (bias-corrected m/sqrt(v) = 1)
    np.testing.assert_allclose(new.numpy(), np.full(6, 0.9, np.float32), rtol=1e-5)


@pytest.mark.parametrize("kind", ["dtype", "contiguous", "readonly", "ndarray"])
@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=0.1), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.RMSprop(ps, lr=0.1), lambda ps: optim.Adagrad(ps, lr=0.1)])
def test_each_state_problem_is_named_and_nothing_moves(kind, make):
    """In-process twin of the subprocess test for the problems that cannot overrun memory: the
    message names the entry and the problem, and no parameter or state changes."""
    p = engine.Tensor(np.linspace(-1, 1, 6).astype(np.float32), requires_grad=True)
    q = engine.Tensor(np.ones(3, np.float32), requires_grad=True)
    o = make([q, p])
    p.grad, q.grad = engine.Tensor(np.ones(6, np.float32)), engine.Tensor(np.ones(3, np.float32))
    o.step()
    key = next(k for k, v in o.state[p].items() if isinstance(v, np.ndarray))
    good = o.state[p][key]
    bad = {"dtype": good.astype(np.float64), "contiguous": np.repeat(good, 2)[::2],
           "readonly": good.copy(), "ndarray": good.tolist()}[kind]
    if kind == "readonly":
        bad.flags.writeable = False
    o.state[p][key] = bad
    before = (np.array(p.numpy(), copy=True), np.array(q.numpy(), copy=True))
    word = {"dtype": "has dtype float64, the parameter float32", "contiguous": "is not a writeable C-contiguous",
            "readonly": "is not a writeable C-contiguous", "ndarray": "is a builtins.list, not an ndarray"}[kind]
    with pytest.raises(RuntimeError, match=rf"state of parameter 1 in param group 0 .*'{key}' {word}"):
        o.step()
    np.testing.assert_array_equal(p.numpy(), before[0])
    np.testing.assert_array_equal(q.numpy(), before[1])
    o.state[p][key] = good            # repaired: steps again
    o.step()
    assert not np.array_equal(p.numpy(), before[0])
