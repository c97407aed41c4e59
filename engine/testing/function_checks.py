"""``check_function``: the invariants every differentiable brick must keep, on drawn inputs.

For each example (inputs converted to fresh float64 copies), in this order:

* ``no_grad``: under ``engine.no_grad()`` outputs have no grad_fn, do not require grad, and equal
  the outputs computed with grad recording on;
* ``input_mutation``: forward and backward leave every input bit-for-bit unchanged;
* ``upstream_mutation``: backward leaves the gradient it receives unchanged;
* ``release``: after backward (retain_graph=False) no node holds saved values, and no ctx
  attribute holds a Tensor or array (those must go through ``ctx.save_for_backward``);
* ``linearity``: backward(αu + βw) = α·backward(u) + β·backward(w) for random u, w, α, β
  (at every element where backward(u) and backward(w) are finite);
* ``gradient``: the Jacobian from backward matches central differences
  (f(x + εeⱼ) − f(x − εeⱼ)) / 2ε for every differentiable input, every element;
* ``double_backward`` (when claimed): the Jacobian of ⟨∂f/∂x, v⟩ built with
  ``create_graph=True`` matches central differences of that first derivative;
* ``nonfinite``: a NaN, +Inf or −Inf in any input element does not make forward or backward
  raise (bricks that reject non-finite inputs by design pass ``skip=["nonfinite"]``).

Cheap checks run first, so that a failure among them is found and shrunk fast.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import Function, Tensor, enable_grad, grad, no_grad
from .. import graph as _graph
from .errors import (FUNCTION_CHECKS, CheckFailure, DoubleBackwardMismatch, GraphUnderNoGrad,
                     InputMutated, NonFiniteCrash, NonLinearBackward, SavedTensorsNotReleased,
                     UpstreamGradientMutated)
from .jacobian import analytic_jacobians, as_outputs, compare, flat, numeric_jacobian
from .runner import run

__all__ = ["check_function", "select_checks", "first_difference", "float64_copy"]


def check_function(fn, *inputs, double_backward=None, max_examples=None, atol=1e-5, rtol=1e-3,
                   eps=1e-6, checks=None, skip=()):
    """Check a ``Function`` subclass (or any callable of Tensors) on every invariant above.

    ``inputs``: one per argument, each a Hypothesis strategy (e.g. ``tensors(shape=(3,))``),
    drawn for ``max_examples`` examples (default 20, or ``--gradcheck-max-examples``), or a fixed
    value (a Tensor, a number); with no strategy at all the checks run once on the values given.
    Floating tensors are checked on float64 copies; those with ``requires_grad`` are the
    differentiable inputs. ``double_backward``: check second derivatives; None means "when the
    brick claims them" (a Function subclass with ``twice_differentiable = True``, the default for
    Functions; never for plain callables). ``checks``/``skip`` select checks by name
    (``engine.testing.FUNCTION_CHECKS``). Raises a ``CheckFailure`` (an ``AssertionError``)
    subclass naming the check, the input index, the element, the analytic and numeric values and
    the minimised example.
    """
    call, name, claimed = _resolve(fn)
    selected = select_checks(FUNCTION_CHECKS, checks, skip)
    if not (claimed if double_backward is None else bool(double_backward)):
        selected = [c for c in selected if c != "double_backward"]
    opts = {"atol": float(atol), "rtol": float(rtol), "eps": float(eps)}

    def body(values):
        if not any(isinstance(a, Tensor) and a.requires_grad for a in values):
            raise ValueError(f"check_function({name}): no input requires grad; draw inputs with "
                             f"tensors(...) (requires_grad=True by default) or pass Tensors made "
                             f"with requires_grad=True")
        try:
            for check in selected:  # fresh float64 copies: a mutating brick spoils only one check
                _CHECKS[check](call, [float64_copy(v) for v in values], opts)
        except CheckFailure as e:
            e.message = f"{name}: {e.message}"
            e.args = (e.message,)
            raise

    run(inputs, body, max_examples)


def select_checks(available, checks, skip):
    """The checks to run, in ``available``'s order: ``checks`` (all when None) minus ``skip``."""
    wanted = list(available) if checks is None else [checks] if isinstance(checks, str) else list(checks)
    skip = [skip] if isinstance(skip, str) else list(skip)
    unknown = [c for c in wanted + skip if c not in available]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; the checks are {list(available)}")
    return [c for c in available if c in wanted and c not in skip]


def _resolve(fn):
    """(callable, display name, claims second derivatives) of a Function subclass or callable."""
    if isinstance(fn, type) and issubclass(fn, Function):
        return fn.apply, fn.__name__, bool(fn.twice_differentiable)
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type) and issubclass(owner, Function):  # MyFunction.apply
        return fn, f"{owner.__name__}.apply", bool(owner.twice_differentiable)
    if not callable(fn):
        raise TypeError(f"check_function: fn must be a Function subclass or a callable, got "
                        f"{type(fn).__name__}")
    return fn, getattr(fn, "__qualname__", None) or repr(fn), False


def float64_copy(v):
    """A fresh copy of a Tensor (floating ones as float64, keeping requires_grad); other values
    as given."""
    if not isinstance(v, Tensor):
        return v
    arr = np.asarray(v.numpy())
    if arr.dtype.kind == "f":
        return Tensor(np.array(arr, dtype=np.float64, copy=True), requires_grad=v.requires_grad)
    return Tensor(np.array(arr, copy=True))


def first_difference(before, after):
    """The first index where two arrays differ (NaN equals NaN), () for 0-d, or None."""
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape:
        return "shape"
    differ = before != after
    if before.dtype.kind in "fc":
        differ &= ~(np.isnan(before) & np.isnan(after))
    if not differ.any():
        return None
    return tuple(int(e) for e in np.unravel_index(int(np.argmax(differ)), before.shape))


def _diff(args):
    return [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]


def _backward(outs, targets, grads, retain_graph=False, create_graph=False):
    """``grad`` of the outputs that require grad, with the matching upstream gradients."""
    used = [(o, g) for o, g in zip(outs, grads) if o.requires_grad]
    if not used or not targets:
        return [None] * len(targets)
    return list(grad([o for o, _ in used], targets, grad_outputs=[g for _, g in used],
                     retain_graph=retain_graph or create_graph, create_graph=create_graph,
                     allow_unused=True))


def _arrays(gs, targets):
    return [np.zeros(t.shape) if g is None else np.asarray(g.numpy(), dtype=np.float64)
            for g, t in zip(gs, targets)]


def _check_no_grad(call, args, opts):
    with enable_grad():
        ref = as_outputs(call(*args))
    try:
        with no_grad():
            outs = as_outputs(call(*args))
    except Exception as e:  # noqa: BLE001 - works with grad on, fails without: the finding
        raise GraphUnderNoGrad(f"forward raised {type(e).__name__} under engine.no_grad() (and not "
                               f"with grad recording on): {e}") from e
    for j, o in enumerate(outs):
        if o.requires_grad or o.grad_fn is not None:
            raise GraphUnderNoGrad(f"under engine.no_grad() output {j} has requires_grad="
                                   f"{o.requires_grad} and grad_fn={o.grad_fn}: it recorded a graph",
                                   output=j)
    for j, (a, b) in enumerate(zip(ref, outs)):
        a, b = np.asarray(a.numpy()), np.asarray(b.numpy())
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-10, atol=0.0, equal_nan=True):
            idx = first_difference(a, b) if a.shape == b.shape else "shape"
            raise GraphUnderNoGrad(f"under engine.no_grad() output {j} differs from the output with "
                                   f"grad recording on (at {idx}): shapes {a.shape} vs {b.shape}",
                                   output=j, element=idx)


def _check_mutation(call, args, opts, inputs=True, upstream=True):
    before = [np.array(a.numpy(), copy=True) if isinstance(a, Tensor) else None for a in args]

    def compare_inputs(phase):
        for i, (a, b) in enumerate(zip(args, before)):
            if b is None or not inputs:
                continue
            idx = first_difference(b, a.numpy())
            if idx is not None:
                now = np.asarray(a.numpy())
                was_v = b[idx].item() if idx != "shape" else b.shape
                now_v = now[idx].item() if idx != "shape" else now.shape
                raise InputMutated(f"{phase} changed input {i} in place at element {idx}: before "
                                   f"{was_v!r}, after {now_v!r} (compute on a copy, or use "
                                   f"out-of-place ops)", input=i, element=idx, before=was_v,
                                   after=now_v, phase=phase)

    outs = as_outputs(call(*args))
    compare_inputs("forward")
    received = []  # (output, the gradient array backward receives, its value then)
    for j, o in enumerate(outs):
        if upstream and o.requires_grad and o.grad_fn is not None:
            o.register_hook(lambda g, j=j: received.append((j, g, np.array(g.numpy(), copy=True))))
    diff = _diff(args)
    rng = np.random.default_rng(1)
    _backward(outs, [args[i] for i in diff], [Tensor(rng.standard_normal(o.shape)) for o in outs])
    compare_inputs("backward")
    for j, g, kept in received:
        idx = first_difference(kept, g.numpy())
        if idx is not None:
            after = np.asarray(g.numpy())[idx].item() if idx != "shape" else g.shape
            raise UpstreamGradientMutated(
                f"backward changed the upstream gradient of output {j} in place at element {idx}: "
                f"before {kept[idx].item() if idx != 'shape' else kept.shape!r}, after {after!r} (return "
                f"new tensors, e.g. g * x instead of g.mul_(x))", output=j, element=idx)


def _check_gradient(call, args, opts):
    diff = _diff(args)
    outs = as_outputs(call(*args))
    targets = [args[i] for i in diff]
    analytic = analytic_jacobians(outs, targets)

    def evaluate():
        return flat(as_outputs(call(*args)))

    for i, a in zip(diff, analytic):
        numeric = numeric_jacobian(evaluate, args[i], f"input {i}", opts["eps"])
        compare(f"input {i}", args[i].shape, a, numeric, outs, opts["atol"], opts["rtol"])


def _check_linearity(call, args, opts):
    diff = _diff(args)
    targets = [args[i] for i in diff]
    outs = as_outputs(call(*args))
    rng = np.random.default_rng(2)
    u = [rng.standard_normal(o.shape) for o in outs]
    w = [rng.standard_normal(o.shape) for o in outs]
    alpha, beta = rng.uniform(0.5, 2.0), rng.uniform(-2.0, -0.5)

    def vjp(vs):
        # copies: backward takes a seed as it is (as PyTorch), and a brick that writes into its
        # upstream gradient (the upstream_mutation check's finding) must not change u and w here
        return _arrays(_backward(outs, targets, [Tensor(v.copy()) for v in vs], retain_graph=True), targets)

    gu, gw = vjp(u), vjp(w)
    gc = vjp([alpha * a + beta * b for a, b in zip(u, w)])
    for i, a, b, c in zip(diff, gu, gw, gc):
        expect = alpha * a + beta * b
        # an element whose backward(u) or backward(w) is NaN or ±Inf has no linear combination to
        # compare with (∞ − ∞); it is not judged, nor does it set the tolerance of the others
        judged = np.isfinite(a) & np.isfinite(b)
        scale = 1.0 + max(np.max(np.abs(a), initial=0.0, where=judged),
                          np.max(np.abs(b), initial=0.0, where=judged))
        bad = judged & ~np.isclose(c, expect, rtol=1e-7, atol=1e-9 * scale)
        if bad.any():
            idx = tuple(int(e) for e in np.unravel_index(int(np.argmax(bad)), np.shape(c)))
            raise NonLinearBackward(
                f"backward is not linear in the output gradient for input {i}, element {idx}: "
                f"backward(αu+βw) = {c[idx]:.10g} but α·backward(u)+β·backward(w) = "
                f"{expect[idx]:.10g} (α={alpha:.4g}, β={beta:.4g}); backward must multiply the "
                f"upstream gradient, never square, abs or offset it",
                input=i, element=idx, analytic=float(c[idx]), numeric=float(expect[idx]))


def _check_double_backward(call, args, opts):
    diff = _diff(args)
    with no_grad():
        shapes = [o.shape for o in as_outputs(call(*args))]
    rng = np.random.default_rng(3)
    vs = [Tensor(rng.standard_normal(s)) for s in shapes]

    def first(*xs):
        with enable_grad():
            outs = as_outputs(call(*xs))
            gs = _backward(outs, [xs[i] for i in diff], vs, create_graph=True)
        return [Tensor(np.zeros(xs[i].shape)) if g is None else g for i, g in zip(diff, gs)]

    try:
        firsts = first(*args)
    except RuntimeError as e:
        raise DoubleBackwardMismatch(f"backward with create_graph=True raised RuntimeError: {e} "
                                     f"(the brick claims second derivatives; set "
                                     f"twice_differentiable = False or pass double_backward=False "
                                     f"if it has none)") from None
    hint = ""
    if not any(g.requires_grad for g in firsts):
        hint = (" (under create_graph=True backward's result is not connected to the inputs: if it "
                "depends on them, write backward with Tensor operations, or declare "
                "twice_differentiable = False)")
    targets = [args[i] for i in diff]
    analytic = analytic_jacobians(firsts, targets)
    for i, a in zip(diff, analytic):
        numeric = numeric_jacobian(lambda: flat(first(*args)), args[i], f"input {i}", opts["eps"])
        try:
            compare(f"input {i}", args[i].shape, a, numeric, firsts, opts["atol"], opts["rtol"],
                    error=DoubleBackwardMismatch, what="second derivative ⟨∂²f/∂x², v⟩")
        except DoubleBackwardMismatch as e:
            e.message = e.args[0] + hint
            e.args = (e.message,)
            raise


def _check_release(call, args, opts):
    diff = _diff(args)
    outs = as_outputs(call(*args))
    used = [o for o in outs if o.requires_grad]
    if not used:
        return
    nodes = [g.node for g in _graph.walk(used) if g.kind == "op"]
    _backward(outs, [args[i] for i in diff], [Tensor(np.ones(o.shape)) for o in outs])
    for node in nodes:
        if not node.is_freed and node.saved_shapes():
            raise SavedTensorsNotReleased(f"{node.name()} still holds saved values of shapes "
                                          f"{node.saved_shapes()} after backward(retain_graph=False)",
                                          node=node.name())
        held = [(k, v) for k, v in getattr(node, "__dict__", {}).items()
                if isinstance(v, Tensor) or (isinstance(v, np.ndarray) and v.size > 1)]
        if held:
            k, v = held[0]
            raise SavedTensorsNotReleased(
                f"{node.name()} keeps ctx.{k} (a {type(v).__name__} of shape {tuple(np.shape(v))}) "
                f"after backward: tensors backward needs must go through ctx.save_for_backward, "
                f"which frees them after backward; keep only non-tensor values as ctx attributes",
                node=node.name(), attribute=k)


def _check_nonfinite(call, args, opts):
    floating = [i for i, a in enumerate(args)
                if isinstance(a, Tensor) and a.dtype.kind == "f" and a.numpy().size]
    for i in floating:
        for special in (np.nan, np.inf, -np.inf):
            xs = [float64_copy(a) for a in args]
            arr = xs[i].numpy()
            idx = tuple(int(e) for e in np.unravel_index(arr.size // 2, arr.shape))
            arr[idx] = special
            phase = "forward"
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    outs = as_outputs(call(*xs))
                    phase = "backward"
                    _backward(outs, [xs[k] for k in _diff(xs)], [Tensor(np.ones(o.shape)) for o in outs])
            except Exception as e:  # noqa: BLE001 - any exception is the finding
                raise NonFiniteCrash(f"a {special} at input {i}, element {idx} made {phase} raise "
                                     f"{type(e).__name__}: {e} (NaN/Inf must flow through, as in every built-in op)", input=i, element=idx,
                                     value=float(special), phase=phase) from None


_CHECKS = {
    "no_grad": _check_no_grad,
    "input_mutation": lambda c, a, o: _check_mutation(c, a, o, inputs=True, upstream=False),
    "upstream_mutation": lambda c, a, o: _check_mutation(c, a, o, inputs=False, upstream=True),
    "gradient": _check_gradient,
    "linearity": _check_linearity,
    "double_backward": _check_double_backward,
    "release": _check_release,
    "nonfinite": _check_nonfinite,
}
