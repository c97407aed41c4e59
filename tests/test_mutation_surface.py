"""Mutation-testing guards for the device/conversion surface and the graph-walking API.

What this file pins down (each test kills mutants that the rest of the suite let survive):

* ``engine.device``: construction, ``repr``, ``==`` against strings, and the error for each bad
  argument (exception class as ``torch.device``; the message names the argument and the value).
* ``Tensor.to`` / ``engine.conversion.parse_to``: every positional form PyTorch accepts
  (``to(dtype, non_blocking, copy)``, ``to(device, None|dtype, non_blocking, copy)``,
  ``memory_format=``) and the messages of the errors, which name ``Tensor.to`` and the argument.
* ``Tensor.type()`` for dtypes outside the legacy-name table.
* ``engine.graph``: ``created_between`` (stops at the ops that produced the inputs, follows every
  branch, accepts nested containers), and ``live_outputs`` (only the nodes asked for).
* ``engine.gradcheck`` / ``gradgradcheck`` / ``engine.autograd.grad``-style ``differentiate.grad``
  semantics compared with ``torch.autograd``.
"""
import gc

import numpy as np
import pytest
import torch

import engine
from engine import graph
from engine.conversion import ToArgs, parse_to
from torch.autograd.gradcheck import GradcheckError as TorchGradcheckError


# -- engine.device -------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda", 1), ("cuda:3",)])
def test_device_repr_and_str_match_torch(args):
    d, t = engine.device(*args), torch.device(*args)
    assert repr(d) == repr(t)
    assert str(d) == str(t)
    assert (d.type, d.index) == (t.type, t.index)


@pytest.mark.parametrize("index, exc", [(-1, RuntimeError), (1.0, TypeError), (True, TypeError),
                                        ("0", TypeError), (np.float64(0.0), TypeError)])
def test_device_bad_index_raises_like_torch(index, exc):
    with pytest.raises(exc):
        torch.device("cpu", index)
    with pytest.raises(exc, match=r"^device\(\): index must be an int >= 0, got "):
        engine.device("cpu", index)


def test_device_index_accepts_numpy_integer_like_an_int():
    d = engine.device("cuda", np.int64(2))
    assert d.index == 2 and type(d.index) is int and d == engine.device("cuda:2")


def test_device_errors_name_the_argument():
    with pytest.raises(TypeError) as e:
        engine.device(engine.device("cpu"), 0)
    assert str(e.value) == "device(): index= cannot be given with a device object"
    with pytest.raises(TypeError) as e:
        engine.device(3.5)
    assert str(e.value) == "device(): type must be a string such as 'cpu' or a device, got 3.5 (float)"
    with pytest.raises(RuntimeError) as e:
        engine.device("cpu:0", 0)
    assert str(e.value) == "device('cpu:0', 0): the index is given twice"
    with pytest.raises(RuntimeError) as e:
        engine.device("cpu", -2)
    assert str(e.value) == "device(): index must be an int >= 0, got -2"
    with pytest.raises(TypeError) as e:
        engine.device("cpu", 1.5)
    assert str(e.value) == "device(): index must be an int >= 0, got 1.5 (float)"


def test_device_unknown_type_lists_the_known_types():
    with pytest.raises(RuntimeError) as e:
        engine.device("gpu")
    msg = str(e.value)
    assert msg.startswith("device('gpu'): expected one of cpu, cuda, ")
    # every type torch.device accepts is listed, comma-separated
    listed = msg.split("expected one of ")[1].split(" at the start")[0].split(", ")
    for kind in ("cpu", "cuda", "mps", "xpu", "meta", "hpu", "xla", "privateuseone"):
        torch.device(kind)
        assert kind in listed


@pytest.mark.parametrize("other", ["gpu", "cuda:x", "cpu:-1", "cpu:1"])
def test_device_is_not_equal_to_other_or_invalid_strings(other):
    assert not (engine.device("cpu") == other)
    assert engine.device("cpu") != other


# -- Tensor.to / parse_to ------------------------------------------------------------------------
def _same(e, t):
    assert str(e.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("form", [
    lambda m: (("cpu", None), {}),
    lambda m: (("cpu", None, False, True), {}),
    lambda m: (("cpu", m.float64, False, True), {}),
    lambda m: ((m.float64, False, True), {}),
    lambda m: ((m.float32, True), {}),
    lambda m: ((m.float32, False, True), {}),
    lambda m: ((m.float32,), {"copy": True}),
    lambda m: ((m.float32,), {"non_blocking": True, "copy": False}),
])
def test_tensor_to_positional_forms_match_torch(form):
    data = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    x, tx = engine.tensor(data), torch.tensor(data)
    args, kwargs = form(engine)
    targs, tkwargs = form(torch)
    y, ty = x.to(*args, **kwargs), tx.to(*targs, **tkwargs)
    _same(y, ty)
    assert (y is x) == (ty is tx)


def test_tensor_to_accepts_memory_format_keyword():
    x = engine.ones(2)
    assert x.to(engine.float32, memory_format=None) is x
    assert x.to(memory_format=None) is x
    assert x.to(engine.float64, memory_format=None).dtype == np.float64


def test_parse_to_reports_what_was_asked():
    assert parse_to((), {}) == ToArgs(None, False, False)
    assert parse_to((np.float64, True, True), {}) == ToArgs(np.dtype(np.float64), True, True)
    assert parse_to(("cpu",), {"non_blocking": True}) == ToArgs(None, True, False)
    got = parse_to((), {"non_blocking": np.bool_(True)})
    assert got.non_blocking is True


def test_parse_to_default_name_in_messages():
    with pytest.raises(TypeError) as e:
        parse_to((3.5,), {})
    assert str(e.value).startswith("to(): the first argument must be a device")


@pytest.mark.parametrize("args, kwargs, exc, message", [
    ((3.5,), {}, TypeError, "Tensor.to(): the first argument must be a device (such as 'cpu'), a "
     "dtype (such as engine.float32) or a tensor; got 3.5 (float)"),
    ((), {"dtype": "float32"}, TypeError,
     "Tensor.to(): dtype must be a dtype such as engine.float32, got 'float32' (str)"),
    ((engine.float64,), {"non_blocking": 1}, TypeError, "Tensor.to(): non_blocking must be a bool, got 1"),
    ((engine.float64,), {"copy": 1}, TypeError, "Tensor.to(): copy must be a bool, got 1"),
    ((engine.float64, False, "yes"), {}, TypeError, "Tensor.to(): copy must be a bool, got 'yes'"),
    ((), {"colour": 1}, TypeError, "Tensor.to() got an unexpected keyword argument 'colour'"),
    (("cpu", None, False, False, 1), {}, TypeError,
     "Tensor.to() takes at most 4 arguments (device, dtype, non_blocking, copy); got 5"),
    (("cuda",), {}, RuntimeError, "device='cuda': this build of gradbricks is CPU only ('cuda' is not "
     "available); use 'cpu' (engine.cuda.is_available() is False)"),
    ((), {"device": "cpu:1"}, RuntimeError, "device='cpu:1': there is one CPU device, index 0"),
    ((), {"device": 2.5}, TypeError,
     "device must be a device, a string such as 'cpu', or a dtype; got 2.5 (float)"),
])
def test_tensor_to_error_messages(args, kwargs, exc, message):
    with pytest.raises(exc) as e:
        engine.ones(2).to(*args, **kwargs)
    assert str(e.value) == message


# -- Tensor.type ---------------------------------------------------------------------------------
def test_type_string_for_dtypes_without_a_legacy_name():
    names = [engine.tensor(np.zeros(2, dt)).type() for dt in (np.uint16, np.uint32, np.complex64)]
    assert all(isinstance(n, str) and n.startswith("torch.") for n in names)
    assert len(set(names)) == 3  # the string still tells the dtypes apart
    assert not set(names) & {engine.ones(1, dtype=d).type() for d in (engine.float32, engine.int64)}


def test_type_cast_by_string_and_dtype_matches_torch():
    data = np.array([1.5, -2.0])
    for spec in ("torch.DoubleTensor", "torch.LongTensor"):
        _same(engine.tensor(data).type(spec), torch.tensor(data).type(spec))
    _same(engine.tensor(data).type(engine.float16, True), torch.tensor(data).type(torch.float16, True))


# -- engine.graph --------------------------------------------------------------------------------
def _chain():
    x = engine.tensor([0.5, 1.0, 2.0], requires_grad=True)
    a = x * 2.0            # produced before the "module": must not be reported
    b = a.exp()
    c = b.sin()
    return x, a, b, c


def test_created_between_stops_at_the_producers_of_the_inputs():
    x, a, b, c = _chain()
    got = graph.created_between(a, c)
    assert {id(n) for n in got} == {id(b.grad_fn), id(c.grad_fn)}
    assert len(got) == 2
    # from the leaf every op is new; from the output itself nothing is
    assert {id(n) for n in graph.created_between(x, c)} == {id(a.grad_fn), id(b.grad_fn), id(c.grad_fn)}
    assert graph.created_between(c, c) == []


@pytest.mark.parametrize("stopped_branch_first", [True, False])
def test_created_between_follows_every_branch(stopped_branch_first):
    x, a, b, _ = _chain()
    y = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = y.cos().sin()
    out = (b + other) if stopped_branch_first else (other + b)
    got = {id(n) for n in graph.created_between(a, out)}
    want = {id(out.grad_fn), id(b.grad_fn), id(other.grad_fn), id(other.grad_fn.next_functions[0][0])}
    assert got == want


def test_created_between_with_constant_arguments_and_diamonds():
    x, a, b, _ = _chain()
    const = engine.ones(3)                 # an input that needs no grad: a None edge
    d = b * const
    e = d + d.exp()                        # d reached twice
    got = graph.created_between(a, e)
    assert sorted(map(id, got)) == sorted({id(e.grad_fn), id(d.grad_fn), id(b.grad_fn),
                                           id(e.grad_fn.next_functions[1][0])})
    assert len(got) == 4


def test_created_between_reads_nested_containers():
    x, a, b, c = _chain()
    got = graph.created_between({"h": (a, [None, 3])}, {"out": [c], "aux": {"n": 1}})
    assert {id(n) for n in got} == {id(b.grad_fn), id(c.grad_fn)}


@pytest.mark.filterwarnings("ignore::FutureWarning")  # gc scan touches torch objects
def test_live_outputs_reports_only_the_nodes_asked_for():
    _, _, b, c = _chain()
    other = engine.tensor([1.0], requires_grad=True).exp()  # another live graph
    assert other.grad_fn is not None
    gc.collect()
    live = graph.live_outputs([c.grad_fn])
    assert list(live) == [c.grad_fn]
    assert live[c.grad_fn] == {0: c}


def test_live_outputs_ignores_dead_weak_proxies():
    """The gc scan meets every object of the process: a ``weakref.proxy`` whose target is gone
    raised ReferenceError on ``isinstance`` (it reads ``__class__``), so viz failed in any program
    holding one (the kernel tests' torch imports left some)."""
    import weakref

    class Target:
        pass

    t = Target()
    proxies = [weakref.proxy(t)]
    del t
    gc.collect()
    _, _, b, c = _chain()
    assert graph.live_outputs([c.grad_fn]) == {c.grad_fn: {0: c}}
    assert len(proxies) == 1


def _diamond(first_branch_sin):
    x = engine.tensor([0.5, 1.0], requires_grad=True)
    b = x.exp()                                  # consumed by two ops
    out = (b.sin() + b.cos()) if first_branch_sin else (b.cos() + b.sin())
    return x, b, out


@pytest.mark.parametrize("first_branch_sin", [True, False])
def test_walk_visits_each_vertex_once_consumers_first(first_branch_sin):
    x, b, out = _diamond(first_branch_sin)
    recs = list(graph.walk(out))
    assert len({r.id for r in recs}) == len(recs) == 5          # add, sin, cos, exp, leaf x
    assert len({id(r.node if r.kind == "op" else r.value) for r in recs}) == 5
    pos = {r.id: k for k, r in enumerate(recs)}
    for r in recs:
        for inp in r.inputs:
            if inp is not None:
                assert pos[r.id] < pos[inp[0]], "a consumer must come before what it consumes"


def test_walk_of_an_op_using_one_value_twice_lists_it_once():
    x = engine.tensor([0.5, 1.0], requires_grad=True)
    b = x.exp()
    recs = list(graph.walk(b * b))               # MulBackward has two edges to ExpBackward
    assert [r.kind for r in recs] == ["op", "op", "leaf"]
    assert recs[0].inputs == [(recs[1].id, 0), (recs[1].id, 0)] and recs[2].value is x


def test_walk_leaf_records_describe_the_leaf():
    x = engine.tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    s = engine.Scalar(1.5)
    leaves = [r for r in graph.walk([x * 2.0, s * s]) if r.kind == "leaf"]
    by_value = {id(r.value): r for r in leaves}
    assert set(by_value) == {id(x), id(s)}
    rx, rs = by_value[id(x)], by_value[id(s)]
    assert (rx.name, rx.output_shapes, rx.output_dtypes) == ("Tensor", [(2, 3)], [np.dtype(np.float32)])
    assert (rs.name, rs.output_shapes, rs.output_dtypes) == ("Scalar", [()], [None])


def test_walk_of_a_leaf_root_is_that_leaf():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    (rec,) = list(graph.walk(x))
    assert rec.kind == "leaf" and rec.value is x and rec.inputs == []


@pytest.mark.parametrize("was_enabled", [True, False])
def test_walk_restores_the_garbage_collector_state(was_enabled):
    _, _, out = _diamond(True)
    try:
        gc.enable() if was_enabled else gc.disable()
        list(graph.walk(out))
        assert gc.isenabled() is was_enabled
    finally:
        gc.enable()


# -- gradgradcheck (compared with torch.autograd.gradgradcheck) ----------------------------------
class _CubeDetachedBackward(engine.Function):
    """x³ whose backward is right but not differentiable in x (the second derivative is lost)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x.detach() * x.detach()


class _TorchCubeDetachedBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x.detach() * x.detach()


SMALL = np.array([0.01, -0.02, 0.03])   # second-derivative error 6x·v: far below 1, far above 1e-5


def _pair(data):
    return (engine.tensor(data.copy(), requires_grad=True),
            torch.tensor(data.copy(), requires_grad=True))


def test_gradgradcheck_default_tolerances_catch_a_small_second_order_error():
    x, tx = _pair(SMALL)
    with pytest.raises(TorchGradcheckError):
        torch.autograd.gradgradcheck(_TorchCubeDetachedBackward.apply, [tx])
    with pytest.raises(engine.GradcheckError, match="Jacobian mismatch for input 0"):
        engine.gradgradcheck(_CubeDetachedBackward.apply, [x])


@pytest.mark.parametrize("kwargs", [{"atol": 1e3}, {"rtol": 10.0}])
def test_gradgradcheck_passes_its_tolerances_on(kwargs):
    x, tx = _pair(np.array([1.5, -2.0, 2.5]))
    assert torch.autograd.gradgradcheck(_TorchCubeDetachedBackward.apply, [tx], **kwargs)
    assert engine.gradgradcheck(_CubeDetachedBackward.apply, [x], **kwargs) is True


def test_gradgradcheck_passes_eps_on():
    # x⁴: the central difference of 4x³ is off by 4·eps², so eps=0.5 must fail, eps=1e-6 pass
    x, tx = _pair(np.array([1.5, -2.0, 2.5]))
    with pytest.raises(TorchGradcheckError):
        torch.autograd.gradgradcheck(lambda t: t ** 4, [tx], eps=0.5)
    with pytest.raises(engine.GradcheckError):
        engine.gradgradcheck(lambda t: t ** 4, [x], eps=0.5)
    assert engine.gradgradcheck(lambda t: t ** 4, [x]) is True


def test_gradgradcheck_takes_a_bare_tensor_and_unused_inputs():
    x, tx = _pair(np.array([[1.5, -2.0], [0.5, 2.5]]))
    assert torch.autograd.gradgradcheck(lambda t: t ** 3, tx)
    assert engine.gradgradcheck(lambda t: t ** 3, x) is True
    (x, tx), (y, ty) = _pair(SMALL), _pair(SMALL)
    assert torch.autograd.gradgradcheck(lambda a, b: a ** 3, [tx, ty])
    assert engine.gradgradcheck(lambda a, b: a ** 3, [x, y]) is True


# -- gradcheck (compared with torch.autograd.gradcheck) ------------------------------------------
class _OffAtFlat3(engine.Function):
    """2x whose backward is wrong (3 instead of 2) for flat element 3 only."""

    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        m = np.zeros(g.shape)
        m.flat[3] = 1.0
        return g * 2.0 + g * engine.tensor(m)


class _TorchOffAtFlat3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        m = torch.zeros(g.shape, dtype=g.dtype)
        m.view(-1)[3] = 1.0
        return g * 2.0 + g * m


GRID = np.arange(6.0).reshape(2, 3) + 0.5


def test_gradcheck_mismatch_message_names_input_element_and_values():
    (a, ta), (b, tb) = _pair(GRID), _pair(GRID)
    with pytest.raises(TorchGradcheckError):
        torch.autograd.gradcheck(lambda p, q: p * 3.0 + _TorchOffAtFlat3.apply(q), [ta, tb])
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(lambda p, q: p * 3.0 + _OffAtFlat3.apply(q), [a, b])
    assert isinstance(e.value, RuntimeError) and isinstance(e.value, AssertionError)
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 1, element (1, 0), output element 3: "
                            "analytic 3 vs numeric 2 (atol=1e-05, rtol=0.001)")


def test_gradcheck_raise_exception_false_returns_false():
    x, tx = _pair(GRID)
    assert torch.autograd.gradcheck(_TorchOffAtFlat3.apply, [tx], raise_exception=False) is False
    assert engine.gradcheck(_OffAtFlat3.apply, [x], raise_exception=False) is False
    assert engine.gradcheck(lambda t: t * 2.0, [x], raise_exception=False) is True


def test_gradcheck_fast_mode_catches_the_error_too():
    x, tx = _pair(GRID)
    with pytest.raises(TorchGradcheckError):
        torch.autograd.gradcheck(_TorchOffAtFlat3.apply, [tx], fast_mode=True)
    with pytest.raises(engine.GradcheckError, match=r"input 0, element \(1, 0\), random projection: "):
        engine.gradcheck(_OffAtFlat3.apply, [x], fast_mode=True)
    assert engine.gradcheck(lambda t: t ** 3, [x], fast_mode=True) is True


@pytest.mark.parametrize("kwargs, passes", [({}, False), ({"atol": 2.0}, True), ({"rtol": 1.0}, True),
                                            ({"atol": 0.5}, False), ({"rtol": 0.4}, False)])
def test_gradcheck_tolerances_as_torch(kwargs, passes):
    x, tx = _pair(GRID)
    assert torch.autograd.gradcheck(_TorchOffAtFlat3.apply, [tx], raise_exception=False, **kwargs) is passes
    assert engine.gradcheck(_OffAtFlat3.apply, [x], raise_exception=False, **kwargs) is passes


def test_gradcheck_eps_as_torch():
    # x³: the central difference is off by eps², so eps=0.5 fails and the default passes
    x, tx = _pair(GRID)
    assert torch.autograd.gradcheck(lambda t: t ** 3, [tx], eps=0.5, raise_exception=False) is False
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(lambda t: t ** 3, [x], eps=0.5)
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 0, element (0, 0), output element 0: "
                            "analytic 0.75 vs numeric 1 (atol=1e-05, rtol=0.001)")
    assert engine.gradcheck(lambda t: t ** 3, [x]) is True


def test_gradcheck_input_errors():
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(lambda t: t * 2, [engine.tensor(GRID.astype(np.float32), requires_grad=True)])
    assert str(e.value) == ("gradcheck: input 0 has dtype float32; finite differences need float64 "
                            "inputs (use .double())")
    with pytest.raises(ValueError):
        torch.autograd.gradcheck(lambda t: t * 2, [torch.tensor(GRID)])
    with pytest.raises(ValueError) as e:                        # as torch: not a GradcheckError
        engine.gradcheck(lambda t: t * 2, [engine.tensor(GRID)])
    assert not isinstance(e.value, engine.GradcheckError)
    assert str(e.value) == "gradcheck: no input requires grad"


# -- engine.grad (differentiate.grad) vs torch.autograd.grad -------------------------------------
def test_grad_unused_input_as_torch():
    (x, tx), (y, ty) = _pair(SMALL), _pair(SMALL)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        torch.autograd.grad((tx * 2).sum(), [tx, ty])
    with pytest.raises(RuntimeError) as e:
        engine.grad((x * 2).sum(), [x, y])
    assert str(e.value) == ("One of the differentiated inputs (index 1) appears to not have been used in "
                            "the graph. Set allow_unused=True if this is the desired behavior.")
    gx, gy = engine.grad((x * 2).sum(), [x, y], allow_unused=True)
    tgx, tgy = torch.autograd.grad((tx * 2).sum(), [tx, ty], allow_unused=True)
    assert gy is None and tgy is None
    np.testing.assert_array_equal(gx.numpy(), tgx.numpy())


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_retain_graph_defaults_to_create_graph(create_graph):
    x, tx = _pair(GRID)
    y, ty = (x ** 3).sum(), (tx ** 3).sum()
    (g,), (tg,) = engine.grad(y, x, create_graph=create_graph), torch.autograd.grad(ty, tx, create_graph=create_graph)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy())
    assert g.requires_grad == tg.requires_grad == create_graph
    if create_graph:   # the graph was kept: a second call works, and g is differentiable
        (h,), (th,) = engine.grad(g.sum(), x), torch.autograd.grad(tg.sum(), tx)
        np.testing.assert_allclose(h.numpy(), th.numpy())
        engine.grad(y, x)
    else:
        with pytest.raises(RuntimeError):
            torch.autograd.grad(ty, tx)
        with pytest.raises(RuntimeError):
            engine.grad(y, x)


def test_grad_weights_by_grad_outputs_and_leaves_dot_grad_alone():
    x, tx = _pair(GRID)
    w = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    (g,) = engine.grad(x * x, x, grad_outputs=engine.tensor(w))
    (tg,) = torch.autograd.grad(tx * tx, tx, grad_outputs=torch.tensor(w))
    np.testing.assert_allclose(g.numpy(), tg.numpy())
    assert x.grad is None and tx.grad is None


def test_grad_defaults_no_graph_and_frees_it_as_torch():
    x, tx = _pair(GRID)
    y, ty = (x ** 3).sum(), (tx ** 3).sum()
    (g,), (tg,) = engine.grad(y, x), torch.autograd.grad(ty, tx)
    assert g.requires_grad is tg.requires_grad is False and g.grad_fn is None
    with pytest.raises(RuntimeError):
        torch.autograd.grad(ty, tx)
    with pytest.raises(RuntimeError):
        engine.grad(y, x)


@pytest.mark.parametrize("make, exc, message", [
    (lambda x, y: ("x", x), TypeError, "grad: outputs must be a Tensor or a sequence of Tensors, got str"),
    (lambda x, y: ([y, 3], x), TypeError, "grad: element 1 of outputs must be a Tensor, got int"),
    (lambda x, y: (y, "x"), TypeError, "grad: inputs must be a Tensor or a sequence of Tensors, got str"),
    (lambda x, y: (y, [x, 3]), TypeError, "grad: element 1 of inputs must be a Tensor, got int"),
    (lambda x, y: (y, x, [1.0, 2.0]), RuntimeError, "grad: got 2 gradients for 1 outputs"),
    (lambda x, y: (x * 2, x, [[1.0, 2.0]]), TypeError, "grad: element 0 of grad_outputs must be a Tensor or "
     "None, got list (as PyTorch; an ndarray is accepted too)"),
])
def test_grad_argument_errors_name_the_argument(make, exc, message):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(exc) as e:
        engine.grad(*make(x, (x * x).sum()))
    assert str(e.value) == message


def test_gradgradcheck_is_reproducible_and_seeded():
    def failure(**kw):
        x = engine.tensor(SMALL.copy(), requires_grad=True)
        with pytest.raises(engine.GradcheckError) as e:
            engine.gradgradcheck(_CubeDetachedBackward.apply, [x], **kw)
        return str(e.value)
    first = failure()
    assert failure() == first == failure(seed=0)   # the default seed is 0: the same projection
    assert failure(seed=1) != first                # another seed, another projection


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_output_forms_as_torch(fast_mode):
    data = np.array([0.5, 1.5, 2.5])
    for fn in (lambda t: (t ** 2).sum(),            # a 0-d output
               lambda t: ()):                       # no output at all
        x, tx = _pair(data)
        assert torch.autograd.gradcheck(fn, [tx], fast_mode=fast_mode)
        assert engine.gradcheck(fn, [x], fast_mode=fast_mode) is True
    x, tx = _pair(data)
    assert torch.autograd.gradcheck(lambda t: t ** 3, tx, fast_mode=fast_mode)   # a bare tensor
    assert engine.gradcheck(lambda t: t ** 3, x, fast_mode=fast_mode) is True
    # a non-differentiable boolean output next to the real one is ignored (PyTorch cannot
    # subtract bool tensors here; the numeric Jacobian must be taken in float64)
    assert engine.gradcheck(lambda t: (t * 2.0, t > 1.0), [x], fast_mode=fast_mode) is True
    assert engine.gradcheck(lambda t: t > 1.0, [x], fast_mode=fast_mode) is True
    assert engine.gradcheck(lambda s: s * s * 3.0, [engine.Scalar(1.5)], fast_mode=fast_mode) is True


def test_gradcheck_fast_mode_is_reproducible_and_seeded():
    def failure(**kw):
        x = engine.tensor(GRID.copy(), requires_grad=True)
        with pytest.raises(engine.GradcheckError) as e:
            engine.gradcheck(_OffAtFlat3.apply, [x], fast_mode=True, **kw)
        return str(e.value)
    first = failure()
    assert failure() == first == failure(seed=0)
    assert failure(seed=1) != first


@pytest.mark.parametrize("device, exc, message", [
    ("cuda", RuntimeError, "device='cuda': this build of gradbricks is CPU only ('cuda' is not available); "
     "use 'cpu' (engine.cuda.is_available() is False)"),
    (2.5, TypeError, "device must be a device, a string such as 'cpu', or a dtype; got 2.5 (float)"),
])
def test_factory_device_errors_name_the_device_argument(device, exc, message):
    with pytest.raises(exc) as e:
        engine.zeros(2, device=device)
    assert str(e.value) == message
    assert engine.zeros(2, device=engine.device("cpu")).device == engine.device("cpu")


def _weighted_sum(wrong_grad):
    """sum(2 * x) whose backward claims the gradient is ``wrong_grad``."""
    class WeightedSum(engine.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2.0).sum()

        @staticmethod
        def backward(ctx, g):
            return g * engine.tensor(np.array(wrong_grad))
    return WeightedSum.apply


def test_gradcheck_reports_the_worst_element():
    x = engine.tensor(np.array([0.5, 1.5, 2.5]), requires_grad=True)
    # analytic (3, -1, 2) vs numeric (2, 2, 2): element 1 is off by 3, element 0 by 1
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(_weighted_sum([3.0, -1.0, 2.0]), [x])
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 0, element (1,), output element 0: "
                            "analytic -1 vs numeric 2 (atol=1e-05, rtol=0.001)")


def test_gradcheck_reports_a_non_finite_analytic_gradient():
    x = engine.tensor(np.array([0.5, 1.5, 2.5]), requires_grad=True)
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(_weighted_sum([2.0, 2.0, np.nan]), [x])
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 0, element (2,), output element 0: "
                            "analytic nan vs numeric 2 (atol=1e-05, rtol=0.001)")


def test_gradcheck_exact_match_passes_with_zero_tolerance():
    x, tx = _pair(GRID)
    assert torch.autograd.gradcheck(lambda t: t * 0.0, [tx], atol=0.0, rtol=0.0)
    assert engine.gradcheck(lambda t: t * 0.0, [x], atol=0.0, rtol=0.0) is True


def test_gradcheck_several_outputs_of_several_sizes():
    x, tx = _pair(np.array([0.5, 1.5, 2.5]))
    fn = lambda t: (t * 2.0, (t ** 2).sum(), t ** 3, t.sin())  # noqa: E731
    assert torch.autograd.gradcheck(fn, [tx])
    assert engine.gradcheck(fn, [x]) is True


def test_gradcheck_detached_output_or_input_is_a_mismatch():
    c = np.array([1.0, 2.0, 3.0])
    x, tx = _pair(np.array([0.5, 1.5, 2.5]))
    assert torch.autograd.gradcheck(lambda t: (t.detach() * torch.tensor(c)).sum(), [tx],
                                    raise_exception=False) is False
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(lambda t: (t.detach() * engine.tensor(c)).sum(), [x])
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 0, element (2,), output element 0: "
                            "analytic 0 vs numeric 3 (atol=1e-05, rtol=0.001)")
    (x, _), (y, _) = _pair(np.array([0.5, 1.5, 2.5])), _pair(np.array([0.5, 1.5, 2.5]))
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(lambda a, b: (a * 2.0).sum() + (b.detach() * engine.tensor(c)).sum(), [x, y])
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 1, element (2,), output element 0: "
                            "analytic 0 vs numeric 3 (atol=1e-05, rtol=0.001)")


def test_grad_unused_input_first_keeps_the_others():
    (x, tx), (y, ty) = _pair(SMALL), _pair(SMALL)
    got = engine.grad((x * 2).sum(), [y, x], allow_unused=True)
    want = torch.autograd.grad((tx * 2).sum(), [ty, tx], allow_unused=True)
    assert len(got) == len(want) == 2 and got[0] is None and want[0] is None
    np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())


def test_gradcheck_perturbs_non_contiguous_inputs_and_restores_them():
    data = np.asfortranarray(GRID)
    x = engine.tensor(data.copy(order="F"), requires_grad=True)
    assert not x.numpy().flags.c_contiguous
    assert engine.gradcheck(lambda t: t ** 3, [x]) is True
    np.testing.assert_array_equal(x.numpy(), GRID)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_of_an_empty_input_as_torch(fast_mode):
    x, tx = _pair(np.zeros((0,)))
    fn = lambda t: t.sum() * 2.0 + 1.0  # noqa: E731
    assert torch.autograd.gradcheck(fn, [tx], fast_mode=fast_mode)
    assert engine.gradcheck(fn, [x], fast_mode=fast_mode) is True


def test_gradcheck_output_size_change_is_reported():
    x = engine.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(lambda t: t[t > 1.0], [x])
    assert str(e.value) == ("gradcheck: the output size changed from 1 to 2/1 when input 0, element (0,) "
                            "was perturbed by ±1e-06: the function is not differentiable there")
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


class _NotFiniteNearElement2(engine.Function):
    """2x, except that element 2 becomes NaN as soon as it moves off 2.5 (backward: a finite 2)."""

    @staticmethod
    def forward(ctx, x):
        out = x.numpy() * 2.0
        if x.numpy()[2] != 2.5:
            out[2] = np.nan
        return engine.tensor(out)

    @staticmethod
    def backward(ctx, g):
        return g * 2.0


def test_gradcheck_names_the_element_whose_numeric_derivative_is_not_finite():
    # regression: the element was looked up among the analytic values only (so element 0 was named)
    x = engine.tensor(np.array([0.5, 1.5, 2.5]), requires_grad=True)
    with pytest.raises(engine.GradcheckError) as e:
        engine.gradcheck(_NotFiniteNearElement2.apply, [x])
    # (the NaN of the numeric Jacobian reaches every projection: output element 0 already fails)
    assert str(e.value) == ("gradcheck: Jacobian mismatch for input 0, element (2,), output element 0: "
                            "analytic 0 vs numeric nan (atol=1e-05, rtol=0.001)")


def test_gradcheck_restores_a_scalar_input():
    s = engine.Scalar(1.5)
    assert engine.gradcheck(lambda v: v * v * 3.0, [s]) is True
    assert s.data == 1.5
