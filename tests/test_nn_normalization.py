"""BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm2d: NumPy references, gradcheck of input and
affine parameters, running statistics (unbiased variance, momentum, cumulative average), eval
mode, state_dict round trips and load errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=12)
D = np.float64


def ref_norm(x, axes, eps, w=None, b=None, wshape=None):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        y = y * w.reshape(wshape)
    if b is not None:
        y = y + b.reshape(wshape)
    return y


def randomize_affine(m, rng):
    for p in m.parameters():
        p.data[...] = rng.standard_normal(p.shape)


def check_grads(m, x):
    xt = engine.Tensor(x, requires_grad=True)
    params = list(m.parameters())
    names = [n for n, _ in m.named_parameters()]

    def f(inp, *ps):
        saved = [getattr(m, n) for n in names]
        for n, p in zip(names, ps):
            m._parameters[n] = p
        try:
            return m(inp)
        finally:
            for n, p in zip(names, saved):
                m._parameters[n] = p

    assert engine.gradcheck(f, [xt] + params, fast_mode=True)


shapes4 = st.tuples(st.integers(2, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))


@SETTINGS
@given(shapes4, st.integers(0, 10**6), st.booleans())
def test_batchnorm2d_train_matches_reference_and_gradcheck(shape, seed, affine):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 2
    m = nn.BatchNorm2d(shape[1], affine=affine, dtype=D)
    randomize_affine(m, rng)
    w = m.weight.numpy() if affine else None
    b = m.bias.numpy() if affine else None
    out = m(engine.Tensor(x))
    np.testing.assert_allclose(out.numpy(), ref_norm(x, (0, 2, 3), 1e-5, w, b, (1, -1, 1, 1)), atol=1e-10)
    check_grads(m, x)
    m.eval()
    check_grads(m, x)


@SETTINGS
@given(st.integers(2, 6), st.integers(1, 4), st.sampled_from([None, 3]), st.integers(0, 10**6))
def test_batchnorm1d_2d_and_3d_input(n, c, length, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c) if length is None else (n, c, length)
    x = rng.standard_normal(shape)
    m = nn.BatchNorm1d(c, dtype=D)
    randomize_affine(m, rng)
    axes = (0,) if length is None else (0, 2)
    wshape = (1, -1) if length is None else (1, -1, 1)
    np.testing.assert_allclose(m(engine.Tensor(x)).numpy(), ref_norm(x, axes, 1e-5, m.weight.numpy(), m.bias.numpy(), wshape),
                               atol=1e-10)
    check_grads(m, x)


@SETTINGS
@given(shapes4, st.floats(0.1, 100), st.floats(-50, 50), st.integers(0, 10**6))
def test_batchnorm_train_output_has_zero_mean_unit_variance_per_channel(shape, scale, shift, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * scale + shift
    x[0, :, 0, 0] += scale  # never constant within a channel
    y = nn.BatchNorm2d(shape[1], eps=0.0, dtype=D)(engine.Tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-7)


def test_running_stats_use_unbiased_variance_and_momentum():
    rng = np.random.default_rng(0)
    m = nn.BatchNorm2d(3, momentum=0.3, dtype=D)
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((2, 3, 2, 1)) * 2 + 1  # n = 4 per channel: unbiased ≠ biased
        m(engine.Tensor(x))
        rm = 0.7 * rm + 0.3 * x.mean(axis=(0, 2, 3))
        rv = 0.7 * rv + 0.3 * x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(m.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(m.running_var.numpy(), rv, rtol=1e-12)
    assert int(m.num_batches_tracked.item()) == 3
    m.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    before = m.running_mean.numpy().copy()
    out = m(engine.Tensor(x))
    np.testing.assert_allclose(out.numpy(), (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5))
    np.testing.assert_array_equal(m.running_mean.numpy(), before)  # eval does not update
    assert int(m.num_batches_tracked.item()) == 3


def test_momentum_none_is_cumulative_average():
    rng = np.random.default_rng(1)
    m = nn.BatchNorm1d(2, momentum=None, dtype=D)
    xs = [rng.standard_normal((5, 2)) + i for i in range(4)]
    for x in xs:
        m(engine.Tensor(x))
    np.testing.assert_allclose(m.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-12)
    np.testing.assert_allclose(m.running_var.numpy(), np.mean([x.var(0, ddof=1) for x in xs], axis=0), rtol=1e-12)


def test_no_running_stats_uses_batch_statistics_in_eval():
    m = nn.BatchNorm2d(2, track_running_stats=False, dtype=D).eval()
    assert m.running_mean is None and "running_mean" not in m.state_dict()
    x = np.random.default_rng(2).standard_normal((3, 2, 2, 2))
    np.testing.assert_allclose(m(engine.Tensor(x)).numpy(), ref_norm(x, (0, 2, 3), 1e-5), atol=1e-12)


def test_functional_batch_norm_signature_and_errors():
    x = np.random.default_rng(3).standard_normal((4, 3))
    rm, rv = engine.zeros(3, dtype=D), engine.ones(3, dtype=D)
    y = F.batch_norm(engine.Tensor(x), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(y.numpy(), ref_norm(x, (0,), 1e-5), atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), 0.5 * x.mean(0))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(engine.zeros(1, 3))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        nn.BatchNorm2d(3)(engine.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="4 channels"):
        F.batch_norm(engine.zeros(2, 4), rm, rv)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4), st.booleans(), st.integers(0, 10**6))
def test_layer_norm(n, a, b, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, a, b)) * 2
    m = nn.LayerNorm((a, b), bias=bias, dtype=D)
    randomize_affine(m, rng)
    ref = ref_norm(x, (1, 2), 1e-5, m.weight.numpy(), m.bias.numpy() if bias else None, (a, b))
    np.testing.assert_allclose(m(engine.Tensor(x)).numpy(), ref, atol=1e-10)
    check_grads(m, x)
    assert nn.LayerNorm(b, elementwise_affine=False).weight is None
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(engine.zeros(2, 3), (4,))


@SETTINGS
@given(st.integers(1, 3), st.sampled_from([(1, 2), (2, 4), (3, 3), (2, 6)]), st.integers(1, 3), st.integers(0, 10**6))
def test_group_norm(n, gc, hw, seed):
    g, c = gc
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, hw, 2)) + 1
    m = nn.GroupNorm(g, c, dtype=D)
    randomize_affine(m, rng)
    xg = x.reshape(n, g, -1)
    ref = ref_norm(xg, (2,), 1e-5).reshape(x.shape) * m.weight.numpy().reshape(1, c, 1, 1) + m.bias.numpy().reshape(1, c, 1, 1)
    np.testing.assert_allclose(m(engine.Tensor(x)).numpy(), ref, atol=1e-10)
    check_grads(m, x)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 10**6))
def test_instance_norm(n, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, 3, 2)) * 2 + 1
    plain = nn.InstanceNorm2d(c, dtype=D)
    assert plain.weight is None and plain.running_mean is None
    np.testing.assert_allclose(plain(engine.Tensor(x)).numpy(), ref_norm(x, (2, 3), 1e-5), atol=1e-10)
    np.testing.assert_allclose(plain(engine.Tensor(x[0])).numpy(), ref_norm(x[:1], (2, 3), 1e-5)[0], atol=1e-10)
    m = nn.InstanceNorm2d(c, affine=True, track_running_stats=True, dtype=D)
    randomize_affine(m, rng)
    check_grads(m, x)
    m.running_mean.zero_()
    m.running_var.fill_(1)
    m(engine.Tensor(x))
    np.testing.assert_allclose(m.running_mean.numpy(), 0.1 * x.mean(axis=(2, 3)).mean(0), rtol=1e-10)
    np.testing.assert_allclose(m.running_var.numpy(), 0.9 + 0.1 * x.var(axis=(2, 3), ddof=1).mean(0), rtol=1e-10)
    m.eval()
    ref = (x - m.running_mean.numpy().reshape(1, c, 1, 1)) / np.sqrt(m.running_var.numpy().reshape(1, c, 1, 1) + 1e-5)
    ref = ref * m.weight.numpy().reshape(1, c, 1, 1) + m.bias.numpy().reshape(1, c, 1, 1)
    np.testing.assert_allclose(m(engine.Tensor(x)).numpy(), ref, atol=1e-10)


def _net(seed):
    engine.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3), nn.BatchNorm1d(3))


def test_state_dict_round_trip_is_exact(tmp_path):
    a = _net(0)
    for _ in range(2):
        a(engine.randn(5, 2, 4, 4))
    sd = a.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "4.weight", "4.bias", "5.weight", "5.bias",
                        "5.running_mean", "5.running_var", "5.num_batches_tracked"]
    engine.save(sd, tmp_path / "ck.npz")
    b = _net(1)
    b.load_state_dict(engine.load(tmp_path / "ck.npz"))
    for (k, va), (k2, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2 and va.dtype == vb.dtype
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    a.eval(), b.eval()
    x = engine.randn(2, 2, 4, 4)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_errors_name_key_and_shape():
    sd = dict(_net(0).state_dict())
    bad = dict(sd)
    bad["1.running_varx"] = bad.pop("1.running_var")
    with pytest.raises(RuntimeError, match="1.running_varx") as e:
        _net(1).load_state_dict(bad)
    assert "1.running_var" in str(e.value)
    bad = dict(sd)
    bad["1.running_mean"] = engine.zeros(5)
    with pytest.raises(RuntimeError, match=r"1\.running_mean.*\(5,\).*\(4,\)"):
        _net(1).load_state_dict(bad)
