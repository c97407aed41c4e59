"""Mutation-testing guard for engine/variable.py (the base class shared by Tensor and Scalar):
hooks and their handles, post-accumulate-grad hooks, retain_grad, ``Variable.backward`` and
``engine.autograd.backward`` argument handling, checked against PyTorch where it has the feature.

* ``register_hook`` on leaves and non-leaves: the hook sees a value of the library's type, a
  returned value replaces the gradient, ``handle.remove()`` unregisters exactly that hook (twice
  is harmless); hooks on values without grad are refused with PyTorch's message;
* ``register_post_accumulate_grad_hook``: every registered hook runs once per backward and stops
  after its handle's ``remove()``, also with several hooks and removals in any order; refused on
  non-leaves and on values that don't require grad (PyTorch's messages);
* ``retain_grad``: non-leaf ``.grad`` kept and accumulated across backwards, leaves unchanged,
  calling it twice is idempotent (as PyTorch);
* ``backward``: ``inputs=`` restricts accumulation, ``create_graph`` makes ``.grad``
  differentiable and retains the graph by default, ``retain_graph`` honoured with ``inputs``,
  argument errors (types, counts) are raised as in PyTorch and name the offending argument.
Each check runs on Tensor and on engine.Scalar where the feature exists for both.
"""
import math

import numpy as np
import pytest
import torch

import engine
from engine import Scalar
from engine import autograd as eag

LIBS = ["tensor", "scalar"]


def _leaf(lib, v=1.5):
    """A leaf requiring grad, in our library (tensor or Scalar) and in torch."""
    if lib == "scalar":
        return Scalar(v), torch.tensor(v, dtype=torch.float64, requires_grad=True)
    return (engine.tensor(np.array([v, -2.0 * v]), requires_grad=True),
            torch.tensor([v, -2.0 * v], dtype=torch.float64, requires_grad=True))


def _val(x):
    """A number / array of an engine or torch value (None stays None)."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, Scalar):
        return np.asarray(x._data)
    if isinstance(x, (int, float)):
        return np.asarray(x, dtype=float)
    return np.asarray(x._data)


def _grad(x):
    g = x.grad
    if isinstance(x, Scalar) and not isinstance(g, Scalar):
        return np.asarray(g, dtype=float)
    return _val(g)


def _sum(y):
    return y if isinstance(y, (Scalar, torch.Tensor)) and (isinstance(y, Scalar) or y.dim() == 0) else y.sum()


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12)


# -- register_hook -----------------------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_hook_sees_value_and_replaces_gradient(lib, where):
    outs = []
    for x in _leaf(lib):
        seen = []
        v = x if where == "leaf" else x * 3.0

        def hook(g, seen=seen, cls=type(x)):
            seen.append((type(g), _val(g).copy()))
            return g * 2.0

        v.register_hook(hook)
        _sum(v * v).backward()
        assert len(seen) == 1
        assert issubclass(seen[0][0], (Scalar, engine.Tensor, torch.Tensor))
        assert seen[0][0] is not np.ndarray
        outs.append((seen[0][1], _grad(x)))
        if where == "leaf" and not isinstance(x, torch.Tensor) and lib == "tensor":
            assert isinstance(x.grad, engine.Tensor) and x.grad.grad_fn is None
    _close(outs[0][0], outs[1][0])
    _close(outs[0][1], outs[1][1])


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_hook_handle_remove(lib, where):
    res = []
    for x in _leaf(lib):
        calls = []
        v = x if where == "leaf" else x * 3.0
        h1 = v.register_hook(lambda g: calls.append(1))
        h2 = v.register_hook(lambda g: calls.append(2) or g * 10.0)
        h3 = v.register_hook(lambda g: calls.append(3))
        h2.remove()
        h2.remove()
        _sum(v * 2.0).backward(retain_graph=True)
        first = list(calls)
        h1.remove()
        h3.remove()
        calls.clear()
        if isinstance(x, Scalar):
            x.grad = 0.0
        else:
            x.grad = None
        _sum(v * 2.0).backward()
        res.append((first, list(calls), _grad(x)))
    assert res[0][0] == res[1][0] == [1, 3]
    assert res[0][1] == res[1][1] == []
    _close(res[0][2], res[1][2])


@pytest.mark.parametrize("lib", LIBS)
def test_hook_refused_without_grad(lib):
    x = Scalar(1.0, requires_grad=False) if lib == "scalar" else engine.tensor([1.0])
    with pytest.raises(RuntimeError) as ours:
        x.register_hook(lambda g: None)
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor([1.0]).register_hook(lambda g: None)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("lib", LIBS)
def test_backward_without_grad_message(lib):
    x = Scalar(1.0, requires_grad=False) if lib == "scalar" else engine.tensor(1.0)
    with pytest.raises(RuntimeError) as ours:
        x.backward()
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor(1.0).backward()
    assert str(theirs.value) in str(ours.value)
    assert "grad_fn: call .requires_grad_() on a leaf" in str(ours.value)


# -- post-accumulate-grad hooks ----------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("order", [(0,), (1,), (0, 2), (2, 0), (1, 2, 0)])
def test_post_accumulate_hooks_register_remove(lib, order):
    res = []
    for x in _leaf(lib):
        calls = []
        hs = [x.register_post_accumulate_grad_hook(lambda t, i=i: calls.append((i, _grad(t).copy())))
              for i in range(3)]
        _sum(x * x).backward()
        got = [[c[0] for c in calls]]
        grads = [c[1] for c in calls]
        for k in order:
            hs[k].remove()
            hs[k].remove()
            calls.clear()
            _sum(x * 2.0).backward()
            got.append([c[0] for c in calls])
        res.append((got, grads))
    assert res[0][0] == res[1][0]
    for a, b in zip(res[0][1], res[1][1]):
        _close(a, b)


@pytest.mark.parametrize("lib", LIBS)
def test_post_accumulate_hook_refusals(lib):
    ours_x, tx = _leaf(lib)
    for x in (ours_x * 2.0, tx * 2.0):
        with pytest.raises(RuntimeError) as e:
            x.register_post_accumulate_grad_hook(lambda t: None)
        msgs = getattr(test_post_accumulate_hook_refusals, "m", [])
        msgs.append(str(e.value))
        test_post_accumulate_hook_refusals.m = msgs
    nog = Scalar(1.0, requires_grad=False) if lib == "scalar" else engine.tensor([1.0])
    for x in (nog, torch.tensor([1.0])):
        with pytest.raises(RuntimeError) as e:
            x.register_post_accumulate_grad_hook(lambda t: None)
        test_post_accumulate_hook_refusals.m.append(str(e.value))
    m = test_post_accumulate_hook_refusals.m[-4:]
    test_post_accumulate_hook_refusals.m = []
    assert m[0] == m[1] and m[2] == m[3]


# -- retain_grad -------------------------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
def test_retain_grad_accumulates(lib):
    res = []
    for x in _leaf(lib):
        y = x * 3.0
        y.retain_grad()
        x.retain_grad()
        z = _sum(y * y)
        z.backward(retain_graph=True)
        first = _grad(y).copy()
        z.backward()
        res.append((first, _grad(y), _grad(x)))
    for a, b in zip(res[0], res[1]):
        _close(a, b)


@pytest.mark.parametrize("lib", LIBS)
def test_retain_grad_twice_is_idempotent(lib):
    res = []
    for x in _leaf(lib):
        y = x * 3.0
        y.retain_grad()
        y.retain_grad()
        _sum(y * y).backward()
        res.append((_grad(y), _grad(x)))
    for a, b in zip(res[0], res[1]):
        _close(a, b)


# -- backward arguments ------------------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("how", ["method", "function", "function_list"])
def test_backward_inputs_restricts(lib, how):
    res = []
    for (a, b) in zip(_leaf(lib, 1.5), _leaf(lib, -0.5)):
        y = _sum(a * b * b)
        if how == "method":
            y.backward(inputs=[a])
        elif how == "function":
            (torch.autograd.backward if isinstance(a, torch.Tensor) else eag.backward)(y, inputs=a)
        else:
            if isinstance(a, torch.Tensor):
                torch.autograd.backward([y], None, None, False, inputs=[a])
            else:
                eag.backward([y], None, None, False, [a])
        res.append((_grad(a), b.grad is None or (isinstance(b, Scalar) and b.grad == 0.0)))
    _close(res[0][0], res[1][0])
    assert res[0][1] and res[1][1]


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("with_inputs", [False, True])
@pytest.mark.parametrize("how", ["method", "function"])
def test_backward_create_graph(lib, with_inputs, how):
    res = []
    for x in _leaf(lib):
        y = _sum(x * x * x)
        kw = {"inputs": [x]} if with_inputs else {}
        if how == "method":
            y.backward(create_graph=True, **kw)
        else:
            (torch.autograd.backward if isinstance(x, torch.Tensor) else eag.backward)(
                y, create_graph=True, **kw)
        g = x.grad
        first = _val(g).copy()
        assert g.requires_grad
        # the graph was retained (retain_graph defaults to create_graph)
        y.backward(retain_graph=True, **kw)
        second = _grad(x).copy()
        # second derivative through the differentiable .grad
        if isinstance(x, Scalar):
            x.grad = 0.0
        else:
            x.grad = None
        _sum(g).backward(**kw)
        res.append((first, second, _grad(x)))
    for a, b in zip(res[0], res[1]):
        _close(a, b)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("with_inputs", [False, True])
def test_backward_default_frees_graph_and_plain_grad(lib, with_inputs):
    """Without create_graph ``.grad`` has no graph; retain_graph=True (also with inputs=) allows a
    second backward, then the default frees it (PyTorch raises on a third)."""
    for x in _leaf(lib):
        y = _sum(x * x * x)
        kw = {"inputs": [x]} if with_inputs else {}
        if isinstance(x, torch.Tensor):
            torch.autograd.backward(y, retain_graph=True, **kw)
        else:
            eag.backward(y, retain_graph=True, **kw)
        g = x.grad
        if not isinstance(g, float):
            assert not g.requires_grad and g.grad_fn is None
        y.backward(**kw)
        with pytest.raises(RuntimeError):
            y.backward(**kw)


@pytest.mark.parametrize("lib", LIBS)
def test_function_backward_default_gradient(lib):
    res = []
    for x in _leaf(lib):
        y = _sum(x * x)
        (torch.autograd.backward if isinstance(x, torch.Tensor) else eag.backward)(y)
        res.append(_grad(x))
        if not isinstance(x, torch.Tensor):
            assert lib == "scalar" or x.grad.grad_fn is None
    _close(res[0], res[1])


def test_backward_argument_errors_name_the_argument():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    cases = [
        (lambda: eag.backward(5.0), lambda: torch.autograd.backward(5.0), ["backward", "tensors"]),
        (lambda: eag.backward(x.sum(), grad_tensors=5.0),
         lambda: torch.autograd.backward(tx.sum(), grad_tensors=5.0), ["backward", "grad_tensors"]),
        (lambda: eag.backward(x.sum(), inputs=5),
         lambda: torch.autograd.backward(tx.sum(), inputs=5), ["backward", "inputs"]),
        (lambda: eag.backward(x.sum(), grad_tensors=[5.0]),
         lambda: torch.autograd.backward(tx.sum(), grad_tensors=[5.0]), ["backward", "grad_tensors"]),
        (lambda: eag.backward([x.sum(), x.sum()], grad_tensors=[engine.tensor(1.0)]),
         lambda: torch.autograd.backward([tx.sum(), tx.sum()], grad_tensors=[torch.tensor(1.0)]),
         ["backward", "2", "1"]),
    ]
    for ours, theirs, words in cases:
        with pytest.raises(Exception) as et:
            theirs()
        with pytest.raises(Exception) as eo:
            ours()
        assert type(eo.value) is type(et.value) or isinstance(eo.value, type(et.value)), (eo, et)
        for w in words:
            assert w in str(eo.value), (str(eo.value), w)
        assert not str(eo.value).startswith("None") and "XX" not in str(eo.value)
        assert " None must" not in str(eo.value) and "of None" not in str(eo.value)
        assert str(eo.value) == str(eo.value).replace("BACKWARD", "")
