"""What the built-in stochastic and batch-statistics layers document, checked inside any module
that contains them (through forward hooks):

* ``Dropout(p)``: in train every output element is 0 or x/(1 − p); in eval the output is x.
* ``Dropout2d(p)`` on (N, C, H, W): in train each channel map is all 0 or x/(1 − p); eval: x.
* ``BatchNorm1d/2d``: in train y = (x − μ_B)/√(σ²_B + eps)·γ + β with the batch statistics and,
  when tracking, running ← (1 − m)·running + m·batch (unbiased variance); in eval
  y = (x − running_mean)/√(running_var + eps)·γ + β and the buffers do not change.
"""
from __future__ import annotations

import numpy as np

from ..layers import BatchNorm1d, BatchNorm2d, Dropout, Dropout2d
from .errors import TrainEvalMismatch

_RTOL = 1e-7


def record(module, run_train, run_eval):
    """Run ``run_train()`` in train mode and ``run_eval()`` in eval mode with hooks on every
    Dropout/Dropout2d/BatchNorm submodule; check each recorded call; restore the mode."""
    calls = []
    handles = []
    for name, sub in module.named_modules():
        if not isinstance(sub, (Dropout, Dropout2d, BatchNorm1d, BatchNorm2d)):
            continue

        def pre(mod, args, name=name):
            calls.append({"name": name or type(mod).__name__, "module": mod, "training": mod.training,
                          "x": np.array(np.asarray(args[0].numpy()), copy=True),
                          "stats": _stats(mod)})

        def post(mod, args, out):
            calls[-1]["y"] = np.array(np.asarray(out.numpy()), copy=True)
            calls[-1]["stats_after"] = _stats(mod)

        handles.append(sub.register_forward_pre_hook(pre))
        handles.append(sub.register_forward_hook(post))
    was_training = module.training
    try:
        module.train()
        run_train()
        module.eval()
        run_eval()
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    for call in calls:
        if "y" in call:
            _check(call)


def _stats(mod):
    rm, rv = getattr(mod, "running_mean", None), getattr(mod, "running_var", None)
    if rm is None or rv is None:
        return None
    return np.array(np.asarray(rm.numpy()), copy=True), np.array(np.asarray(rv.numpy()), copy=True)


def _fail(call, what):
    mode = "train" if call["training"] else "eval"
    raise TrainEvalMismatch(f"{call['name']} ({type(call['module']).__name__}) in {mode} mode: "
                            f"{what}", submodule=call["name"], mode=mode)


def _check(call):
    mod, x, y = call["module"], call["x"], call["y"]
    if isinstance(mod, (Dropout, Dropout2d)):
        if not call["training"] or mod.p == 0:
            if not np.array_equal(x, y):
                _fail(call, "output is not the input (dropout must be the identity here)")
            return
        kept = x / (1 - mod.p) if mod.p < 1 else np.zeros_like(x)
        zero, scaled = y == 0, np.isclose(y, kept, rtol=_RTOL, atol=0)
        if not np.all(zero | scaled):
            _fail(call, f"an output element is neither 0 nor x/(1 − p) with p={mod.p}")
        if isinstance(mod, Dropout2d) and x.ndim == 4:
            per_map = zero.reshape(x.shape[0], x.shape[1], -1)
            nonzero_x = (x != 0).reshape(per_map.shape)
            mixed = np.any(per_map & nonzero_x, axis=2) & np.any(~per_map, axis=2)
            if mixed.any():
                _fail(call, "a channel map is partly zeroed (Dropout2d drops whole channels)")
        return
    _check_batchnorm(call, mod, x, y)


def _check_batchnorm(call, mod, x, y):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    gamma = np.ones(x.shape[1]) if mod.weight is None else np.asarray(mod.weight.numpy())
    beta = np.zeros(x.shape[1]) if mod.bias is None else np.asarray(mod.bias.numpy())
    before, after = call["stats"], call["stats_after"]
    if call["training"] or before is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = before
    expect = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + mod.eps) * gamma.reshape(shape) \
        + beta.reshape(shape)
    if not np.allclose(y, expect, rtol=_RTOL, atol=1e-9):
        which = "batch statistics" if call["training"] or before is None else "running statistics"
        _fail(call, f"output is not (x − mean)/√(var + eps)·γ + β with the {which}")
    if before is None:
        return
    if not call["training"]:
        if not (np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])):
            _fail(call, "running statistics changed in eval mode")
        return
    if mod.momentum is None:
        return  # cumulative average: depends on num_batches_tracked
    m = mod.momentum
    n = x.size // x.shape[1]
    unbiased = x.var(axis=axes) * n / max(n - 1, 1)
    if not (np.allclose(after[0], (1 - m) * before[0] + m * mean, rtol=_RTOL, atol=1e-12)
            and np.allclose(after[1], (1 - m) * before[1] + m * unbiased, rtol=_RTOL, atol=1e-12)):
        _fail(call, f"running statistics are not (1 − momentum)·running + momentum·batch "
                    f"(momentum={m}, unbiased batch variance)")
