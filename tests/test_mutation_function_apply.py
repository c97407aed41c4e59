"""Mutation-testing guards for ``Function.apply``'s general recording path (engine/function.py:
``_needs_tuple``, ``_apply_general``, ``_single_output``, ``_wire_outputs``), each checked
against PyTorch's ``torch.autograd.Function`` where PyTorch has the feature:

* ``ctx.needs_input_grad`` is one bool per forward argument, True exactly where a Tensor argument
  requires grad -- also across calls with different argument counts, whose cached tuples must not
  be confused (a 66-argument call once made a later 2-argument call see 66 entries);
* a user Function run without recording returns plain payloads (a Scalar's is a float);
* a single output marked non-differentiable comes back as that Tensor itself (not a tuple, not a
  row of it), with ``requires_grad=False``;
* under ``detect_anomaly`` a view made by the general path still shares its base's version
  counter, a NaN forward output raises naming the Function and the phase whether or not anything
  is recorded, and the "forward was called at" trace of a failing backward is a well-formed
  traceback of the ten innermost caller frames that includes the call site.
"""
import re
import traceback

import numpy as np
import pytest
import torch

import engine
from engine import Function, Scalar, Tensor


# -- needs_input_grad ------------------------------------------------------------------------

def _recorder(base):
    class Rec(base):
        seen = []

        @staticmethod
        def forward(ctx, *xs):
            Rec.seen.append(tuple(ctx.needs_input_grad))
            ctx.first = next(i for i, x in enumerate(xs) if not isinstance(x, float))
            return xs[ctx.first] * 2

        @staticmethod
        def backward(ctx, g):
            return tuple(g * 2 if i == ctx.first else None for i in range(len(ctx.needs_input_grad)))

    return Rec


def _needs(lib, n, grad_at, non_tensor_at=()):
    """needs_input_grad seen by a forward of ``n`` arguments: Tensors requiring grad at the
    indices ``grad_at``, plain numbers at ``non_tensor_at``, Tensors without grad elsewhere."""
    rec = _recorder(Function if lib == "gb" else torch.autograd.Function)
    args = []
    for i in range(n):
        if i in non_tensor_at:
            args.append(3.0)
        elif lib == "gb":
            args.append(Tensor(np.ones(2), requires_grad=i in grad_at))
        else:
            args.append(torch.ones(2, dtype=torch.float64, requires_grad=i in grad_at))
    rec.apply(*args)
    return rec.seen[-1]


_PATTERNS = [(n, grad_at, nt) for n, grad_at, nt in [
    (1, {0}, ()), (2, {0}, ()), (2, {1}, ()), (2, {0, 1}, ()), (3, {1}, {0}), (3, {0, 2}, {1}),
    (3, {2}, ()), (4, {1, 3}, {0}), (4, {0, 1, 2, 3}, ()), (5, {4}, {0, 1}),
]]


@pytest.mark.parametrize("n, grad_at, non_tensor_at", _PATTERNS)
def test_needs_input_grad_matches_torch(n, grad_at, non_tensor_at):
    got = _needs("gb", n, grad_at, non_tensor_at)
    assert got == _needs("torch", n, grad_at, non_tensor_at)
    assert type(got) is tuple and len(got) == n


# pairs of (n, grad_at) whose cached needs_input_grad tuples must stay distinct (a key packing
# mask and n into one number can make them collide)
_PAIRS = [
    ((7, {0, 6}), (8, {0})),    # mask 65 over 7 args vs mask 1 over 8 args
    ((66, {2}), (2, {0, 1})),   # mask 4 over 66 args vs mask 3 over 2 args
    ((66, {0}), (2, {1})),      # mask 1 over 66 args vs mask 2 over 2 args (was a real bug)
]


@pytest.mark.parametrize("first, second", _PAIRS)
def test_needs_input_grad_of_different_arities_are_not_confused(first, second):
    for n, grad_at in (first, second, first, second):
        assert _needs("gb", n, grad_at) == _needs("torch", n, grad_at)


def test_backward_of_a_many_argument_function_after_a_two_argument_one():
    """The gradients follow needs_input_grad: a wrong cached tuple loses a gradient."""
    class PickNeeded(Function):
        @staticmethod
        def forward(ctx, *xs):
            ctx.n = len(xs)
            return sum(xs[1:], xs[0] * 1)

        @staticmethod
        def backward(ctx, g):
            assert len(ctx.needs_input_grad) == ctx.n
            return tuple(g if need else None for need in ctx.needs_input_grad)

    xs = [Tensor(np.full(2, float(i)), requires_grad=i == 0) for i in range(66)]
    PickNeeded.apply(*xs).sum().backward()
    a, b = Tensor(np.ones(2)), Tensor(np.ones(2), requires_grad=True)
    PickNeeded.apply(a, b).sum().backward()
    assert b.grad is not None and np.array_equal(b.grad.numpy(), np.ones(2))


# -- unrecorded user Function -----------------------------------------------------------------

class _Square(Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g


def test_unrecorded_user_function_on_scalar_keeps_a_float_payload():
    """Under no_grad the forward's output (a Scalar) is unwrapped to its float, as when recorded."""
    with engine.no_grad():
        y = _Square.apply(Scalar(3.0))
    recorded = _Square.apply(Scalar(3.0, requires_grad=True))
    assert type(recorded.data) is float
    assert type(y.data) is float and y.data == recorded.data == 9.0
    assert repr(y) == repr(recorded.detach()) and not y.requires_grad


# -- one output marked non-differentiable ----------------------------------------------------

def _non_diff_single(base, x):
    class Floor(base):
        @staticmethod
        def forward(ctx, a):
            out = a.floor()
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return g * 0

    return Floor.apply(x)


@pytest.mark.parametrize("shape", [(3, 2), (4,), ()])
def test_single_non_differentiable_output_as_torch(shape):
    data = np.arange(np.prod(shape, dtype=int), dtype=np.float64).reshape(shape) * 0.7 - 1.1
    ours = _non_diff_single(Function, Tensor(data, requires_grad=True))
    ref = _non_diff_single(torch.autograd.Function, torch.tensor(data, requires_grad=True))
    assert isinstance(ours, Tensor)
    assert ours.shape == tuple(ref.shape)
    assert np.array_equal(ours.numpy(), ref.detach().numpy())
    assert ours.requires_grad is ref.requires_grad is False
    assert ours.grad_fn is None and ref.grad_fn is None


# -- anomaly mode: views, forward NaN check, forward trace -----------------------------------

@pytest.mark.parametrize("make_view", [lambda y: y.reshape(-1), lambda y: y.transpose(0, 1),
                                       lambda y: y.permute(1, 0).reshape(3, 2)])
def test_view_recorded_under_anomaly_shares_versions_as_torch(make_view):
    data = np.arange(6.0).reshape(2, 3) / 5
    versions = []
    for lib, T, no_grad in (("gb", Tensor, engine.no_grad), ("torch", torch.tensor, torch.no_grad)):
        y = T(data, requires_grad=True) * 1  # recorded: under anomaly the general path wraps v
        with engine.detect_anomaly():
            v = make_view(y)
        with no_grad():
            v.mul_(2)
        versions.append((y._version, v._version, v.grad_fn is not None))
    assert versions[0] == versions[1]


class _NanForward(Function):
    @staticmethod
    def forward(ctx, x):
        return Tensor(np.full(x.shape, np.nan))  # no engine op inside (it would be checked first)

    @staticmethod
    def backward(ctx, g):
        return g


@pytest.mark.parametrize("requires_grad", [False, True])
def test_anomaly_forward_nan_raises_naming_function_and_phase(requires_grad):
    x = Tensor(np.ones(3), requires_grad=requires_grad)
    with engine.detect_anomaly(), pytest.raises(RuntimeError) as info:
        _NanForward.apply(x)
    msg = str(info.value)
    assert "'_NanForward'" in msg
    assert "its forward (output 0)" in msg


def test_anomaly_forward_nan_message_is_the_same_recorded_or_not():
    msgs = []
    for rg in (False, True):
        with engine.detect_anomaly(), pytest.raises(RuntimeError) as info:
            _NanForward.apply(Tensor(np.ones(3), requires_grad=rg))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


class _NanBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * np.nan


def _call_a(depth, x):  # _call_a/_call_b alternate: no "[Previous line repeated]" folding
    return _call_b(depth - 1, x) if depth else _NanBackward.apply(x)  # CALL-SITE-MARKER


def _call_b(depth, x):
    return _call_a(depth - 1, x)


def test_anomaly_backward_error_shows_the_forward_trace():
    x = Tensor(np.ones(3), requires_grad=True)
    with engine.detect_anomaly():
        y = _call_a(20, x)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    head, sep, trace = msg.partition("The forward of this op was called at:\n")
    assert sep and "'_NanBackward'" in head
    # a well-formed traceback body: every line belongs to a '  File "...", line N, in f' entry
    assert trace.startswith('  File "')
    assert all(line.startswith("  ") for line in trace.splitlines())
    # the ten innermost frames of the caller (format_stack's limit of 12 minus apply's own two)
    frames = re.findall(r'^  File "[^"]+", line \d+, in \S+$', trace, flags=re.M)
    assert len(frames) == len(traceback.format_stack()[-10:]) == 10
    assert trace.count("  File ") == 10
    assert "CALL-SITE-MARKER" in trace
