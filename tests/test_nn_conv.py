"""nn.Conv2d / F.conv2d: forward vs a naive NumPy loop, gradcheck of input/weight/bias over random
stride/padding/dilation/groups, 'same'/'valid' and padding modes, init bounds, errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=15)


def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """out[n, o, y, z] = b[o] + Σ w[o] · (dilated window of the zero-padded input), one pixel at a time."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x.shape
    o_, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o_, ho, wo))
    per = o_ // groups
    for o in range(o_):
        g = o // per
        for y in range(ho):
            for z in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg, y * sh:y * sh + dh * (kh - 1) + 1:dh,
                           z * sw:z * sw + dw * (kw - 1) + 1:dw]
                out[:, o, y, z] = (patch * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 2))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    hmin = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
    wmin = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(hmin, hmin + 3)), draw(st.integers(wmin, wmin + 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, cin, h, w))
    weight = rng.standard_normal((cout, cin // groups, kh, kw))
    bias = rng.standard_normal(cout) if draw(st.booleans()) else None
    return x, weight, bias, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@SETTINGS
@given(conv_cases())
def test_forward_matches_naive_numpy(case):
    x, w, b, kw = case
    out = F.conv2d(engine.Tensor(x), engine.Tensor(w), None if b is None else engine.Tensor(b), **kw)
    np.testing.assert_allclose(out.numpy(), naive_conv2d(x, w, b, **kw), rtol=1e-10, atol=1e-10)


@SETTINGS
@given(conv_cases())
def test_gradcheck_input_weight_bias(case):
    x, w, b, kw = case
    ts = [engine.Tensor(x, requires_grad=True), engine.Tensor(w, requires_grad=True)]
    if b is not None:
        ts.append(engine.Tensor(b, requires_grad=True))
    assert engine.gradcheck(lambda *a: F.conv2d(*a, **kw), ts, fast_mode=True)


@settings(deadline=None, max_examples=10)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2), st.integers(0, 1000))
def test_same_padding_keeps_size_and_pads_extra_at_bottom_right(kh, kw, d, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((1, 2, 6, 5)), rng.standard_normal((3, 2, kh, kw))
    out = F.conv2d(engine.Tensor(x), engine.Tensor(w), padding="same", dilation=d)
    assert out.shape == (1, 3, 6, 5)
    th, tw = d * (kh - 1), d * (kw - 1)
    xp = np.pad(x, ((0, 0), (0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2)))
    np.testing.assert_allclose(out.numpy(), naive_conv2d(xp, w, dilation=(d, d)), atol=1e-10)
    if th < 6 and tw < 5:
        valid = F.conv2d(engine.Tensor(x), engine.Tensor(w), padding="valid", dilation=d)
        np.testing.assert_allclose(valid.numpy(), naive_conv2d(x, w, dilation=(d, d)), atol=1e-10)


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_padding_modes_match_numpy_pad(mode, np_mode):
    engine.manual_seed(1)
    m = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    xt = engine.Tensor(x, requires_grad=True)
    out = m(xt)
    ref = naive_conv2d(np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode=np_mode), m.weight.numpy(), m.bias.numpy())
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
    assert engine.gradcheck(lambda a: m(a), [xt], fast_mode=True)


def test_layer_gradcheck_wrt_parameters_and_unbatched_input():
    engine.manual_seed(0)
    m = nn.Conv2d(4, 6, (2, 3), stride=(2, 1), padding=1, dilation=(1, 2), groups=2, dtype=np.float64)
    x = engine.Tensor(np.random.default_rng(3).standard_normal((2, 4, 5, 6)))
    assert engine.gradcheck(lambda w, b: F.conv2d(x, w, b, (2, 1), 1, (1, 2), 2), [m.weight, m.bias], fast_mode=True)
    y3 = m(x[0])
    assert y3.shape == m(x).shape[1:]
    np.testing.assert_allclose(y3.numpy(), m(x).numpy()[0], atol=1e-12)


def test_default_init_is_pytorch_uniform_bound():
    engine.manual_seed(0)
    m = nn.Conv2d(8, 32, 3, groups=2)
    bound = 1 / math.sqrt(8 // 2 * 9)
    assert m.weight.shape == (32, 4, 3, 3) and m.bias.shape == (32,)
    assert m.weight.dtype == np.float32
    w = m.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(m.bias.numpy()).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound  # U(-a, a) has std a/√3
    assert nn.Conv2d(3, 4, 3, bias=False).bias is None
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]


def test_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"conv2d: input \(8, 3, 32, 32\) has 3 channels but weight "
                                         r"\(16, 4, 3, 3\) expects 4 \(groups=1\)"):
        F.conv2d(engine.zeros(8, 3, 32, 32), engine.zeros(16, 4, 3, 3))
    with pytest.raises(ValueError, match=r"\(1, 2, 2, 2\).*\(1, 2, 3, 3\)"):
        F.conv2d(engine.zeros(1, 2, 2, 2), engine.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")


def test_regularizers_and_output_dtype():
    m = nn.Conv2d(2, 3, 3, kernel_regularizer=lambda w: (w * w).sum(), bias_regularizer=lambda b: b.abs().sum())
    expect = float((m.weight.numpy().astype(np.float64) ** 2).sum() + np.abs(m.bias.numpy()).sum())
    assert math.isclose(float(m.regularization_loss().item()), expect, rel_tol=1e-5)
    assert m(engine.zeros(1, 2, 4, 4)).dtype == np.float32
    assert "kernel_size=(3, 3)" in repr(m)


def test_conv_layers_share_pytorchs_extra_repr():
    """Conv2d, Conv1d and ConvTranspose2d print the channels, kernel_size and stride, then only the
    arguments that differ from their defaults (one function for the three, as PyTorch's _ConvNd)."""
    assert repr(nn.Conv2d(1, 2, 3)) == "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv1d(2, 4, 3, padding=1, groups=2, bias=False, padding_mode="reflect")) == (
        "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=(1,), groups=2, bias=False, "
        "padding_mode='reflect')")
    assert repr(nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, dilation=2)) == (
        "ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1), dilation=(2, 2))")
