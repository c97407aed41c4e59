"""``gradcheck``: analytic gradients vs central finite differences, in float64.

numeric ∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε, checked against the backward of
⟨f(x), v⟩ for every output element (or a random projection ``v`` with ``fast_mode=True``).
"""
from __future__ import annotations

import numpy as np

from .differentiate import grad as _grad
from .grad_mode import enable_grad, no_grad
from .variable import Variable


class GradcheckError(RuntimeError, AssertionError):
    """Raised by gradcheck when analytic and numeric gradients disagree: a ``RuntimeError`` as
    PyTorch's ``torch.autograd.gradcheck.GradcheckError``, and an ``AssertionError`` so a test
    framework reports it as a failed check."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _diff_inputs(inputs):
    return [i for i, x in enumerate(inputs) if isinstance(x, Variable) and x.requires_grad]


def _check_dtype(inputs):
    for i in _diff_inputs(inputs):
        x = inputs[i]
        if hasattr(x._data, "dtype") and x._data.dtype != np.float64:
            raise GradcheckError(f"gradcheck: input {i} has dtype {x._data.dtype}; finite differences "
                                 f"need float64 inputs (use .double())")


def _flat_payloads(outs):
    return np.concatenate([np.ravel(np.asarray(o._data, dtype=np.float64)) for o in outs]) if outs else np.zeros(0)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, fast_mode=False,
              nondet_tol=0.0, seed=0):
    """True when the backward of ``fn`` matches central differences for every differentiable input.

    On a mismatch raises ``GradcheckError`` naming the input index, the element index (within
    that input), the output element, the analytic and the numeric value (or returns False when
    ``raise_exception=False``).
    """
    inputs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    _check_dtype(inputs)
    diff = _diff_inputs(inputs)
    if not diff:
        raise ValueError("gradcheck: no input requires grad")  # torch: ValueError
    outs = _outputs(fn, inputs)
    sizes = [int(np.size(o._data)) for o in outs]
    total = sum(sizes)
    rng = np.random.default_rng(seed)
    projections = [rng.standard_normal(total)] if fast_mode else list(np.eye(total))
    # the numeric Jacobian of each input once (2 evaluations per input element), then projected
    jacobians = {i: _numeric_jacobian(fn, inputs, i, eps, total) for i in diff} if projections else {}
    for k, v in enumerate(projections):
        analytic = _analytic(fn, inputs, diff, outs, sizes, v)
        for i, a in zip(diff, analytic):
            numeric = (jacobians[i] @ v).reshape(np.shape(inputs[i]._data))
            bad = np.abs(a - numeric) > atol + rtol * np.abs(numeric)
            if np.any(bad) or not np.all(np.isfinite(a) == np.isfinite(numeric)):
                if np.any(bad):
                    j = int(np.argmax(np.abs(a - numeric) * bad))
                else:  # the first element where one side is finite and the other is not
                    j = int(np.argmax(np.isfinite(a) != np.isfinite(numeric)))
                elem = np.unravel_index(j, np.shape(inputs[i]._data)) if np.ndim(inputs[i]._data) else ()
                where = "random projection" if fast_mode else f"output element {k}"
                msg = (f"gradcheck: Jacobian mismatch for input {i}, element {tuple(int(e) for e in elem)}, "
                       f"{where}: analytic {a.ravel()[j]:.8g} vs numeric {numeric.ravel()[j]:.8g} "
                       f"(atol={atol}, rtol={rtol})")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _analytic(fn, inputs, diff, outs, sizes, v):
    """⟨∂f/∂xᵢ, v⟩ for every differentiable input, via one backward."""
    grad_outputs, start = [], 0
    for o, n in zip(outs, sizes):
        seg = v[start:start + n].reshape(np.shape(o._data))
        start += n
        grad_outputs.append(seg if np.ndim(o._data) else float(seg))
    used = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
    if not used:
        return [np.zeros(np.shape(inputs[i]._data)) for i in diff]
    gs = _grad([o for o, _ in used], [inputs[i] for i in diff],
               grad_outputs=[_as_grad(o, g) for o, g in used], retain_graph=True, allow_unused=True)
    return [np.zeros(np.shape(inputs[i]._data)) if g is None else
            np.asarray(g._data, dtype=np.float64).reshape(np.shape(inputs[i]._data)) for i, g in zip(diff, gs)]


def _as_grad(out, g):
    return out._value_cls._wrap(np.asarray(g, dtype=np.float64)) if hasattr(out._data, "shape") else g


def _numeric_jacobian(fn, inputs, i, eps, total):
    """Central differences of every output element w.r.t. every element of input ``i``:
    an array of shape (input size, total output size)."""
    x = inputs[i]
    if not hasattr(x._data, "shape"):  # a Scalar
        orig = x._data
        try:
            with no_grad():
                x._data = orig + eps
                fp = _flat_payloads(_outputs(fn, inputs))
                x._data = orig - eps
                fm = _flat_payloads(_outputs(fn, inputs))
        finally:
            x._data = orig
        return ((fp - fm) / (2 * eps))[None, :]
    if not x._data.flags.c_contiguous:
        x._data = np.ascontiguousarray(x._data)
    flat = x._data.reshape(-1)
    rows = []
    with no_grad():
        for j in range(flat.size):
            orig = flat[j]
            try:
                flat[j] = orig + eps
                fp = _flat_payloads(_outputs(fn, inputs))
                flat[j] = orig - eps
                fm = _flat_payloads(_outputs(fn, inputs))
            finally:
                flat[j] = orig
            if fp.shape != (total,) or fm.shape != (total,):
                raise GradcheckError(
                    f"gradcheck: the output size changed from {total} to {fp.size}/{fm.size} when "
                    f"input {i}, element {tuple(int(e) for e in np.unravel_index(j, x._data.shape))} "
                    f"was perturbed by ±{eps}: the function is not differentiable there")
            rows.append((fp - fm) / (2 * eps))
    if not rows:
        return np.zeros((0, total))
    return np.stack(rows)


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """gradcheck of the first derivative: checks ∂/∂x ⟨∂f/∂x, v⟩ for a random ``v``."""
    inputs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    diff = _diff_inputs(inputs)
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    vs = [o._value_cls._wrap(rng.standard_normal(np.shape(o._data))) for o in outs]

    def first_derivative(*xs):
        with enable_grad():  # gradcheck evaluates this under no_grad for finite differences
            ys = _outputs(fn, list(xs))
            gs = _grad(ys, [xs[i] for i in diff], grad_outputs=vs, create_graph=True,
                       allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol)
