"""Second mutation-testing guard for engine/variable.py (run 4 re-run), checked against PyTorch:

* ``retain_grad()`` on a non-leaf that already has a user ``register_hook`` hook (the "already
  retaining?" check must look only for retain_grad's own hook, and must not fail on hooks
  without its marker), and on the second output of a two-output Function whose first output has
  hooks (the check must look at this output's pre-hooks only, even when it has none yet);
* the defaults of ``Variable.backward`` and ``engine.autograd.backward``: ``create_graph=False``
  (``.grad`` is not differentiable) and ``retain_graph`` = ``create_graph`` (a second backward
  through the freed graph raises, as PyTorch; with ``create_graph=True`` it works);
* ``backward`` on a value that doesn't require grad: PyTorch's RuntimeError message; the
  ``gradient`` argument seeds the walk; ``grad_tensors`` as a list with None, one Tensor or one
  ndarray; create_graph on a leaf root and with a gradient that requires grad;
* ``backward(inputs=)``: non-leaf inputs get ``.grad``, post-accumulate-grad hooks run on the
  inputs only;
* argument errors name the argument, the element index and the offending type (as PyTorch's).
"""
import re

import numpy as np
import pytest
import torch

import engine
from engine import Scalar
from engine import autograd as eag
from engine.autograd import Function

LIBS = ["tensor", "scalar"]


def _leaf(lib, v=1.5):
    """A leaf requiring grad in our library (Tensor or Scalar) and the same in torch."""
    if lib == "scalar":
        return Scalar(v, requires_grad=True), torch.tensor(v, dtype=torch.float64, requires_grad=True)
    return (engine.tensor(np.array([v, -2.0 * v]), requires_grad=True),
            torch.tensor([v, -2.0 * v], dtype=torch.float64, requires_grad=True))


def _np(x):
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, (int, float)):  # a Scalar's plain .grad is a float
        return np.asarray(x, dtype=float)
    return np.asarray(x._data, dtype=float)


def _total(y):
    """A one-element value to call backward on."""
    if isinstance(y, Scalar) or (isinstance(y, torch.Tensor) and y.dim() == 0):
        return y
    return y.sum()


# -- retain_grad next to other hooks ----------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("hook_returns", [False, True])
def test_retain_grad_after_a_user_hook(lib, hook_returns):
    """A user hook registered first does not make retain_grad() think it is already retaining:
    .grad is kept (the hooked gradient when the hook replaces it), as PyTorch."""
    results = []
    for x in _leaf(lib):
        y = x * 3.0
        calls = []
        y.register_hook(lambda g: calls.append(1) or (g * 2.0 if hook_returns else None))
        y.retain_grad()
        _total(y * y).backward()
        assert calls == [1]
        assert y.grad is not None
        results.append((_np(y.grad), _np(x.grad)))
    (ours_y, ours_x), (ref_y, ref_x) = results
    np.testing.assert_allclose(ours_y, ref_y)
    np.testing.assert_allclose(ours_x, ref_x)


class _TwoOut(Function):
    """(2·x, 3·x): one node with two outputs."""

    @staticmethod
    def forward(ctx, x):
        return x * 2.0, x * 3.0

    @staticmethod
    def backward(ctx, g0, g1):
        return g0 * 2.0 + g1 * 3.0


class _TwoOutTorch(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0, x * 3.0

    @staticmethod
    def backward(ctx, g0, g1):
        return g0 * 2.0 + g1 * 3.0


@pytest.mark.parametrize("first", ["hook", "retain"])
def test_retain_grad_on_second_output_of_a_two_output_node(first):
    """retain_grad() on output 1 while only output 0 has pre-hooks on the shared node."""
    results = []
    for x, fn in ((_leaf("tensor")[0], _TwoOut), (_leaf("tensor")[1], _TwoOutTorch)):
        a, b = fn.apply(x)
        if first == "hook":
            a.register_hook(lambda g: g * 5.0)
        else:
            a.retain_grad()
        b.retain_grad()
        (a * a + b * b * b).sum().backward()
        assert b.grad is not None
        results.append((_np(a.grad), _np(b.grad), _np(x.grad)))
    for ours, ref in zip(*results):
        if ref is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, ref)


# -- backward defaults ------------------------------------------------------------------------

def _call(how, y, **kw):
    if how == "method":
        y.backward(**kw)
    elif isinstance(y, torch.Tensor):
        torch.autograd.backward(y, **kw)
    else:
        eag.backward(y, **kw)


def _raises(f):
    try:
        f()
    except RuntimeError:
        return True
    return False


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("how", ["method", "function"])
def test_backward_defaults_do_not_create_or_retain_the_graph(lib, how):
    """Plain backward(): .grad is not differentiable and the graph is freed (a second backward
    raises), as PyTorch."""
    seen = []
    for x in _leaf(lib):
        y = _total(x * x * x)
        _call(how, y)
        g = x.grad
        second = _raises(lambda: _call(how, y))
        seen.append((bool(getattr(g, "requires_grad", False)), getattr(g, "grad_fn", None) is None, second, _np(g)))
    (ours, ref) = seen
    assert ours[:3] == ref[:3] == (False, True, True)
    np.testing.assert_allclose(ours[3], ref[3])


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("how", ["method", "function"])
def test_create_graph_retains_the_graph_by_default(lib, how):
    """backward(create_graph=True): .grad is differentiable and a second backward works (the
    graph is retained by default), as PyTorch; an explicit retain_graph=True without
    create_graph keeps it too."""
    seen = []
    for x in _leaf(lib):
        y = _total(x * x * x)
        _call(how, y, create_graph=True)
        g1 = _np(x.grad)
        req = bool(x.grad.requires_grad)
        _call(how, y, create_graph=True)
        z = _total(x * x)
        _call(how, z, retain_graph=True)
        _call(how, z)
        seen.append((req, g1, _np(x.grad)))
    (ours, ref) = seen
    assert ours[0] is ref[0] is True
    np.testing.assert_allclose(ours[1], ref[1])
    np.testing.assert_allclose(ours[2], ref[2])


@pytest.mark.parametrize("lib", LIBS)
def test_backward_without_grad_raises_pytorchs_message(lib):
    """Variable.backward on a value that doesn't require grad: RuntimeError with PyTorch's text."""
    x, tx = _leaf(lib)
    with pytest.raises(RuntimeError) as ref:
        (tx.detach() * 2.0).sum().backward()
    plain = Scalar(1.5, requires_grad=False) if lib == "scalar" else engine.tensor(np.array([1.5, -3.0]))
    with pytest.raises(RuntimeError, match=re.escape(str(ref.value))):
        _total(plain * 2.0).backward()


@pytest.mark.parametrize("lib", LIBS)
def test_backward_gradient_argument_is_used(lib):
    """y.backward(gradient): the given gradient (not 1) seeds the walk, as PyTorch."""
    results = []
    for x in _leaf(lib):
        y = x * x
        if isinstance(x, torch.Tensor):
            gr = torch.full_like(y, -2.5)
        elif lib == "scalar":
            gr = -2.5
        else:
            gr = engine.tensor(np.full(y.shape, -2.5))
        y.backward(gr)
        results.append(_np(x.grad))
    np.testing.assert_allclose(results[0], results[1])


# -- argument checks of engine.autograd.backward ---------------------------------------------

@pytest.mark.parametrize("where", ["tensors", "inputs"])
def test_non_tensor_element_is_refused_naming_it(where):
    """A non-Tensor element of ``tensors`` / ``inputs`` is refused before any walk, naming its
    index, the argument and its type (PyTorch refuses it too, naming the type; the library raises
    TypeError, as for the other argument-type errors, or PyTorch's exception type)."""
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    if where == "tensors":
        ours, theirs = (lambda: eag.backward([(x * x).sum(), 3])), (lambda: torch.autograd.backward([(tx * tx).sum(), 3]))
    else:
        ours, theirs = (lambda: eag.backward((x * x).sum(), inputs=[x, 3])), (lambda: torch.autograd.backward((tx * tx).sum(), inputs=[tx, 3]))
    with pytest.raises(Exception) as et:
        theirs()
    with pytest.raises(Exception) as eo:
        ours()
    assert isinstance(eo.value, (TypeError, type(et.value))), (eo.value, et.value)
    msg = str(eo.value)
    for w in ("backward", where, "element 1", "int"):
        assert w in msg, (msg, w)
    assert x.grad is None  # nothing accumulated before the refusal


def test_grad_tensors_forms():
    """``grad_tensors`` as a list with a None (default 1 for a one-element root), as one Tensor,
    and (the library's extension) as one ndarray: the same gradients as PyTorch's Tensor form."""
    x = engine.tensor([1.5, -2.0, 0.5], requires_grad=True)
    tx = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    gv = np.array([0.5, -3.0, 2.0])
    # a list [non-scalar root's gradient, None for a one-element root]
    eag.backward([x * x, (x * x * x).sum()], grad_tensors=[engine.tensor(gv), None])
    torch.autograd.backward([tx * tx, (tx * tx * tx).sum()], grad_tensors=[torch.tensor(gv), None])
    np.testing.assert_allclose(_np(x.grad), _np(tx.grad))
    for form in ("tensor", "ndarray"):
        x.grad, tx.grad = None, None
        eag.backward(x * x, grad_tensors=engine.tensor(gv) if form == "tensor" else gv)
        torch.autograd.backward(tx * tx, grad_tensors=torch.tensor(gv))
        np.testing.assert_allclose(_np(x.grad), _np(tx.grad))


def test_later_root_without_grad_raises_pytorchs_message():
    """The second root not requiring grad: PyTorch's RuntimeError, naming element 1."""
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as ref:
        torch.autograd.backward([tx.sum(), torch.tensor(2.0)])
    with pytest.raises(RuntimeError, match=re.escape(str(ref.value))):
        eag.backward([x.sum(), engine.tensor(2.0)])


def test_bad_gradient_type_names_it():
    """A float gradient for a Tensor root: TypeError as PyTorch, naming the float's type (as
    PyTorch) and the ndarray the library accepts besides Tensors."""
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError) as ref:
        torch.autograd.backward([tx * 2.0], [2.0])
    with pytest.raises(TypeError) as ours:
        eag.backward([x * 2.0], [2.0])
    assert "float" in str(ref.value)
    for w in ("float", "ndarray", "grad_tensors", "element 0"):
        assert w in str(ours.value), (str(ours.value), w)


@pytest.mark.parametrize("create_graph", [False, True])
def test_backward_inputs_on_a_non_leaf(create_graph):
    """backward(inputs=[h]) with h a non-leaf: h.grad gets d(out)/dh (differentiable with
    create_graph, as PyTorch) and the leaf below gets nothing."""
    seen = []
    for x in (engine.tensor([1.0, -2.0], requires_grad=True),
              torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)):
        h = x * x
        (h * h * h).sum().backward(inputs=[h], create_graph=create_graph)
        g = h.grad
        seen.append((_np(g), bool(g.requires_grad), x.grad is None))
    (ours, ref) = seen
    np.testing.assert_allclose(ours[0], ref[0])
    assert ours[1:] == ref[1:] == (create_graph, True)


@pytest.mark.parametrize("where", ["tensors", "inputs"])
def test_non_sequence_argument_names_its_type(where):
    """A number for ``tensors`` / ``inputs``: TypeError as PyTorch, naming the number's type (as
    PyTorch's "'float' object is not iterable")."""
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    if where == "tensors":
        ours, theirs = (lambda: eag.backward(5.0)), (lambda: torch.autograd.backward(5.0))
    else:
        ours, theirs = (lambda: eag.backward(x.sum(), inputs=5.0)), (lambda: torch.autograd.backward(tx.sum(), inputs=5.0))
    with pytest.raises(TypeError) as ref:
        theirs()
    with pytest.raises(TypeError) as eo:
        ours()
    assert "float" in str(ref.value)
    assert "float" in str(eo.value) and where in str(eo.value), str(eo.value)


@pytest.mark.parametrize("lib", LIBS)
def test_post_accumulate_hook_runs_with_inputs(lib):
    """backward(inputs=[a]): a's post-accumulate-grad hook runs once, after a.grad holds the
    gradient; b (not in inputs) gets neither gradient nor hook call — as PyTorch."""
    seen = []
    for a, b in zip(_leaf(lib, 1.5), _leaf(lib, -0.5)):
        calls = {"a": [], "b": []}
        a.register_post_accumulate_grad_hook(lambda v: calls["a"].append(_np(v.grad)))
        b.register_post_accumulate_grad_hook(lambda v: calls["b"].append(1))
        _total(a * b * b).backward(inputs=[a])
        assert len(calls["a"]) == 1 and calls["b"] == []
        np.testing.assert_allclose(calls["a"][0], _np(a.grad))
        seen.append(_np(a.grad))
    np.testing.assert_allclose(seen[0], seen[1])


@pytest.mark.parametrize("lib", LIBS)
def test_create_graph_on_a_leaf_root(lib):
    """x.backward(create_graph=True) with x itself a one-element leaf: x.grad is a value of the
    library's type (a Tensor, as PyTorch's), holding 1."""
    x = Scalar(2.0, requires_grad=True) if lib == "scalar" else engine.tensor(2.0, requires_grad=True)
    tx = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    x.backward(create_graph=True)
    tx.backward(create_graph=True)
    assert isinstance(x.grad, type(x)), type(x.grad)
    np.testing.assert_allclose(_np(x.grad), _np(tx.grad))


def test_create_graph_with_a_gradient_that_requires_grad():
    """y.backward(v, create_graph=True) with v requiring grad: x.grad = dy/dx · v is
    differentiable w.r.t. v (backward of x.grad.sum() fills v.grad), as PyTorch."""
    seen = []
    for mk in (lambda a: engine.tensor(np.array(a), requires_grad=True),
               lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True)):
        x, v = mk([1.5, -2.0]), mk([0.5, 3.0])
        (x * x).backward(v, create_graph=True)
        g = _np(x.grad)
        x.grad.sum().backward()
        seen.append((g, _np(v.grad)))
    for ours, ref in zip(*seen):
        np.testing.assert_allclose(ours, ref)
