"""The backward walk (internal; the public API is ``Tensor.backward`` and ``engine.autograd``):
reverse-mode differentiation as an iterative walk over the recorded graph.

The walk runs nodes in decreasing creation order (``Node._seq``, PyTorch's ``sequence_nr``) from a
heap: every consumer of a node was created after it, so by the time a node is popped, every
consumer reachable from the roots has run and delivered its gradient (the first node on a path
from a root to an unrun consumer would still be on the heap, with a larger ``_seq``). So every
node runs exactly once, no pass counting dependencies is needed first, and the walk is
O(n log w) in the graph size n (w: the heap's width, 1-2 for a chain; a 1,000,000-node chain is
fine: no recursion anywhere). This is also the order PyTorch's CPU engine runs nodes in.
"""
from __future__ import annotations

import gc
from heapq import heappop, heappush

import numpy as np

from .node import _FREED, Node, check_finite
from .grad_mode import STATE

# How many post-accumulate-grad hooks exist (Variable.register_post_accumulate_grad_hook): only
# then does the walk count edges into leaves, to deliver a hooked leaf's gradient early.
POST_HOOKS = [0]


def _leaf_dependencies(roots, leaves, only=None):
    """Count, per leaf that has post-accumulate-grad hooks (keyed by id, into ``leaves``; only the
    leaves whose id is in ``only`` when given), the edges into it from the nodes reachable from
    ``roots`` (iterative DFS), so the walk knows when the last contribution has arrived."""
    stack = list(roots)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for nxt in node._next:
            if nxt is None:
                continue
            if type(nxt) is tuple:
                nxt = nxt[0]
            elif type(nxt) is not Node:  # a leaf
                if getattr(nxt, "_post_acc_hooks", None) and (only is None or id(nxt) in only):
                    leaves[id(nxt)] = leaves.get(id(nxt), 0) + 1
                continue
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)


def _run_node(node, grads, create_graph):
    """Call the node's Function.backward with one gradient per output (the walk has applied the
    node's pre-hooks); return one per input.

    The walk's fast lane calls ``_backward_on_payloads`` directly for the common node (a built-in
    op with one output, first order, no hooks, no anomaly mode); this is the general case.
    """
    fn = node.fn
    if create_graph and not fn.twice_differentiable:
        raise RuntimeError(f"{node.name()} does not support double backward (create_graph=True): "
                           f"its Function sets twice_differentiable = False")
    anomaly = STATE.anomaly
    STATE.anomaly = False  # ops inside a backward are that Function's backward: checked below
    try:
        if fn.raw and not create_graph:
            res = _backward_on_payloads(node, grads)
        else:
            res = _backward_on_values(node, grads, create_graph)
    finally:
        STATE.anomaly = anomaly
    if not fn.raw:
        res = _validate_gradients(node, res, create_graph)
    if anomaly:
        try:
            check_finite(fn.__name__, "backward", res, node._vcls)
        except RuntimeError as e:
            where = f"\nThe forward of this op was called at:\n{node._stack}" if node._stack else ""
            raise RuntimeError(f"{e}{where}") from None
    return res


def _backward_on_payloads(node, grads):
    """A built-in op's first-order backward: payload gradients in, one payload per input out."""
    if node._saved is _FREED:
        node.saved_tensors  # raises the "second backward" error
    node._as_values = False
    res = node.fn.backward(node, *grads)
    if type(res) is not tuple:
        res = (res,)
    return res if len(res) == len(node._next) else _fix_arity(node, res)


def _backward_on_values(node, grads, create_graph):
    """A user Function's backward, or any backward under ``create_graph``: it receives Tensors
    (recorded when ``create_graph``) and saved values rebuilt on the graph."""
    if node._saved is _FREED:
        node.saved_tensors  # raises the "second backward" error
    node._as_values = True
    if not create_graph:
        vcls = node._vcls
        grads = [vcls._wrap(g) for g in grads]
    res = node.fn.backward(node, *grads)
    if not create_graph:
        res = _payloads(res)
    if type(res) is not tuple:
        res = (res,)
    return res if len(res) == len(node._next) else _fix_arity(node, res)


def _apply_prehooks(node, grads, create_graph):
    """Hooks registered on non-leaf values see (and may replace) their gradient."""
    grads = list(grads)
    for nr, hooks in node._pre_hooks.items():
        for hook in hooks:
            if grads[nr] is None:
                continue
            res = hook(grads[nr] if create_graph else node._vcls._wrap(grads[nr]))
            if res is not None:
                grads[nr] = res if create_graph else res._data
    return grads


def _fix_arity(node, res):
    """Allow trailing Nones beyond the input count; anything else is the Function's bug."""
    n_in = len(node._next)
    if len(res) > n_in and all(r is None for r in res[n_in:]):
        return res[:n_in]
    raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                       f"(expected {n_in}, got {len(res)})")


def _payloads(res):
    """Gradients returned by a user backward as payloads (Tensor -> ndarray; None kept)."""
    if type(res) is not tuple:
        res = (res,)
    return tuple(r if r is None or isinstance(r, np.ndarray) else
                 np.asarray(r) if isinstance(r, (np.generic, float, int)) else r._data for r in res)


def _validate_gradients(node, res, create_graph):
    """A user Function must return gradients shaped like its inputs; a floating gradient of another
    floating dtype is cast to its input's dtype (as PyTorch's ``validate_outputs``)."""
    res = list(res)
    for i, (edge, g) in enumerate(zip(node.next_functions, res)):  # public (node, nr) pairs
        if edge is None or g is None:
            continue
        expect, dtype = _edge_meta(edge)
        got = tuple(getattr(g, "shape", ()))
        if expect is not None and got != expect:
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i}: "
                               f"got shape {got} but expected shape {expect}")
        have = getattr(g, "dtype", None)
        if dtype is not None and have is not None and have != dtype and dtype.kind == "f" == have.kind:
            res[i] = g.to(dtype) if create_graph else g.astype(dtype)
    return tuple(res)


def _edge_meta(edge):
    """``(shape, dtype)`` of the value an edge leads to (either None when unknown)."""
    target, nr = edge
    if nr < 0:
        return tuple(getattr(target, "shape", ())), getattr(target, "dtype", None)
    meta = target.output_meta()
    return meta[nr] if nr < len(meta) else (None, None)


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=None):
    """Propagate ``root_grads`` from ``roots`` (Variables) to the leaves.

    Without ``inputs``, gradients accumulate into every reachable leaf's ``.grad``. With
    ``inputs`` (a sequence of Variables), nothing accumulates and the gradients w.r.t. those
    inputs are returned (``None`` where unreached), as ``torch.autograd.grad``; hooks registered on
    an input (``register_hook``) apply to its returned gradient. With both ``inputs`` and
    ``accumulate=True`` (``backward(inputs=...)``), the leaves among ``inputs`` accumulate (and run
    their post-accumulate-grad hooks) as without ``inputs``, and only the non-leaf inputs' gradients
    are returned (None in the leaves' slots).
    """
    prev = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    # The walk allocates many short-lived containers and creates no reference cycles, so the
    # cyclic collector has nothing to find: pausing it saves ~30% on large Scalar graphs.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _walk(roots, root_grads, retain_graph, create_graph, inputs,
                     inputs is None if accumulate is None else accumulate)
    finally:
        STATE.grad_enabled = prev
        if gc_was_enabled:
            gc.enable()


def _walk(roots, root_grads, retain_graph, create_graph, inputs, accumulate):
    capture = None
    only = None  # with inputs and accumulate: ids of the leaves that accumulate (None: all)
    if inputs is not None:
        capture = {}
        if accumulate:
            only = set()
        for i, v in enumerate(inputs):
            if accumulate and v.grad_fn is None:
                only.add(id(v))
                continue
            key = (v.grad_fn, v._output_nr) if v.grad_fn is not None else (id(v), -1)
            capture.setdefault(key, []).append(i)
        captured = [None] * len(inputs)
    buffers = {}
    root_nodes = []
    # ids of gradient arrays a leaf may not keep as its .grad without a copy: the seeds (the
    # caller's arrays, not copied by root_gradients) and each array already handed to a leaf
    handed = {id(g) for g in root_grads if type(g) is np.ndarray}
    leaf_grads = {}  # id(leaf) -> [leaf, total gradient], delivered once at the end (hooks see the sum)
    for v, g in zip(roots, root_grads):
        if v.grad_fn is None:
            if v.requires_grad:
                entry = leaf_grads.get(id(v))
                if entry is None:
                    leaf_grads[id(v)] = [v, g]
                else:
                    entry[1] = entry[1] + g
            continue
        node = v.grad_fn
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_out
            root_nodes.append(node)
        nr = v._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    leaf_deps = None
    if POST_HOOKS[0] and accumulate:
        leaf_deps = {}
        _leaf_dependencies(root_nodes, leaf_deps, only)
    # the heap of nodes to run, by decreasing _seq (see the module docstring); a node is on it
    # iff it has an entry in ``buffers``
    heap = [(-n._seq, n) for n in root_nodes]
    heap.sort()
    # the fast lane: a built-in op with one output, no hooks, no double backward, no anomaly
    # checks and no captured inputs needs nothing but its backward call
    plain = not create_graph and capture is None and not STATE.anomaly
    while heap:
        node = heappop(heap)[1]
        buf = buffers.pop(node)
        if buf[0] is None and (node._n_out == 1 or all(b is None for b in buf)):
            # no consumer sent a gradient: nothing flows through this node
            grads = (None,) * len(node._next)
        elif plain and node.fn.raw and node._n_out == 1 and node._pre_hooks is None:
            # the fast lane: _run_node's common case, i.e. _backward_on_payloads(node, buf)
            # inlined (one Python call per node is ~10% of a small op's backward)
            if node._saved is _FREED:
                node.saved_tensors  # raises the "second backward" error
            node._as_values = False
            grads = node.fn.backward(node, buf[0])
            if type(grads) is not tuple:
                grads = (grads,)
            if len(grads) != len(node._next):
                grads = _fix_arity(node, grads)
        else:
            raw = buf
            if node._pre_hooks:
                buf = _apply_prehooks(node, buf, create_graph)
            if capture is not None:
                # the hooked gradient is captured, except (PyTorch's engine) by grad() at a node
                # that must run anyway because another input lies below it: the one received
                if (not accumulate and raw is not buf and any((node, nr) in capture for nr in range(len(buf)))
                        and _needed(node, capture)):
                    hooked, buf = buf, raw
                else:
                    hooked = buf
                for nr, g in enumerate(buf):
                    for i in capture.get((node, nr), ()):
                        captured[i] = g
                buf = hooked
            if node._n_out > 1:
                buf = _materialize(node, buf, create_graph)
            grads = _run_node(node, buf, create_graph)
        if not retain_graph:
            node._saved = _FREED
        for target, g in zip(node._next, grads):
            if target is None:
                continue
            tt = type(target)
            if tt is Node:
                nr = 0
            elif tt is tuple:
                target, nr = target
            else:
                if g is not None:
                    entry = leaf_grads.get(id(target))
                    if entry is None:
                        leaf_grads[id(target)] = [target, g]
                    else:
                        entry[1] = entry[1] + g
                if leaf_deps and id(target) in leaf_deps:
                    _leaf_edge_done(target, leaf_deps, leaf_grads, create_graph, handed)
                continue
            tb = buffers.get(target)
            if tb is None:
                tb = buffers[target] = [None] * target._n_out
                heappush(heap, (-target._seq, target))
            if g is not None:
                tb[nr] = g if tb[nr] is None else tb[nr] + g
    for leaf, g in leaf_grads.values():
        if accumulate:
            if only is not None and id(leaf) not in only:
                continue
            leaf._accumulate_grad(g, create_graph, handed)
            if leaf_deps is not None and getattr(leaf, "_post_acc_hooks", None):
                _run_post_hooks(leaf)
        else:
            _capture_leaf(leaf, g, capture, captured, create_graph)
    return captured if capture is not None else None


def _needed(node, capture):
    """Whether an input captured by ``grad()`` (a key of ``capture``) lies strictly below ``node``."""
    nodes = {key[0] for key in capture}  # captured nodes, and ids of captured leaves
    stack, seen = [node], {node}
    while stack:
        for nxt in stack.pop()._next:
            if nxt is None:
                continue
            if type(nxt) is tuple:
                nxt = nxt[0]
            elif type(nxt) is not Node:
                if id(nxt) in nodes:
                    return True
                continue
            if nxt in nodes:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def _leaf_edge_done(leaf, leaf_deps, leaf_grads, create_graph, handed):
    """One more edge into a leaf with post-accumulate-grad hooks has delivered; after the last
    one, accumulate its gradient now (not at the end of the walk) and run its hooks."""
    key = id(leaf)
    left = leaf_deps[key] - 1
    leaf_deps[key] = left
    if left:
        return
    entry = leaf_grads.pop(key, None)
    if entry is not None:
        leaf._accumulate_grad(entry[1], create_graph, handed)
    _run_post_hooks(leaf)


def _run_post_hooks(leaf):
    """``hook(leaf)`` for each post-accumulate-grad hook, also when the walk reached the leaf but
    no gradient arrived (as PyTorch; a data-parallel reducer learns that the leaf is done)."""
    for hook in list(leaf._post_acc_hooks):
        hook(leaf)


def _materialize(node, buf, create_graph):
    """Outputs of a multi-output node that got no gradient receive zeros (PyTorch's default);
    outputs marked non-differentiable (indices, statistics) receive None."""
    out = list(buf)
    non_diff = node._non_diff or ()
    for i, g in enumerate(out):
        if g is None and i not in non_diff:
            shape, dtype = node._out_meta[i]
            z = np.zeros(shape, dtype=dtype) if dtype is not None else 0.0
            out[i] = node._vcls._wrap(z) if create_graph else z
    return out


def _capture_leaf(leaf, g, capture, captured, create_graph):
    """``grad()``: hand a leaf's total gradient, through its hooks (``register_hook``, once, as
    PyTorch), to the requested input slots (no ``.grad``)."""
    slots = capture.get((id(leaf), -1), ())
    if slots and leaf._hooks:
        g = leaf._run_leaf_hooks(g, create_graph)
    for i in slots:
        captured[i] = g
