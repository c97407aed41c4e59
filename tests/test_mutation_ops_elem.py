"""Mutation-testing guards for the elementwise op machinery and the op table.

What this file pins down (each test kills mutants that the rest of the suite let survive, most
of them import-time code that mutmut's forked children never activate):

* every unary op (``abs exp log log1p sqrt sin cos tanh sigmoid relu erf``) and binary op
  (``add sub mul div pow maximum minimum``) as method, function and NumPy ufunc: forward,
  gradient (each input alone and both, with broadcasting) and the result dtype against PyTorch;
  ``abs`` at 0 and ``sigmoid`` at extremes / integer / 0-d input as PyTorch;
* the ``UnaryOp``/``BinaryOp`` extension contract (``engine.ops.elementwise``): a hand-written
  ``forward``/``backward`` is kept, a subclass overriding only ``da`` or ``db`` gets a backward
  built from it, what ``da``/``db`` receive for each ``saves``, only the needed gradients are
  computed, a bad ``saves`` is an error naming it, a broadcast failure names the op and shapes;
* the ``TABLE`` factories (``engine.ops.Op``): names, docstrings, ``__wrapped__``, a number as
  first argument of a binary function, array-likes as first argument / sequence elements;
* ``Cast`` gives the gradient back in the input's dtype (also under ``create_graph``);
* ``engine.ops._util``: ``dim``/``axis`` aliases and their errors, dimension-out-of-range
  messages (as PyTorch), ``tensor_arg``'s message, a non-Tensor ``src`` of ``scatter_add``.
"""
import inspect
import operator
import warnings

import numpy as np
import pytest
import torch

import engine
from engine import Tensor
from engine.ops import Op, TABLE
from engine.ops.cast import Cast
from engine.ops.elementwise import BinaryOp, UnaryOp
from engine.ops.unary import Exp

RNG = np.random.default_rng(0)


def _t(a, grad=True):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def _tt(a, grad=True):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def _close(ours, ref, **kw):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else ref
    np.testing.assert_allclose(np.asarray(ours.detach().numpy() if isinstance(ours, Tensor) else ours),
                               ref, rtol=1e-10, atol=1e-12, **kw)


# -- the UnaryOp / BinaryOp extension contract ----------------------------------------------------
def test_unary_subclass_keeps_a_hand_written_forward_and_backward():
    class Twice(UnaryOp):
        op = np.negative              # declared, but forward is hand-written
        saves = None

        @staticmethod
        def forward(ctx, a):
            return 2 * a

        @staticmethod
        def da(g, a, out):
            return -g

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = _t([1.0, -2.0])
    y = Twice.apply(x)
    _close(y, np.array([2.0, -4.0]))
    y.sum().backward()
    _close(x.grad, np.array([2.0, 2.0]))


def test_unary_subclass_inherits_a_hand_written_backward():
    class Base(UnaryOp):
        op = np.square
        saves = "a"

        @staticmethod
        def backward(ctx, g):
            return 2 * g * ctx.saved_tensors[0]

    class Child(Base):
        """Square again (no new declarations)."""

    x = _t([1.5, -2.0])
    Child.apply(x).sum().backward()
    _close(x.grad, 2 * np.array([1.5, -2.0]))


@pytest.mark.parametrize("saves, expect", [("a", (True, False)), ("out", (False, True)),
                                           (None, (False, False))])
def test_unary_da_receives_what_saves_says(saves, expect):
    seen = {}

    class Probe(UnaryOp):
        op = np.exp

        @staticmethod
        def da(g, a, out):
            seen.update(g=g, a=a, out=out)
            return g

    Probe.saves = saves  # set after creation: the factories read it at class creation ...

    class P(Probe):     # ... so re-declare in a subclass that defines op and da itself
        op = np.exp
        da = Probe.__dict__["da"]
    P.saves = saves

    class Q(UnaryOp):
        op = np.exp
        locals()["saves"] = saves
        da = Probe.__dict__["da"]

    a = np.array([0.5, -1.0])
    x = _t(a)
    y = Q.apply(x)
    _close(y, np.exp(a))
    y.backward(_t([3.0, 4.0], False))
    _close(seen["g"], np.array([3.0, 4.0]))
    assert (seen["a"] is not None, seen["out"] is not None) == expect
    if expect[0]:
        _close(seen["a"], a)
    if expect[1]:
        _close(seen["out"], np.exp(a))
    _close(x.grad, np.array([3.0, 4.0]))


@pytest.mark.parametrize("base", [UnaryOp, BinaryOp])
def test_bad_saves_is_an_error_naming_it(base):
    with pytest.raises(ValueError) as e:
        type("Bad", (base,), {"op": staticmethod(np.add), "saves": "xyz",
                              "da": staticmethod(lambda *args: args[0])})
    msg = str(e.value)
    assert msg.startswith(f"{base.__name__}.saves must be ") and msg.endswith("got 'xyz'")


@pytest.mark.parametrize("saves", ["", "ab", "ab+out"])
def test_binary_da_db_receive_what_saves_says_and_only_needed_ones_run(saves):
    calls = []

    def da(g, a, b, out):
        calls.append(("da", g, a, b, out))
        return 2 * g

    def db(g, a, b, out):
        calls.append(("db", g, a, b, out))
        return 3 * g

    Op2 = type("Op2", (BinaryOp,), {"op": staticmethod(np.add), "saves": saves,
                                    "da": staticmethod(da), "db": staticmethod(db)})
    a, b = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([10.0, 20.0, 30.0])
    for needs in [(True, True), (True, False), (False, True)]:
        calls.clear()
        x, y = _t(a, needs[0]), _t(b, needs[1])
        out = Op2.apply(x, y)
        _close(out, a + b)
        g = RNG.normal(size=(2, 3))
        out.backward(_t(g, False))
        assert sorted(c[0] for c in calls) == [n for n, need in zip(("da", "db"), needs) if need]
        for _, cg, ca, cb, cout in calls:
            _close(cg, g)
            assert (ca is None, cb is None, cout is None) == (
                saves == "", saves == "", saves != "ab+out")
            if saves:
                _close(ca, a)
                _close(cb, b)
            if saves == "ab+out":
                _close(cout, a + b)
        if needs[0]:
            _close(x.grad, 2 * g)
        if needs[1]:
            _close(y.grad, 3 * g.sum(axis=0))


def test_binary_subclass_overriding_only_da_or_only_db_gets_a_new_backward():
    class Mul3(BinaryOp):
        op = operator.mul

        @staticmethod
        def da(g, a, b, out):
            return g * b

        @staticmethod
        def db(g, a, b, out):
            return g * a

    class OnlyDa(Mul3):
        @staticmethod
        def da(g, a, b, out):
            return 10 * g * b

    class OnlyDb(Mul3):
        @staticmethod
        def db(g, a, b, out):
            return 10 * g * a

    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    for cls, fa, fb in ((OnlyDa, 10, 1), (OnlyDb, 1, 10)):
        x, y = _t(a), _t(b)
        cls.apply(x, y).sum().backward()
        _close(x.grad, fa * b)
        _close(y.grad, fb * a)


def test_binary_subclass_keeps_and_inherits_hand_written_forward_and_backward():
    class Hand(BinaryOp):
        op = operator.add             # declared, but forward/backward are hand-written

        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def da(g, a, b, out):
            return g

        @staticmethod
        def backward(ctx, g):
            return 7 * g, 5 * g

    class Child(Hand):
        """Same op."""

    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    for cls in (Hand, Child):
        x, y = _t(a), _t(b)
        out = cls.apply(x, y)
        _close(out, a * b)
        out.sum().backward()
        _close(x.grad, np.full(2, 7.0))
        _close(y.grad, np.full(2, 5.0))


def test_subclass_of_a_builtin_with_a_new_derivative_only():
    class ExpHalf(Exp):
        @staticmethod
        def da(g, a, out):
            return 0.5 * g * out

    x = _t([0.0, 1.0])
    y = ExpHalf.apply(x)
    _close(y, np.exp([0.0, 1.0]))
    y.sum().backward()
    _close(x.grad, 0.5 * np.exp([0.0, 1.0]))


# -- the op table factories ------------------------------------------------------------------------
def test_table_methods_and_functions_carry_name_and_doc():
    for row in TABLE:
        if row.arity() in (1, 2):
            if row.method is True:
                m = getattr(Tensor, row.name)
                assert m.__name__ == row.name and m.__doc__ == row.impl.__doc__
            if row.function:
                f = getattr(engine, row.name)
                assert f.__name__ == f.__qualname__ == row.name
                assert f.__doc__ == row.impl.__doc__
                assert not hasattr(f, "__wrapped__")
        elif row.function and not isinstance(row.impl, type):
            f = Op(row.name, row.impl).as_function(Tensor)
            assert f.__name__ == row.name and f.__wrapped__ is row.impl
            assert inspect.signature(f) == inspect.signature(row.impl)


def test_table_arity_and_names():
    rows = {r.name: r for r in TABLE}
    assert rows["exp"].arity() == 1 and rows["add"].arity() == 2 and rows["sum"].arity() is None
    assert rows["div"].names() == ("div", "divide", "true_divide")
    assert engine.divide is not None and engine.true_divide(Tensor([3.0]), Tensor([2.0])).item() == 1.5
    assert inspect.signature(engine.sum).parameters.keys() >= {"input", "dim", "keepdim"}


def test_functional_forms_convert_array_like_inputs_and_pass_arguments():
    a = [[1.0, 2.0], [3.0, 4.0]]
    ta = torch.tensor(a, dtype=torch.float64)
    _close(engine.sum(np.array(a), 1, keepdim=True), torch.sum(ta, 1, keepdim=True))
    _close(engine.transpose(a, 0, 1), torch.transpose(ta, 0, 1))
    _close(engine.cat([np.array(a), a], 1), torch.cat([ta, ta], 1))
    _close(engine.cat([np.array(a), a], dim=0), torch.cat([ta, ta], dim=0))
    _close(engine.stack([a, np.array(a)], 1), torch.stack([ta, ta], 1))


def test_cat_and_stack_convert_each_element_of_the_sequence():
    a, b = RNG.normal(size=(2, 2)), RNG.normal(size=(2, 3))
    x, tx = _t(a), _tt(a)
    out = engine.cat([x, b, b.tolist()], 1)
    tout = torch.cat([tx, torch.tensor(b), torch.tensor(b.tolist())], 1)  # a list: float32
    _close(out, tout)
    out.sum().backward()
    tout.sum().backward()
    _close(x.grad, tx.grad)
    _close(engine.stack([a.tolist(), x], 0), torch.stack([torch.tensor(a.tolist()), tx], 0))


# -- Cast ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("src, dst", [("float32", "float64"), ("float64", "float32"),
                                      ("float16", "float32")])
@pytest.mark.parametrize("create_graph", [False, True])
def test_cast_gradient_comes_back_in_the_input_dtype(src, dst, create_graph):
    a = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=src)
    x = Tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = x.to(getattr(engine, dst)), tx.to(getattr(torch, dst))
    assert str(y.dtype).split(".")[-1] == dst
    (g,) = engine.autograd.grad((y * y).sum(), [x], create_graph=create_graph)
    (tg,) = torch.autograd.grad((ty * ty).sum(), [tx], create_graph=create_graph)
    assert str(g.dtype).split(".")[-1] == src
    np.testing.assert_allclose(g.numpy().astype(np.float64), tg.detach().numpy().astype(np.float64),
                               rtol=1e-3)
    x0 = Tensor(np.array(1.5, dtype=src), requires_grad=True)
    x0.to(getattr(engine, dst)).backward()
    assert str(x0.grad.dtype).split(".")[-1] == src and x0.grad.item() == 1.0
    assert Cast.apply(x, engine.int64).requires_grad is False


# -- _util helpers, through the public API ----------------------------------------------------------
def test_dim_axis_aliases_and_their_errors():
    a = RNG.normal(size=(2, 3))
    x, tx = Tensor(a), torch.tensor(a)
    _close(x.sum(axis=1), tx.sum(dim=1))
    _close(x.sum(axis=0, keepdims=True), tx.sum(dim=0, keepdim=True))
    _close(x.sum(1, keepdims=True), tx.sum(1, keepdim=True))
    _close(x.mean(dim=(0, 1), keepdim=False), tx.mean(dim=(0, 1)))
    assert x.argmax(axis=1).tolist() == tx.argmax(dim=1).tolist()
    with pytest.raises(TypeError) as e:
        x.sum(dim=0, axis=1)
    assert str(e.value) == "pass either dim= or axis=, not both"


@pytest.mark.parametrize("shape, dim", [((2, 3), 2), ((2, 3), -3), ((4,), 1), ((), 1), ((), -2)])
def test_dimension_out_of_range_message_matches_torch(shape, dim):
    with pytest.raises(IndexError) as te:
        torch.zeros(shape).sum(dim)
    with pytest.raises(IndexError) as e:
        Tensor(np.zeros(shape)).sum(dim)
    assert str(e.value) == str(te.value)


@pytest.mark.parametrize("shape, dim", [((2, 3), -1), ((2, 3), (0, -1)), ((), 0), ((), -1),
                                        ((2, 3, 4), (2, 0))])
def test_reductions_over_valid_dims_match_torch(shape, dim):
    a = RNG.normal(size=shape)
    x, tx = _t(a), _tt(a)
    y, ty = x.sum(dim), tx.sum(dim)
    _close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    _close(x.grad, tx.grad)


def test_tensor_arg_message_names_function_argument_and_type():
    x = Tensor(np.zeros((2, 2)))
    with pytest.raises(TypeError):
        torch.zeros(2, 2).view_as([1, 2, 3, 4])
    with pytest.raises(TypeError) as e:
        x.view_as([1, 2, 3, 4])
    assert str(e.value) == "view_as(): argument 'other' must be a Tensor, not list"
    with pytest.raises(TypeError) as e:
        x.expand_as(np.zeros((2, 2)))
    assert str(e.value) == "expand_as(): argument 'other' must be a Tensor, not ndarray"


def test_scatter_add_accepts_an_array_src():
    base = np.zeros((2, 3))
    idx = np.array([[0, 1, 0], [1, 0, 1]])
    src = np.arange(6.0).reshape(2, 3)
    x = _t(base)
    out = engine.scatter_add(x, 0, Tensor(idx), src)
    ref = torch.scatter_add(torch.tensor(base), 0, torch.tensor(idx), torch.tensor(src))
    _close(out, ref)
    out2 = engine.scatter_add(x, 0, Tensor(idx), src.tolist())
    _close(out2, ref)


@pytest.mark.parametrize("dims", [(1, 2, 0), (2, 0, 1), (0, 2, 1)])
def test_permute_gradient_matches_torch(dims):
    a = RNG.normal(size=(2, 3, 4))
    w = RNG.normal(size=tuple(a.shape[d] for d in dims))
    x, tx = _t(a), _tt(a)
    (x.permute(*dims) * _t(w, False)).sum().backward()
    (tx.permute(*dims) * torch.tensor(w)).sum().backward()
    _close(x.grad, tx.grad)


def test_scatter_add_gradient_flows_into_a_tensor_src():
    base = RNG.normal(size=(2, 3))
    idx = np.array([[0, 1, 0], [1, 0, 1]])
    src = RNG.normal(size=(2, 3))
    x, s, tx, ts = _t(base), _t(src), _tt(base), _tt(src)
    w = RNG.normal(size=(2, 3))
    (engine.scatter_add(x, 0, Tensor(idx), s) * _t(w, False)).sum().backward()
    (torch.scatter_add(tx, 0, torch.tensor(idx), ts) * torch.tensor(w)).sum().backward()
    _close(x.grad, tx.grad)
    assert s.grad is not None
    _close(s.grad, ts.grad)


# -- unary ops vs PyTorch ------------------------------------------------------------------------
UNARY = ["abs", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "erf"]
POS = {"log", "sqrt", "log1p"}


def _unary_input(name):
    x = RNG.uniform(-2, 2, (2, 3))
    return np.abs(x) + 0.3 if name in POS else x


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("form", ["method", "function"])
def test_unary_forward_grad_and_double_backward_match_torch(name, form):
    a = _unary_input(name)
    x, tx = _t(a), _tt(a)
    y = getattr(x, name)() if form == "method" else getattr(engine, name)(x)
    ty = getattr(torch, name)(tx)
    _close(y, ty)
    assert y.dtype == engine.float64 and y.shape == tuple(ty.shape)
    w = RNG.normal(size=a.shape)
    (g,) = engine.autograd.grad((y * _t(w, False)).sum(), [x], create_graph=True)
    (tg,) = torch.autograd.grad((ty * torch.tensor(w)).sum(), [tx], create_graph=True)
    _close(g, tg)
    if name != "relu" and name != "abs":
        (gg,) = engine.autograd.grad(g.sum(), [x])
        (tgg,) = torch.autograd.grad(tg.sum(), [tx])
        _close(gg, tgg)


@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("sigmoid", "relu", "erf")])
def test_unary_numpy_ufunc_dispatches_to_the_op(name):
    a = _unary_input(name)
    x = _t(a)
    y = getattr(np, name)(x)
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    tx = _tt(a)
    getattr(torch, name)(tx).sum().backward()
    _close(x.grad, tx.grad)


def test_abs_gradient_at_zero_is_zero_as_torch():
    a = np.array([-1.5, 0.0, 2.0])
    x, tx = _t(a), _tt(a)
    x.abs().sum().backward()
    tx.abs().sum().backward()
    _close(x.grad, tx.grad)


def test_sigmoid_extremes_integer_and_0d_input_as_torch():
    a = np.array([-1000.0, -20.0, 0.0, 20.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = engine.sigmoid(Tensor(a))
    ty = torch.sigmoid(torch.tensor(a))
    assert y.dtype == engine.float32
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-6, atol=0)
    i = np.array([-3, 0, 2])
    yi, tyi = engine.sigmoid(Tensor(i)), torch.sigmoid(torch.tensor(i))
    assert str(yi.dtype).split(".")[-1] == str(tyi.dtype).split(".")[-1] == "float32"
    np.testing.assert_allclose(yi.numpy(), tyi.numpy(), rtol=1e-6)
    z = engine.sigmoid(Tensor(np.float64(-0.7)))
    tz = torch.sigmoid(torch.tensor(-0.7, dtype=torch.float64))
    assert z.shape == () and z.dtype == engine.float64
    _close(z, tz)


# -- binary ops vs PyTorch -----------------------------------------------------------------------
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]
SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), (2, 3)), ((), (2,))]


def _binary_inputs(name, sa, sb):
    a = RNG.uniform(0.5, 2, sa)
    b = RNG.uniform(-1.5, 1.5, sb) if name != "div" else RNG.uniform(0.5, 2, sb)
    return a, b


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("sa, sb", SHAPES)
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_binary_forward_and_gradients_match_torch(name, sa, sb, needs):
    a, b = _binary_inputs(name, sa, sb)
    x, y = _t(a, needs[0]), _t(b, needs[1])
    tx, ty = _tt(a, needs[0]), _tt(b, needs[1])
    out, tout = getattr(engine, name)(x, y), getattr(torch, name)(tx, ty)
    _close(out, tout)
    assert out.shape == tuple(tout.shape)
    w = RNG.normal(size=tout.shape)
    (out * _t(w, False)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for ours, ref, need in ((x, tx, needs[0]), (y, ty, needs[1])):
        if need:
            assert ours.grad is not None and ours.grad.shape == tuple(ref.shape)
            _close(ours.grad, ref.grad)
        else:
            assert ours.grad is None


@pytest.mark.parametrize("name", BINARY)
def test_binary_method_ufunc_and_double_backward_match_torch(name):
    a, b = _binary_inputs(name, (2, 3), (3,))
    x, y, tx, ty = _t(a), _t(b), _tt(a), _tt(b)
    out, tout = getattr(x, name)(y), getattr(torch, name)(tx, ty)
    _close(out, tout)
    gx, gy = engine.autograd.grad((out * out).sum(), [x, y], create_graph=True)
    tgx, tgy = torch.autograd.grad((tout * tout).sum(), [tx, ty], create_graph=True)
    _close(gx, tgx)
    _close(gy, tgy)
    hx, hy = engine.autograd.grad((gx.sum() + gy.sum()), [x, y])
    thx, thy = torch.autograd.grad((tgx.sum() + tgy.sum()), [tx, ty])
    _close(hx, thx)
    _close(hy, thy)
    ufunc = {row.name: row.ufunc for row in TABLE}[name]
    if ufunc is not None:
        _close(ufunc(x, y), tout)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtypes", [("int64", "float32"), ("float32", "float64"), ("int64", "int64"),
                                    ("bool", "float32")])
def test_binary_result_dtype_matches_torch(name, dtypes):
    if name == "pow" and dtypes == ("bool", "float32"):
        dtypes = ("int64", "float32")
    a = np.array([[1, 2, 3], [3, 1, 2]]).astype(dtypes[0])
    b = np.array([2, 1, 3]).astype(dtypes[1])
    if name == "sub" and a.dtype == bool:
        return
    out = getattr(engine, name)(Tensor(a), Tensor(b))
    tout = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert str(out.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1]
    np.testing.assert_allclose(out.numpy().astype(np.float64), tout.numpy().astype(np.float64),
                               rtol=1e-6)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_function_with_a_number_first_keeps_the_tensor_dtype(name):
    b = RNG.uniform(0.5, 2, (3,)).astype(np.float32)
    y, ty = Tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = getattr(engine, name)(2.5, y)
    tout = getattr(operator, {"div": "truediv"}.get(name, name))(2.5, ty)
    assert out.dtype == engine.float32 and out.shape == (3,)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("name", ["add", "mul", "pow", "sub"])
def test_binary_function_accepts_an_array_like_first_argument(name):
    a, b = [[1.5, 2.0, 0.5]], np.array([0.5, 1.0, 2.0])
    out = getattr(engine, name)(np.array(a), Tensor(b))
    ref = getattr(torch, name)(torch.tensor(a, dtype=torch.float64), torch.tensor(b))
    _close(out, ref)
    out2 = getattr(engine, name)(np.array(a), 2.0)
    ref2 = getattr(torch, name)(torch.tensor(a, dtype=torch.float64), 2.0)
    assert isinstance(out2, Tensor)
    _close(out2, ref2)


@pytest.mark.parametrize("name, sym", [("add", "+"), ("mul", "*"), ("pow", "**"), ("sub", "-")])
def test_broadcast_failure_names_the_op_and_both_shapes(name, sym):
    x, y = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(RuntimeError):
        getattr(torch, name)(torch.ones(2, 3), torch.ones(4))
    with pytest.raises(ValueError) as e:
        eval(f"x {sym} y")
    assert str(e.value).startswith(f"{name}: shapes (2, 3) and (4,) cannot be broadcast together")


def _name(dtype):
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("op", ["exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "erf"])
@pytest.mark.parametrize("values, dtype", [([1, 2, 3], "int64"), ([True, False], "bool"), ([4, 9], "uint8")])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_floating_unary_ops_of_integers_give_the_default_float_dtype_like_torch(op, values, dtype, default):
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(getattr(torch, default))
        engine.set_default_dtype(getattr(engine, default))
        expected = getattr(torch, op)(torch.tensor(values, dtype=getattr(torch, dtype)))
        got = getattr(engine, op)(engine.tensor(values, dtype=getattr(engine, dtype)))
    finally:
        torch.set_default_dtype(previous)
        engine.set_default_dtype(getattr(engine, _name(previous)))
    assert _name(got.dtype) == _name(expected.dtype)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("op", ["abs", "neg", "relu"])
def test_integer_preserving_unary_ops_keep_the_integer_dtype_like_torch(op):
    values = [-2, 0, 3]
    expected = getattr(torch, op)(torch.tensor(values))
    got = getattr(engine, op)(engine.tensor(values))
    assert _name(got.dtype) == _name(expected.dtype)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("op", ["exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "erf"])
def test_floating_unary_functions_of_a_scalar_give_a_scalar_with_its_gradient(op):
    """``engine.exp(Scalar(x))`` goes through the elementwise op with a Python float payload (no
    ``dtype``): the integer-to-float cast must leave it alone; value and gradient as torch's."""
    x = engine.Scalar(0.7)
    y = getattr(engine, op)(x)
    y.backward()
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    getattr(torch, op)(t).backward()
    assert isinstance(y, engine.Scalar)
    assert y.data == pytest.approx(getattr(torch, op)(t.detach()).item(), rel=1e-12)
    assert x.grad == pytest.approx(t.grad.item(), rel=1e-9)
