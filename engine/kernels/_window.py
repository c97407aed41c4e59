"""Window geometry shared by the convolution and pooling kernels."""
from __future__ import annotations


def pair(v) -> tuple[int, int]:
    """``(v, v)`` for a number, ``(v[0], v[1])`` for a pair: PyTorch's ``_pair`` for the kernels'
    kernel_size/stride/padding/dilation (the layers validate them first, ``nn.validation``)."""
    if isinstance(v, (tuple, list)):
        a, b = v
        return int(a), int(b)
    return int(v), int(v)
