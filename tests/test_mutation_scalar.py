"""Mutation-testing guards for ``engine.Scalar`` and the CPU-only ``engine.cuda`` /
``engine.accelerator`` / ``engine.upper`` helpers.

What this file pins down (each test kills mutants that the rest of the suite let survive):

* every Scalar op: value and gradients equal PyTorch's on 0-d float64 tensors, including the
  reflected operators with a constant left operand (``2 - s``, ``2 / s``, ``2 ** s``), left
  operands that are neither float nor int (``True - s``) and ones that are not numbers at all
  (``"2" - s`` raises ``TypeError`` as PyTorch does);
* ``pow`` edge cases: ``0 ** s`` (no ``log 0``, no ``0 ** negative``), double backward through
  ``a ** b`` with respect to the base;
* ``relu`` and ``sigmoid`` values;
* new Scalars: ``grad == 0.0``, ``label == ""``, ``_version == 0``; leaf hooks (also with
  ``create_graph=True``); ``float``, ``repr``, ``hash`` and the comparisons;
* ``engine.cuda`` / ``engine.accelerator`` answers as ``torch.cuda`` / ``torch.accelerator`` on a
  CPU-only build, and the ``engine.upper`` error naming the missing import.
"""
import math
import sys

import pytest
import torch
from hypothesis import given, settings, strategies as st

import engine
from engine import Scalar
from engine import accelerator, cuda, upper

SETTINGS = settings(deadline=None, max_examples=25)
F = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
POS = st.floats(0.2, 3)
NONZERO = st.one_of(st.floats(0.2, 3), st.floats(-3, -0.2))


def _t(v, grad=True):
    return torch.tensor(v, dtype=torch.float64, requires_grad=grad)


def _close(x, y):
    return math.isclose(float(x), float(y), rel_tol=1e-12, abs_tol=1e-12)


BINARY = {
    "add": (lambda a, b: a + b, F, F),
    "sub": (lambda a, b: a - b, F, F),
    "mul": (lambda a, b: a * b, F, F),
    "div": (lambda a, b: a / b, F, NONZERO),
    "pow": (lambda a, b: a ** b, POS, F),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_value_and_grads_match_torch(name, data):
    fn, ea, eb = BINARY[name]
    av, bv = data.draw(ea), data.draw(eb)
    a, b = Scalar(av), Scalar(bv)
    y = fn(a, b)
    y.backward()
    ta, tb = _t(av), _t(bv)
    ty = fn(ta, tb)
    ty.backward()
    assert _close(y.data, ty.item())
    assert _close(a.grad, ta.grad.item()) and _close(b.grad, tb.grad.item())


REFLECTED = {
    "radd": (lambda c, s: c + s, F, F),
    "rsub": (lambda c, s: c - s, F, F),
    "rmul": (lambda c, s: c * s, F, F),
    "rdiv": (lambda c, s: c / s, F, NONZERO),
    "rpow": (lambda c, s: c ** s, POS, F),
}


@pytest.mark.parametrize("kind", [float, int, bool])
@pytest.mark.parametrize("name", sorted(REFLECTED))
@SETTINGS
@given(data=st.data())
def test_reflected_with_constant_left_operand_matches_torch(name, kind, data):
    fn, ec, es = REFLECTED[name]
    cv, sv = data.draw(ec), data.draw(es)
    if kind is int:
        cv = data.draw(st.integers(1, 3))
    elif kind is bool:
        cv = True
    s = Scalar(sv)
    y = fn(cv, s)
    assert isinstance(y, Scalar) and y.requires_grad
    y.backward()
    ts = _t(sv)
    ty = fn(float(cv) if kind is bool else cv, ts)  # torch's bool ** tensor backward asserts
    ty.backward()
    assert _close(y.data, ty.item())
    assert _close(s.grad, ts.grad.item())


@pytest.mark.parametrize("name", sorted(REFLECTED))
def test_reflected_with_scalar_left_operand_needing_grad(name):
    # a Scalar on the left reaches __rxxx__ only when called directly; both get gradients
    fn = REFLECTED[name][0]
    rname = {"radd": "__radd__", "rsub": "__rsub__", "rmul": "__rmul__", "rdiv": "__rtruediv__",
             "rpow": "__rpow__"}[name]
    c, s = Scalar(1.5), Scalar(0.7)
    y = getattr(s, rname)(c)
    y.backward()
    tc, ts = _t(1.5), _t(0.7)
    ty = fn(tc, ts)
    ty.backward()
    assert _close(y.data, ty.item())
    assert _close(c.grad, tc.grad.item()) and _close(s.grad, ts.grad.item())


@pytest.mark.parametrize("op", ["-", "/", "**"])
def test_reflected_with_string_left_operand_raises_type_error_like_torch(op):
    with pytest.raises(TypeError):
        eval(f"'2' {op} t", {"t": _t(3.0)})
    with pytest.raises(TypeError):
        eval(f"'2' {op} s", {"s": Scalar(3.0)})


def test_zero_base_pow_gradient_matches_torch():
    for e in (0.5, 2.0, -0.0 + 1.0):
        s = Scalar(e)
        y = 0.0 ** s
        y.backward()
        ts = _t(e)
        ty = 0.0 ** ts
        ty.backward()
        assert _close(y.data, ty.item()) and _close(s.grad, ts.grad.item())
    # the base a Scalar that needs no grad
    base, s = Scalar(0.0, requires_grad=False), Scalar(0.5)
    (base ** s).backward()
    assert s.grad == 0.0


def test_pow_double_backward_through_base_matches_torch():
    a, b = Scalar(1.7), Scalar(0.8)
    (ga, gb) = engine.grad(a ** b, (a, b), create_graph=True)
    (h,) = engine.grad(gb, a)
    ta, tb = _t(1.7), _t(0.8)
    tga, tgb = torch.autograd.grad(ta ** tb, (ta, tb), create_graph=True)
    (th,) = torch.autograd.grad(tgb, ta)
    assert _close(ga.data, tga.item()) and _close(gb.data, tgb.item())
    assert _close(h.data, th.item())


@pytest.mark.parametrize("v", [0.0, -1.5, 2.5])  # -0.0: see report (torch keeps the sign)
def test_relu_value_and_sign_match_torch(v):
    y = Scalar(v).relu()
    ty = torch.relu(_t(v, grad=False)).item()
    assert y.data == ty and math.copysign(1.0, y.data) == math.copysign(1.0, ty)


@SETTINGS
@given(v=F)
def test_sigmoid_and_unary_values_match_torch(v):
    for name in ("sigmoid", "tanh", "exp", "relu"):
        s = Scalar(v)
        y = getattr(s, name)()
        y.backward()
        ts = _t(v)
        ty = getattr(ts, name)()
        ty.backward()
        assert _close(y.data, ty.item()) and _close(s.grad, ts.grad.item())


# -- new Scalars ---------------------------------------------------------------------------------
def test_new_scalars_start_with_zero_grad_empty_label_version_zero():
    a = Scalar(2.0)
    assert a.label == "" and a.grad == 0.0 and a._version == _t(2.0)._version
    y = a * 3.0
    assert y.grad == 0.0 and y.label == "" and y._version == 0
    with engine.no_grad():
        z = a * 3.0
    assert z.grad == 0.0 and z.label == "" and z._version == 0
    assert repr(y) == f"Scalar(data={6.0:.6g}, grad={0.0:.6g})"


def test_leaf_hook_scales_gradient_like_torch():
    a = Scalar(1.3)
    a.register_hook(lambda g: g * 3)
    (a * a).backward()
    ta = _t(1.3)
    ta.register_hook(lambda g: g * 3)
    (ta * ta).backward()
    assert _close(a.grad, ta.grad.item())


def test_leaf_hook_with_create_graph_like_torch():
    seen = []
    a = Scalar(1.3)
    ha = a.register_hook(lambda g: seen.append(g) or g * 3)
    (a * a * a).backward(create_graph=True)
    ta = _t(1.3)
    hta = ta.register_hook(lambda g: g * 3)
    (ta * ta * ta).backward(create_graph=True)
    ha.remove()
    hta.remove()
    assert _close(a.grad.data, ta.grad.item())
    assert seen[0].requires_grad and ta.grad.requires_grad
    (h,) = engine.grad(a.grad, a)
    (th,) = torch.autograd.grad(ta.grad, ta)
    assert _close(h.data, th.item())


def test_hook_on_a_leaf_made_by_an_op_under_no_grad():
    a = Scalar(2.0)
    with engine.no_grad():
        z = a * 3.0
    z.requires_grad = True
    z.register_hook(lambda g: g * 2)
    (z * z).backward()
    tz = _t(6.0)
    tz.register_hook(lambda g: g * 2)
    (tz * tz).backward()
    assert _close(z.grad, tz.grad.item())


def test_float_repr_hash():
    s = Scalar(2.5)
    assert float(s) == float(_t(2.5)) and type(float(s)) is float
    (s * s).backward()
    assert repr(s) == f"Scalar(data={2.5:.6g}, grad={5.0:.6g})"
    t = _t(2.5)
    assert hash(t) == id(t) and hash(s) == id(s)
    assert hash(Scalar(2.5)) != hash(s)


def test_repr_after_create_graph_backward():
    s = Scalar(1.5)
    (s * s).backward(create_graph=True)
    assert repr(s) == f"Scalar(data={1.5:.6g}, grad={3.0:.6g})"


@pytest.mark.parametrize("x,y", [(1.0, 2.0), (2.0, 2.0), (3.0, 2.0)])
def test_comparisons_match_torch(x, y):
    s, ts = Scalar(x), _t(x)
    for other, tother in ((y, y), (Scalar(y), _t(y))):
        assert (s < other) == bool(ts < tother)
        assert (s <= other) == bool(ts <= tother)
        assert (s > other) == bool(ts > tother)
        assert (s >= other) == bool(ts >= tother)


# -- engine.cuda / engine.accelerator / engine.upper ---------------------------------------------
def test_cuda_queries_match_cpu_only_torch():
    assert cuda.is_initialized() is torch.cuda.is_initialized() is False
    assert cuda.is_available() is False and cuda.device_count() == 0
    assert cuda.synchronize() is None
    assert cuda.synchronize("cpu") is None
    with pytest.raises(RuntimeError, match="CPU only"):
        cuda.synchronize("cuda")
    with pytest.raises(RuntimeError, match=r"^engine\.cuda\.current_device\(\): .*CPU only$"):
        cuda.current_device()


def test_accelerator_queries():
    assert accelerator.current_accelerator() is None
    assert accelerator.current_accelerator(check_available=True) is None
    assert accelerator.is_available() is False and accelerator.device_count() == 0


def test_upper_package_error_names_the_missing_import(monkeypatch):
    monkeypatch.delitem(sys.modules, "viz", raising=False)
    with pytest.raises(AttributeError, match="import viz"):
        upper.upper_package("viz")
