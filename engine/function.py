"""The LEGO brick: ``Function`` (forward/backward as static methods) and ``Node``, the recorded
application of a Function in the graph (PyTorch's ``grad_fn``, which is also the ``ctx``).

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

_FREED = object()  # marks a node whose saved values a backward released


class _AllFalse:
    """``needs_input_grad`` of an op run without recording: every index is False."""

    __slots__ = ()

    def __getitem__(self, i):
        return False

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


class _NullCtx:
    """The ctx handed to forward when nothing is recorded: saving and attributes are dropped."""

    __slots__ = ()
    needs_input_grad = _AllFalse()
    saved_tensors = ()

    def save_for_backward(self, *values):
        pass

    def mark_non_differentiable(self, *values):
        pass

    def __setattr__(self, name, value):
        pass


NULL_CTX = _NullCtx()


class Node:
    """One recorded op: the ctx of its Function and the grad_fn of its outputs.

    Internally ``_next`` holds one entry per forward argument: the producing Node (its output 0),
    ``(node, output_nr)`` for another output of a multi-output node, the leaf Variable itself, or
    None. ``next_functions`` shows them PyTorch-style: ``(node, output_nr)``, ``(leaf, -1)``, None.
    Built-in ops keep what their backward needs besides saved values in the ``meta`` slot (no
    per-node dict); user Functions may set any attribute. Saved values live in ``_saved``
    (payloads) with ``_saved_src``, three entries per value: where it came from (input ``i``,
    output ``-1-j``, None for a constant), its version counter (None when immutable) and the
    version it had, so that backward detects in-place edits.
    """

    __slots__ = ("fn", "_next", "needs_input_grad", "meta", "_saved", "_saved_src", "_as_values",
                 "_vcls", "_out_meta", "__dict__", "__weakref__")
    # _out_meta: (shape, dtype) of the output, or a tuple of such pairs when _n_out > 1

    # rarely set: class-level defaults, stored per instance only when used
    _n_out = 1
    _to_save = None
    _non_diff = None
    _pre_hooks = None
    _stack = None

    def __init__(self, fn, needs_input_grad, vcls, edges):
        # _saved_src is set together with _saved; _as_values by the engine before backward
        self.fn = fn
        self.needs_input_grad = needs_input_grad
        self._vcls = vcls
        self._next = edges
        self._saved = None
        self._out_meta = None

    # -- the ctx API -------------------------------------------------------------------------
    def save_for_backward(self, *values):
        """Keep ``values`` for backward; in-place edits to them afterwards make backward raise."""
        self._to_save = values

    def mark_non_differentiable(self, *outputs):
        """Declare outputs (e.g. indices) that get no gradient and ``requires_grad=False``."""
        self._non_diff = outputs

    @property
    def saved_tensors(self):
        """The saved values, checked against their version counters (in-place edits raise)."""
        saved = self._saved
        if saved is _FREED:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (or to access the saved "
                f"tensors of {self.name()} after they were freed). Saved intermediate values of the "
                f"graph are freed when you call .backward(); specify retain_graph=True if you need "
                f"to backward through the graph a second time.")
        if saved is None:
            return ()
        src = self._saved_src
        for k in range(1, len(src), 3):
            vc = src[k]
            if vc is not None and vc[0] != src[k + 1]:
                payload, version = saved[k // 3], src[k + 1]
                raise RuntimeError(
                        f"one of the variables needed for gradient computation has been modified "
                        f"by an inplace operation: a saved value of {self.name()} with shape "
                        f"{tuple(np.shape(payload))} is at version {vc[0]}; expected version "
                        f"{version}. Use out-of-place ops (or .clone()) on tensors a graph still needs.")
        if not self._as_values:
            return saved
        return tuple(self._as_value(payload, src[3 * k], src[3 * k + 1])
                     for k, payload in enumerate(saved))

    def saved_sources(self) -> list:
        """For each saved value: ``(payload, index)`` with the forward argument index it came
        from, ``-1-j`` for output ``j``, or None for a constant (empty after backward freed it)."""
        saved = self._saved
        if saved is None or saved is _FREED:
            return []
        return [(p, self._saved_src[3 * k]) for k, p in enumerate(saved)]

    def _as_value(self, payload, idx, vc):
        """A saved payload as a graph-connected value (double backward): inputs and outputs are
        rebuilt on their producers; constants stay constants."""
        if idx is not None and idx >= 0:
            edge = self._next[idx]
            if edge is None:
                return self._vcls._wrap(payload, None, 0, vc)
            if isinstance(edge, Variable):
                return edge
            node, nr = edge if type(edge) is tuple else (edge, 0)
            return self._vcls._wrap(payload, node, nr, vc)
        if idx is not None:
            return self._vcls._wrap(payload, self, -1 - idx, vc)
        if not isinstance(payload, np.ndarray):
            return payload  # a Python number stays a (weakly typed) number
        if self.fn.raw and not self.fn.twice_differentiable and STATE.grad_enabled:
            raise RuntimeError(f"{self.name()} does not support double backward "
                               f"(create_graph=True): it saves intermediate values.")
        return self._vcls._wrap(payload)

    # -- graph introspection ----------------------------------------------------------------
    def name(self) -> str:
        """The op's display name, PyTorch style: ``MulBackward``."""
        return self.fn.__name__ + "Backward"

    @property
    def next_functions(self):
        """One edge per forward argument: ``(node, output_nr)``, ``(leaf, -1)`` or None."""
        return tuple(_public_edge(e) for e in self._next)

    @property
    def is_freed(self) -> bool:
        """True once a backward without ``retain_graph`` released the saved values."""
        return self._saved is _FREED

    def saved_shapes(self) -> list:
        """Shapes of the saved values (empty after they were freed)."""
        saved = self._saved
        return [] if saved is None or saved is _FREED else [tuple(np.shape(p)) for p in saved]

    def output_meta(self) -> list:
        """``(shape, dtype)`` of each output (dtype None for Scalars)."""
        meta = self._out_meta
        if meta is not None:
            return [(tuple(s), d) for s, d in (meta if self._n_out > 1 else (meta,))]
        return [((), None)] * self._n_out

    def register_prehook(self, output_nr, hook):
        """Call ``hook(grad)`` on the gradient of output ``output_nr`` before this node runs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(output_nr, []).append(hook)

    def __repr__(self):
        return f"<{self.name()}>"


def _public_edge(e):
    if e is None:
        return None
    if type(e) is tuple:
        return e
    return (e, 0) if type(e) is Node else (e, -1)


def _record_saved(node, values, args, fargs, outs, results):
    """Store what forward saved: payloads, where each came from (input ``i`` / output ``-1-j`` /
    None for a constant) and, for mutable payloads (Tensors), the version counter and the
    version it had, so that backward detects in-place edits."""
    src = []
    mutable = node._vcls._mutable
    for v in values:
        idx = None
        i = 0
        for f in fargs:
            if f is v:
                idx = i
                break
            i += 1
        else:
            j = -1
            for o in outs:
                if o is v:
                    idx = j
                    break
                j -= 1
        origin = None if idx is None else (args[idx] if idx >= 0 else results[-1 - idx])
        vc = origin._vc if mutable and isinstance(origin, Variable) else None
        src.append(idx)
        src.append(vc)
        src.append(None if vc is None else vc[0])
    node._saved = values if node.fn.raw else tuple(v._data if isinstance(v, Variable) else v for v in values)
    node._saved_src = src
    node._to_save = None

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


Variable = None  # set by engine.variable on import (avoids a circular import)


_NEEDS = {}


def _needs_tuple(mask, n):
    """The ``needs_input_grad`` tuple for bit ``mask`` over ``n`` arguments (cached: no alloc)."""
    key = mask * 64 + n
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


def _edge(a):
    """The graph edge to a value that requires grad: its producer node, or itself when a leaf."""
    gf = a.grad_fn
    if gf is None:
        return a
    nr = a._output_nr
    return gf if nr == 0 else (gf, nr)


def apply_small(cls, a, b, n):
    """``apply`` for a built-in (raw) op of ``n`` = 1 or 2 arguments whose first, ``a``, is a
    Tensor/Scalar (``b`` is ignored when ``n == 1``): the hot path of every operator, unrolled
    (no per-argument loop, direct matching of saved values). Tensor operators call it directly."""
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
        if type(out) is tuple:
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
    w = vcls._wrap(out, node, 0, view_vc)
    if type(out) is np.ndarray:
        node._out_meta = (out.shape, out.dtype)
    saved = node._to_save
    if saved is not None:  # _record_saved, unrolled for two inputs: 0.3 µs of the 1.7 µs per op
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
        node._saved = saved
        node._saved_src = src
        node._to_save = None
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
        out = cls.forward(NULL_CTX, *fargs) if raw else _forward_no_grad(cls, NULL_CTX, fargs)
        if STATE.anomaly:
            _check_finite(cls.__name__, "forward", out, vcls)
        if type(out) is tuple:
            return tuple(vcls._wrap(o if raw else o._data) for o in out)
        return vcls._wrap(out if raw else out._data, None, 0, view_vc)

    node = Node(cls, _needs_tuple(mask, len(args)), vcls, edges)
    if STATE.anomaly:
        node._stack = "".join(traceback.format_stack(limit=12)[:-2])
    out = cls.forward(node, *fargs) if raw else _forward_no_grad(cls, node, fargs)
    if STATE.anomaly:
        _check_finite(cls.__name__, "forward", out, vcls)
    if type(out) is not tuple and node._non_diff is None:  # the common case: one output
        w = vcls._wrap(out if raw else out._data, node, 0, view_vc)
        p = w._data
        if type(p) is np.ndarray:
            node._out_meta = (p.shape, p.dtype)
        if node._to_save is not None:
            _record_saved(node, node._to_save, args, fargs, (out,), (w,))
        return w
    return _wire_outputs(cls, node, args, fargs, out, vcls, raw, view_vc)


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
    non_diff = node._non_diff or ()
    results = []
    for i, o in enumerate(outs):
        payload = o if raw else o._data
        grad_fn = None if any(o is d for d in non_diff) else node
        results.append(vcls._wrap(payload, grad_fn, i, view_vc))
    node._n_out = len(outs)
    metas = tuple((np.shape(r._data), getattr(r._data, "dtype", None)) for r in results)
    node._out_meta = metas if len(metas) > 1 else metas[0]
    if node._to_save is not None:
        _record_saved(node, node._to_save, args, fargs, outs, results)
    return tuple(results) if type(out) is tuple else results[0]


def _detach_outputs(out, vcls):
    """Outputs of a user Function run without recording: plain values, no graph."""
    if type(out) is tuple:
        return tuple(vcls._wrap(getattr(o, "_data", o)) for o in out)
    return vcls._wrap(getattr(out, "_data", out))


def _check_finite(name, phase, values, vcls):
    """Anomaly mode: raise naming the op when a forward/backward value is NaN or Inf."""
    vals = values if type(values) is tuple else (values,)
    for i, v in enumerate(vals):
        if v is None:
            continue
        payload = getattr(v, "_data", v)
        if not vcls._all_finite(payload):
            what = "output" if phase == "forward" else "gradient for input"
            raise RuntimeError(f"Function '{name}' returned NaN/Inf values in its {phase} "
                               f"({what} {i}) [detect_anomaly]")


Function.apply = classmethod(apply)
