"""engine.kernels.pool at its Python boundary (mutation-testing companion of test_kernels_pool.py).

Checks, over random geometry (non-square kernels, strides, per-axis padding, dilation, ceil_mode,
odd sizes, float32/float64, ties, -0.0, +-inf, NaN):
* max pooling: the Numba kernel, the NumPy tier of a process's first calls (bit for bit) and PyTorch
  (values, indices, gradients); the plain-NumPy reference against PyTorch; windows that hold only
  padding (index -1) through the tier's backward; the tier answers every geometry it covers;
* average pooling (count_include_pad, divisor_override, omitted keyword arguments = PyTorch's
  defaults) and adaptive average pooling: kernels and references against PyTorch, forward and
  backward, dtypes kept;
* argument errors: each names the function and the argument.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import Phase, example, given, settings, strategies as st

from engine.kernels import _par, pool as P
from tiers import tier_and_kernel as _tier_and_kernel, same_bits as _same_bits

# no shrinking: a failing example is reported as drawn (shrinking one through Numba calls on the
# shared 2-core box took minutes)
SETTINGS = settings(deadline=None, max_examples=30, phases=[Phase.explicit, Phase.reuse, Phase.generate])


def _kernel(fn, *args, **kwargs):
    saved = _par.TIER_CALLS
    try:
        _par.TIER_CALLS = 0
        return fn(*args, **kwargs)
    finally:
        _par.TIER_CALLS = saved


def _close(a, b, dtype):
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _int(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _coin(rng):
    return bool(rng.integers(2))


def _pick(rng, options):
    return options[rng.integers(len(options))]


@st.composite
def max_cases(draw, torch_padding=True):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))  # geometry drawn uniformly (Hypothesis favours the smallest)
    kh, kw = _int(rng, 1, 4), _int(rng, 1, 4)
    given_ = {k: _coin(rng) for k in ("stride", "padding", "dilation", "ceil_mode")}  # else default
    dh, dw = (_int(rng, 1, 3), _int(rng, 1, 3)) if given_["dilation"] else (1, 1)
    # PyTorch allows padding <= kernel_size // 2; the library up to half the dilated extent
    ph = _int(rng, 0, kh // 2 if torch_padding else (dh * (kh - 1) + 1) // 2) if given_["padding"] else 0
    pw = _int(rng, 0, kw // 2 if torch_padding else (dw * (kw - 1) + 1) // 2) if given_["padding"] else 0
    sh, sw = _int(rng, 1, 3), _int(rng, 1, 3)
    h0, w0 = max(1, dh * (kh - 1) + 1 - 2 * ph), max(1, dw * (kw - 1) + 1 - 2 * pw)
    h, w = _int(rng, h0, h0 + 6), _int(rng, w0, w0 + 6)
    dtype = _pick(rng, [np.float32, np.float64])
    x = (rng.integers(-3, 4, (_int(rng, 1, 3), _int(rng, 1, 3), h, w)) / 2).astype(dtype)  # many ties
    x[x == 0] = _pick(rng, [0.0, -0.0])
    x.flat[rng.integers(0, x.size)] = -0.0
    special = _pick(rng, ["", "inf", "-inf", "nan"])
    if special:
        x.flat[rng.integers(0, x.size, 2)] = float(special)
    full = dict(stride=_pick(rng, [None, (), (sh, sw), sh]), padding=(ph, pw), dilation=(dh, dw),
                ceil_mode=_coin(rng))
    kwargs = {k: v for k, v in full.items() if given_[k]}
    ks = (kh, kw) if kh != kw or _coin(rng) else kh
    return x, ks, kwargs


def _torch_kwargs(kwargs):
    kw = dict(kwargs)
    if kw.get("stride") == ():
        kw["stride"] = None
    return kw


def test_pool_output_size_is_pytorchs():
    """Every small geometry (incl. ceil mode whose last window would start in the right padding),
    with the defaults dilation=1, ceil_mode=False when omitted."""
    for size in range(1, 9):
        for k in range(1, 5):
            for s in range(1, 4):
                for p in range(k // 2 + 1):
                    for d in (1, 2):
                        for ceil_mode in (False, True):
                            if size + 2 * p < d * (k - 1) + 1:
                                continue
                            ref = F.max_pool2d(torch.zeros(1, 1, size, 1), (k, 1), (s, 1), (p, 0), (d, 1), ceil_mode).shape[2]
                            if d == 1 and not ceil_mode:
                                assert P.pool_output_size(size, k, s, p) == ref
                            elif not ceil_mode:
                                assert P.pool_output_size(size, k, s, p, d) == ref
                            else:
                                assert P.pool_output_size(size, k, s, p, d, ceil_mode) == ref


@SETTINGS
@given(max_cases())
def test_maxpool_kernel_tier_and_torch_agree(case):
    x, ks, kwargs = case
    (out_t, ind_t), (out, ind) = _tier_and_kernel(P.maxpool2d_forward, x, ks, **kwargs)
    _same_bits(out_t, out)
    _same_bits(ind_t, ind)
    assert out.dtype == x.dtype and ind.dtype == np.int64
    xt = torch.tensor(x, requires_grad=True)
    ref, rind = F.max_pool2d(xt, ks, return_indices=True, **_torch_kwargs(kwargs))
    assert out.shape == tuple(ref.shape)
    pad_only = ind < 0  # a dilated window entirely in the padding: -inf, no argmax (PyTorch: -inf, index past the plane)
    assert np.all(np.isneginf(out[pad_only])) and np.all(np.isneginf(ref.detach().numpy()[pad_only]))
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_array_equal(ind[~pad_only], rind.numpy()[~pad_only])
    # backward: tier == kernel bit for bit, both == PyTorch's gradient
    gy = np.random.default_rng(ind.size).standard_normal(out.shape).astype(x.dtype)
    gy[pad_only] = 0
    gx_t, gx = _tier_and_kernel(P.maxpool2d_backward, gy, ind, x.shape)
    _same_bits(gx_t, gx)
    assert gx.dtype == x.dtype and gx.shape == x.shape
    ref.backward(torch.tensor(gy))
    _close(gx, xt.grad.numpy(), x.dtype)
    _same_bits(P.maxpool2d_backward_reference(gy, ind, x.shape).astype(x.dtype), gx_t)


@SETTINGS
@given(max_cases(torch_padding=False))
def test_maxpool_reference_and_all_padding_windows(case):
    """The library's larger padding (dilated windows that hold only padding): kernel == tier == the
    reference (where no NaN decides: the reference keeps the first NaN, the kernels the last), and
    the backward drops the -1 entries the same way in all three."""
    x, ks, kwargs = case
    x = np.nan_to_num(x, nan=1.5, neginf=-7.0)  # -inf only from the padding (the reference pads with -inf)
    (out_t, ind_t), (out, ind) = _tier_and_kernel(P.maxpool2d_forward, x, ks, **kwargs)
    _same_bits(out_t, out)
    _same_bits(ind_t, ind)
    ref, rind = P.maxpool2d_forward_reference(x, ks, **kwargs)
    assert ref.dtype == x.dtype
    _same_bits(out, ref)
    np.testing.assert_array_equal(ind, rind)
    gy = np.random.default_rng(3).standard_normal(out.shape).astype(x.dtype)
    gx_t, gx = _tier_and_kernel(P.maxpool2d_backward, gy, ind, x.shape)
    _same_bits(gx_t, gx)
    _same_bits(P.maxpool2d_backward_reference(gy, ind, x.shape), gx)
    np.testing.assert_allclose(gx.sum(dtype=np.float64), gy[ind >= 0].sum(dtype=np.float64), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maxpool_backward_tier_skips_padding_only_windows(dtype):
    """H = 2, kernel (2, 1), dilation (3, 1), padding (2, 0), stride 1: output row 0 reads rows -2
    and 1, row 1 rows -1 and 2 (only padding: index -1), row 2 rows 0 and 3."""
    x = np.arange(8.0, dtype=dtype).reshape(1, 1, 2, 4)
    geo = dict(kernel_size=(2, 1), stride=1, padding=(2, 0), dilation=(3, 1))
    out, ind = _kernel(P.maxpool2d_forward, x, **geo)
    np.testing.assert_array_equal(ind, [[[[4, 5, 6, 7], [-1, -1, -1, -1], [0, 1, 2, 3]]]])
    np.testing.assert_array_equal(out, np.where(ind < 0, -np.inf, ind))
    ref, rind = P.maxpool2d_forward_reference(x, **geo)
    _same_bits(ref, out)
    _same_bits(rind, ind)
    gy = np.arange(1.0, 13.0, dtype=dtype).reshape(1, 1, 3, 4)
    expect = np.stack([gy[0, 0, 2], gy[0, 0, 0]])[None, None]
    for gx in _tier_and_kernel(P.maxpool2d_backward, gy, ind, x.shape) + (P.maxpool2d_backward_reference(gy, ind, x.shape),):
        _same_bits(gx, expect)
    # an index 0 next to a -1 (the tier's masked add path keeps it)
    ind2 = np.array([[[[0, -1], [0, 3]]]])
    gy2 = np.array([[[[1.0, 2.0], [4.0, 8.0]]]], dtype)
    for gx in _tier_and_kernel(P.maxpool2d_backward, gy2, ind2, (1, 1, 2, 2)):
        _same_bits(gx, np.array([[[[5.0, 0.0], [0.0, 8.0]]]], dtype))


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.booleans())
@example(kh=1, kw=3, sh=1, sw=2, dh=1, dw=2, h=3, w=6, ceil_mode=True)  # the last window hangs over the right edge
@example(kh=3, kw=1, sh=2, sw=1, dh=2, dw=1, h=6, w=3, ceil_mode=True)  # ... over the bottom edge
def test_maxpool_tier_answers_every_window_inside_the_input(kh, kw, sh, sw, dh, dw, h, w, ceil_mode):
    """Without padding, NaN or a ceil-mode window hanging over the edge the NumPy tier gives the
    result itself (no Numba compile in a short process); otherwise it hands over (None)."""
    if h < dh * (kh - 1) + 1 or w < dw * (kw - 1) + 1:
        return
    x = np.random.default_rng(h * 16 + w).standard_normal((1, 2, h, w))
    geo = P._geometry(x, (kh, kw), (sh, sw), 0, (dh, dw), ceil_mode, "t")[1]
    ho, wo = geo[-2:]
    inside = (ho - 1) * sh + dh * (kh - 1) < h and (wo - 1) * sw + dw * (kw - 1) < w
    res = P._max_fwd_numpy(x, geo)
    assert (res is not None) == inside
    if inside:
        out, ind = _kernel(P.maxpool2d_forward, x, (kh, kw), (sh, sw), 0, (dh, dw), ceil_mode)
        _same_bits(res[0], out)
        _same_bits(res[1], ind)
    padded = P._geometry(x, (kh, kw), (sh, sw), (0, kw // 2), (dh, dw), ceil_mode, "t")[1]
    assert kw < 2 or P._max_fwd_numpy(x, padded) is None
    padded = P._geometry(x, (kh, kw), (sh, sw), (kh // 2, 0), (dh, dw), ceil_mode, "t")[1]
    assert kh < 2 or P._max_fwd_numpy(x, padded) is None


def test_maxpool_reference_keeps_the_first_real_entry_of_an_all_minus_inf_window():
    """A window of -inf values that starts in the padding: the kernel and PyTorch return the first
    real entry's index, and so must the reference (it used to return the padding's -1)."""
    x = np.full((1, 2, 3, 4), -np.inf)
    x[0, 1, 2, 3] = 1.0
    for kwargs in (dict(kernel_size=2, stride=1, padding=1), dict(kernel_size=3, stride=2, padding=1, dilation=2)):
        out, ind = _kernel(P.maxpool2d_forward, x, **kwargs)
        ref, rind = F.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(ind, rind.numpy())
        r, ri = P.maxpool2d_forward_reference(x, **kwargs)
        _same_bits(r, out)
        _same_bits(ri, ind)


@pytest.mark.parametrize("padding", [(1, 0), (0, 1)])
def test_maxpool_tier_with_padding_on_one_axis(padding):
    """Padding on one axis only (stride 3 leaves the windows inside the padded input): the tier hands
    over to the kernel, which equals PyTorch."""
    x = np.random.default_rng(7).permutation(50).reshape(2, 1, 5, 5).astype(np.float64)
    (out_t, ind_t), (out, ind) = _tier_and_kernel(P.maxpool2d_forward, x, 2, 3, padding)
    _same_bits(out_t, out)
    _same_bits(ind_t, ind)
    ref, rind = F.max_pool2d(torch.tensor(x), 2, 3, padding, return_indices=True)
    np.testing.assert_array_equal(out, ref.numpy())
    np.testing.assert_array_equal(ind, rind.numpy())


# ----------------------------------------------------------------------------- average pooling
@st.composite
def avg_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))  # geometry drawn uniformly (Hypothesis favours the smallest)
    kh, kw = _int(rng, 1, 4), _int(rng, 1, 4)
    keys = ("stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
    given_ = {k: _coin(rng) for k in keys}  # else the default (= PyTorch's)
    ph, pw = (_int(rng, 0, kh // 2), _int(rng, 0, kw // 2)) if given_["padding"] else (0, 0)
    sh, sw = _pick(rng, [1, 1, 2, 3]), _pick(rng, [1, 1, 2, 3])
    h0, w0 = max(1, kh - 2 * ph), max(1, kw - 2 * pw)
    h, w = _int(rng, h0, h0 + 6), _int(rng, w0, w0 + 6)
    dtype = _pick(rng, [np.float32, np.float64])
    x = rng.standard_normal((_int(rng, 1, 3), _int(rng, 1, 3), h, w)).astype(dtype)
    full = dict(stride=_pick(rng, [None, (), (sh, sw), sh]), padding=(ph, pw) if ph != pw else ph,
                ceil_mode=_coin(rng), count_include_pad=_coin(rng),
                divisor_override=_pick(rng, [None, 1, 3, 7]))
    kwargs = {k: v for k, v in full.items() if given_[k]}
    return x, ((kh, kw) if kh != kw else kh), kwargs


@SETTINGS
@given(avg_cases())
def test_avgpool_kernels_and_references_match_torch(case):
    x, ks, kwargs = case
    xt = torch.tensor(x, requires_grad=True)
    ref = F.avg_pool2d(xt, ks, **_torch_kwargs(kwargs))
    out = P.avgpool2d_forward(x, ks, **kwargs)
    out_r = P.avgpool2d_forward_reference(x, ks, **kwargs)
    assert out.dtype == out_r.dtype == x.dtype and out.shape == out_r.shape == tuple(ref.shape)
    _close(out, ref.detach().numpy(), x.dtype)
    _close(out_r, ref.detach().numpy(), x.dtype)
    gy = np.random.default_rng(out.size).standard_normal(out.shape).astype(x.dtype)
    ref.backward(torch.tensor(gy))
    gx = P.avgpool2d_backward(gy, x.shape, ks, **kwargs)
    gx_r = P.avgpool2d_backward_reference(gy, x.shape, ks, **kwargs)
    assert gx.dtype == gx_r.dtype == x.dtype and gx.shape == gx_r.shape == x.shape
    _close(gx, xt.grad.numpy(), x.dtype)
    _close(gx_r, xt.grad.numpy(), x.dtype)


@pytest.mark.parametrize("ks,kwargs", [
    (2, dict(stride=1)),
    (3, dict(stride=1, padding=1, ceil_mode=True)),
    ((2, 3), dict(stride=(1, 2), padding=(1, 1), ceil_mode=True, count_include_pad=False)),
    ((3, 2), dict(stride=(2, 1), padding=(0, 1), ceil_mode=True, divisor_override=5)),
    (3, dict(stride=2, padding=1, ceil_mode=True)),
])
def test_avgpool_overlapping_windows_match_torch(ks, kwargs):
    """Overlapping windows (stride 1 on an axis) and ceil-mode windows hanging over the bottom or
    the right edge (7x6 and 6x7 inputs): kernels and references, and the max-pooling reference."""
    for hw in ((7, 6), (6, 7)):
        x = np.random.default_rng(11).standard_normal((2, 3) + hw)
        xt = torch.tensor(x, requires_grad=True)
        ref = F.avg_pool2d(xt, ks, **kwargs)
        gy = np.random.default_rng(12).standard_normal(tuple(ref.shape))
        ref.backward(torch.tensor(gy))
        for out in (P.avgpool2d_forward(x, ks, **kwargs), P.avgpool2d_forward_reference(x, ks, **kwargs)):
            _close(out, ref.detach().numpy(), np.float64)
        for gx in (P.avgpool2d_backward(gy, x.shape, ks, **kwargs),
                   P.avgpool2d_backward_reference(gy, x.shape, ks, **kwargs)):
            _close(gx, xt.grad.numpy(), np.float64)
        mkw = {k: v for k, v in kwargs.items() if k in ("stride", "padding", "ceil_mode")}
        mref, mind = F.max_pool2d(torch.tensor(x), ks, return_indices=True, **mkw)
        out, ind = P.maxpool2d_forward_reference(x, ks, **mkw)
        np.testing.assert_array_equal(out, mref.numpy())
        np.testing.assert_array_equal(ind, mind.numpy())


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), st.one_of(st.none(), st.integers(1, 6)), st.one_of(st.none(), st.integers(1, 6)),
       st.sampled_from(["int", "tuple", "list"]), st.sampled_from([np.float32, np.float64]))
def test_adaptive_avgpool_kernels_and_references_match_torch(h, w, oh, ow, form, dtype):
    if form == "int":
        if oh is None:
            return
        size = oh
    else:
        size = (oh, ow) if form == "tuple" else [oh, ow]
    x = np.random.default_rng(h * 10 + w).standard_normal((2, 3, h, w)).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    ref = F.adaptive_avg_pool2d(xt, size)
    out, out_r = P.adaptive_avgpool2d_forward(x, size), P.adaptive_avgpool2d_forward_reference(x, size)
    assert out.dtype == out_r.dtype == x.dtype and out.shape == out_r.shape == tuple(ref.shape)
    _close(out, ref.detach().numpy(), dtype)
    _close(out_r, ref.detach().numpy(), dtype)
    gy = np.random.default_rng(out.size).standard_normal(out.shape).astype(dtype)
    ref.backward(torch.tensor(gy))
    gx, gx_r = P.adaptive_avgpool2d_backward(gy, x.shape), P.adaptive_avgpool2d_backward_reference(gy, x.shape)
    assert gx.dtype == gx_r.dtype == dtype and gx.shape == gx_r.shape == x.shape
    _close(gx, xt.grad.numpy(), dtype)
    _close(gx_r, xt.grad.numpy(), dtype)


@pytest.mark.parametrize("fn", ["max", "avg", "adaptive"])
def test_integer_input_becomes_float32(fn):
    x = np.arange(2 * 3 * 5 * 4).reshape(2, 3, 5, 4)
    xf = torch.tensor(x, dtype=torch.float32)
    if fn == "max":
        (out, ind), ref = P.maxpool2d_forward(x, 2), F.max_pool2d(xf, 2)
        _same_bits(P.maxpool2d_forward_reference(x, 2)[0], ref.numpy())
    elif fn == "avg":
        out, ref = P.avgpool2d_forward(x, 2), F.avg_pool2d(xf, 2)
        assert P.avgpool2d_forward_reference(x, 2).dtype == np.float32
    else:
        out, ref = P.adaptive_avgpool2d_forward(x, 3), F.adaptive_avg_pool2d(xf, 3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- argument errors
def test_forward_argument_errors_name_the_function():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D \(N, C, H, W\) input, got \(4, 4\)"):
        P.maxpool2d_forward(x[0, 0], 2)
    with pytest.raises(ValueError, match=r"avg_pool2d: expected a 4-D \(N, C, H, W\) input"):
        P.avgpool2d_forward(x[0], 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: expected a 4-D input, got \(1, 4, 4\)"):
        P.adaptive_avgpool2d_forward(x[0], 2)
    with pytest.raises(ValueError, match="max_pool2d: padding 2 should be at most half of the kernel size 3"):
        P.maxpool2d_forward(x, 3, padding=(0, 2))
    with pytest.raises(ValueError, match="max_pool2d: padding 2 should be at most half of the kernel size 2"):
        P.maxpool2d_forward_reference(x, 2, padding=(2, 0))
    with pytest.raises(ValueError, match="avg_pool2d: padding 2 should be at most half"):
        P.avgpool2d_forward_reference(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: input \(1, 1, 4, 4\) too small \(output \(0, 2\)\)"):
        P.maxpool2d_forward(x, (3, 2), dilation=(2, 1))
    with pytest.raises(ValueError, match=r"avg_pool2d: input \(1, 1, 4, 4\) too small"):
        P.avgpool2d_forward(x, (2, 5))
    # the limit itself is allowed: half of the dilated extent d*(k-1)+1
    assert P.maxpool2d_forward(x, 3, padding=2, dilation=2)[0].shape == (1, 1, 2, 2)
    assert P.maxpool2d_forward(x, (2, 3), padding=(1, 1))[0].shape == (1, 1, 3, 2)


def test_backward_argument_errors_name_the_function_and_argument():
    gy = np.zeros((1, 2, 2, 2))
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: input_shape must be a 4-D shape \(N, C, H, W\), got \(2, 4, 4\)"):
        P.avgpool2d_backward(gy, (2, 4, 4), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: grad_out has shape \(1, 2, 2, 2\), expected \(1, 2, 3, 3\)"):
        P.avgpool2d_backward(gy, (1, 2, 6, 6), 2)
    with pytest.raises(ValueError, match="avg_pool2d: padding 3 should be at most half of the kernel size 2"):
        P.avgpool2d_backward(gy, (1, 2, 4, 4), 2, padding=3)
    with pytest.raises(ValueError, match="avg_pool2d: padding 3 should be at most half of the kernel size 2"):
        P.avgpool2d_backward_reference(gy, (1, 2, 4, 4), 2, padding=3)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d_backward: input_shape must be a 4-D shape"):
        P.adaptive_avgpool2d_backward(gy, (1, 2, 4))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d_backward: grad_out \(1, 2, 2, 2\) does not match "
                                         r"input_shape \(1, 3, 4, 4\)"):
        P.adaptive_avgpool2d_backward(gy, (1, 3, 4, 4))
    for bad in (np.zeros((1, 2, 0, 2)), np.zeros((1, 2, 2, 0)), np.zeros((1, 2, 2))):
        with pytest.raises(ValueError, match="adaptive_avg_pool2d_backward: grad_out"):
            P.adaptive_avgpool2d_backward(bad, (1, 2, 4, 4))
    ind = np.zeros((1, 2, 2, 2), np.int64)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: input_shape must be a 4-D shape"):
        P.maxpool2d_backward(gy, ind, (1, 2, 4))
    with pytest.raises(ValueError, match=r"max_pool2d_backward: indices has shape \(2, 2, 2\), expected \(1, 2, 2, 2\)"):
        P.maxpool2d_backward(gy, ind[0], (1, 2, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d_backward: grad_out \(1, 2, 2, 2\) does not match input_shape \(1, 3, 4, 4\)"):
        P.maxpool2d_backward(gy, ind, (1, 3, 4, 4))
    for lo, hi in ((-2, 0), (0, 20)):
        bad = ind.copy()
        bad.flat[0], bad.flat[-1] = lo, hi
        with pytest.raises(ValueError, match=rf"max_pool2d_backward: indices must lie in \[-1, 20\) for planes of "
                                             rf"\(4, 5\), got \[{lo}, {hi}\]"):
            P.maxpool2d_backward(gy, bad, (1, 2, 4, 5))
    ok = ind.copy()
    ok.flat[0], ok.flat[-1] = -1, 19  # the bounds themselves are valid
    assert P.maxpool2d_backward(gy, ok, (1, 2, 4, 5)).shape == (1, 2, 4, 5)
