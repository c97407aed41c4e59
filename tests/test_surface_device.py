"""Devices (engine.device, Tensor.device/.to/.cpu, device= on factories, Module.to/float/double,
engine.cuda/accelerator/backends) and engine.nn/engine.optim resolving as engine attributes."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
import nn

FLOAT_DTYPES = [np.float16, np.float32, np.float64]
ALL_DTYPES = FLOAT_DTYPES + [np.int32, np.int64, np.bool_]


# -- engine.device -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec, type_, index, text", [
    ("cpu", "cpu", None, "cpu"), ("cpu:0", "cpu", 0, "cpu:0"), ("cuda", "cuda", None, "cuda"),
    ("cuda:1", "cuda", 1, "cuda:1"), ("mps", "mps", None, "mps")])
def test_device_parses_like_torch(spec, type_, index, text):
    d = engine.device(spec)
    assert (d.type, d.index, str(d)) == (type_, index, text)
    assert engine.device(d) == d and hash(engine.device(spec)) == hash(d)
    assert d == spec
    assert repr(d).startswith(f"device(type='{type_}'")


def test_device_with_separate_index_and_inequality():
    assert str(engine.device("cpu", 0)) == "cpu:0"
    assert engine.device("cpu") != engine.device("cpu:0")
    assert engine.device("cpu") != "cuda" and engine.device("cpu") != 3


@pytest.mark.parametrize("bad, exc, words", [
    ("gpu", RuntimeError, "device string"), ("cuda:x", RuntimeError, "invalid device string"),
    ("cpu:-1", RuntimeError, "invalid device string"), (3.5, TypeError, "type must be"),
    (0, RuntimeError, "CPU only"), (None, TypeError, "type must be")])
def test_device_rejects_nonsense(bad, exc, words):
    with pytest.raises(exc, match=words):
        engine.device(bad)


def test_accelerator_queries_say_none():
    assert engine.cuda.is_available() is False and engine.cuda.device_count() == 0
    assert engine.accelerator.is_available() is False and engine.accelerator.device_count() == 0
    assert engine.backends.mps.is_available() is False
    assert engine.backends.cudnn.deterministic is False
    with pytest.raises(RuntimeError, match="CPU only"):
        engine.cuda.current_device()


# -- device= on factories ----------------------------------------------------------------------
FACTORIES = {
    "tensor": lambda **kw: engine.tensor([1.0, 2.0], **kw),
    "as_tensor": lambda **kw: engine.as_tensor([1.0, 2.0], **kw),
    "zeros": lambda **kw: engine.zeros(2, 3, **kw), "ones": lambda **kw: engine.ones(2, **kw),
    "full": lambda **kw: engine.full((2,), 7.0, **kw), "empty": lambda **kw: engine.empty(2, **kw),
    "arange": lambda **kw: engine.arange(4, **kw), "linspace": lambda **kw: engine.linspace(0, 1, 5, **kw),
    "eye": lambda **kw: engine.eye(3, **kw), "rand": lambda **kw: engine.rand(2, **kw),
    "randn": lambda **kw: engine.randn(2, **kw), "randint": lambda **kw: engine.randint(0, 5, (3,), **kw),
    "randperm": lambda **kw: engine.randperm(4, **kw),
    "zeros_like": lambda **kw: engine.zeros_like(engine.ones(2), **kw),
    "ones_like": lambda **kw: engine.ones_like(engine.ones(2), **kw),
    "full_like": lambda **kw: engine.full_like(engine.ones(2), 3.0, **kw),
    "empty_like": lambda **kw: engine.empty_like(engine.ones(2), **kw),
    "rand_like": lambda **kw: engine.rand_like(engine.ones(2), **kw),
    "randn_like": lambda **kw: engine.randn_like(engine.ones(2), **kw),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_factory_takes_device(name):
    make = FACTORIES[name]
    engine.manual_seed(0)
    a = make(device="cpu")
    engine.manual_seed(0)
    b = make(device=engine.device("cpu"))
    engine.manual_seed(0)
    c = make()
    assert a.device == engine.device("cpu") == c.device
    if name not in ("empty", "empty_like"):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), c.numpy())
    with pytest.raises(RuntimeError, match="CPU only"):
        make(device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        make(device="mps")
    with pytest.raises(TypeError, match="device"):
        make(device=2.5)


def test_randint_forms_match_torch():
    engine.manual_seed(1)
    a = engine.randint(10, (50,))
    b = engine.randint(3, 6, size=(50,))
    assert a.shape == (50,) and a.dtype == np.int64 and 0 <= a.numpy().min() and a.numpy().max() < 10
    assert 3 <= b.numpy().min() and b.numpy().max() < 6
    with pytest.raises(TypeError, match="size"):
        engine.randint(10)


# -- Tensor.to / .cpu / .type -----------------------------------------------------------------
@settings(deadline=None, max_examples=25)
@given(st.data())
def test_tensor_to_dtype_equals_numpy_astype(data):
    src = data.draw(st.sampled_from(FLOAT_DTYPES))
    dst = data.draw(st.sampled_from(ALL_DTYPES))
    arr = data.draw(hnp.arrays(src, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                               elements=st.floats(-100, 100, width=16)))
    x = engine.tensor(arr)
    for y in (x.to(dst), x.to("cpu", dst), x.to(dtype=dst), x.to(device="cpu", dtype=dst),
              x.to(engine.zeros(1, dtype=dst)), x.type(dst)):
        assert y.dtype == np.dtype(dst) and y.shape == arr.shape
        np.testing.assert_array_equal(y.numpy(), arr.astype(dst))
    assert (x.to(src) is x) and (x.to("cpu") is x) and (x.cpu() is x) and (x.to() is x)
    copied = x.to(src, copy=True)
    assert copied is not x and not np.shares_memory(copied.numpy(), arr)
    np.testing.assert_array_equal(copied.numpy(), arr)


def test_to_between_floats_carries_the_gradient():
    x = engine.randn(3, 2, dtype=engine.float64, requires_grad=True)
    assert engine.gradcheck(lambda t: t.to("cpu", copy=True) ** 2, [x])
    y = x.to(engine.float32)
    y.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 2)))


def test_type_strings_and_half():
    x = engine.ones(2)
    assert x.type() == "torch.FloatTensor" and x.double().type() == "torch.DoubleTensor"
    assert x.type("torch.LongTensor").dtype == np.int64 and x.half().dtype == np.float16
    assert x.long().type() == "torch.LongTensor" and x.is_cuda is False
    with pytest.raises(ValueError, match="type string"):
        x.type("torch.cuda.FloatTensor")


@pytest.mark.parametrize("args, kwargs, exc, words", [
    ((42,), {}, RuntimeError, "CPU only"), (("gpu",), {}, RuntimeError, "device string"),
    (("cuda",), {}, RuntimeError, "CPU only"), (("cuda:0",), {}, RuntimeError, "CPU only"),
    (("mps",), {}, RuntimeError, "CPU only"), (("cpu:1",), {}, RuntimeError, "one CPU device"),
    ((3.5,), {}, TypeError, "first argument"), (([1],), {}, TypeError, "first argument"),
    ((), {"dtype": "float32"}, TypeError, "dtype must be"), ((), {"device": 2.5}, TypeError, "device"),
    ((), {"colour": 1}, TypeError, "colour"), (("cpu", None, "yes"), {}, TypeError, "non_blocking"),
    (("cpu", None, False, False, 1), {}, TypeError, "at most")])
def test_tensor_to_rejects_nonsense(args, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        engine.ones(2).to(*args, **kwargs)


# -- Module.to / cpu / float / double / half ---------------------------------------------------
def test_module_to_casts_parameters_and_buffers_in_place():
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    params = list(model.parameters())
    model(engine.randn(5, 3)).sum().backward()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert model.to("cpu") is model and model.cpu() is model
    assert model.double() is model
    assert list(model.parameters()) == params  # the same Parameter objects, edited in place
    for k, v in model.state_dict().items():
        want = np.float64 if before[k].dtype.kind == "f" else before[k].dtype
        assert v.dtype == want, k
        np.testing.assert_array_equal(v.numpy(), before[k].astype(want))
    assert all(p.grad.dtype == np.float64 for p in params)
    out = model(engine.randn(5, 3, dtype=engine.float64))
    assert out.dtype == np.float64
    model.to(engine.float32)
    assert all(v.dtype == np.float32 for k, v in model.state_dict().items() if "num_batches" not in k)
    assert model.state_dict()["1.num_batches_tracked"].dtype == np.int64
    model.half()
    assert all(p.dtype == np.float16 for p in model.parameters())
    model.to(engine.zeros(1, dtype=engine.float32))
    assert all(p.dtype == np.float32 for p in model.parameters())
    model.double()
    assert model.float() is model
    assert all(v.dtype == np.float32 for k, v in model.state_dict().items() if "num_batches" not in k)
    assert model.state_dict()["1.num_batches_tracked"].dtype == np.int64


@pytest.mark.parametrize("args, exc, words", [
    (("cuda",), RuntimeError, "CPU only"), ((engine.int64,), TypeError, "floating point"),
    ((7.0,), TypeError, "first argument")])
def test_module_to_rejects_nonsense(args, exc, words):
    model = nn.Linear(2, 2)
    w = model.weight.numpy().copy()
    with pytest.raises(exc, match=words):
        model.to(*args)
    np.testing.assert_array_equal(model.weight.numpy(), w)


# -- engine.nn / engine.optim ------------------------------------------------------------------
def test_upper_packages_resolve_as_engine_attributes():
    import optim
    from nn import functional as F

    assert engine.nn is nn and engine.nn.functional is F and engine.optim is optim
    assert engine.nn.Linear is nn.Linear and engine.optim.SGD is optim.SGD
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        engine.no_such_thing  # noqa: B018


def test_engine_nn_before_import_nn_says_which_import_is_missing():
    code = ("import engine\n"
            "try:\n    engine.nn\nexcept AttributeError as e:\n    print(e)\n"
            "import sys; print('nn' in sys.modules, 'optim' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "import nn" in out.stdout and "False False" in out.stdout
