"""Jacobians for the checks: numeric (central differences, perturbing a tensor in place) and
analytic (one backward per output element), and their comparison.

numeric  J[j, k] = (f_k(x + ε e_j) − f_k(x − ε e_j)) / 2ε
analytic J[j, k] = (∂f_k/∂x_j), row j of ``grad(f, x, grad_outputs=e_k)``
"""
from __future__ import annotations

import numpy as np

from .. import Tensor, grad, no_grad
from .errors import GradientMismatch


def as_outputs(result, what="the function") -> list:
    """The Tensors a call returned, as a list (a Tensor, or a tuple/list of them)."""
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    for j, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{what} must return a Tensor or a tuple of Tensors; output {j} is "
                            f"{type(o).__name__}")
    return outs


def flat(outs) -> np.ndarray:
    """Every output element, concatenated, as float64."""
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(o.numpy(), dtype=np.float64)) for o in outs])


def output_element(outs, k):
    """Output index and element index of flat position ``k``."""
    for j, o in enumerate(outs):
        n = int(np.prod(o.shape))
        if k < n:
            return j, tuple(int(e) for e in np.unravel_index(k, o.shape))
        k -= n
    raise IndexError(k)


def numeric_jacobian(evaluate, target, label, eps):
    """Central differences of ``evaluate()`` (a flat float64 vector) w.r.t. every element of
    ``target`` (a Tensor whose payload is perturbed in place and restored): shape (n_in, n_out)."""
    arr = target.numpy()
    if not arr.flags.writeable:
        raise TypeError(f"{label}: its array is read-only, finite differences cannot perturb it")
    base = evaluate()
    rows = np.empty((arr.size, base.size))
    with no_grad():
        for j, idx in enumerate(np.ndindex(arr.shape)):
            orig = arr[idx]
            try:
                arr[idx] = orig + eps
                fp = evaluate()
                arr[idx] = orig - eps
                fm = evaluate()
            finally:
                arr[idx] = orig
            if fp.shape != base.shape or fm.shape != base.shape:
                raise GradientMismatch(
                    f"the output size changed from {base.size} to {fp.size}/{fm.size} when {label}, "
                    f"element {idx} was perturbed by ±{eps}: the function is not differentiable "
                    f"there", input=label, element=idx)
            rows[j] = (fp - fm) / (2 * eps)
    return rows


def analytic_jacobians(outs, targets):
    """For each target, its Jacobian (n_in, n_out) from one backward per output element
    (``retain_graph=True``); zeros where an output does not depend on the target."""
    sizes = [int(np.prod(o.shape)) for o in outs]
    total = sum(sizes)
    jac = [np.zeros((int(np.prod(t.shape)), total)) for t in targets]
    used = [j for j, o in enumerate(outs) if o.requires_grad]
    if not used:
        return jac
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    for k in range(total):
        seeds = []
        for j in used:
            g = np.zeros(sizes[j])
            if start[j] <= k < start[j + 1]:
                g[k - start[j]] = 1.0
            seeds.append(Tensor(g.reshape(outs[j].shape)))
        gs = grad([outs[j] for j in used], list(targets), grad_outputs=seeds, retain_graph=True,
                  allow_unused=True)
        for i, g in enumerate(gs):
            if g is not None:
                jac[i][:, k] = np.ravel(np.asarray(g.numpy(), dtype=np.float64))
    return jac


def compare(label, target_shape, analytic, numeric, outs, atol, rtol, error=GradientMismatch,
            what="gradient"):
    """Raise ``error`` at the worst element where |analytic − numeric| > atol + rtol·|numeric|
    (or where one is finite and the other is not)."""
    bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
    bad |= np.isfinite(analytic) != np.isfinite(numeric)
    if not bad.any():
        return
    worst = np.where(bad, np.nan_to_num(np.abs(analytic - numeric), nan=np.inf, posinf=np.inf), -1.0)
    j, k = np.unravel_index(int(np.argmax(worst)), worst.shape)
    elem = tuple(int(e) for e in np.unravel_index(j, target_shape)) if target_shape else ()
    out_j, out_elem = output_element(outs, int(k))
    a, n = float(analytic[j, k]), float(numeric[j, k])
    raise error(f"{what} mismatch for {label}, element {elem}, output {out_j} element {out_elem}: "
                f"analytic {a:.10g} vs numeric {n:.10g} (|diff| {abs(a - n):.3g} > atol {atol} + "
                f"rtol {rtol} * |numeric|)", input=label, element=elem, output=out_j,
                output_element=out_elem, analytic=a, numeric=n)
