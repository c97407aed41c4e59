"""``check_module``: the invariants every layer must keep, on drawn inputs, in float64.

Per example a fresh module is built with ``engine.manual_seed(seed); factory()`` and converted
to float64; then, in this order (cheap checks first):

* ``registration``: no Module, Parameter or Tensor hides in a plain attribute or container;
* ``repr``: every child appears in ``repr``; ``name=value`` pairs equal the attributes;
  ``bias=``/``affine=``/``elementwise_affine=`` match the parameters present;
* ``seed``: a second module from the same seed has the same state_dict and outputs;
* ``input_mutation``: forward (train and eval) and backward leave the inputs unchanged;
* ``train_eval``: train()/eval() reach every submodule; Dropout and BatchNorm submodules behave
  as documented in each mode (see ``nn.testing.behaviour``);
* ``eval_deterministic``: eval forwards agree bit for bit (whatever the generator's state) and
  change no buffer;
* ``unused_parameters``: every parameter gets a gradient from a train-mode forward/backward;
* ``state_dict``: a fresh module built from another seed, loaded with
  ``engine.load(engine.save(state_dict()))``, reproduces the eval outputs bit for bit;
* ``batch_independence`` (eval): row i of the batched output equals the output for example i
  alone, when the module claims it (``batch_independent``);
* ``gradient``: the Jacobian w.r.t. every input and every parameter (by name) matches central
  differences, in eval mode and, when train outputs differ from eval, in train mode (the
  library's generator is reseeded before each forward, so dropout masks are fixed).

``check_module`` reseeds the library's generator (``engine.manual_seed``) as it goes.
"""
from __future__ import annotations

import os
import re
import tempfile

import numpy as np
from hypothesis import strategies as st

import engine
from engine import Tensor, no_grad
from engine.testing import GradientMismatch, InputMutated, tensors
from engine.testing.function_checks import first_difference, float64_copy, select_checks
from engine.testing.jacobian import analytic_jacobians, as_outputs, compare, flat, numeric_jacobian
from engine.testing.runner import run

from ..layers import BatchNorm1d, BatchNorm2d
from ..module import Module
from ..parameter import Parameter
from . import behaviour
from .errors import (MODULE_CHECKS, BatchDependence, CheckFailure, EvalNotDeterministic,
                     ReprMismatch, SeedNotReproducible, StateDictRoundTripMismatch,
                     TrainEvalMismatch, UnregisteredState, UnusedParameters)

__all__ = ["check_module"]

_MODULE_INTERNALS = {"_parameters", "_buffers", "_modules", "_forward_hooks",
                     "_forward_pre_hooks", "_non_persistent"}


def check_module(factory, input_shape_or_strategy, *, max_examples=None, seed=0,
                 batch_independent=None, atol=1e-5, rtol=1e-3, eps=1e-6, checks=None, skip=()):
    """Check the Module that ``factory()`` builds on every invariant above.

    ``factory``: a zero-argument callable returning a fresh Module (a lambda, or a Module class
    without required arguments). ``input_shape_or_strategy``: the input shape (a tuple of ints;
    inputs are drawn with ``tensors(shape, unique=True)``), a tuple of shapes (one per forward
    argument), or a Hypothesis strategy drawing a Tensor or a tuple of forward arguments.
    ``max_examples``: examples drawn (default 20, or ``--gradcheck-max-examples``).
    ``batch_independent``: None checks batch independence when the output keeps the batch
    dimension and no submodule mixes examples by design (a BatchNorm without running
    statistics, or a module with ``batch_independent = False``); True/False force it.
    ``checks``/``skip`` select checks by name (``nn.testing.MODULE_CHECKS``). Raises a
    ``CheckFailure`` (an ``AssertionError``) subclass naming the check, the parameter or input,
    the element, both values, and the minimised example.
    """
    if isinstance(factory, Module):
        raise TypeError("check_module needs a factory that builds a fresh module (e.g. "
                        "lambda: nn.Linear(3, 4)), not a Module instance")
    if not callable(factory):
        raise TypeError(f"check_module: factory must be callable, got {type(factory).__name__}")
    strategy = _input_strategy(input_shape_or_strategy)
    selected = select_checks(MODULE_CHECKS, checks, skip)
    opts = {"atol": float(atol), "rtol": float(rtol), "eps": float(eps), "seed": int(seed),
            "batch_independent": batch_independent}

    def body(values):
        drawn = values[0]
        drawn = drawn if isinstance(drawn, (tuple, list)) else (drawn,)
        case = _Case(factory, opts)
        try:
            for check in selected:  # fresh inputs per check: a mutating forward spoils only one
                case.xs = [float64_copy(v) for v in drawn]
                _CHECKS[check](case)
        except CheckFailure as e:
            e.message = f"{case.name}: {e.message}"
            e.args = (e.message,)
            raise

    run([strategy], body, max_examples)


def _input_strategy(spec):
    if isinstance(spec, st.SearchStrategy):
        return spec
    if isinstance(spec, (int, np.integer)):
        spec = (int(spec),)
    if isinstance(spec, (tuple, list)) and spec and all(isinstance(s, (tuple, list)) for s in spec):
        return st.tuples(*[tensors(shape=tuple(s), unique=True) for s in spec])
    if isinstance(spec, (tuple, list)) and all(isinstance(s, (int, np.integer)) for s in spec):
        return tensors(shape=tuple(int(s) for s in spec), unique=True)
    raise TypeError(f"check_module: input_shape_or_strategy must be a shape tuple, a tuple of "
                    f"shapes or a Hypothesis strategy, got {spec!r}")


def build(factory, seed):
    """``engine.manual_seed(seed); factory()`` converted to float64 (parameters and buffers)."""
    engine.manual_seed(seed)
    module = factory()
    if not isinstance(module, Module):
        raise TypeError(f"check_module: factory() returned {type(module).__name__}, not a Module")
    for t in list(module.parameters()) + list(module.buffers()):
        arr = np.asarray(t.numpy())
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            t.data = np.asarray(arr, dtype=np.float64)
    return module


class _Case:
    """One example: the module (fresh, float64), its inputs and the options."""

    def __init__(self, factory, opts):
        self.factory, self.opts, self.xs = factory, opts, []
        self.seed = opts["seed"]
        self.module = build(factory, self.seed)
        self.name = type(self.module).__name__

    def forward(self, module=None, xs=None, seed=None):
        """The module's outputs as a list of Tensors (reseeding first when ``seed`` is given)."""
        module = self.module if module is None else module
        if seed is not None:
            engine.manual_seed(seed)
        return as_outputs(module(*(self.xs if xs is None else xs)), what=f"{self.name}.forward")


def _arr(t):
    return np.asarray(t.numpy())


def _first_output_difference(a, b):
    """(output index, element, value a, value b) of the first difference, or None."""
    if len(a) != len(b):
        return (len(a), "count", len(a), len(b))
    for j, (p, q) in enumerate(zip(a, b)):
        idx = first_difference(_arr(p), _arr(q))
        if idx == "shape":
            return (j, "shape", p.shape, q.shape)
        if idx is not None:
            return (j, idx, _arr(p)[idx].item(), _arr(q)[idx].item())
    return None


# -- checks ----------------------------------------------------------------------------------
def _check_registration(case):
    for path, mod in case.module.named_modules():
        for key, value in vars(mod).items():
            if key in _MODULE_INTERNALS:
                continue
            items = [("", value)]
            if isinstance(value, (list, tuple)):
                items = [(f"[{i}]", v) for i, v in enumerate(value)]
            elif isinstance(value, dict):
                items = [(f"[{k!r}]", v) for k, v in value.items()]
            for suffix, v in items:
                where = f"{path + '.' if path else ''}{key}{suffix}"
                if isinstance(v, Module):
                    raise UnregisteredState(
                        f"{where} is a {type(v).__name__} held in a plain "
                        f"{type(value).__name__ if suffix else 'attribute'}: its parameters are "
                        f"missing from parameters() (an optimizer never updates them) and from "
                        f"state_dict() (use nn.ModuleList / nn.ModuleDict)", attribute=where)
                if isinstance(v, Parameter) or (isinstance(v, Tensor) and not key.startswith("_")):
                    raise UnregisteredState(
                        f"{where} holds a {type(v).__name__} of shape {tuple(v.shape)} that is not a "
                        f"registered Parameter or buffer: parameters(), state_dict() and dtype "
                        f"conversion skip it (assign an nn.Parameter, or use "
                        f"self.register_buffer('{key}', tensor))", attribute=where)


_PAIR = re.compile(r"(\w+)=(\([^)]*\)|\[[^\]]*\]|'[^']*'|\"[^\"]*\"|[^,\s]+)")
_FLAG_PARAM = {"bias": "bias", "affine": "weight", "elementwise_affine": "weight"}


def _check_repr(case):
    for path, mod in case.module.named_modules():
        text = repr(mod)
        where = path or "the module"
        for key, child in mod._modules.items():
            if child is not None and f"({key}): {type(child).__name__}" not in text:
                raise ReprMismatch(f"repr of {where} does not show its child ({key}): "
                                   f"{type(child).__name__}", attribute=f"{path}.{key}".strip("."))
        for key, shown in _PAIR.findall(mod.extra_repr()):
            if key in _FLAG_PARAM and shown in ("True", "False"):
                has = mod._parameters.get(_FLAG_PARAM[key]) is not None
                if (shown == "True") != has:
                    raise ReprMismatch(f"repr of {where} says {key}={shown} but the module "
                                       f"{'has' if has else 'has no'} parameter "
                                       f"'{_FLAG_PARAM[key]}'", attribute=key)
                continue
            if key not in vars(mod):
                continue
            value = vars(mod)[key]
            if isinstance(value, (Tensor, Module)):
                continue
            if shown not in (str(value), repr(value)):
                raise ReprMismatch(f"repr of {where} says {key}={shown} but {where}.{key} is "
                                   f"{value!r}", attribute=key, shown=shown, value=value)


def _check_seed(case):
    other = build(case.factory, case.seed)
    sa, sb = case.module.state_dict(), other.state_dict()
    if list(sa) != list(sb):
        raise SeedNotReproducible(f"two modules built after engine.manual_seed({case.seed}) have "
                                  f"different state_dict keys: {list(sa)} vs {list(sb)}")
    for key in sa:
        idx = first_difference(_arr(sa[key]), _arr(sb[key]))
        if idx is not None:
            raise SeedNotReproducible(
                f"two modules built after engine.manual_seed({case.seed}) differ in '{key}' at "
                f"{idx}: {_arr(sa[key])[idx] if idx != 'shape' else sa[key].shape} vs "
                f"{_arr(sb[key])[idx] if idx != 'shape' else sb[key].shape} (draw every random "
                f"number from the library's generator, e.g. nn.init or engine.randn)",
                key=key, element=idx)
    case.module.eval()
    other.eval()  # same generator state for both forwards: only construction may differ
    diff = _first_output_difference(case.forward(seed=case.seed + 5),
                                    case.forward(other, seed=case.seed + 5))
    if diff is not None:
        raise SeedNotReproducible(f"two modules built after engine.manual_seed({case.seed}) give "
                                  f"different eval outputs: output {diff[0]} at {diff[1]}: "
                                  f"{diff[2]} vs {diff[3]}", output=diff[0], element=diff[1])


def _check_input_mutation(case):
    before = [np.array(_arr(x), copy=True) if isinstance(x, Tensor) else None for x in case.xs]

    def compare_inputs(phase):
        for i, (x, b) in enumerate(zip(case.xs, before)):
            if b is None:
                continue
            idx = first_difference(b, _arr(x))
            if idx is not None:
                was = b[idx].item() if idx != "shape" else b.shape
                now = _arr(x)[idx].item() if idx != "shape" else x.shape
                raise InputMutated(f"{phase} changed input {i} in place at element {idx}: before "
                                   f"{was!r}, after {now!r} (compute on a copy, or use "
                                   f"out-of-place ops)", input=i, element=idx, before=was,
                                   after=now, phase=phase)

    m = case.module
    m.train()
    outs = case.forward(seed=case.seed + 1)
    compare_inputs("forward in train mode")
    targets = [x for x in case.xs if isinstance(x, Tensor) and x.requires_grad]
    targets += [p for p in m.parameters() if p.requires_grad]
    _vjp(outs, targets)
    compare_inputs("backward")
    m.eval()
    case.forward()
    compare_inputs("forward in eval mode")


def _vjp(outs, targets, rng_seed=5):
    """Gradients of Σ⟨output, random⟩ w.r.t. ``targets`` (None where unused)."""
    used = [o for o in outs if o.requires_grad]
    if not used or not targets:
        return [None] * len(targets)
    rng = np.random.default_rng(rng_seed)
    return list(engine.grad(used, targets, grad_outputs=[Tensor(rng.standard_normal(o.shape))
                                                         for o in used], allow_unused=True))


def _check_eval_deterministic(case):
    m = case.module
    m.eval()
    buffers = {k: np.array(_arr(b), copy=True) for k, b in m.named_buffers()}
    first = case.forward()
    for _ in range(3):  # a few more forwards, the library's generator moved on before each
        engine.rand(16)
        diff = _first_output_difference(first, case.forward())
        if diff is not None:
            break
    if diff is not None:
        raise EvalNotDeterministic(f"two eval-mode forwards of the same input differ: output "
                                   f"{diff[0]} at {diff[1]}: {diff[2]} vs {diff[3]} (eval must not "
                                   f"sample: check self.training before dropout or noise)",
                                   output=diff[0], element=diff[1])
    for key, b in m.named_buffers():
        if key in buffers and first_difference(buffers[key], _arr(b)) is not None:
            raise EvalNotDeterministic(f"an eval-mode forward changed buffer '{key}' (running "
                                       f"statistics update only in train mode)", key=key)


def _check_train_eval(case):
    m = case.module
    for mode in (True, False):
        m.train(mode)
        wrong = [p or "<root>" for p, s in m.named_modules() if s.training != mode]
        if wrong:
            raise TrainEvalMismatch(f"after .{'train()' if mode else 'eval()'} these submodules "
                                    f"have training={not mode}: {wrong}", submodules=wrong)
    behaviour.record(m, lambda: case.forward(seed=case.seed + 2), lambda: case.forward())


def _check_unused_parameters(case):
    m = case.module
    m.train()
    named = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
    if not named:
        return
    gs = _vjp(case.forward(seed=case.seed + 3), [p for _, p in named])
    unused = [n for (n, _), g in zip(named, gs) if g is None]
    if unused:
        raise UnusedParameters(f"parameters that receive no gradient from a train-mode forward "
                               f"and backward: {unused} (never used in forward, used only under "
                               f"no_grad, or detached); remove them or set requires_grad=False",
                               names=unused)


def _check_state_dict(case):
    m = case.module
    m.eval()
    expect = case.forward(seed=case.seed + 6)
    saved = m.state_dict()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "state.npz")
        engine.save(saved, path)
        loaded = engine.load(path)
    fresh = build(case.factory, case.seed + 1)
    try:
        fresh.load_state_dict(loaded)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise StateDictRoundTripMismatch(f"load_state_dict of the saved state_dict failed into a "
                                         f"fresh module: {e}") from None
    for key, value in fresh.state_dict().items():
        if key in saved and first_difference(_arr(saved[key]), _arr(value)) is not None:
            raise StateDictRoundTripMismatch(f"'{key}' changed in the round trip through "
                                             f"engine.save/engine.load", key=key)
    fresh.eval()
    diff = _first_output_difference(expect, case.forward(fresh, seed=case.seed + 6))
    if diff is None:
        return
    hidden = [f"{p + '.' if p else ''}{k}" for p, s in m.named_modules()
              for k in sorted(s._non_persistent) if s._buffers.get(k) is not None]
    raise StateDictRoundTripMismatch(
        f"a fresh module (seed {case.seed + 1}) loaded with the state_dict saved by engine.save "
        f"and read by engine.load gives different outputs: output {diff[0]} at {diff[1]}: "
        f"{diff[2]} (original) vs {diff[3]} (restored). state_dict keys: {list(saved)}; "
        f"non-persistent buffers (not saved): {hidden}. Everything the output depends on must be "
        f"a Parameter or a persistent buffer", output=diff[0], element=diff[1], keys=list(saved))


def _claims_batch_independence(module):
    for sub in module.modules():
        if getattr(sub, "batch_independent", True) is False:
            return False
        if isinstance(sub, (BatchNorm1d, BatchNorm2d)) and sub.running_mean is None:
            return False  # batch statistics in eval too, as documented
    return True


def _check_batch_independence(case):
    flag = case.opts["batch_independent"]
    if flag is False or (flag is None and not _claims_batch_independence(case.module)):
        return
    xs = case.xs
    first = xs[0] if xs and isinstance(xs[0], Tensor) and xs[0].ndim >= 1 else None
    n = first.shape[0] if first is not None else 0
    if n < 2:
        return  # one example: nothing to compare
    m = case.module
    m.eval()
    with no_grad():
        outs = case.forward()
    keeps_batch = all(o.ndim >= 1 and o.shape[0] == n for o in outs)
    if not keeps_batch:
        if flag:
            raise BatchDependence(f"batch_independent=True but the input batch size is {n} and "
                                  f"the output shapes are {[tuple(o.shape) for o in outs]}")
        return
    for i in range(n):
        single = [Tensor(np.array(_arr(x)[i:i + 1])) if isinstance(x, Tensor) and x.ndim >= 1
                  and x.shape[0] == n else x for x in xs]
        with no_grad():
            alone = case.forward(xs=single)
        for j, (o, a) in enumerate(zip(outs, alone)):
            row, a = _arr(o)[i:i + 1], _arr(a)
            if row.shape != a.shape or not np.allclose(row, a, rtol=1e-9, atol=1e-12, equal_nan=True):
                idx = first_difference(row, a) if row.shape == a.shape else "shape"
                where = (i,) + idx[1:] if isinstance(idx, tuple) else idx
                raise BatchDependence(
                    f"in eval, row {i} of output {j} differs from the output for example {i} "
                    f"alone at {where}: batched {row[idx].item() if idx != 'shape' else row.shape} "
                    f"vs alone {a[idx].item() if idx != 'shape' else a.shape} (pass "
                    f"batch_independent=False if the module mixes examples by design)",
                    output=j, row=i, element=where)


def _check_gradient(case):
    m = case.module
    named = [(f"input {i}", x) for i, x in enumerate(case.xs)
             if isinstance(x, Tensor) and x.requires_grad]
    named += [(f"parameter '{n}'", p) for n, p in m.named_parameters() if p.requires_grad]
    if not named:
        return
    m.eval()
    with no_grad():
        eval_out = case.forward()
    m.train()
    with no_grad():
        train_out = case.forward(seed=case.seed + 4)
    modes = ["eval"] + (["train"] if _first_output_difference(eval_out, train_out) else [])
    for mode in modes:
        m.train(mode == "train")
        s = case.seed + 4 if mode == "train" else None
        outs = case.forward(seed=s)
        analytic = analytic_jacobians(outs, [t for _, t in named])
        for (label, t), a in zip(named, analytic):
            numeric = numeric_jacobian(lambda: flat(case.forward(seed=s)), t, label, case.opts["eps"])
            compare(f"{label} ({mode} mode)", t.shape, a, numeric, outs, case.opts["atol"],
                    case.opts["rtol"], error=GradientMismatch)


_CHECKS = {
    "registration": _check_registration,
    "repr": _check_repr,
    "seed": _check_seed,
    "input_mutation": _check_input_mutation,
    "eval_deterministic": _check_eval_deterministic,
    "train_eval": _check_train_eval,
    "unused_parameters": _check_unused_parameters,
    "state_dict": _check_state_dict,
    "batch_independence": _check_batch_independence,
    "gradient": _check_gradient,
}
