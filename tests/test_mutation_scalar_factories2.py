"""Mutation-testing guards (run 4, second pass) for ``engine.factories``' ``arange``.

What this file guards, each against PyTorch:

* the text of ``arange``'s argument errors: ours is PyTorch's message (``step must be nonzero``,
  ``unsupported range: a -> b``, ``upper bound and lower bound inconsistent with step sign``),
  at most prefixed with ``arange: `` and followed by a parenthesised detail, with the same
  exception type -- including the int64 case where a fractional step truncates to 0 (ValueError);
* empty ranges (``start == end``) are empty tensors whatever the step's sign, not an error;
* ``requires_grad=True`` with an integer ``dtype`` and floating bounds is refused as PyTorch
  refuses it (an integer tensor cannot require gradients).
"""
import re

import numpy as np
import pytest
import torch

import engine

INF, NAN = float("inf"), float("nan")


def _tkw(kw):
    """torch's keyword arguments named like ours (dtype given as a NumPy dtype name)."""
    return {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}


def _ekw(kw):
    return {k: np.dtype(v) if k == "dtype" else v for k, v in kw.items()}


@pytest.mark.parametrize("args, kw", [
    ((0, 5, 0), {}), ((0.0, 5.0, 0.0), {}), ((0, 5, 0), dict(dtype="float64")),
    ((0, INF), {}), ((0.5, NAN), {}), ((-INF, 2.5, 1), {}), ((1, INF), dict(dtype="int32")),
    ((5, 0, 1), {}), ((0, 5, -1), {}), ((1.5, 0.5, 0.25), {}), ((0.5, 3, -1), dict(dtype="int16")),
    ((0, 5, 0.5), dict(dtype="int64")), ((1.5, 4, 0.9), dict(dtype="int64")),
])
def test_arange_errors_carry_torchs_type_and_message(args, kw):
    with pytest.raises((RuntimeError, ValueError)) as te:
        torch.arange(*args, **_tkw(kw))
    with pytest.raises(te.type) as ee:
        engine.arange(*args, **_ekw(kw))
    assert re.fullmatch(r"(arange: )?" + re.escape(str(te.value)) + r"( \(.+\))?", str(ee.value))


@pytest.mark.parametrize("args", [(3, 3), (3, 3, -1), (3, 3, 2), (3.0, 3.0, -1.5), (2.5, 2.5),
                                  (-1.5, -1.5, -2.0), (0, 0, -3)])
@pytest.mark.parametrize("dtype", [None, "int64", "int32", "float64"])
def test_arange_empty_range_is_empty_like_torch(args, dtype):
    kw = {} if dtype is None else dict(dtype=dtype)
    t = torch.arange(*args, **_tkw(kw))
    e = engine.arange(*args, **_ekw(kw))
    assert e.shape == tuple(t.shape) == (0,)
    assert e.dtype == np.dtype(str(t.dtype).removeprefix("torch."))


@pytest.mark.parametrize("args", [(0.5, 4.5, 1.0), (0, 3.5), (4.0,), (5, 0.5, -1.5)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_arange_integer_dtype_refuses_requires_grad_like_torch(args, dtype):
    with pytest.raises(RuntimeError) as te:
        torch.arange(*args, dtype=getattr(torch, dtype), requires_grad=True)
    with pytest.raises(type(te.value)):
        engine.arange(*args, dtype=np.dtype(dtype), requires_grad=True)
    # and without requires_grad both give the same integer tensor
    t = torch.arange(*args, dtype=getattr(torch, dtype))
    e = engine.arange(*args, dtype=np.dtype(dtype))
    assert e.requires_grad is t.requires_grad is False
    np.testing.assert_array_equal(e.numpy(), t.numpy())
