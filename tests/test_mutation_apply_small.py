"""Mutation-testing guards for ``engine.function.apply_small`` (the fast path of every built-in
one/two-argument op, and of any ``raw`` user Function of one or two arguments).

What they pin down, next to tests/test_arch_fast_path.py (which compares nodes for leaf inputs):

* views (``view_of``) share their base's version counter, recorded or not, and nothing else
  does: checked against PyTorch's ``_version`` and its "modified by an inplace operation" error;
* the branch for several outputs / non-differentiable outputs (``_wire_outputs``): an integer
  cast has no gradient (as PyTorch), a raw Function's tuple outputs are a tuple of Tensors with
  or without grad mode, their gradients and saved-value version checks match PyTorch's, saving
  ``None`` works, and tuple outputs of a view Function share the base's version counter;
* the edge to a non-leaf input is recorded exactly as ``_apply_general`` records it.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import engine
from engine import Tensor
from engine.function import _apply_general, apply_small

X = np.arange(1.0, 7.0).reshape(2, 3)

VIEWS = {  # name: (ours, PyTorch's)
    "reshape": (lambda t: t.reshape(3, 2), lambda t: t.reshape(3, 2)),
    "view": (lambda t: t.view(-1), lambda t: t.view(-1)),
    "permute": (lambda t: t.permute(1, 0), lambda t: t.permute(1, 0)),
    "transpose": (lambda t: t.transpose(0, 1), lambda t: t.transpose(0, 1)),
}
WRITABLE_VIEWS = sorted(VIEWS)  # (an expanded tensor may not be written in place)
VIEWS["expand"] = (lambda t: t.reshape(1, 6).expand(4, 6), lambda t: t.reshape(1, 6).expand(4, 6))
NOT_VIEWS = {
    "exp": (lambda t: t.exp(), lambda t: t.exp()),
    "neg": (lambda t: -t, lambda t: -t),
    "add": (lambda t: t + 1.0, lambda t: t + 1.0),
    "mul": (lambda t: t * t, lambda t: t * t),
}


def _versions_after_base_edit(make_base, op, lib):
    """Versions of ``op(base)`` before and after an in-place edit of the base."""
    base = make_base()
    out = op(base)
    before = out._version
    with (torch.no_grad() if lib is torch else engine.no_grad()):
        base.add_(1.0)
    return before, out._version


@pytest.mark.parametrize("requires_grad", [False, True], ids=["unrecorded", "recorded"])
@pytest.mark.parametrize("name", sorted(VIEWS) + sorted(NOT_VIEWS))
def test_only_views_share_the_version_counter_of_their_base_as_in_pytorch(name, requires_grad):
    ours, theirs = {**VIEWS, **NOT_VIEWS}[name]

    def ours_base():  # a non-leaf when recorded (in-place edits of a grad leaf are refused)
        t = Tensor(X.copy(), requires_grad=requires_grad)
        return t * 1.0 if requires_grad else t

    def theirs_base():
        t = torch.tensor(X.copy(), requires_grad=requires_grad)
        return t * 1.0 if requires_grad else t

    expected = _versions_after_base_edit(theirs_base, theirs, torch)
    assert expected[1] == expected[0] + (name in VIEWS)  # the premise: views follow the base
    assert _versions_after_base_edit(ours_base, ours, engine) == expected


@pytest.mark.parametrize("name", WRITABLE_VIEWS)
def test_editing_a_recorded_view_in_place_invalidates_what_its_base_saved(name):
    def run(lib, make, op):
        a = make(X.copy(), requires_grad=True)
        h = a.exp()  # saves its output
        v = op(h)
        with (torch.no_grad() if lib is torch else engine.no_grad()):
            v.mul_(2.0)
        h.sum().backward()

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch, torch.tensor, VIEWS[name][1])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(engine, Tensor, VIEWS[name][0])


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_a_cast_to_a_non_float_dtype_has_no_gradient_as_in_pytorch(dtype):
    x = Tensor(X.copy(), requires_grad=True)
    xt = torch.tensor(X.copy(), requires_grad=True)
    y, yt = x.to(getattr(engine, dtype)), xt.to(getattr(torch, dtype))
    assert (y.requires_grad, y.grad_fn is None) == (yt.requires_grad, yt.grad_fn is None) == (False, True)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    assert str(y.dtype) == str(yt.dtype).removeprefix("torch.")
    z = x.to(engine.float32)  # a float cast stays differentiable
    assert z.requires_grad and z.grad_fn is not None


# -- raw user Functions with several outputs (the _wire_outputs branch of apply_small) --------

class TwoOfOne(engine.Function):
    """(2a, a²), saving a, the second output and a constant."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        sq = a * a
        ctx.save_for_backward(a, sq, None)
        return a * 2.0, sq

    @staticmethod
    def backward(ctx, g1, g2):
        a, sq, nothing = ctx.saved_tensors
        assert nothing is None
        return g1 * 2.0 + g2 * 2.0 * a


class TwoOfTwo(engine.Function):
    """(a·b, a + b), saving a, b and the first output."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        prod = a * b
        ctx.save_for_backward(a, b, prod)
        return prod, a + b

    @staticmethod
    def backward(ctx, g1, g2):
        a, b, prod = ctx.saved_tensors
        return g1 * b + g2, g1 * a + g2


class TorchTwoOfOne(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        sq = a * a
        ctx.save_for_backward(a, sq)
        return a * 2.0, sq

    @staticmethod
    def backward(ctx, g1, g2):
        a, sq = ctx.saved_tensors
        return g1 * 2.0 + g2 * 2.0 * a


class TorchTwoOfTwo(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        prod = a * b
        ctx.save_for_backward(a, b, prod)
        return prod, a + b

    @staticmethod
    def backward(ctx, g1, g2):
        a, b, prod = ctx.saved_tensors
        return g1 * b + g2, g1 * a + g2


Y = np.linspace(-1.0, 2.0, 6).reshape(2, 3)


def _inputs(lib, n, grads):
    make = torch.tensor if lib is torch else Tensor
    return [make(v.copy(), requires_grad=g) for v, g in zip((X, Y)[:n], grads)]


CASES = [  # (ours, PyTorch's, number of args, requires_grad per arg)
    (TwoOfOne, TorchTwoOfOne, 1, (True,)),
    (TwoOfTwo, TorchTwoOfTwo, 2, (True, True)),
    (TwoOfTwo, TorchTwoOfTwo, 2, (True, False)),
    (TwoOfTwo, TorchTwoOfTwo, 2, (False, True)),
]


@pytest.mark.parametrize("grad_mode", [True, False], ids=["grad", "no_grad"])
@pytest.mark.parametrize("ours,theirs,n,grads", CASES)
def test_a_raw_function_with_two_outputs_matches_pytorch(ours, theirs, n, grads, grad_mode):
    xs, ts = _inputs(engine, n, grads), _inputs(torch, n, grads)
    with engine.set_grad_enabled(grad_mode):
        out = ours.apply(*xs)
    with torch.set_grad_enabled(grad_mode):
        expected = theirs.apply(*ts)
    assert type(out) is tuple and len(out) == 2
    for o, e in zip(out, expected):
        assert isinstance(o, Tensor)
        np.testing.assert_array_equal(o.numpy(), e.detach().numpy())
        assert o.requires_grad == e.requires_grad
    if not grad_mode:
        return
    assert [o._output_nr for o in out] == [0, 1]
    assert out[0].grad_fn is out[1].grad_fn
    (out[0] * 3.0 + out[1] * out[1]).sum().backward()
    (expected[0] * 3.0 + expected[1] * expected[1]).sum().backward()
    for x, t in zip(xs, ts):
        if t.grad is None:
            assert x.grad is None
        else:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("edited", [0, 1], ids=["a", "b"])
def test_editing_a_saved_input_of_a_raw_two_output_function_makes_backward_raise_as_in_pytorch(edited):
    def run(lib, fn):
        a, b = _inputs(lib, 2, (True, False))
        if edited == 0:
            a = a * 1.0  # a non-leaf, so that it may be edited
        out = fn.apply(a, b)
        with (torch.no_grad() if lib is torch else engine.no_grad()):
            (a, b)[edited].add_(1.0)
        out[0].sum().backward()

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch, TorchTwoOfTwo)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(engine, TwoOfTwo)


class Halves(engine.Function):
    """The two halves of a vector: views of the input (``view_of = 0``)."""

    raw = True
    view_of = 0

    @staticmethod
    def forward(ctx, a):
        ctx.meta = a.shape
        return a[:2], a[2:]

    @staticmethod
    def backward(ctx, g1, g2):
        return np.concatenate([g1, g2])


@pytest.mark.parametrize("path", ["apply", "general"])
def test_recorded_tuple_outputs_of_a_view_function_share_the_base_version_counter(path):
    x = Tensor(np.arange(4.0), requires_grad=True)
    outs = Halves.apply(x) if path == "apply" else _apply_general(Halves, (x,))
    assert all(o.requires_grad for o in outs)
    with engine.no_grad():
        x.add_(1.0)
    assert [o._version for o in outs] == [x._version, x._version] == [1, 1]


# -- the edge to a non-leaf input is the one _apply_general records ---------------------------

def _edges(t):
    return [e if e is None or isinstance(e, Tensor) else
            (e[0], e[1]) if type(e) is tuple else e for e in t.grad_fn._next]


@pytest.mark.parametrize("output_nr", [0, 1])
@pytest.mark.parametrize("op,n", [(engine.ops.Exp, 1), (engine.ops.Mul, 2)])
def test_apply_small_records_the_same_edge_to_a_non_leaf_as_apply_general(op, n, output_nr):
    x = Tensor(X.copy(), requires_grad=True)
    a = TwoOfOne.apply(x)[output_nr]  # output 0 or 1 of a node
    args = (a,) if n == 1 else (a, a)
    fast, slow = apply_small(op, a, args[-1] if n == 2 else None, n), _apply_general(op, args)
    assert _edges(fast) == _edges(slow)
    assert _edges(fast)[0] == (a.grad_fn if output_nr == 0 else (a.grad_fn, 1))
