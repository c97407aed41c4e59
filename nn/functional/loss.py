"""Loss functions with PyTorch's names, arguments and reductions ('mean' | 'sum' | 'none').

Cross-entropy over class indices is one fused Function on the Numba kernel
``engine.kernels.softmax_xent`` (log-softmax + gather forward, (softmax − onehot)·w backward);
``nll_loss(log_softmax(x), t)`` is the composite twin it is tested against. Bad targets raise errors naming the shapes, dtypes or offending value.
"""
from __future__ import annotations

import warnings

import numpy as np

from engine import Function, as_tensor
from engine.ops.unary import sigmoid_array

from .activation import _pointwise

__all__ = ["mse_loss", "l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"]


class _TargetDtypeError(TypeError, RuntimeError):
    """A target of the wrong dtype (a TypeError; a RuntimeError as in PyTorch)."""


def _arr(x):
    """A Tensor, array or list (a target, a weight) as an ndarray; None stays None."""
    return None if x is None else np.asarray(x)


def _reduction(size_average, reduce, reduction):
    """PyTorch's legacy ``size_average``/``reduce`` flags mapped to a reduction string."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction "
                      "instead.", stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction (use 'mean', 'sum' or 'none')")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _same_shape_pair(name, input, target):  # noqa: A002
    input, target = as_tensor(input), as_tensor(target)  # noqa: A001
    if input.shape != target.shape:
        warnings.warn(f"{name}: using a target size {tuple(target.shape)} that is different to the "
                      f"input size {tuple(input.shape)}. This will likely lead to incorrect results "
                      f"due to broadcasting. Please ensure they have the same size.", stacklevel=3)
    return input, target


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


# -- regression losses ----------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """ℓ = w·(x − y)² elementwise, then reduced (mean over all elements, sum, or none)."""
    reduction = _reduction(size_average, reduce, reduction)
    input, target = _same_shape_pair("mse_loss", input, target)  # noqa: A001
    d = input - target
    return _reduce(_weighted(d * d, weight), reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """ℓ = w·|x − y| elementwise, then reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    input, target = _same_shape_pair("l1_loss", input, target)  # noqa: A001
    return _reduce(_weighted((input - target).abs(), weight), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """ℓ = ½(x − y)² where |x − y| < δ, else δ(|x − y| − ½δ); then reduced."""
    reduction = _reduction(None, None, reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _same_shape_pair("huber_loss", input, target)  # noqa: A001
    return _reduce(_weighted(_Huber.apply(input - target, float(delta)), weight), reduction)


def _huber(d, delta, need):
    """ℓ(d) = ½d² where |d| < δ, else δ(|d| − ½δ);  ℓ'(d) = clip(d, −δ, δ), PyTorch's
    huber_loss_backward (±δ for an infinite d, NaN for a NaN d: the composite form gave NaN and
    0 there)."""
    ad = np.abs(d)
    out = np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta)).astype(d.dtype, copy=False)
    return out, (np.clip(d, -delta, delta) if need else None)


_Huber = _pointwise("Huber", _huber)


# -- classification over class indices ------------------------------------------------------------
def _class_targets(name, x, target, weight, ignore_index):
    """Flatten (N, C, d1, …) logits to (M, C) with the class dim last and validate the targets.
    Returns (x2, t, w_t, t_raw, batch_shape): safe int targets t (M,) (0 where ignored), per-row
    weights w_t (0 where ignored) in x's dtype, the raw flat targets, and the target's shape."""
    xs = tuple(x.shape)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d input")
    C = xs[0] if x.ndim == 1 else xs[1]
    batch = () if x.ndim == 1 else xs[:1] + xs[2:]
    td = _arr(target)
    if td.dtype.kind not in "iu":
        extra = ("; class-probability targets must be floating point with the input's shape"
                 if name == "cross_entropy" else "")
        raise _TargetDtypeError(f"{name}: input {xs} {x.dtype} and target {tuple(td.shape)} "
                                f"{td.dtype}: class-index targets must be integers (int64) of "
                                f"shape {batch}{extra}")
    if tuple(td.shape) != batch:
        raise ValueError(f"{name}: input {xs} and target {tuple(td.shape)}: expected a target of "
                         f"shape {batch} (input (N, C, d1, ...) takes target (N, d1, ...))")
    t = td.reshape(-1).astype(np.int64, copy=False)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        raise IndexError(f"{name}: target value {int(t[bad][0])} is out of bounds for {C} classes "
                         f"(valid: 0..{C - 1}, or ignore_index={ignore_index})")
    t = np.where(valid, t, 0)
    if weight is not None:
        w = _arr(weight)
        if w.shape != (C,):
            raise ValueError(f"{name}: weight {tuple(w.shape)} must have one entry per class: ({C},)")
        w_t = w[t] * valid
    else:
        w_t = valid
    w_t = w_t.astype(x.dtype, copy=False)
    t_raw = td.reshape(-1).astype(np.int64, copy=False)
    if x.ndim == 1:
        x2 = x.reshape(1, C)
    elif x.ndim == 2:
        x2 = x
    else:
        x2 = x.permute(0, *range(2, x.ndim), 1).reshape(-1, C)
    return x2, t, w_t, t_raw, batch


class CrossEntropy(Function):
    """Fused log-softmax + cross-entropy of logits x (M, C) against class indices (Numba kernel
    ``engine.kernels.softmax_xent``): ℓ_n = −(1 − ε) w[t_n] logp[n, t_n] − ε/C Σ_c w_c logp[n, c];
    dx_n = g_n (A_n softmax(x_n) − a_n), a_nc = (1 − ε) w[t_n] [c = t_n] + ε/C w_c, A_n = Σ_c a_nc."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, t, weight, ignore_index, eps, reduction):
        from engine.kernels import softmax_xent

        loss, lse = softmax_xent.cross_entropy_forward(x, t, weight, ignore_index, eps, reduction)
        ctx.meta = (t, weight, ignore_index, eps, reduction)
        ctx.save_for_backward(x, lse)
        return loss

    @staticmethod
    def backward(ctx, g):
        from engine.kernels import softmax_xent

        x, lse = ctx.saved_tensors
        t, weight, ignore_index, eps, reduction = ctx.meta
        return (softmax_xent.cross_entropy_backward(g, x, t, lse, weight, ignore_index, eps, reduction),
                None, None, None, None, None)


def _nll_rows(logp2, t, w_t, reduction):
    """ℓ_n = −w_n · logp[n, t_n] by gather (composite ops); mean divides by Σ w_n."""
    loss = -(logp2[np.arange(logp2.shape[0]), t] * w_t)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return loss.sum() / w_t.sum()
    return _reduce(loss, reduction)


def _unflatten(out, reduction, batch):
    return out.reshape(batch) if reduction == "none" else out


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """Negative log-likelihood of class-index targets: ℓ_n = −w[t_n] · x[n, t_n] for log-probabilities
    x (N, C) or (N, C, d1, …) (or (C,) with a 0-d target); targets equal to ``ignore_index`` count
    0; 'mean' divides Σℓ by Σ w[t_n] over the kept targets."""
    reduction = _reduction(size_average, reduce, reduction)
    x = as_tensor(input)
    x2, t, w_t, _, batch = _class_targets("nll_loss", x, target, weight, ignore_index)
    return _unflatten(_nll_rows(x2, t, w_t, reduction), reduction, batch)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits x (N, C), (N, C, d1, …) or (C,) against class indices t:
    ℓ_n = −w[t_n] · log softmax(x_n)[t_n] ('mean': Σℓ / Σ w[t_n], ignored targets excluded), or
    against class probabilities y of x's shape: ℓ_n = −Σ_c w_c y_{n,c} log softmax(x_n)_c ('mean':
    divided by the number of rows). label_smoothing ε: (1 − ε)·ℓ + ε/C · (−Σ_c w_c log p_{n,c})
    for indices; y ← (1 − ε) y + ε/C for probabilities."""
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    x = as_tensor(input)
    if np.asarray(_arr(target)).dtype.kind == "f":
        return _soft_cross_entropy(x, as_tensor(target), weight, reduction, label_smoothing)
    x2, _, _, t_raw, batch = _class_targets("cross_entropy", x, target, weight, ignore_index)
    w = None if weight is None else _arr(weight)
    out = CrossEntropy.apply(x2, t_raw, w, int(ignore_index), float(label_smoothing), reduction)
    return _unflatten(out, reduction, batch)


def _soft_cross_entropy(x, y, weight, reduction, eps):
    if y.shape != x.shape:
        raise _TargetDtypeError(
            f"cross_entropy: input {tuple(x.shape)} {x.dtype} and target {tuple(y.shape)} {y.dtype}: "
            f"class-index targets must be integers (int64) of shape {() if x.ndim == 1 else x.shape[:1] + x.shape[2:]}; "
            f"floating-point targets are class probabilities and must have the input's shape")
    cdim = 0 if x.ndim == 1 else 1
    C = x.shape[cdim]
    if eps:
        y = y * (1 - eps) + eps / C
    logp = x.log_softmax(dim=cdim)
    if weight is not None:
        w = _arr(weight).astype(x.dtype, copy=False)
        if w.shape != (C,):
            raise ValueError(f"cross_entropy: weight {tuple(w.shape)} must have one entry per class: ({C},)")
        logp = logp * w.reshape((C,) + (1,) * (x.ndim - cdim - 1))
    per = -(logp * y).sum(dim=cdim)
    if reduction == "mean":
        return per.sum() / (x._data.size / C)
    return _reduce(per, reduction)


# -- binary ---------------------------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """ℓ = −w (y log x + (1 − y) log(1 − x)), logs clamped at −100;
    dx = w (x − y) / max(x (1 − x), 1e-12), dy = −w (log x − log(1 − x))."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, y, w):
        if np.any((x < 0) | (x > 1)):
            raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                             f"(got min {x.min():.4g}, max {x.max():.4g}); use "
                             "binary_cross_entropy_with_logits for logits")
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        loss = -(y * lx + (1 - y) * l1x)
        w = 1 if w is None else w
        nx, ny = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ctx.save_for_backward((x - y) / np.maximum(x * (1 - x), 1e-12) * w if nx else None,
                              -(lx - l1x) * w if ny else None)
        return np.asarray(loss * w, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        gx, gy = ctx.saved_tensors
        return (None if gx is None else g * gx), (None if gy is None else g * gy), None


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = w [(1 − y) x + (1 + (p − 1) y) softplus(−x)] (p = pos_weight, 1 if None);
    dx = w [(1 − y) − (1 + (p − 1) y) σ(−x)], dy = w [−x + (p − 1) softplus(−x)]."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, y, w, pw):
        sp = np.logaddexp(0, -x)
        lw = 1 if pw is None else 1 + (pw - 1) * y
        w = 1 if w is None else w
        loss = ((1 - y) * x + lw * sp) * w
        nx, ny = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        sig = None
        if nx:
            sig = ((1 - y) - lw * sigmoid_array(-x)) * w
        gy = ((-x if pw is None else -x + (pw - 1) * sp) * w) if ny else None
        ctx.save_for_backward(sig, gy)
        return np.asarray(loss, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        gx, gy = ctx.saved_tensors
        return (None if gx is None else g * gx), (None if gy is None else g * gy), None, None


def _binary_args(name, input, target, weight):  # noqa: A002
    x, y = as_tensor(input), as_tensor(target)
    if x.shape != y.shape:
        raise ValueError(f"{name}: target {tuple(y.shape)} must have the same shape as input "
                         f"{tuple(x.shape)}")
    if y.dtype.kind != "f":
        raise _TargetDtypeError(f"{name}: input {tuple(x.shape)} {x.dtype} and target "
                                f"{tuple(y.shape)} {y.dtype}: the target must be floating point "
                                f"(probabilities in [0, 1])")
    w = _arr(weight)
    return x, y, None if w is None else w.astype(x.dtype, copy=False)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """ℓ = −w [y log x + (1 − y) log(1 − x)] for probabilities x, each log clamped at −100 (as
    PyTorch, so ℓ stays finite); then reduced (mean over all elements)."""
    reduction = _reduction(size_average, reduce, reduction)
    x, y, w = _binary_args("binary_cross_entropy", input, target, weight)
    return _reduce(BinaryCrossEntropy.apply(x, y, w), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """BCE on logits x, computed stably as ℓ = w [(1 − y) x + (1 + (p − 1) y)(log(1 + e^(−|x|)) + max(−x, 0))]
    with p = pos_weight (broadcast along the last, class, dim); then reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    x, y, w = _binary_args("binary_cross_entropy_with_logits", input, target, weight)
    pw = _arr(pos_weight)
    pw = None if pw is None else pw.astype(x.dtype, copy=False)
    return _reduce(BinaryCrossEntropyWithLogits.apply(x, y, w, pw), reduction)
