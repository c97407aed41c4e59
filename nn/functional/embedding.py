"""``embedding``: rows of a weight matrix picked by integer indices; the gradient scatter-adds g
into the picked rows, except the ``padding_idx`` row, which never receives gradient."""
from __future__ import annotations

import numpy as np

import engine
from engine import Function, Tensor
from engine.ops._util import run
from engine.ops.indexing import IndexAdd

from ..validation import tensor_arg

__all__ = ["embedding"]


class EmbeddingFunction(Function):
    """out[...] = weight[idx[...]];  dweight = Σ of g over the positions of each row, 0 for the
    ``padding_idx`` row."""

    raw = True

    @staticmethod
    def forward(ctx, weight, idx, padding_idx):
        ctx.meta = (weight.shape, weight.dtype, idx, padding_idx)
        return weight[idx]

    @staticmethod
    def backward(ctx, g):
        shape, dtype, idx, pad = ctx.meta
        if pad is not None:
            g = g * (idx != pad)[..., None]
        return run(IndexAdd, g, shape, dtype, idx), None, None


def _renorm_(weight, idx, max_norm, norm_type):
    """PyTorch's embedding_renorm_: rows referenced by ``idx`` whose ``norm_type``-norm exceeds
    ``max_norm`` are scaled (in place, not recorded) to norm max_norm (with a 1e-7 margin)."""
    rows = np.unique(idx)
    w = weight.numpy()
    norms = np.linalg.vector_norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        with engine.no_grad():
            weight[rows[big]] = w[rows[big]] * scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """``weight[input]``: for integer ``input`` of any shape, the rows of ``weight (V, D)``, shape
    ``input.shape + (D,)``. ``padding_idx`` rows get no gradient; with ``max_norm`` the looked-up
    rows are first renormalised in place to at most that norm (as PyTorch)."""
    tensor_arg(weight, "weight", "embedding")
    idx = input.numpy() if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices (int64), got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(weight.shape)}")
    v = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= v):
        bad = int(idx.min() if idx.min() < 0 else idx.max())
        raise IndexError(f"embedding: index {bad} is out of range for {v} embeddings")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not provided")
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings {v}")
        padding_idx = padding_idx % v
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    return EmbeddingFunction.apply(weight, idx, padding_idx)
