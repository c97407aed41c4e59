"""Test helper: central finite differences on ndarrays (for kernels that have no Tensor wrapper)."""
import numpy as np


def central_differences(f, a, eps=1e-6):
    """∂f/∂a[i] ≈ (f(a + εeᵢ) − f(a − εeᵢ)) / 2ε for every element of ``a`` (edited in place and
    restored); ``f`` takes no argument and reads ``a``."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        hi = f()
        a[i] = old - eps
        lo = f()
        a[i] = old
        g[i] = (hi - lo) / (2 * eps)
    return g
