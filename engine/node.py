"""``Node``: one recorded application of a Function (PyTorch's ``grad_fn``, which is also the
``ctx`` its forward and backward receive), and the ``NULL_CTX`` handed to a forward that records
nothing.

This module knows no value class (Tensor/Scalar): a graph edge is a Node, a ``(node, output_nr)``
pair, or a leaf value (anything else), so the backward walk and ``Function`` can both build on it.
"""
from __future__ import annotations

import itertools

import numpy as np


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


class UnrecordedCtx:
    """The ctx a user Function's forward gets when nothing is recorded (no_grad, no input needing
    grad): attributes it sets stay readable (``ctx.s = x.sigmoid(); return v * ctx.s``, as in
    PyTorch); saving is a no-op. Built-ins get the attribute-dropping ``NULL_CTX`` instead."""

    saved_tensors = ()

    def __init__(self, n_args):
        # one False per forward argument, as PyTorch's tuple (``a, b = ctx.needs_input_grad``)
        self.needs_input_grad = (False,) * n_args

    def save_for_backward(self, *values):
        pass

    def mark_non_differentiable(self, *values):
        pass


_next_seq = itertools.count().__next__  # atomic under the GIL: unique across threads


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
                 "_vcls", "_out_meta", "_seq", "__dict__", "__weakref__")
    # _out_meta: (shape, dtype) of the output, or a tuple of such pairs when _n_out > 1
    # _seq: creation order (PyTorch's sequence_nr): a node's inputs' producers were all created
    # before it, so the backward walk can run nodes in decreasing _seq (see engine._backward)

    # engine bookkeeping with class-level defaults, stored (in ``__dict__``) only when used; that
    # dict is otherwise for user Functions, whose ctx takes any attribute (``ctx.k = k``, as in
    # PyTorch). Built-in ops keep extra backward data in ``meta`` (tests/test_arch_conventions.py).
    # (Slots for these measured ~5% slower per op: every Node would pay for initialising them.)
    _n_out = 1
    _non_diff = None
    _pre_hooks = None
    _stack = None

    def __init__(self, fn, needs_input_grad, vcls, edges):
        # _saved_src is set by apply after forward saved; _as_values by the engine before backward
        self.fn = fn
        self.needs_input_grad = needs_input_grad
        self._vcls = vcls
        self._next = edges
        self._saved = None
        self._out_meta = None
        self._seq = _next_seq()

    # -- the ctx API -------------------------------------------------------------------------
    def save_for_backward(self, *values):
        """Keep ``values`` for backward; in-place edits to them afterwards make backward raise."""
        # ``apply`` then locates each value (input, output or constant) and records its version
        # in ``_saved_src`` (kept in ``_saved``, a slot: no per-node ``__dict__`` for built-ins)
        self._saved = values

    def mark_non_differentiable(self, *outputs):
        """Declare outputs (e.g. indices) that get no gradient and ``requires_grad=False``; the
        backward receives None for them. Extra outputs of a Function travel this way (no lists
        passed in to be filled)."""
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
        try:
            src = self._saved_src
        except AttributeError:  # read inside the forward that saved them: the values as given
            return saved
        for k in range(1, len(src) if self._vcls._mutable else 0, 3):  # Scalars: no versions
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
            if type(edge) is tuple:
                node, nr = edge
            elif isinstance(edge, Node):
                node, nr = edge, 0
            else:
                return edge  # a leaf: the value itself
            return self._vcls._wrap(payload, node, nr, vc)
        if idx is not None:
            return self._vcls._wrap(payload, self, -1 - idx, vc)
        if not isinstance(payload, np.ndarray):
            return payload  # a Python number stays a (weakly typed) number
        return self._vcls._wrap(payload)  # a constant (intermediate) value

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

    def __lt__(self, other):
        # the walk's heap holds (-_seq, node): only nodes with equal _seq (copies of one node made by
        # copy.deepcopy of a Scalar graph) are ever compared; any fixed order will do
        return id(self) < id(other)


def _public_edge(e):
    if e is None:
        return None
    if type(e) is tuple:
        return e
    return (e, 0) if type(e) is Node else (e, -1)


def check_finite(name, phase, values, vcls):
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
