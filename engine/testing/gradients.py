"""``assert_gradients_match``: one function's backward against central finite differences."""
from __future__ import annotations

import numpy as np

from .. import GradcheckError, Tensor, gradcheck

__all__ = ["assert_gradients_match"]


def assert_gradients_match(fn, *tensors, atol=1e-5, rtol=1e-3, eps=1e-6, fast_mode=False):
    """Assert that the backward of ``fn(*tensors)`` matches central finite differences.

    ``fn`` may return a Tensor of any shape (every output element is checked; ``fast_mode=True``
    checks one random projection instead) or a tuple of Tensors. Floating inputs that require
    grad but are not float64 are checked on float64 copies. Raises ``AssertionError`` naming
    the function, the input shapes, the offending input and element, and both values.
    """
    args = []
    for t in tensors:
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            t = Tensor(np.asarray(t.numpy(), dtype=np.float64), requires_grad=True)
        args.append(t)
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        raise AssertionError("assert_gradients_match: no input requires grad (pass tensors made "
                             "with requires_grad=True)")
    try:
        gradcheck(fn, args, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    except GradcheckError as e:
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, type):  # MyFunction.apply
            name = f"{owner.__name__}.{fn.__name__}"
        else:
            name = getattr(fn, "__qualname__", None) or repr(fn)
        shapes_ = ", ".join(str(tuple(a.shape)) if isinstance(a, Tensor) else type(a).__name__
                            for a in args)
        raise AssertionError(f"gradients of {name} do not match finite differences for inputs of "
                             f"shapes [{shapes_}]:\n{e}") from None
