"""The LEGO brick: ``Function`` (forward/backward as static methods) and ``apply``, which runs a
forward and records a ``Node`` (engine.node) when an input requires grad.

Protocol (as PyTorch's ``torch.autograd.Function``): ``forward(ctx, *args)`` receives the
Tensors and other arguments as given and returns a Tensor or a tuple of them;
``backward(ctx, *grad_outputs)`` receives one gradient Tensor per output and returns one gradient
per forward argument (``None`` where there is none; an ndarray is accepted too).

Built-in ops set ``raw = True``: their forward receives the payloads (ndarrays, or floats for
Scalar) instead of the wrappers, and outside ``create_graph`` their backward does too. They write
backward with operators and methods that ndarrays and Tensors share, so one backward serves both
the fast path and double backward.
"""
from __future__ import annotations

import traceback

import numpy as np

from .grad_mode import STATE
from .node import NULL_CTX, Node, UnrecordedCtx, check_finite
from .variable import Variable

class Function:
    """Base class of every op. Subclass it with static ``forward`` and ``backward``; call
    ``MyOp.apply(*args)``.

    Example (a brick in ten lines)::

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x * x
    """

    raw = False                  # built-ins: forward/backward on payloads
    view_of = None               # index of the input whose storage the output views (shares versions)
    twice_differentiable = True  # False: backward uses saved intermediates (no create_graph)

    @staticmethod
    def forward(ctx, *args):
        """Compute the outputs from the inputs; save what backward needs with ``ctx``."""
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """Return one gradient per forward argument: dL/d(input) from dL/d(outputs)."""
        raise NotImplementedError("a Function subclass must define backward(ctx, *grad_outputs)")

    # ``apply`` (run forward and, when an input requires grad, record a Node) is attached below.


_NEEDS = {}


def _needs_tuple(mask, n):
    """The ``needs_input_grad`` tuple for bit ``mask`` over ``n`` arguments (cached: no alloc)."""
    key = 1 << n | mask  # mask < 2**n: bit n marks n, so no two (mask, n) share a key
    t = _NEEDS.get(key)
    if t is None:
        t = _NEEDS[key] = tuple(bool(mask >> i & 1) for i in range(n))
    return t


def apply(cls, *args):
    """Run ``cls.forward`` on ``args`` and, when any input requires grad and grad mode is on,
    record a Node and wire the outputs into the graph (see Function)."""
    n = len(args)
    if cls.raw and (n == 1 or n == 2) and isinstance(args[0], Variable):
        return apply_small(cls, args[0], args[1] if n == 2 else None, n)
    return _apply_general(cls, args)


# -- recording ------------------------------------------------------------------------------
# ``_apply_general`` is the definition; ``apply_small`` is the same steps for a built-in op of
# one or two arguments with the loops unrolled and the helpers below inlined (see its docstring).
# tests/test_arch_fast_path.py checks that both record identical nodes.

def _edge(a):
    """The graph edge to a value that requires grad: its producer node, or itself when a leaf."""
    gf = a.grad_fn
    if gf is None:
        return a
    nr = a._output_nr
    return gf if nr == 0 else (gf, nr)


def _unrecorded(out, vcls, view_vc):
    """The outputs (payloads) of an op run without recording, wrapped: no graph."""
    if type(out) is tuple:
        return tuple(vcls._wrap(o) for o in out)
    return vcls._wrap(out, None, 0, view_vc)


def _single_output(node, out, vcls, view_vc):
    """The one output (a payload) of a recorded op, wrapped as output 0 of ``node``."""
    w = vcls._wrap(out, node, 0, view_vc)
    if type(out) is np.ndarray:
        node._out_meta = (out.shape, out.dtype)
    return w


_CONSTANT = (None, None)


def _locate(v, args, fargs, outs, results):
    """``(index, value)`` of a saved value: forward argument ``i`` / output ``-1-j`` that it is
    (by identity), or ``(None, None)`` for a constant (anything else, including non-Tensor
    arguments)."""
    for i, f in enumerate(fargs):
        if f is v:
            return (i, args[i]) if isinstance(args[i], Variable) else _CONSTANT
    for j, o in enumerate(outs):
        if o is v:
            return -1 - j, results[j]
    return _CONSTANT


def _store_saved(node, payloads, origins):
    """Keep what forward saved: the payloads and, per value, where it came from (``origins``:
    one ``(index, value)`` each, see ``_locate``) with, for mutable values (Tensors), the version
    counter and the version it had, so that backward detects in-place edits."""
    src = []
    mutable = node._vcls._mutable
    for idx, origin in origins:
        vc = origin._vc if mutable and origin is not None else None
        src.append(idx)
        src.append(vc)
        src.append(None if vc is None else vc[0])
    node._saved = payloads
    node._saved_src = src


def apply_small(cls, a, b, n):
    """``apply`` for a built-in (raw) op of ``n`` = 1 or 2 arguments whose first, ``a``, is a
    Tensor/Scalar (``b`` is ignored when ``n == 1``): ``_apply_general`` unrolled, with its
    helpers inlined (each marked below). Tensor operators call it directly.

    Why unrolled: every operator runs through here and an op costs ~2 µs; the general path's
    per-argument loops, the search in ``_locate`` and one Python call per helper (~0.1 µs each)
    would add about 40% (measured with bench/ "dispatch").
    """
    if STATE.anomaly:
        return _apply_general(cls, (a,) if n == 1 else (a, b))
    vcls = a._value_cls
    ad = a._data
    b_var = isinstance(b, Variable)
    bd = b._data if b_var else b
    ra = a.requires_grad
    rb = b_var and b.requires_grad
    view_vc = None if cls.view_of is None else a._vc
    if not ((ra or rb) and STATE.grad_enabled):
        out = cls.forward(NULL_CTX, ad) if n == 1 else cls.forward(NULL_CTX, ad, bd)
        if type(out) is tuple:  # _unrecorded, inlined
            return tuple(vcls._wrap(o) for o in out)
        return vcls._wrap(out, None, 0, view_vc)
    ea = None
    if ra:  # _edge(a), inlined
        gf = a.grad_fn
        ea = a if gf is None else gf if a._output_nr == 0 else (gf, a._output_nr)
    if n == 1:
        node = Node(cls, _ONE_TRUE, vcls, [ea])
        out = cls.forward(node, ad)
    else:
        node = Node(cls, _PAIRS[ra][rb], vcls, [ea, _edge(b) if rb else None])
        out = cls.forward(node, ad, bd)
    if type(out) is tuple or node._non_diff is not None:
        args = (a,) if n == 1 else (a, b)
        return _wire_outputs(cls, node, args, [ad] if n == 1 else [ad, bd], out, vcls, True, view_vc)
    w = vcls._wrap(out, node, 0, view_vc)  # _single_output, inlined
    if type(out) is np.ndarray:
        node._out_meta = (out.shape, out.dtype)
    saved = node._saved  # what forward passed to save_for_backward (None: nothing)
    if saved is not None:  # _store_saved(node, saved, [_locate(v, …) for v in saved]), inlined
        src = []
        mutable = vcls._mutable
        for v in saved:
            if v is ad:
                idx, origin = 0, a
            elif b_var and v is bd:
                idx, origin = 1, b
            elif v is out:
                idx, origin = -1, w
            else:
                idx, origin = None, None
            vc = origin._vc if mutable and origin is not None else None
            src.append(idx)
            src.append(vc)
            src.append(None if vc is None else vc[0])
        node._saved_src = src
    return w


_ONE_TRUE = (True,)
_PAIRS = ((None, (False, True)), ((True, False), (True, True)))


def _apply_general(cls, args):
    """``apply`` for any Function: user bricks (Tensors in, Tensors out), several inputs or
    outputs, anomaly mode."""
    grad_on = STATE.grad_enabled
    raw = cls.raw
    vcls = None
    mask = 0
    bit = 1
    edges = []
    fargs = []
    for a in args:
        if isinstance(a, Variable):
            vcls = a._value_cls
            if grad_on and a.requires_grad:
                mask |= bit
                edges.append(_edge(a))
            else:
                edges.append(None)
            fargs.append(a._data if raw else a)
        else:
            edges.append(None)
            fargs.append(a)
        bit <<= 1
    if vcls is None:
        raise TypeError(f"{cls.__name__}.apply needs at least one Tensor or Scalar argument")
    view_vc = None if cls.view_of is None else args[cls.view_of]._vc
    if not mask:
        out = cls.forward(NULL_CTX, *fargs) if raw else _forward_no_grad(cls, UnrecordedCtx(len(args)), fargs)
        if STATE.anomaly:
            check_finite(cls.__name__, "forward", out, vcls)
        return _unrecorded(out if raw else _payloads_of(out), vcls, view_vc)

    node = Node(cls, _needs_tuple(mask, len(args)), vcls, edges)
    if STATE.anomaly:
        node._stack = "".join(traceback.format_stack(limit=12)[:-2])
    out = cls.forward(node, *fargs) if raw else _forward_no_grad(cls, node, fargs)
    if STATE.anomaly:
        check_finite(cls.__name__, "forward", out, vcls)
    if type(out) is not tuple and node._non_diff is None:  # the common case: one output
        w = _single_output(node, out if raw else _payloads_of(out), vcls, view_vc)
        if node._saved is not None:
            _record_saved(node, args, fargs, (out,), (w,), raw)
        return w
    return _wire_outputs(cls, node, args, fargs, out, vcls, raw, view_vc)


def _payloads_of(out):
    """A user forward's outputs (Tensors) as payloads."""
    if type(out) is tuple:
        return tuple(o._data for o in out)
    return out._data


def _record_saved(node, args, fargs, outs, results, raw):
    """``_store_saved`` for the general path: locate each saved value by search."""
    values = node._saved
    origins = [_locate(v, args, fargs, outs, results) for v in values]
    _store_saved(node, values if raw else tuple(v._data if isinstance(v, Variable) else v for v in values),
                 origins)


def _forward_no_grad(cls, ctx, fargs):
    """A user Function's forward runs with grad recording off (its ops are not recorded)."""
    prev = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        return cls.forward(ctx, *fargs)
    finally:
        STATE.grad_enabled = prev


def _wire_outputs(cls, node, args, fargs, out, vcls, raw, view_vc):
    """Several outputs, or non-differentiable ones: wrap each and record the node's metadata."""
    outs = out if type(out) is tuple else (out,)
    marked = node._non_diff or ()
    non_diff = tuple(i for i, o in enumerate(outs) if any(o is d for d in marked))
    results = []
    for i, o in enumerate(outs):
        payload = o if raw else o._data
        results.append(vcls._wrap(payload, None if i in non_diff else node, i, view_vc))
    node._non_diff = non_diff or None  # from now on: the indices of those outputs
    node._n_out = len(outs)
    metas = tuple((np.shape(r._data), getattr(r._data, "dtype", None)) for r in results)
    node._out_meta = metas if len(metas) > 1 else metas[0]
    if node._saved is not None:
        _record_saved(node, args, fargs, outs, results, raw)
    return tuple(results) if type(out) is tuple else results[0]


Function.apply = classmethod(apply)
