"""What Tensor and Scalar share: a payload, a grad, a place in the graph, hooks and backward.

Subclasses supply ``_wrap`` (payload -> value, fast), ``_accumulate_grad`` (how a leaf adds a
gradient to ``.grad``), ``_all_finite`` (anomaly check) and ``_seed_gradient`` (the starting
gradient of ``backward()``). Everything else — Function.apply, the graph, the backward walk — is common.
"""
from __future__ import annotations

import numpy as np

from ._backward import POST_HOOKS, run_backward


class RemovableHandle:
    """Returned by ``register_hook``; ``.remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class _PostHookHandle:
    """Returned by ``register_post_accumulate_grad_hook``; ``.remove()`` unregisters the hook."""

    def __init__(self, hooks, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self):
        if self._entry in self._hooks:
            self._hooks.remove(self._entry)
            POST_HOOKS[0] -= 1


class Variable:
    """Common base of Tensor and Scalar (see the module docstring)."""

    # ``_post_acc_hooks`` is set only by register_post_accumulate_grad_hook (unset otherwise)
    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_output_nr", "_vc", "_hooks",
                 "_post_acc_hooks", "__weakref__")

    @property
    def is_leaf(self) -> bool:
        """True for values not produced by a recorded op (user-created, or results under no_grad)."""
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        """How many in-place edits this value's storage has seen (views share the counter)."""
        return self._vc[0]

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) · gradient into the ``.grad`` of every leaf of the graph.

        ``gradient`` may be omitted only when ``self`` holds a single element (it is then 1).
        The graph's saved values are freed unless ``retain_graph`` (default: ``create_graph``).
        ``inputs`` restricts accumulation to those leaves.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn: call .requires_grad_() on a leaf before building the graph")
        if gradient is None and retain_graph is None and not create_graph and inputs is None:
            # the common ``loss.backward()``: ``backward`` below without its argument handling
            # (~1.5 µs of a 6 µs one-op backward, measured)
            run_backward([self], [self._seed_gradient(None)], False, False)
            return
        backward([self], [gradient], retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever the gradient w.r.t. this value is computed; a non-None
        return value replaces the gradient. Returns a handle with ``.remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return RemovableHandle(self._hooks, hook)
        self.grad_fn.register_prehook(self._output_nr, hook)
        return RemovableHandle(self.grad_fn._pre_hooks[self._output_nr], hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` once per backward, right after this leaf's gradient has been
        accumulated into ``.grad`` — as soon as every contribution has arrived, while the rest
        of the graph is still being walked (what overlaps data-parallel communication with
        backward). As PyTorch (whose AccumulateGrad node runs whenever the walk reaches it), the
        hook also runs when the backward reaches this leaf but delivers no gradient (a Function
        returned None for it): ``.grad`` is then unchanged (possibly None). A leaf the backward
        does not reach (or that ``inputs`` excludes; ``grad()``) is not called. Leaves only.
        Returns a handle with ``.remove()``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = getattr(self, "_post_acc_hooks", None)
        if hooks is None:
            hooks = self._post_acc_hooks = []
        hooks.append(hook)
        POST_HOOKS[0] += 1
        return _PostHookHandle(hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf value after backward (leaves always keep it)."""
        if self.grad_fn is None or self._retains_grad():
            return  # a leaf, or already retaining (as PyTorch, a second call is a no-op)
        ref = self

        def _store(g):
            ref.grad = g if ref.grad is None else ref.grad + g

        _store._retains_grad = True
        self.register_hook(_store)

    def _retains_grad(self):
        """Whether ``retain_grad()`` was called on this non-leaf value."""
        pre = self.grad_fn._pre_hooks if self.grad_fn is not None else None
        return bool(pre) and any(getattr(h, "_retains_grad", False) for h in pre.get(self._output_nr, ()))

    def _run_leaf_hooks(self, g, create_graph):
        """Apply leaf hooks to the incoming gradient payload before accumulation."""
        for hook in self._hooks:
            value = g if create_graph else self._value_cls._wrap(g)
            res = hook(value)
            if res is not None:
                g = res if create_graph else res._data
        return g


def as_list(x, what, name, values=True):
    """``x``, one Variable or a sequence of them, as a list; a TypeError naming argument ``name``
    of ``what`` when ``x`` is neither (with ``values=False`` the elements are not checked)."""
    if isinstance(x, Variable):
        return [x]
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{what}: {name} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")
    out = list(x)
    for i, v in enumerate(out if values else ()):
        if not isinstance(v, Variable):
            raise TypeError(f"{what}: element {i} of {name} must be a Tensor, got {type(v).__name__}")
    return out


def root_gradients(outputs, grad_outputs, create_graph, what, name):
    """The starting gradient of each root: ``grad_outputs`` (argument ``name`` of ``what``; None =
    1 for one-element roots)."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, np.ndarray):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = as_list(grad_outputs, what, name, values=False)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{what}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is not None and isinstance(out._data, np.ndarray) and not isinstance(g, (Variable, np.ndarray)):
            raise TypeError(f"{what}: element {i} of {name} must be a Tensor or None, got {type(g).__name__} "
                            "(as PyTorch; an ndarray is accepted too)")
        seed = out._seed_gradient(g)
        if create_graph and not isinstance(seed, Variable):
            seed = out._value_cls._wrap(seed)
        seeds.append(seed)
    return seeds


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate Σᵢ d tensorsᵢ/d leaf · grad_tensorsᵢ into the ``.grad`` of every leaf (only of
    ``inputs`` when given). ``grad_tensors`` may be None for one-element tensors; the graph is
    freed unless ``retain_graph`` (default: ``create_graph``)."""
    tensors = as_list(tensors, "backward", "tensors")
    seeds = root_gradients(tensors, grad_tensors, create_graph, "backward", "grad_tensors")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(tensors, seeds, retain_graph, create_graph)
        return
    inputs = as_list(inputs, "backward", "inputs")
    # leaves among ``inputs`` accumulate inside the walk (hooks, post-accumulate-grad hooks);
    # non-leaf inputs come back (None in the leaves' slots) and accumulate here
    grads = run_backward(tensors, seeds, retain_graph, create_graph, inputs=inputs, accumulate=True)
    for value, g in zip(inputs, grads):
        if g is not None and not value._retains_grad():  # retain_grad's hook has stored it
            value._accumulate_grad(g, create_graph, set())
