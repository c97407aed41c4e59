"""nn.Module / nn.Parameter: registration by attribute assignment, traversal (parameters,
children, modules, get_submodule), train/eval, zero_grad, state_dict / load_state_dict
(incl. an engine.save/engine.load round trip), apply, forward hooks, repr and keras-style
regularization_loss."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn

SETTINGS = settings(deadline=None, max_examples=20)
width = st.integers(1, 5)


def ids(xs):
    return [id(x) for x in xs]


def param(*shape, rng=None, dtype=np.float64):
    rng = rng or np.random.default_rng(0)
    return nn.Parameter(rng.standard_normal(shape).astype(dtype))


class Leaf(nn.Module):
    """A module with one parameter, a persistent and a non-persistent buffer."""

    def __init__(self, n=3):
        super().__init__()
        self.w = param(n)
        self.register_buffer("stat", engine.Tensor(np.arange(n, dtype=np.float64)))
        self.register_buffer("cache", engine.Tensor(np.ones(n)), persistent=False)

    def forward(self, x):
        return x * self.w


class Net(nn.Module):
    """enc (Sequential of Linears) -> head (Linear) with an extra top-level parameter."""

    def __init__(self, widths, out=2):
        super().__init__()
        self.enc = nn.Sequential(*[nn.Linear(a, b) for a, b in zip(widths, widths[1:])])
        self.head = nn.Linear(widths[-1], out)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))

    def forward(self, x):
        return self.head(self.enc(x)) * self.scale


# ---------------------------------------------------------------------------------- registration
def test_attribute_assignment_registers_by_kind():
    m = nn.Module()
    p, child, buf = param(2), nn.Linear(2, 3), engine.Tensor(np.zeros(4))
    m.p = p
    m.child = child
    m.register_buffer("buf", buf)
    m.plain = 7
    assert m.p is p and m.child is child and m.buf is buf and m.plain == 7
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["p"]
    assert [n for n, _ in m.named_children()] == ["child"]
    assert [n for n, _ in m.named_buffers()] == ["buf"]
    assert ids(m.parameters()) == ids([p, child.weight, child.bias])
    assert "plain" not in m.state_dict()


def test_reassigning_a_name_moves_it_between_registries():
    m = nn.Module()
    m.x = param(2)
    assert [n for n, _ in m.named_parameters()] == ["x"]
    m.x = nn.Linear(1, 1)                    # Parameter -> Module
    assert [n for n, _ in m.named_parameters(recurse=False)] == []
    assert [n for n, _ in m.named_children()] == ["x"]
    p = param(3)
    m.x = p                                  # Module -> Parameter
    assert list(m.children()) == []
    assert ids(m.parameters()) == [id(p)]
    m.register_buffer("b", engine.Tensor(np.zeros(2)))
    q = param(2)
    m.b = q                                  # buffer -> Parameter
    assert [n for n, _ in m.named_buffers()] == []
    assert ids(m.parameters()) == [id(p), id(q)]
    t = engine.Tensor(np.ones(5))
    m.register_buffer("c", engine.Tensor(np.zeros(5)))
    m.c = t                                  # a Tensor assigned to a buffer name stays a buffer
    assert [(n, id(b)) for n, b in m.named_buffers()] == [("c", id(t))]
    m.x = None                               # None keeps the slot but is not yielded
    assert ids(m.parameters()) == [id(q)]
    assert m.x is None


@SETTINGS
@given(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
       st.sampled_from(["tensor", "ndarray", "float", "list"]))
def test_assigning_a_non_parameter_to_a_parameter_name_raises(suffix, kind):
    name = "p_" + suffix
    m = nn.Module()
    p = param(2)
    setattr(m, name, p)
    value = {"tensor": engine.Tensor(np.ones(2)), "ndarray": np.ones(2), "float": 1.5,
             "list": [1.0, 2.0]}[kind]
    with pytest.raises(TypeError, match=f"'{name}'"):
        setattr(m, name, value)
    assert getattr(m, name) is p             # unchanged
    assert ids(m.parameters()) == [id(p)]


def test_assigning_a_non_tensor_to_a_buffer_or_a_non_module_to_a_child_raises():
    m = nn.Module()
    m.register_buffer("running", engine.Tensor(np.zeros(3)))
    m.sub = nn.Identity()
    with pytest.raises(TypeError, match="'running'"):
        m.running = np.ones(3)               # would silently drop it from the state_dict
    with pytest.raises(TypeError, match="'sub'"):
        m.sub = 3
    assert list(m.state_dict()) == ["running"]
    assert isinstance(m.sub, nn.Identity)


def test_registering_a_name_twice_in_different_registries_raises():
    m = nn.Module()
    m.x = param(2)
    m.y = 1
    with pytest.raises(KeyError, match="x"):
        m.register_buffer("x", engine.Tensor(np.zeros(2)))
    with pytest.raises(KeyError, match="y"):
        m.register_parameter("y", param(1))
    with pytest.raises(KeyError, match="x"):
        m.add_module("x", nn.Identity())
    with pytest.raises(KeyError):
        m.add_module("a.b", nn.Identity())
    with pytest.raises(TypeError):
        m.register_parameter("z", engine.Tensor(np.ones(1)))
    with pytest.raises(TypeError):
        m.add_module("z", 3)
    assert [n for n, _ in m.named_parameters()] == ["x"] and list(m.buffers()) == []


def test_del_removes_parameters_buffers_children_and_attributes():
    m = Leaf()
    m.sub = nn.Linear(2, 2)
    m.plain = "x"
    keys = set(m.state_dict())
    assert {"w", "stat", "sub.weight", "sub.bias"} == keys
    del m.w
    del m.stat
    del m.cache
    del m.sub
    del m.plain
    for name in ("w", "stat", "cache", "sub", "plain"):
        assert not hasattr(m, name)
    assert m.state_dict() == {} and list(m.parameters()) == [] and list(m.children()) == []
    with pytest.raises(AttributeError):
        del m.nothing
    # a deleted name can be registered again, in any registry
    m.register_buffer("cache", engine.Tensor(np.ones(1)))
    m.w = nn.Linear(1, 1)
    assert set(m.state_dict()) == {"cache", "w.weight", "w.bias"}


def test_assignment_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = param(1)
            super().__init__()

    with pytest.raises(AttributeError, match="__init__"):
        Bad()


def test_missing_attribute_error_names_it():
    with pytest.raises(AttributeError, match="nope"):
        nn.Linear(1, 1).nope


# ------------------------------------------------------------------------------------ traversal
@SETTINGS
@given(st.lists(width, min_size=1, max_size=4), width)
def test_named_parameters_order_and_dotted_names(widths, out):
    net = Net(widths, out)
    expected = [("scale", net.scale)]            # a module's own parameters before its children's
    for i in range(len(widths) - 1):
        layer = net.enc[i]
        expected += [(f"enc.{i}.weight", layer.weight), (f"enc.{i}.bias", layer.bias)]
    expected += [("head.weight", net.head.weight), ("head.bias", net.head.bias)]
    got = list(net.named_parameters())
    assert [n for n, _ in got] == [n for n, _ in expected]
    assert ids(p for _, p in got) == ids(p for _, p in expected)
    assert ids(net.parameters()) == ids(p for _, p in expected)
    n_params = sum(a * b + b for a, b in zip(widths, widths[1:])) + widths[-1] * out + out + 1
    assert sum(p.numpy().size for p in net.parameters()) == n_params
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    # recurse=False: only the module's own parameters; prefix prepends
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_parameters(prefix="m")] == ["m." + n for n, _ in expected]


def test_shared_parameters_and_modules_appear_once():
    m = nn.Module()
    m.a = nn.Linear(3, 3)
    m.b = m.a                                # a shared submodule
    m.c = nn.Linear(3, 3)
    m.c.weight = m.a.weight                  # a tied weight
    names = [n for n, _ in m.named_parameters()]
    assert names == ["a.weight", "a.bias", "c.bias"]
    assert len(ids(m.parameters())) == len(set(ids(m.parameters()))) == 3
    assert [n for n, _ in m.named_modules()] == ["", "a", "c"]
    # the state_dict has a key for every path, as PyTorch (so checkpoints interoperate)
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias", "c.weight", "c.bias"]
    fresh = nn.Module()
    fresh.a = nn.Linear(3, 3)
    fresh.b = fresh.a
    fresh.c = nn.Linear(3, 3)
    fresh.c.weight = fresh.a.weight
    fresh.load_state_dict(m.state_dict())
    for (_, p), (_, q) in zip(m.named_parameters(), fresh.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_children_modules_and_get_submodule():
    inner = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    net = nn.Sequential(inner, nn.Linear(3, 1))
    assert ids(net.children()) == [id(inner), id(net[1])]
    assert [n for n, _ in net.named_children()] == ["0", "1"]
    named = list(net.named_modules())
    assert [n for n, _ in named] == ["", "0", "0.0", "0.1", "1"]
    assert ids(m for _, m in named) == [id(net), id(inner), id(inner[0]), id(inner[1]), id(net[1])]
    assert ids(net.modules()) == ids(m for _, m in named)
    for name, mod in named:
        assert net.get_submodule(name) is mod
    with pytest.raises(AttributeError, match="0.5"):
        net.get_submodule("0.5")
    # a None child is skipped
    net.add_module("gap", None)
    assert [n for n, _ in net.named_children()] == ["0", "1"]


# ------------------------------------------------------------------------------ train / eval
def _tree(draw_depths):
    """A nested Sequential whose shape follows the list of branching factors."""
    if not draw_depths:
        return nn.Sequential(nn.Dropout(0.5), nn.Identity())
    return nn.Sequential(*[_tree(draw_depths[1:]) for _ in range(draw_depths[0])], nn.ReLU())


@SETTINGS
@given(st.lists(st.integers(1, 3), max_size=3), st.booleans())
def test_train_and_eval_propagate_to_every_descendant(branching, first):
    model = _tree(branching)
    n = sum(1 for _ in model.modules())
    assert model.train(first) is model
    assert [m.training for m in model.modules()] == [first] * n
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_eval_switches_off_dropout_inside_a_model():
    engine.manual_seed(0)
    lin = nn.Linear(8, 400)
    model = nn.Sequential(nn.Sequential(lin, nn.Dropout(p=0.5)))
    x = engine.randn(16, 8)
    base = lin(x).numpy()
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), base)
    model.train()
    y = model(x).numpy()
    dropped = y == 0
    assert 0.3 < dropped.mean() < 0.7                   # p = 0.5
    np.testing.assert_allclose(y[~dropped], 2 * base[~dropped], rtol=1e-6)


def test_eval_switches_batchnorm_to_running_statistics():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    bn = model[1]
    x = engine.Tensor(rng.standard_normal((32, 4)) * 3 + 1)
    y = model(x).numpy()                                   # training: batch statistics
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    assert not np.allclose(rm, 0)                       # updated in training
    model.eval()
    z = model.forward(x).numpy()
    h = model[0](x).numpy()
    ref = (h - rm) / np.sqrt(rv + bn.eps) * bn.weight.numpy() + bn.bias.numpy()
    np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)   # eval does not update them


# ----------------------------------------------------------------------------------- zero_grad
def _with_grads():
    engine.manual_seed(2)
    net = Net([3, 4], 2)
    net(engine.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    return net


def test_zero_grad_set_to_none():
    net = _with_grads()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net = _with_grads()
    net.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in net.parameters())


def test_zero_grad_in_place():
    net = _with_grads()
    before = [(p.grad, p.grad.numpy()) for p in net.parameters()]
    assert any(np.any(g.numpy() != 0) for g, _ in before)
    net.zero_grad(set_to_none=False)
    for p, (g, arr) in zip(net.parameters(), before):
        assert p.grad is g and p.grad.numpy() is arr        # the same buffers, zeroed
        np.testing.assert_array_equal(arr, np.zeros_like(arr))


# ----------------------------------------------------------------------------------- state_dict
def test_state_dict_keys_values_and_detachment():
    outer = nn.Sequential(Leaf(3), nn.Sequential(nn.Linear(3, 2), Leaf(2)))
    sd = outer.state_dict()
    assert list(sd) == ["0.w", "0.stat", "1.0.weight", "1.0.bias", "1.1.w", "1.1.stat"]
    live = {"0.w": outer[0].w, "0.stat": outer[0].stat, "1.0.weight": outer[1][0].weight,
            "1.0.bias": outer[1][0].bias, "1.1.w": outer[1][1].w, "1.1.stat": outer[1][1].stat}
    for k, v in sd.items():
        assert isinstance(v, engine.Tensor) and not isinstance(v, nn.Parameter)
        assert not v.requires_grad and v.grad_fn is None
        np.testing.assert_array_equal(v.numpy(), live[k].numpy())
    assert all(v is live[k] for k, v in outer.state_dict(keep_vars=True).items())
    assert all(k.startswith("top.") for k in outer.state_dict(prefix="top."))


def _conv_bn_model():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


@pytest.mark.parametrize("factory, shape", [
    (lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2)), (4, 6)),
    (_conv_bn_model, (3, 2, 5, 5)),
    (nn.models.lenet5, (2, 1, 28, 28)),
])
def test_state_dict_round_trip_through_a_checkpoint_file(tmp_path, factory, shape):
    engine.manual_seed(10)
    model = factory()
    x = engine.randn(*shape)
    for _ in range(2):                       # make BatchNorm running stats non-trivial
        model(engine.randn(*shape) * 2 + 1)
    model.eval()
    ref = model(x).numpy()
    path = tmp_path / "ckpt.npz"
    engine.save(model.state_dict(), path)

    engine.manual_seed(99)
    fresh = factory().eval()
    assert not np.array_equal(fresh(x).numpy(), ref)   # a different init gives a different output
    result = fresh.load_state_dict(engine.load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).numpy(), ref)
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_strict_errors_name_the_keys_and_shapes():
    src = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    good = src.state_dict()

    missing = dict(good)
    del missing["1.bias"]
    with pytest.raises(RuntimeError, match=r'Missing key.*"1\.bias"'):
        nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).load_state_dict(missing)

    extra = dict(good, **{"2.weight": engine.Tensor(np.ones(3))})
    with pytest.raises(RuntimeError, match=r'Unexpected key.*"2\.weight"'):
        nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).load_state_dict(extra)

    target = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    before = [p.numpy().copy() for p in target.parameters()]
    with pytest.raises(RuntimeError) as err:
        target.load_state_dict(good)
    msg = str(err.value)
    assert "size mismatch for 0.weight" in msg
    assert str(tuple(good["0.weight"].shape)) in msg and str(tuple(target[0].weight.shape)) in msg
    assert str(tuple(good["1.weight"].shape)) in msg and str(tuple(target[1].weight.shape)) in msg
    for p, b in zip(target.parameters(), before):     # a failed load changes nothing
        np.testing.assert_array_equal(p.numpy(), b)
    with pytest.raises(RuntimeError, match="size mismatch"):
        target.load_state_dict(good, strict=False)    # shapes are checked even when not strict


def test_load_state_dict_non_strict_returns_missing_and_unexpected():
    src = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    partial = {k: v for k, v in src.state_dict().items() if k.startswith("0.")}
    partial["head.weight"] = engine.Tensor(np.zeros((1, 1)))
    dst = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    keep = dst[1].weight.numpy().copy()
    missing, unexpected = dst.load_state_dict(partial, strict=False)
    assert missing == ["1.weight", "1.bias"] and unexpected == ["head.weight"]
    np.testing.assert_array_equal(dst[0].weight.numpy(), src[0].weight.numpy())   # loaded
    np.testing.assert_array_equal(dst[1].weight.numpy(), keep)                 # untouched


def test_load_state_dict_accepts_ndarrays_and_copies_in_place():
    m = nn.Linear(2, 2)
    w = m.weight
    new = {"weight": np.full((2, 2), 3.0), "bias": np.zeros(2)}
    m.load_state_dict(new)
    assert m.weight is w                             # the same Parameter object (optimizers keep it)
    np.testing.assert_array_equal(m.weight.numpy(), new["weight"])
    new["weight"][...] = 0                           # copied, not aliased
    assert np.all(m.weight.numpy() == 3)


# ---------------------------------------------------------------------------------- apply/hooks
@SETTINGS
@given(st.lists(st.integers(1, 3), max_size=3))
def test_apply_visits_every_module_children_first(branching):
    model = _tree(branching)
    seen = []
    assert model.apply(seen.append) is model
    assert sorted(ids(seen)) == sorted(ids(model.modules()))
    pos = {id(m): i for i, m in enumerate(seen)}
    for m in model.modules():
        for c in m.children():
            assert pos[id(c)] < pos[id(m)]
    assert seen[-1] is model


def test_apply_can_reinitialise_weights():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3)))

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    model.apply(init)
    assert all(np.all(m.weight.numpy() == 0.5) for m in model.modules() if isinstance(m, nn.Linear))


def test_forward_hooks_see_the_call_and_may_replace_the_output():
    lin = nn.Linear(3, 2)
    x = engine.randn(4, 3)
    calls = []

    def hook(mod, inputs, output):
        calls.append((mod, inputs, output))

    def double(mod, inputs, output):
        return output * 2

    h1 = lin.register_forward_hook(hook)
    plain = lin(x).numpy()
    (mod, inputs, output), = calls
    assert mod is lin and isinstance(inputs, tuple) and inputs[0] is x
    np.testing.assert_array_equal(output.numpy(), plain)
    h2 = lin.register_forward_hook(double)
    np.testing.assert_allclose(lin(x).numpy(), 2 * plain, rtol=1e-6)
    assert len(calls) == 2
    h2.remove()
    np.testing.assert_array_equal(lin(x).numpy(), plain)
    h1.remove()
    h1.remove()                                      # removing twice is harmless
    lin(x)
    assert len(calls) == 3


def test_forward_pre_hooks_see_and_may_replace_the_inputs():
    lin = nn.Linear(3, 2)
    x = engine.randn(4, 3)
    seen = []
    h0 = lin.register_forward_pre_hook(lambda m, inputs: seen.append((m, inputs)))
    h1 = lin.register_forward_pre_hook(lambda m, inputs: inputs[0] * 0)   # a single value
    out = lin(x)
    assert seen[0][0] is lin and seen[0][1][0] is x
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(lin.bias.numpy(), out.shape), rtol=1e-6)
    h1.remove()
    h2 = lin.register_forward_pre_hook(lambda m, inputs: (inputs[0] + 1,))  # a tuple
    np.testing.assert_allclose(lin(x).numpy(), lin.forward(x + 1).numpy(), rtol=1e-6)
    h2.remove()
    h0.remove()
    np.testing.assert_array_equal(lin(x).numpy(), lin.forward(x).numpy())
    assert len(seen) == 2


def test_module_without_forward_raises_not_implemented():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward"):
        NoForward()(engine.randn(2))


# ---------------------------------------------------------------------------------------- repr
def test_repr_shows_the_tree_with_names_and_extra_repr():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.act = nn.ReLU()

        def extra_repr(self):
            return "custom=1"

    model = nn.Sequential(Block(), nn.Flatten(0), nn.Linear(4, 2, bias=False))
    text = repr(model)
    lines = text.split("\n")
    assert lines[0] == "Sequential(" and lines[-1] == ")"
    for name, child in model.named_children():
        assert f"\n  ({name}): " + repr(child).replace("\n", "\n  ") in text
    lin = model[2]
    assert repr(lin) == f"Linear({lin.extra_repr()})"
    assert "in_features=4" in lin.extra_repr() and "bias=False" in lin.extra_repr()
    block = repr(model[0]).split("\n")
    assert block[0] == "Block(" and block[1] == "  custom=1"
    assert block[2] == "  (fc): " + repr(model[0].fc) and block[3] == "  (act): " + repr(model[0].act)
    assert repr(nn.Module()) == "Module()"
    # nesting indents two spaces per level
    assert "    (fc): Linear(" in text


# ----------------------------------------------------------------------------- regularization
@SETTINGS
@given(st.floats(1e-3, 1.0), st.floats(0.0, 1.0), st.integers(1, 5), st.integers(1, 4),
       st.integers(1, 4), st.integers(0, 2 ** 31))
def test_regularization_loss_matches_numpy_and_its_gradient(lam, mu, batch, n_in, n_out, seed):
    engine.manual_seed(seed % 10000)
    lin = nn.Linear(n_in, n_out, dtype=np.float64, kernel_regularizer=nn.regularizers.l2(lam),
                    activity_regularizer=nn.regularizers.l2(mu) if mu else None)
    W, b = lin.weight.numpy().copy(), lin.bias.numpy().copy()
    model = nn.Sequential(lin, nn.ReLU())

    # before any forward: only the kernel term
    np.testing.assert_allclose(model.regularization_loss().item(), lam * np.sum(W ** 2), rtol=1e-10)
    model.regularization_loss().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * lam * W, rtol=1e-10, atol=1e-12)
    assert lin.bias.grad is None                     # no bias regularizer
    model.zero_grad()

    x = np.random.default_rng(seed).standard_normal((batch, n_in))
    model(engine.Tensor(x))
    out = x @ W.T + b
    loss = model.regularization_loss()
    np.testing.assert_allclose(loss.item(), lam * np.sum(W ** 2) + mu * np.sum(out ** 2), rtol=1e-10)
    loss.backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * lam * W + 2 * mu * out.T @ x,
                               rtol=1e-9, atol=1e-12)
    if mu:
        np.testing.assert_allclose(lin.bias.grad.numpy(), 2 * mu * out.sum(0), rtol=1e-9, atol=1e-12)


def test_regularization_loss_sums_over_modules_and_is_zero_without_regularizers():
    l1 = nn.Linear(3, 3, kernel_regularizer=nn.regularizers.l1(0.1),
                   bias_regularizer=nn.regularizers.l2(0.2))
    l2 = nn.Linear(3, 2, kernel_regularizer=nn.regularizers.l2(0.3))
    model = nn.Sequential(l1, nn.Tanh(), nn.Sequential(l2))
    ref = (0.1 * np.abs(l1.weight.numpy()).sum() + 0.2 * (l1.bias.numpy() ** 2).sum()
           + 0.3 * (l2.weight.numpy() ** 2).sum())
    np.testing.assert_allclose(model.regularization_loss().item(), ref, rtol=1e-5)
    plain = nn.Sequential(nn.Linear(3, 3))
    r = plain.regularization_loss()
    assert isinstance(r, engine.Tensor) and r.shape == () and r.item() == 0


# ------------------------------------------------------------------------------------ Parameter
@SETTINGS
@given(st.lists(width, max_size=3), st.sampled_from([np.float32, np.float64]))
def test_parameter_is_a_grad_requiring_leaf_tensor(shape, dtype):
    data = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    p = nn.Parameter(data)
    assert isinstance(p, engine.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad is None
    assert p.shape == data.shape and p.dtype == data.dtype
    np.testing.assert_array_equal(p.numpy(), data)
    assert repr(p).startswith("Parameter containing")
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    q = nn.Parameter(engine.Tensor(data))            # from a Tensor
    assert q.requires_grad and q.shape == data.shape
    (p * 3).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), np.full(shape, 3.0))


def test_parameter_default_is_empty():
    p = nn.Parameter()
    assert p.shape == (0,) and p.requires_grad
