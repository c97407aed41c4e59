"""Matrix products with PyTorch's strict shape rules — ``mm bmm mv dot t addmm`` (each is a
checked ``Matmul``) — and ``norm`` (the vector p-norm over ``dim``)."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ._util import reduce_dims, tensor_arg
from .matmul import Matmul
from .reduction import _keep
from .rounding import sign_array  # 0 at NaN: PyTorch's sgn, which its norm gradients use
from .shape import Permute


def _need(name, arg, t, ndim):
    tensor_arg(name, arg, t)
    if t.ndim != ndim:
        raise RuntimeError(f"{name}: {arg} must be a {ndim}-D tensor, got shape {tuple(t.shape)}")


def mm(input, mat2):  # noqa: A002
    """Matrix product of two 2-D tensors: (n, m) @ (m, p) -> (n, p)."""
    _need("mm", "input", input, 2)
    _need("mm", "mat2", mat2, 2)
    return Matmul.apply(input, mat2)


def bmm(input, mat2):  # noqa: A002
    """Batched matrix product of 3-D tensors: (b, n, m) @ (b, m, p) -> (b, n, p), no broadcasting."""
    _need("bmm", "input", input, 3)
    _need("bmm", "mat2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}")
    return Matmul.apply(input, mat2)


def mv(input, vec):  # noqa: A002
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    _need("mv", "input", input, 2)
    _need("mv", "vec", vec, 1)
    return Matmul.apply(input, vec)


def dot(input, other):  # noqa: A002
    """Inner product of two 1-D tensors of equal length: Σᵢ aᵢ bᵢ (a 0-d tensor)."""
    _need("dot", "input", input, 1)
    _need("dot", "other", other, 1)
    if input.shape != other.shape:
        raise RuntimeError(f"dot: 1-D tensors of different lengths {input.shape[0]} and {other.shape[0]}")
    return Matmul.apply(input, other)


def t(input):  # noqa: A002
    """Transpose of a tensor with at most 2 dims (0-d and 1-D are returned as they are)."""
    tensor_arg("t", "input", input)
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but got shape {tuple(input.shape)}; "
                           f"use transpose(dim0, dim1) or permute")
    if input.ndim < 2:
        return input
    return Permute.apply(input, (1, 0))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """beta · input + alpha · (mat1 @ mat2), ``input`` broadcast to the product's shape."""
    tensor_arg("addmm", "input", input)
    for name, v in (("beta", beta), ("alpha", alpha)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"addmm(): {name} must be a number, got {v!r}")
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:  # PyTorch: input is ignored (NaN in it does not propagate)
        return prod
    return prod + (input if beta == 1 else input * beta)


class Norm(Function):
    """out = (Σ_dims |a|ᵖ)^(1/p) (p = ±inf: max/min |a|; p = 0: count of non-zeros);
    da = g · w with PyTorch's ``norm_backward`` weights (so NaN/Inf propagate as there: NaN at an
    infinite entry for p ∉ {1, ±inf}): p = 1: sgn(a); p = 2: a / out (0 where out = 0); p = ±inf:
    sgn(a) shared among the entries with |a| = out or NaN; p < 1: sgn(a) |a|^(p−1) out^(1−p)
    (0 where a = 0); 1 < p < 2: sgn(a) |a|^(p−1) / out^(p−1) and p > 2: a |a|^(p−2) / out^(p−1)
    (0 where out = 0)."""
    raw = True
    twice_differentiable = False  # the saved weights are an intermediate

    @staticmethod
    def forward(ctx, a, p, dims, keepdim):
        ax = np.abs(a)
        if p == np.inf or p == -np.inf:
            out = (np.max if p > 0 else np.min)(ax, axis=dims, keepdims=True)
            hit = (ax == out) | np.isnan(ax)
            w = sign_array(a) * hit / np.maximum(hit.sum(axis=dims, keepdims=True), 1)
        elif p == 0:
            out = (ax != 0).sum(axis=dims, keepdims=True).astype(a.dtype)
            w = np.zeros_like(a)
        else:
            out = (ax ** p).sum(axis=dims, keepdims=True) ** (1.0 / p)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                if p == 1:
                    w = sign_array(a)
                elif p == 2:
                    w = np.where(out == 0, 0, a / out)
                elif p < 1:
                    w = np.where(a == 0, 0, sign_array(a) * ax ** (p - 1)) * out ** (1 - p)
                else:
                    num = sign_array(a) * ax ** (p - 1) if p < 2 else a * ax ** (p - 2)
                    w = num * np.where(out == 0, 0, 1 / out ** (p - 1))
            w = np.asarray(w)  # an array also for a 0-d ``a``
        ctx.save_for_backward(w.astype(a.dtype, copy=False))
        ctx.meta = (a.shape, dims, keepdim)
        out = out.astype(a.dtype, copy=False)
        return out if keepdim else out.reshape([s for i, s in enumerate(a.shape) if i not in dims])

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        shape, dims, keepdim = ctx.meta
        return _keep(g, shape, dims, keepdim) * w, None, None, None


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):  # noqa: A002
    """The vector p-norm of ``input`` over ``dim`` (all dims when None): (Σ|x|ᵖ)^(1/p).

    ``p``: a number, ``inf``/``-inf`` (max/min |x|), ``"fro"`` or None (= 2). ``"nuc"`` is not provided.
    """
    tensor_arg("norm", "input", input)
    if dtype is not None:
        input = input.to(dtype)  # noqa: A001
    if p is None or p == "fro":  # PyTorch: None is the default 2-norm
        p = 2.0
    if isinstance(p, str) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"norm: p must be a number, inf, -inf or 'fro', got {p!r}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating point tensor, got dtype {input.dtype}")
    dims = reduce_dims(dim, input.ndim)  # a 0-d input takes dim 0 / -1 (and no other), as PyTorch
    return Norm.apply(input, float(p), dims, bool(keepdim))
