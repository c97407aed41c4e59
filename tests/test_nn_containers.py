"""nn containers: Sequential (forward order, indexing, slicing, len/iter/append, OrderedDict
names), ModuleList / ModuleDict (registration in the parent), Identity and Flatten."""
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn

SETTINGS = settings(deadline=None, max_examples=20)
width = st.integers(1, 5)
ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "identity": nn.Identity}


def ids(xs):
    return [id(x) for x in xs]


def _layers(widths, acts):
    mods = []
    for (a, b), act in zip(zip(widths, widths[1:]), acts):
        mods += [nn.Linear(a, b, dtype=np.float64), ACTS[act]()]
    return mods


# ----------------------------------------------------------------------------------- Sequential
@SETTINGS
@given(st.lists(width, min_size=2, max_size=5), st.lists(st.sampled_from(sorted(ACTS)), min_size=4,
       max_size=4), st.integers(1, 4), st.integers(0, 2 ** 31))
def test_sequential_forward_equals_manual_composition(widths, acts, batch, seed):
    engine.manual_seed(seed % 10000)
    mods = _layers(widths, acts)
    seq = nn.Sequential(*mods)
    x = engine.Tensor(np.random.default_rng(seed).standard_normal((batch, widths[0])))
    manual = x
    for m in mods:
        manual = m(manual)
    np.testing.assert_array_equal(seq(x).numpy(), manual.numpy())
    # and the NumPy reference of the same chain
    ref = x.numpy()
    funcs = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
             "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "identity": lambda v: v}
    for lin, act in zip(mods[::2], acts):
        ref = funcs[act](ref @ lin.weight.numpy().T + lin.bias.numpy())
    np.testing.assert_allclose(seq(x).numpy(), ref, rtol=1e-10, atol=1e-12)


def test_sequential_order_matters():
    a, b = nn.Linear(2, 2, dtype=np.float64), nn.ReLU()
    with engine.no_grad():
        a.weight.data[...] = [[1.0, 0.0], [1.0, 1.0]]
        a.bias.data[...] = [-3.0, 0.0]
    z = engine.Tensor(np.array([[-1.0, 2.0]]))
    np.testing.assert_array_equal(nn.Sequential(b, a)(z).numpy(), a(b(z)).numpy())
    np.testing.assert_array_equal(nn.Sequential(a, b)(z).numpy(), b(a(z)).numpy())
    assert not np.array_equal(nn.Sequential(b, a)(z).numpy(), nn.Sequential(a, b)(z).numpy())


@SETTINGS
@given(st.integers(1, 6), st.data())
def test_sequential_indexing_slicing_len_iter(n, data):
    mods = [nn.Linear(2, 2) for _ in range(n)]
    seq = nn.Sequential(*mods)
    assert len(seq) == n
    assert ids(seq) == ids(mods)
    assert [name for name, _ in seq.named_children()] == [str(i) for i in range(n)]
    i = data.draw(st.integers(-n, n - 1))
    assert seq[i] is mods[i]
    with pytest.raises(IndexError):
        seq[n]
    start = data.draw(st.integers(-n, n))
    stop = data.draw(st.integers(-n, n))
    step = data.draw(st.sampled_from([None, 1, 2, -1]))
    part = seq[start:stop:step]
    assert isinstance(part, nn.Sequential)
    assert ids(part) == ids(mods[start:stop:step])
    assert len(part) == len(mods[start:stop:step])
    # a slice shares the modules (and so the parameters) of the original
    assert ids(part.parameters()) == ids(p for m in mods[start:stop:step] for p in m.parameters())


def test_sequential_slice_runs_the_sub_chain():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Tanh())
    x = engine.randn(5, 3)
    np.testing.assert_array_equal(seq[:2](x).numpy(), seq[1](seq[0](x)).numpy())
    np.testing.assert_array_equal(seq[2:](seq[:2](x)).numpy(), seq(x).numpy())


def test_sequential_append_registers_the_module():
    seq = nn.Sequential(nn.Linear(3, 4))
    extra = nn.Linear(4, 2)
    assert seq.append(extra) is seq
    assert len(seq) == 2 and seq[-1] is extra
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    x = engine.randn(2, 3)
    np.testing.assert_array_equal(seq(x).numpy(), extra(seq[0](x)).numpy())
    assert nn.Sequential()(x) is x                   # an empty Sequential is the identity


def test_sequential_from_ordered_dict_keeps_names():
    fc, act, out = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)
    seq = nn.Sequential(OrderedDict([("fc", fc), ("act", act), ("out", out)]))
    assert [n for n, _ in seq.named_children()] == ["fc", "act", "out"]
    assert seq.fc is fc and seq.out is out and seq[0] is fc and seq[-1] is out
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert "(fc): Linear(" in repr(seq)
    x = engine.randn(2, 3)
    np.testing.assert_array_equal(seq(x).numpy(), out(act(fc(x))).numpy())
    assert [n for n, _ in seq[1:].named_children()] == ["act", "out"]


def test_sequential_nested_in_a_module_gets_dotted_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))

        def forward(self, x):
            return self.body(x)

    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"]
    assert net.get_submodule("body.2") is net.body[2]


# ----------------------------------------------------------------------------------- ModuleList
class Stack(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(n)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


@SETTINGS
@given(st.integers(0, 5))
def test_module_list_registers_its_parameters_in_the_parent(n):
    net = Stack(n)
    expected = [f"layers.{i}.{k}" for i in range(n) for k in ("weight", "bias")]
    assert [name for name, _ in net.named_parameters()] == expected
    assert ids(net.parameters()) == ids(p for layer in net.layers for p in (layer.weight, layer.bias))
    assert list(net.state_dict()) == expected
    assert len(net.layers) == n
    net.eval()
    assert not any(layer.training for layer in net.layers)
    x = engine.randn(3, 2)
    ref = x
    for layer in net.layers:
        ref = layer(ref)
    np.testing.assert_array_equal(net(x).numpy(), ref.numpy())
    # gradients reach every layer of the list
    if n:
        net(x).sum().backward()
        assert all(p.grad is not None for p in net.parameters())


def test_module_list_append_extend_index_slice():
    a, b, c = nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2)
    ml = nn.ModuleList()
    assert len(ml) == 0
    assert ml.append(a) is ml
    assert ml.extend([b, c]) is ml
    assert ids(ml) == ids([a, b, c]) and len(ml) == 3
    assert ml[0] is a and ml[-1] is c
    part = ml[1:]
    assert isinstance(part, nn.ModuleList) and ids(part) == ids([b, c])
    assert [n for n, _ in part.named_children()] == ["0", "1"]     # renumbered, as PyTorch
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError):
        ml[3]
    with pytest.raises(TypeError):
        ml.append(3)
    with pytest.raises(NotImplementedError):
        ml(engine.randn(1))                          # a ModuleList has no forward


# ----------------------------------------------------------------------------------- ModuleDict
def test_module_dict():
    enc, dec = nn.Linear(3, 2), nn.Linear(2, 3)
    md = nn.ModuleDict({"enc": enc, "dec": dec})
    assert len(md) == 2 and list(md) == ["enc", "dec"] and list(md.keys()) == ["enc", "dec"]
    assert md["enc"] is enc and md.dec is dec
    assert ids(md.values()) == ids([enc, dec])
    assert [(k, id(v)) for k, v in md.items()] == [("enc", id(enc)), ("dec", id(dec))]
    assert "enc" in md and "nope" not in md
    act = nn.ReLU()
    md["act"] = act
    assert md["act"] is act and len(md) == 3
    with pytest.raises(KeyError):
        md["nope"]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.parts = md

    assert [n for n, _ in Net().named_parameters()] == [
        "parts.enc.weight", "parts.enc.bias", "parts.dec.weight", "parts.dec.bias"]
    # from an iterable of (key, module) pairs, as PyTorch
    pairs = nn.ModuleDict([("b", dec), ("a", enc)])
    assert list(pairs.keys()) == ["b", "a"] and pairs["a"] is enc
    assert len(nn.ModuleDict()) == 0


# ------------------------------------------------------------------------------ Identity/Flatten
@SETTINGS
@given(st.lists(width, max_size=4))
def test_identity_returns_its_input(shape):
    x = engine.Tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    ident = nn.Identity(54, unused_argument=0.1)     # arguments are accepted and ignored
    assert ident(x) is x
    assert list(ident.parameters()) == []


@SETTINGS
@given(st.lists(width, min_size=1, max_size=5), st.data())
def test_flatten_equals_numpy_reshape(shape, data):
    nd = len(shape)
    start = data.draw(st.integers(-nd, nd - 1))
    s = start % nd
    end = data.draw(st.integers(s, nd - 1))
    if data.draw(st.booleans()):
        end -= nd                                     # the negative spelling of the same dim
    x_np = np.random.default_rng(0).standard_normal(shape)
    x = engine.Tensor(x_np, requires_grad=True)
    y = nn.Flatten(start, end)(x)
    e = end % nd
    new_shape = tuple(shape[:s]) + (int(np.prod(shape[s:e + 1])),) + tuple(shape[e + 1:])
    np.testing.assert_array_equal(y.numpy(), x_np.reshape(new_shape))
    assert y.shape == new_shape
    w = np.random.default_rng(1).standard_normal(new_shape)
    (y * engine.Tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w.reshape(shape))


def test_flatten_default_keeps_the_batch_dim():
    x_np = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    f = nn.Flatten()
    np.testing.assert_array_equal(f(engine.Tensor(x_np)).numpy(), x_np.reshape(2, -1))
    assert (f.start_dim, f.end_dim) == (1, -1)
    assert repr(f) == "Flatten(start_dim=1, end_dim=-1)"
