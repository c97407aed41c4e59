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

# A saved entry is (payload, version_counter, version, source, output_nr):
#   source is the input Variable when the saved value is an input, None otherwise;
#   output_nr >= 0 marks one of the node's own outputs (rebuilt on demand: no reference cycle).
_FREED = object()


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

    ``next_functions`` holds one edge per forward argument: ``(node, output_nr)`` for an input
    computed by another op, ``(leaf, -1)`` for a leaf that requires grad, ``None`` otherwise.
    """

    __slots__ = ("fn", "next_functions", "needs_input_grad", "_to_save", "_saved", "_as_values",
                 "_vcls", "_n_out", "_out_meta", "_non_diff", "_pre_hooks", "_stack", "_inputs_meta",
                 "__dict__", "__weakref__")

    def __init__(self, fn, needs_input_grad):
        self.fn = fn
        self.needs_input_grad = needs_input_grad
        self._to_save = None
        self._saved = None
        self._as_values = False
        self._n_out = 1
        self._out_meta = None
        self._non_diff = None
        self._pre_hooks = None
        self._stack = None

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
        out = []
        for payload, vc, version, source, output_nr in saved:
            if vc is not None and vc[0] != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: a saved value of {self.name()} with shape "
                    f"{tuple(np.shape(payload))} is at version {vc[0]}; expected version {version}. "
                    f"Use out-of-place ops (or .clone()) on tensors that a graph still needs.")
            if not self._as_values:
                out.append(payload)
            elif source is not None:
                out.append(source)
            elif output_nr >= 0:
                out.append(self._vcls._wrap(payload, self, output_nr, vc))
            elif not isinstance(payload, np.ndarray):
                out.append(payload)  # a Python number stays a (weakly typed) number
            else:
                if self.fn.raw and not self.fn.twice_differentiable and STATE.grad_enabled:
                    raise RuntimeError(f"{self.name()} does not support double backward "
                                       f"(create_graph=True): it saves intermediate values.")
                out.append(self._vcls._wrap(payload))
        return tuple(out)

    # -- graph introspection ----------------------------------------------------------------
    def name(self) -> str:
        """The op's display name, PyTorch style: ``MulBackward``."""
        return self.fn.__name__ + "Backward"

    def register_prehook(self, output_nr, hook):
        """Call ``hook(grad)`` on the gradient of output ``output_nr`` before this node runs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(output_nr, []).append(hook)

    def __repr__(self):
        return f"<{self.name()}>"


def _saved_entry(v, args, outs, vcs, raw):
    """A saved entry for ``v``: a reference to an input, one of the node's outputs, or a constant."""
    for a in args:
        if isinstance(a, Variable) and ((a.data is v) if raw else (a is v)):
            return (a.data, a._vc, a._vc[0], a, -1)
    for i, o in enumerate(outs):
        if o is v:
            return (o if raw else o.data, vcs[i], vcs[i][0], None, i)
    return (v.data if isinstance(v, Variable) else v, None, 0, None, -1)


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

    @classmethod
    def apply(cls, *args):
        """Run forward and, when any input requires grad and grad mode is on, record a Node."""
        return apply(cls, args)


Variable = None  # set by engine.variable on import (avoids a circular import)


def apply(cls, args):
    """Run ``cls.forward`` on ``args`` and wire the outputs into the graph (see Function)."""
    grad_on = STATE.grad_enabled
    vcls = None
    needs = []
    record = False
    raw = cls.raw
    fargs = []
    for a in args:
        if isinstance(a, Variable):
            if vcls is None:
                vcls = a._value_cls
            r = grad_on and a.requires_grad
            if r:
                record = True
            needs.append(r)
            fargs.append(a.data if raw else a)
        else:
            needs.append(False)
            fargs.append(a)
    if vcls is None:
        raise TypeError(f"{cls.__name__}.apply needs at least one Tensor or Scalar argument")
    if not record:
        if raw:
            out = cls.forward(NULL_CTX, *fargs)
        else:
            prev = STATE.grad_enabled
            STATE.grad_enabled = False
            try:
                out = cls.forward(NULL_CTX, *fargs)
            finally:
                STATE.grad_enabled = prev
        if STATE.anomaly:
            _check_finite(cls.__name__, "forward", out, vcls)
        view_vc = args[cls.view_of]._vc if cls.view_of is not None else None
        if raw:
            if type(out) is tuple:
                return tuple(vcls._wrap(o) for o in out)
            return vcls._wrap(out, None, 0, view_vc)
        return _detach_outputs(out, vcls)

    node = Node(cls, tuple(needs))
    node._vcls = vcls
    node.next_functions = tuple(
        ((a.grad_fn, a._output_nr) if a.grad_fn is not None else (a, -1)) if n else None
        for a, n in zip(args, needs))
    if STATE.anomaly:
        node._stack = "".join(traceback.format_stack(limit=12)[:-2])
    if raw:
        out = cls.forward(node, *fargs)
    else:
        prev = STATE.grad_enabled
        STATE.grad_enabled = False
        try:
            out = cls.forward(node, *fargs)
        finally:
            STATE.grad_enabled = prev
    if STATE.anomaly:
        _check_finite(cls.__name__, "forward", out, vcls)
    multi = type(out) is tuple
    outs = out if multi else (out,)
    non_diff = node._non_diff
    results = []
    vcs = []
    view_vc = args[cls.view_of]._vc if cls.view_of is not None else None
    for i, o in enumerate(outs):
        payload = o if raw else o.data
        if non_diff is not None and any(o is d for d in non_diff):
            w = vcls._wrap(payload, None, 0, view_vc)
        else:
            w = vcls._wrap(payload, node, i, view_vc)
        results.append(w)
        vcs.append(w._vc)
    if multi:
        node._n_out = len(outs)
        node._out_meta = tuple((np.shape(r.data), getattr(r.data, "dtype", None)) for r in results)
    else:
        p = results[0].data
        node._out_meta = ((p.shape, p.dtype),) if type(p) is np.ndarray else None
    if node._to_save is not None:
        node._saved = tuple(_saved_entry(v, args, outs, vcs, raw) for v in node._to_save)
        node._to_save = None
    return tuple(results) if multi else results[0]


def _detach_outputs(out, vcls):
    """Outputs of a user Function run without recording: plain values, no graph."""
    if type(out) is tuple:
        return tuple(vcls._wrap(getattr(o, "data", o)) for o in out)
    return vcls._wrap(getattr(out, "data", out))


def _check_finite(name, phase, values, vcls):
    """Anomaly mode: raise naming the op when a forward/backward value is NaN or Inf."""
    vals = values if type(values) is tuple else (values,)
    for i, v in enumerate(vals):
        if v is None:
            continue
        payload = getattr(v, "data", v)
        if not vcls._all_finite(payload):
            what = "output" if phase == "forward" else "gradient for input"
            raise RuntimeError(f"Function '{name}' returned NaN/Inf values in its {phase} "
                               f"({what} {i}) [detect_anomaly]")
