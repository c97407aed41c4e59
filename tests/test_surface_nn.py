"""nn extras of DESIGN's PYTORCH SURFACE: Conv1d, ConvTranspose2d, Upsample/interpolate, Embedding,
Dropout1d, SiLU Mish ReLU6 Hardtanh Hardswish Hardsigmoid LogSigmoid Softsign, SmoothL1Loss,
KLDivLoss. Each forward equals a plain-NumPy reference (loops over the definition), each gradient
passes gradcheck in float64, layers have PyTorch's defaults and init, bad arguments raise; where
torch is installed, the functional forms also equal torch's."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import engine
import nn
from engine import Tensor
from nn import functional as F

SETTINGS = settings(deadline=None, max_examples=10,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
FLOATS = st.floats(-2, 2, allow_nan=False, allow_subnormal=False)


def leaf(a):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def arrays(shape, elements=FLOATS):
    return hnp.arrays(np.float64, shape, elements=elements)


# -- convolutions -------------------------------------------------------------------------------
def conv1d_ref(x, w, b, s, p, d, g):
    n, c, L = x.shape
    co, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p)))
    lo = (L + 2 * p - d * (k - 1) - 1) // s + 1
    out = np.zeros((n, co, lo))
    for o in range(co):
        grp = o // (co // g)
        for y in range(lo):
            for c_ in range(cg):
                for i in range(k):
                    out[:, o, y] += w[o, c_, i] * xp[:, grp * cg + c_, y * s + i * d]
    return out + (0 if b is None else b[None, :, None])


def conv_transpose2d_ref(x, w, b, s, p, op, g, d):
    n, ci, h, wd = x.shape
    _, cog, kh, kw = w.shape
    ho = (h - 1) * s - 2 * p + d * (kh - 1) + op + 1
    wo = (wd - 1) * s - 2 * p + d * (kw - 1) + op + 1
    full = np.zeros((n, cog * g, ho + 2 * p + kh * d, wo + 2 * p + kw * d))
    for c in range(ci):
        grp = c // (ci // g)
        for o in range(cog):
            for i in range(kh):
                for j in range(kw):
                    for y in range(h):
                        for z in range(wd):
                            full[:, grp * cog + o, y * s + i * d, z * s + j * d] += x[:, c, y, z] * w[c, o, i, j]
    out = full[:, :, p:p + ho, p:p + wo]
    return out + (0 if b is None else b[None, :, None, None])


@SETTINGS
@given(st.data(), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
       st.sampled_from([1, 2]), st.booleans())
def test_conv1d_matches_loops_and_gradcheck(data, k, s, p, d, g, bias):
    c, co = 2 * g, 2 * g
    L = data.draw(st.integers(d * (k - 1) + 1, 6))
    x = data.draw(arrays((2, c, L)))
    w = data.draw(arrays((co, c // g, k)))
    b = data.draw(arrays((co,))) if bias else None
    ts = [leaf(x), leaf(w)] + ([leaf(b)] if bias else [])
    fn = lambda *t: F.conv1d(t[0], t[1], t[2] if bias else None, s, p, d, g)  # noqa: E731
    np.testing.assert_allclose(fn(*ts).numpy(), conv1d_ref(x, w, b, s, p, d, g), rtol=1e-10, atol=1e-12)
    assert engine.gradcheck(fn, ts)
    np.testing.assert_allclose(F.conv1d(Tensor(x[0]), Tensor(w), None, s, p, d, g).numpy(),
                               conv1d_ref(x[:1], w, None, s, p, d, g)[0], rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.data(), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.sampled_from([1, 2]),
       st.integers(1, 2), st.booleans())
def test_conv_transpose2d_matches_loops_and_gradcheck(data, k, s, p, g, d, bias):
    op = data.draw(st.integers(0, s - 1))
    ci, co = 2 * g, 2 * g
    h = data.draw(st.integers(1, 3))
    assume(min((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size in (h, 2)) >= 1)
    x = data.draw(arrays((1, ci, h, 2)))
    w = data.draw(arrays((ci, co // g, k, k)))
    b = data.draw(arrays((co,))) if bias else None
    ts = [leaf(x), leaf(w)] + ([leaf(b)] if bias else [])
    fn = lambda *t: F.conv_transpose2d(t[0], t[1], t[2] if bias else None, s, p, op, g, d)  # noqa: E731
    np.testing.assert_allclose(fn(*ts).numpy(), conv_transpose2d_ref(x, w, b, s, p, op, g, d),
                               rtol=1e-10, atol=1e-12)
    assert engine.gradcheck(fn, ts)


def test_conv_layers_defaults_init_and_output_size():
    engine.manual_seed(0)
    m = nn.Conv1d(4, 6, 3)
    assert (m.stride, m.padding, m.dilation, m.groups, m.padding_mode) == ((1,), (0,), (1,), 1, "zeros")
    assert m.weight.shape == (6, 4, 3) and m.bias.shape == (6,)
    bound = 1 / np.sqrt(4 * 3)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.weight.numpy()).max() > 0.5 * bound
    x = engine.randn(2, 4, 10)
    assert m(x).shape == (2, 6, 8) and nn.Conv1d(4, 6, 3, padding="same")(x).shape == (2, 6, 10)
    r = nn.Conv1d(4, 6, 3, padding=1, padding_mode="reflect")
    np.testing.assert_allclose(r(x).numpy(), F.conv1d(F.pad(x, (1, 1), mode="reflect"), r.weight,
                                                      r.bias).numpy(), rtol=1e-6)
    t = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)
    assert t.weight.shape == (4, 6, 3, 3) and t.bias.shape == (6,)
    tb = 1 / np.sqrt(6 * 9)
    assert np.abs(t.weight.numpy()).max() <= tb and np.abs(t.bias.numpy()).max() <= tb
    y = engine.randn(2, 4, 5, 5)
    assert t(y).shape == (2, 6, 10, 10)
    t0 = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    assert t0(y).shape == (2, 6, 9, 9) and t0(y, output_size=(10, 10)).shape == (2, 6, 10, 10)
    assert nn.ConvTranspose2d(4, 6, 2, groups=2, bias=False).weight.shape == (4, 3, 2, 2)


@pytest.mark.parametrize("make, words", [
    (lambda: nn.Conv1d(3, 4, 2, groups=2), "divisible"), (lambda: nn.Conv1d(2, 4, 2, padding="full"), "padding"),
    (lambda: nn.Conv1d(2, 4, 2, stride=2, padding="same"), "strided"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, padding_mode="reflect"), "zeros"),
    (lambda: F.conv_transpose2d(engine.ones(1, 2, 3, 3), engine.ones(2, 1, 3, 3), output_padding=1), "output_padding"),
    (lambda: F.conv_transpose2d(engine.ones(1, 3, 3, 3), engine.ones(2, 1, 3, 3)), "channels"),
    (lambda: F.conv1d(engine.ones(1, 2, 3, 3), engine.ones(2, 2, 1)), "3-D input"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2)(engine.ones(1, 2, 3, 3), output_size=(4, 4)), "not reachable")])
def test_conv_layers_reject_bad_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


# -- interpolate / Upsample ---------------------------------------------------------------------
def bilinear_ref(x, oh, ow, align_corners):
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow))

    def src(o, out_size, in_size):
        if align_corners:
            return o * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        return max((o + 0.5) * in_size / out_size - 0.5, 0.0)

    for y in range(oh):
        sy = src(y, oh, h)
        y0 = min(int(np.floor(sy)), h - 1)
        y1, ly = min(y0 + 1, h - 1), sy - min(int(np.floor(sy)), h - 1)
        for z in range(ow):
            sz = src(z, ow, w)
            z0 = min(int(np.floor(sz)), w - 1)
            z1, lz = min(z0 + 1, w - 1), sz - z0
            out[:, :, y, z] = ((1 - ly) * ((1 - lz) * x[:, :, y0, z0] + lz * x[:, :, y0, z1])
                               + ly * ((1 - lz) * x[:, :, y1, z0] + lz * x[:, :, y1, z1]))
    return out


@SETTINGS
@given(st.data(), st.integers(1, 3), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_interpolate_matches_references_and_gradcheck(data, h, w, oh, ow, align):
    x = data.draw(arrays((1, 2, h, w)))
    t = leaf(x)
    scale = data.draw(st.integers(1, 3))
    np.testing.assert_array_equal(F.interpolate(t, scale_factor=scale).numpy(),
                                  x.repeat(scale, axis=2).repeat(scale, axis=3))
    rows = np.floor(np.arange(oh) * h / oh).astype(int)
    cols = np.floor(np.arange(ow) * w / ow).astype(int)
    np.testing.assert_array_equal(nn.Upsample(size=(oh, ow))(t).numpy(), x[:, :, rows][:, :, :, cols])
    out = F.interpolate(t, size=(oh, ow), mode="bilinear", align_corners=align)
    np.testing.assert_allclose(out.numpy(), bilinear_ref(x, oh, ow, align), rtol=1e-12, atol=1e-12)
    assert engine.gradcheck(lambda a: F.interpolate(a, size=(oh, ow), mode="bilinear",
                                                    align_corners=align), [t])
    assert engine.gradcheck(lambda a: nn.Upsample(scale_factor=2)(a), [t])
    seq = leaf(x[:, :, 0])
    np.testing.assert_allclose(F.interpolate(seq, size=ow, mode="linear", align_corners=align).numpy(),
                               bilinear_ref(x[:, :, :1], 1, ow, align)[:, :, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(), ValueError, "exactly one"), (dict(size=2, scale_factor=2), ValueError, "exactly one"),
    (dict(size=2, mode="bicubic"), NotImplementedError, "bicubic"),
    (dict(size=2, mode="linear"), NotImplementedError, "needs 3D"),
    (dict(size=2, align_corners=True), ValueError, "align_corners"),
    (dict(scale_factor=-1.0), ValueError, "positive"), (dict(size=(2, 2, 2)), ValueError, "one entry")])
def test_interpolate_rejects_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        F.interpolate(engine.ones(1, 1, 3, 3), **kwargs)


# -- Embedding ----------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), st.integers(2, 6), st.integers(1, 3))
def test_embedding_matches_numpy_and_padding_row_gets_no_gradient(data, v, dim):
    idx = data.draw(hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.integers(0, v - 1)))
    pad = data.draw(st.none() | st.integers(-v, v - 1))
    engine.manual_seed(0)
    emb = nn.Embedding(v, dim, padding_idx=pad).double()
    w = emb.weight.numpy().copy()
    if pad is not None:
        assert not w[pad].any()
    out = emb(Tensor(idx))
    np.testing.assert_array_equal(out.numpy(), w[idx])
    g = np.cos(np.arange(out.numpy().size)).reshape(out.shape)
    out.backward(Tensor(g))
    want = np.zeros_like(w)
    np.add.at(want, idx, g)
    if pad is not None:
        want[pad] = 0
    np.testing.assert_allclose(emb.weight.grad.numpy(), want, rtol=1e-12, atol=1e-12)
    assert engine.gradcheck(lambda wt: F.embedding(Tensor(idx), wt), [leaf(w)])


def test_embedding_init_max_norm_pretrained_and_errors():
    engine.manual_seed(0)
    e = nn.Embedding(2000, 8)
    assert abs(e.weight.numpy().mean()) < 0.02 and abs(e.weight.numpy().std() - 1) < 0.02
    m = nn.Embedding(5, 3, max_norm=1.0)
    m.weight.numpy()[:] = np.arange(15.0).reshape(5, 3)
    out = m(engine.tensor([0, 2]))
    norms = np.linalg.norm(m.weight.numpy(), axis=1)
    assert np.all(norms[[0, 2]] <= 1.0 + 1e-5) and norms[1] > 1 and np.allclose(out.numpy(), m.weight.numpy()[[0, 2]])
    pre = nn.Embedding.from_pretrained(engine.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not pre.weight.requires_grad and pre(engine.tensor([1])).tolist() == [[3.0, 4.0]]
    with pytest.raises(IndexError, match="index 5 is out of range for 5"):
        m(engine.tensor([5]))
    with pytest.raises(TypeError, match="integer"):
        m(engine.tensor([0.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


# -- Dropout1d ----------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.sampled_from([0.0, 0.3, 0.5, 1.0]))
def test_dropout1d_zeros_whole_channels(n, c, L, p):
    engine.manual_seed(n * 100 + c)
    x = leaf(np.random.default_rng(0).uniform(1, 2, (n, c, L)))
    layer = nn.Dropout1d(p)
    y = layer(x)
    ratio = y.numpy() / x.numpy()
    for row in ratio.reshape(n * c, L):
        assert np.allclose(row, row[0], rtol=1e-12) and (row[0] == 0 or np.isclose(row[0], 1 / (1 - p)))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ratio)
    layer.eval()
    assert layer(x) is x
    assert F.dropout1d(x[0], p).shape == (c, L)
    with pytest.raises(ValueError, match="3-D"):
        F.dropout1d(engine.ones(1, 1, 1, 1))


# -- activations --------------------------------------------------------------------------------
def _sig(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = {
    "silu": (nn.SiLU, lambda x: x * _sig(x)),
    "mish": (nn.Mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    "relu6": (nn.ReLU6, lambda x: np.minimum(np.maximum(x, 0), 6)),
    "hardtanh": (nn.Hardtanh, lambda x: np.clip(x, -1, 1)),
    "hardswish": (nn.Hardswish, lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6),
    "hardsigmoid": (nn.Hardsigmoid, lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6),
    "logsigmoid": (nn.LogSigmoid, lambda x: np.log(_sig(x))),
    "softsign": (nn.Softsign, lambda x: x / (1 + np.abs(x))),
    "tanhshrink": (nn.Tanhshrink, lambda x: x - np.tanh(x)),
    "hardshrink": (nn.Hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0.0)),
    "softshrink": (nn.Softshrink, lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0)),
    "celu": (nn.CELU, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
}
KINKS = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0])
AWAY = st.floats(-8, 8, allow_subnormal=False).filter(lambda v: np.abs(KINKS - v).min() > 1e-3)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@SETTINGS
@given(data=st.data())
def test_activations_match_numpy_and_gradcheck(name, data):
    layer_cls, ref = ACTIVATIONS[name]
    a = data.draw(arrays(hnp.array_shapes(max_dims=3, max_side=4), AWAY))
    x = leaf(a)
    for out in (getattr(F, name)(x), layer_cls()(x)):
        np.testing.assert_allclose(out.numpy(), ref(a), rtol=1e-10, atol=1e-12)
    assert engine.gradcheck(getattr(F, name), [x])
    assert getattr(F, name)(engine.ones(2)).dtype == np.float32


@SETTINGS
@given(data=st.data(), th=st.sampled_from([-1.0, 0.0, 0.5]), value=st.sampled_from([-2.0, 0.0, 7.0]))
def test_threshold_matches_numpy_and_gradcheck(data, th, value):
    a = data.draw(arrays(hnp.array_shapes(max_dims=3, max_side=4),
                         AWAY.filter(lambda v: abs(v - th) > 1e-3)))
    x = leaf(a)
    want = np.where(a > th, a, value)
    for out in (F.threshold(x, th, value), nn.Threshold(th, value)(x)):
        np.testing.assert_array_equal(out.numpy(), want)
    assert engine.gradcheck(lambda t: F.threshold(t, th, value), [x])


@SETTINGS
@given(data=st.data(), alpha=st.sampled_from([0.5, 1.0, 2.5]))
def test_celu_alpha_matches_numpy_and_gradcheck(data, alpha):
    a = data.draw(arrays(hnp.array_shapes(max_dims=3, max_side=4), AWAY))
    x = leaf(a)
    np.testing.assert_allclose(F.celu(x, alpha).numpy(), np.where(a > 0, a, alpha * np.expm1(a / alpha)),
                               rtol=1e-12, atol=1e-15)
    assert engine.gradcheck(lambda t: F.celu(t, alpha), [x])
    with pytest.raises(ValueError, match="alpha"):
        F.celu(x, 0.0)


@SETTINGS
@given(data=st.data())
def test_softmin_glu_normalize_softmax2d_match_numpy_and_gradcheck(data):
    a = data.draw(arrays(st.sampled_from([(2, 4), (3, 2, 2), (1, 2, 2, 3)]), st.floats(-3, 3)))
    x = leaf(a)
    e = np.exp(-a - (-a).max(axis=1, keepdims=True))
    np.testing.assert_allclose(F.softmin(x, 1).numpy(), e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(nn.Softmin(1)(x).numpy(), e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    half = a.shape[-1] // 2 if a.shape[-1] % 2 == 0 else None
    if half:
        np.testing.assert_allclose(F.glu(x).numpy(), a[..., :half] / (1 + np.exp(-a[..., half:])), rtol=1e-12)
        assert engine.gradcheck(lambda t: nn.GLU()(t), [x])
    else:
        with pytest.raises(RuntimeError, match="even"):
            F.glu(x)
    norm = np.maximum(np.sqrt((a * a).sum(axis=1, keepdims=True)), 1e-12)
    np.testing.assert_allclose(F.normalize(x).numpy(), a / norm, rtol=1e-12)
    assume_nonzero = np.all(norm > 1e-3)
    if assume_nonzero:
        assert engine.gradcheck(lambda t: F.normalize(t, p=2.0, dim=1), [x])
    assert engine.gradcheck(lambda t: F.softmin(t, 1), [x])
    if a.ndim in (3, 4):
        s = np.exp(a - a.max(axis=-3, keepdims=True))
        np.testing.assert_allclose(nn.Softmax2d()(x).numpy(), s / s.sum(axis=-3, keepdims=True), rtol=1e-12)
    else:
        with pytest.raises(ValueError, match="3-D or 4-D"):
            nn.Softmax2d()(x)


def test_shrink_arguments_are_checked_like_torch():
    x = leaf(np.array([-1.0, 0.2, 1.0]))
    with pytest.raises(ValueError, match="lambd"):
        F.softshrink(x, -0.5)
    with pytest.raises(TypeError, match="lambd"):
        F.hardshrink(x, "0.5")
    with pytest.raises(IndexError, match="dim"):
        F.glu(x, 3)
    assert repr(nn.Softshrink(0.3)) == "Softshrink(0.3)" and "threshold=0.1" in repr(nn.Threshold(0.1, 2))


def test_hardtanh_arguments_and_kinks_follow_torch():
    x = leaf(np.array([-2.0, -1.0, 0.5, 2.0, 2.5]))
    y = nn.Hardtanh(-1.0, 2.0)(x)
    np.testing.assert_array_equal(y.numpy(), [-1.0, -1.0, 0.5, 2.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 1, 0, 0])  # 0 at the bounds, as PyTorch
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(1.0, -1.0)


# -- losses -------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), st.sampled_from(["mean", "sum", "none"]), st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_smooth_l1_matches_numpy_and_gradcheck(data, reduction, beta):
    shape = data.draw(hnp.array_shapes(max_dims=3, max_side=4))
    a = data.draw(arrays(shape))
    b = data.draw(arrays(shape))
    diff = np.abs(a - b)
    if beta == 0:
        elem = diff
    else:
        elem = np.where(diff < beta, 0.5 * diff ** 2 / beta, diff - 0.5 * beta)
    want = {"mean": elem.mean(), "sum": elem.sum(), "none": elem}[reduction]
    x, y = leaf(a), leaf(b)
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction=reduction, beta=beta).numpy(), want,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nn.SmoothL1Loss(reduction=reduction, beta=beta)(x, y).numpy(), want,
                               rtol=1e-12, atol=1e-12)
    if np.all(np.abs(diff - beta) > 1e-3) and np.all(diff > 1e-3):
        assert engine.gradcheck(lambda u, v: F.smooth_l1_loss(u, v, reduction=reduction, beta=beta), [x, y])


@SETTINGS
@given(st.data(), st.sampled_from(["mean", "batchmean", "sum", "none"]), st.booleans())
def test_kl_div_matches_numpy_and_gradcheck(data, reduction, log_target):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    q = data.draw(arrays(shape))
    p = data.draw(arrays(shape, st.sampled_from([0.0, 0.1, 0.5, 1.0])))
    target = np.log(p + 0.05) if log_target else p
    if log_target:
        elem = np.exp(target) * (target - q)
    else:
        elem = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - q), 0.0)
    want = {"mean": elem.mean(), "batchmean": elem.sum() / shape[0], "sum": elem.sum(), "none": elem}[reduction]
    x, t = leaf(q), leaf(target)
    with pytest.warns(UserWarning) if reduction == "mean" else _no_warning():
        got = F.kl_div(x, t, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    layer = nn.KLDivLoss(reduction=reduction, log_target=log_target)
    assert layer.reduction == reduction
    if reduction != "mean":
        np.testing.assert_allclose(layer(x, t).numpy(), want, rtol=1e-12, atol=1e-12)
        assert engine.gradcheck(lambda u: F.kl_div(u, t, reduction=reduction, log_target=log_target), [x])
        if log_target:
            assert engine.gradcheck(lambda v: F.kl_div(x, v, reduction=reduction, log_target=True), [t])


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_losses_reject_bad_arguments():
    with pytest.raises(ValueError, match="beta"):
        nn.SmoothL1Loss(beta=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(engine.ones(2), engine.ones(2), reduction="avg")


# -- the same calls under torch (an oracle, skipped without torch) -------------------------------
def test_functional_forms_equal_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    s = rng.standard_normal((2, 4, 7))
    cases = [
        ("conv_transpose2d", (x, w), dict(stride=2, padding=1, output_padding=1)),
        ("conv1d", (s, rng.standard_normal((6, 2, 3))), dict(stride=2, padding=1, groups=2)),
        ("interpolate", (x,), dict(scale_factor=1.5, mode="bilinear")),
        ("interpolate", (x,), dict(size=(9, 4), mode="bilinear", align_corners=True)),
        ("interpolate", (x,), dict(size=(3, 11))),
        ("smooth_l1_loss", (x, x[::-1].copy()), dict(beta=0.7)),
        ("kl_div", (x, np.abs(x)), dict(reduction="batchmean")),
    ] + [(name, (x,), {}) for name in ACTIVATIONS]
    for name, args, kw in cases:
        ours = getattr(F, name)(*[Tensor(a) for a in args], **kw).numpy()
        theirs = getattr(torch.nn.functional, name)(*[torch.tensor(a) for a in args], **kw).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=name)
