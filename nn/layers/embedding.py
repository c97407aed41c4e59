"""``Embedding``: a lookup table of ``num_embeddings`` vectors of size ``embedding_dim``."""
from __future__ import annotations

import numpy as np

from engine import Tensor
from engine.device import check_device
from engine.dtypes import get_default_dtype
from engine.random import generator

from ..functional.embedding import embedding
from ..module import Module
from ..parameter import Parameter
from ..validation import size_arg

__all__ = ["Embedding"]


class Embedding(Module):
    """out = weight[input] with ``weight (num_embeddings, embedding_dim)`` ~ N(0, 1) (PyTorch's
    init); the ``padding_idx`` row starts at zero and never receives gradient; ``max_norm``
    renormalises looked-up rows in place (see ``F.embedding``)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False,
                 device=None, dtype=None):
        super().__init__()
        check_device(device)
        self.num_embeddings = size_arg(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = size_arg(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings {self.num_embeddings}")
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            w = generator().standard_normal(shape).astype(dtype)
            if padding_idx is not None:
                w[padding_idx] = 0
        else:
            w = np.array(_weight.numpy() if isinstance(_weight, Tensor) else _weight)
            if w.shape != shape:
                raise ValueError(f"Embedding: _weight has shape {w.shape}, expected {shape}")
        self.weight = Parameter(w, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is a copy of the 2-D ``embeddings`` (frozen by default)."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input):  # noqa: A002
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s
