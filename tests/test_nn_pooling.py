"""nn.MaxPool2d / AvgPool2d / AdaptiveAvgPool2d and their functional forms: forward and indices vs
naive NumPy loops (PyTorch's documented output-size formula), gradcheck, defaults."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=15)


def out_size(n, k, s, p, d, ceil):
    """PyTorch docs: ⌊(n + 2p − d(k−1) − 1)/s + 1⌋ (ceil in ceil_mode; the last window must
    start inside the input or the left padding)."""
    num = (n + 2 * p - d * (k - 1) - 1) / s + 1
    o = math.ceil(num) if ceil else math.floor(num)
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def naive_max_pool(x, k, s, p, d, ceil):
    n, c, h, w = x.shape
    ho, wo = out_size(h, k[0], s[0], p[0], d[0], ceil), out_size(w, k[1], s[1], p[1], d[1], ceil)
    out, idx = np.full((n, c, ho, wo), -np.inf), np.full((n, c, ho, wo), -1, np.int64)  # -1: all padding
    for y in range(ho):
        for z in range(wo):
            for i in range(k[0]):
                for j in range(k[1]):
                    r, q = y * s[0] - p[0] + i * d[0], z * s[1] - p[1] + j * d[1]
                    if 0 <= r < h and 0 <= q < w:
                        better = x[:, :, r, q] > out[:, :, y, z]
                        out[:, :, y, z] = np.where(better, x[:, :, r, q], out[:, :, y, z])
                        idx[:, :, y, z] = np.where(better, r * w + q, idx[:, :, y, z])
    return out, idx


def naive_avg_pool(x, k, s, p, ceil, include_pad, divisor):
    n, c, h, w = x.shape
    ho, wo = out_size(h, k[0], s[0], p[0], 1, ceil), out_size(w, k[1], s[1], p[1], 1, ceil)
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            r0, q0 = y * s[0] - p[0], z * s[1] - p[1]
            r1, q1 = min(r0 + k[0], h + p[0]), min(q0 + k[1], w + p[1])
            win = x[:, :, max(r0, 0):min(r1, h), max(q0, 0):min(q1, w)]
            cnt = divisor or ((r1 - r0) * (q1 - q0) if include_pad else win.shape[2] * win.shape[3])
            out[:, :, y, z] = win.sum(axis=(2, 3)) / cnt
    return out


def distinct(rng, shape):
    """Values with no ties (so max-pool gradients are well defined for finite differences)."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape))


@st.composite
def pool_cases(draw, with_dilation=True):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if with_dilation else (1, 1)
    p = tuple(draw(st.integers(0, (di * (ki - 1) + 1) // 2)) for ki, di in zip(k, d))
    h = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), 7))
    w = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]), 7))
    ceil = draw(st.booleans())
    x = distinct(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), (2, 2, h, w))
    return x, k, s, p, d, ceil


@SETTINGS
@given(pool_cases())
def test_max_pool_forward_indices_and_gradcheck(case):
    x, k, s, p, d, ceil = case
    ref, ref_idx = naive_max_pool(x, k, s, p, d, ceil)
    xt = engine.Tensor(x, requires_grad=True)
    out, idx = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert not idx.requires_grad
    real = engine.Tensor(np.isfinite(ref))  # dilated windows of pure padding give -inf: mask them

    def f(a):
        return engine.where(real, F.max_pool2d(a, k, s, p, d, ceil_mode=ceil), 0.0)

    assert engine.gradcheck(f, [xt], fast_mode=True)


@SETTINGS
@given(pool_cases(with_dilation=False), st.booleans(), st.sampled_from([None, 1, 5]))
def test_avg_pool_forward_and_gradcheck(case, include_pad, divisor):
    x, k, s, p, _, ceil = case
    xt = engine.Tensor(x, requires_grad=True)
    out = F.avg_pool2d(xt, k, s, p, ceil, include_pad, divisor)
    np.testing.assert_allclose(out.numpy(), naive_avg_pool(x, k, s, p, ceil, include_pad, divisor), atol=1e-12)
    assert engine.gradcheck(lambda a: F.avg_pool2d(a, k, s, p, ceil, include_pad, divisor), [xt], fast_mode=True)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 5), st.integers(1, 5), st.integers(0, 1000))
def test_adaptive_avg_pool_bins_and_gradcheck(h, w, oh, ow, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    xt = engine.Tensor(x, requires_grad=True)
    out = F.adaptive_avg_pool2d(xt, (oh, ow))
    ref = np.zeros((2, 3, oh, ow))
    for i in range(oh):
        for j in range(ow):
            ref[:, :, i, j] = x[:, :, (i * h) // oh:-(-(i + 1) * h // oh), (j * w) // ow:-(-(j + 1) * w // ow)].mean(axis=(2, 3))
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    assert engine.gradcheck(lambda a: F.adaptive_avg_pool2d(a, (oh, ow)), [xt], fast_mode=True)


def test_layers_defaults_and_unbatched():
    x = engine.Tensor(distinct(np.random.default_rng(0), (3, 8, 6)))
    m = nn.MaxPool2d(2)
    assert m.stride == 2 and m(x).shape == (3, 4, 3)
    np.testing.assert_array_equal(m(x).numpy(), naive_max_pool(x.numpy()[None], (2, 2), (2, 2), (0, 0), (1, 1), False)[0][0])
    a = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_allclose(a(x).numpy(), naive_avg_pool(x.numpy()[None], (3, 3), (1, 1), (1, 1), False, False, None)[0],
                               rtol=1e-6)
    assert nn.AdaptiveAvgPool2d((None, 2))(x).shape == (3, 8, 2)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy()[:, 0, 0], x.numpy().mean(axis=(1, 2)), rtol=1e-5)
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert idx.shape == out.shape == (3, 4, 3) and idx.dtype == np.int64


def test_layer_backward_routes_gradient_to_argmax():
    x = engine.Tensor(np.array([[[[1., 5.], [3., 2.]]]], dtype=np.float32), requires_grad=True)
    nn.MaxPool2d(2)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 1], [0, 0]]]])


def test_pool_errors():
    with pytest.raises(ValueError, match="4-D"):
        F.max_pool2d(engine.zeros(2, 2), 2)
    with pytest.raises(ValueError, match="padding"):
        F.max_pool2d(engine.zeros(1, 1, 4, 4), 2, padding=2)
