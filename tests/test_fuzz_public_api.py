"""Fuzzing the public API (issue 10, item 9): every public function and class of ``engine``,
``nn``, ``nn.functional``, ``nn.init``, ``optim``, ``optim.lr_scheduler`` and ``viz`` is called
with Hypothesis-generated hostile arguments -- wrong shapes, empty and 0-d tensors, NaN/Inf,
int/bool dtypes, non-contiguous and negative-stride arrays, wrong argument types. A constructed
Module is then called on a fuzzed input, a constructed optimizer stepped, and Tensor methods are
fuzzed too. The only acceptable outcomes are a result or ValueError/TypeError/RuntimeError/
IndexError (``engine.GradcheckError`` is a RuntimeError, as PyTorch's). There is no allow-list:
any other exception from any callable fails its group.

Budget: ``EXAMPLES`` (20) examples per callable, derandomized, so every run makes the same
calls. Each package group runs in its own interpreter (in a scratch directory, since ``save``
and the plots may write files): a crash fails that group's test, not the suite.
"""
import inspect
import json
import os
import subprocess
import sys
import types

import pytest

EXAMPLES = 20
ALLOWED = (ValueError, TypeError, RuntimeError, IndexError)
GROUPS = ["engine", "tensor_methods", "nn.functional", "nn.layers", "nn.init", "optim", "viz"]
# not called with random arguments, with the reason
SKIP = {
    "engine.manual_seed": "reseeds the generator the fuzzing itself uses (covered by its own tests)",
    "engine.seed": "same",
    "engine.set_default_dtype": "changes every later call's dtype; fuzzed alone below",
    "optim.LRFinder": "runs a training loop per call (tests/test_lr_finder.py covers its arguments)",
    "nn.Module": "abstract base (forward raises NotImplementedError, a RuntimeError)",
}

INNER = r'''
import inspect, json, math, sys, types, warnings
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
import engine, nn, optim, viz
import nn.init, optim.lr_scheduler
import matplotlib
matplotlib.use("Agg")

group, examples, skip = sys.argv[1], int(sys.argv[2]), set(json.loads(sys.argv[3]))
ALLOWED = (ValueError, TypeError, RuntimeError, IndexError)
warnings.simplefilter("ignore")
np.seterr(all="ignore")

DTYPES = st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.bool_, np.uint8])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


@st.composite
def arrays(draw):
    dt = draw(DTYPES)
    elements = (st.floats(allow_nan=True, allow_infinity=True, width=32) if np.dtype(dt).kind == "f"
                else None)
    a = draw(hnp.arrays(dt, draw(SHAPES), elements=elements))
    how = draw(st.sampled_from(["plain", "plain", "transposed", "reversed", "strided"]))
    if how == "transposed" and a.ndim >= 2:
        a = a.swapaxes(0, 1)
    elif how == "reversed" and a.ndim >= 1:
        a = a[::-1]                                   # negative stride
    elif how == "strided" and a.ndim >= 1:
        a = np.repeat(a, 2, axis=-1)[..., ::2]         # non-contiguous
    return a


@st.composite
def tensors(draw):
    a = draw(arrays())
    grad = a.dtype.kind == "f" and draw(st.booleans())
    return engine.Tensor(a, requires_grad=grad)


SCALARS = st.one_of(st.integers(-3, 6), st.sampled_from([0.0, -0.0, 0.5, 1e-8, 3.0, float("nan"), float("inf"), -1.5]),
                    st.booleans(), st.none(),
                    st.sampled_from(["", "a", "mean", "sum", "none", "same", "valid", "cpu", "float32", "x.npz",
                                     "zeros", "tanh", "forward", "max"]),
                    st.sampled_from([np.float32, np.int64, np.bool_, engine.float64, object(), {}, [], (), slice(1)]))
SIZES = st.lists(st.integers(-2, 4), min_size=0, max_size=4).map(tuple)
VALUES = st.one_of(tensors(), tensors(), tensors(), arrays(), SCALARS, SIZES,
                   st.lists(tensors(), min_size=0, max_size=3))
ARGS = st.lists(VALUES, min_size=0, max_size=4)


def signature_names(fn):
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("self", "cls")]
    except (TypeError, ValueError):
        return []


def public(mod, prefix):
    out = []
    for name in sorted(dir(mod)):
        obj = getattr(mod, name)
        if name.startswith("_") or isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        if f"{prefix}.{name}" in skip or isinstance(obj, (np.dtype, type(np.float32))) and obj in (np.float32,):
            continue
        if isinstance(obj, type) and issubclass(obj, np.generic):
            continue                                  # dtype aliases (engine.float32 is np.float32)
        out.append((f"{prefix}.{name}", obj))
    return out


def targets():
    if group == "engine":
        return public(engine, "engine")
    if group == "tensor_methods":
        meths = [n for n in dir(engine.Tensor) if not n.startswith("_") and callable(getattr(engine.Tensor, n))]
        return [(f"Tensor.{n}", n) for n in sorted(meths)]
    if group == "nn.functional":
        return public(nn.functional, "nn.functional")
    if group == "nn.layers":
        return [(n, o) for n, o in public(nn, "nn") if isinstance(o, type)]
    if group == "nn.init":
        return public(nn.init, "nn.init")
    if group == "optim":
        return public(optim, "optim") + public(optim.lr_scheduler, "optim.lr_scheduler")
    if group == "viz":
        return public(viz, "viz")
    raise SystemExit(f"unknown group {group}")


failures = []


def record(name, args, kwargs, e):
    failures.append({"callable": name, "args": repr(args)[:300], "kwargs": repr(kwargs)[:200],
                     "error": f"{type(e).__name__}: {e}"[:300]})


def call(name, fn, args, kwargs):
    try:
        out = fn(*args, **kwargs)
    except ALLOWED:
        return None
    except Exception as e:  # noqa: BLE001 - the finding
        record(name, args, kwargs, e)
        return None
    return out


def follow_up(name, obj, out, data):
    """A constructed Module is called on a fuzzed input; an optimizer steps; a scheduler steps."""
    if isinstance(out, nn.Module):
        x = data.draw(VALUES)
        res = call(name + ".forward", out, [x], {})
        if isinstance(res, engine.Tensor) and res.requires_grad and res.numel() > 0:
            call(name + ".backward", lambda: res.sum().backward(), [], {})
    elif isinstance(out, optim.Optimizer):
        for p in (p for g in out.param_groups for p in g["params"]):
            if getattr(p, "requires_grad", False):
                p.grad = engine.Tensor(np.ones(p.shape, p.dtype))
        call(name + ".step", out.step, [], {})
        call(name + ".state_dict+load", lambda: out.load_state_dict(out.state_dict()), [], {})
    elif hasattr(out, "step") and hasattr(out, "get_last_lr"):
        call(name + ".step", out.step, [], {})


def optimizer_params(data):
    ps = [engine.Tensor(np.zeros(data.draw(SIZES.filter(lambda s: all(d >= 0 for d in s))), np.float32),
                        requires_grad=True) for _ in range(data.draw(st.integers(0, 2)))]
    return data.draw(st.sampled_from([ps, ps, [{"params": ps}], ps[:1], "params", None]))


def run(name, obj):
    names = signature_names(obj) if not isinstance(obj, str) else []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data):
        if isinstance(obj, str):                              # a Tensor method
            t = data.draw(tensors())
            fn = getattr(t, obj)
            call(name, fn, data.draw(ARGS), {})
            return
        args = data.draw(ARGS)
        if group == "optim" and isinstance(obj, type) and issubclass(obj, optim.Optimizer):
            args = [optimizer_params(data)] + args[:2]
        if group == "optim" and name.startswith("optim.lr_scheduler") and isinstance(obj, type):
            p = engine.Tensor(np.zeros(2, np.float32), requires_grad=True)
            args = [data.draw(st.sampled_from([optim.SGD([p], lr=0.1), "opt", None]))] + args[:2]
        kwargs = {}
        if names and data.draw(st.booleans()):
            kwargs[data.draw(st.sampled_from(names))] = data.draw(VALUES)
        out = call(name, obj, args, kwargs)
        if out is not None:
            follow_up(name, obj, out, data)

    fuzz()


for name, obj in targets():
    run(name, obj)
print(json.dumps(failures))
'''


def _run_group(group, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", INNER, group, str(EXAMPLES), json.dumps(sorted(SKIP))],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)
    assert out.returncode == 0, f"{group}: exit {out.returncode}\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_arguments_give_a_result_or_a_clear_error(group, tmp_path):
    failures = _run_group(group, tmp_path)
    by_callable = {}
    for f in failures:
        by_callable.setdefault(f["callable"], f)
    report = "\n".join(f"{k}({v['args']}, {v['kwargs']}) -> {v['error']}" for k, v in sorted(by_callable.items()))
    assert not failures, f"{len(failures)} bad outcomes in {len(by_callable)} callables:\n{report}"
