"""engine.kernels.conv / _datamove / _window, the Python around the Numba kernels (mutation-testing
follow-up): the NumPy im2col/col2im tier vs the formula of their docstrings and vs the kernels bit
for bit; conv2d forward/backward and their plain-NumPy references vs PyTorch over random geometry
(asymmetric stride/padding/dilation, groups, odd sizes, float32/float64, bias or not), every
``needs_input_grad`` combination; which path a call takes (Winograd, pointwise GEMM, channel-major
'same' im2col, NumPy tier or kernel) and that the paths give the same results; the chunking
contract (``_chunks``: cover the batch, buffers within CHUNK_BYTES, threads only when worth it);
float32 computed in float32; argument errors with their messages."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from engine.kernels import _datamove, _par, _threads, conv as K
from engine.kernels._window import pair
from tiers import tier_and_kernel as _both, same_bits as _same_bits

SETTINGS = settings(deadline=None, max_examples=30)
torch.set_num_threads(1)


@pytest.fixture
def kernels(monkeypatch):
    """The kernels from the first call (not the NumPy tier)."""
    monkeypatch.setattr(_par, "TIER_CALLS", 0)


@st.composite
def geometries(draw, max_groups=3):
    groups = draw(st.integers(1, max_groups))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), dh * (kh - 1) + 6))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), dw * (kw - 1) + 6))
    n = draw(st.integers(1, 3))
    return dict(n=n, cin=cin, cout=cout, h=h, w=w, kh=kh, kw=kw, groups=groups,
                stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))


def _data(g, seed, dtype=np.float64, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((g["n"], g["cin"], g["h"], g["w"])).astype(dtype)
    x.flat[0] = -0.0
    wt = rng.standard_normal((g["cout"], g["cin"] // g["groups"], g["kh"], g["kw"])).astype(dtype)
    b = rng.standard_normal(g["cout"]).astype(dtype) if bias else None
    return x, wt, b, dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], groups=g["groups"])


def _torch(x, wt, b, gy, kw):
    """PyTorch's output and (grad_input, grad_weight, grad_bias) for the upstream gradient gy."""
    xt = torch.tensor(x, requires_grad=True)
    wtt = torch.tensor(wt, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    out = torch.nn.functional.conv2d(xt, wtt, bt, **kw)
    if gy is None:
        return out.detach().numpy(), None
    out.backward(torch.tensor(gy))
    return out.detach().numpy(), (xt.grad.numpy(), wtt.grad.numpy(), None if bt is None else bt.grad.numpy())


# ----------------------------------------------------------------------------- conv2d vs PyTorch
@SETTINGS
@given(geometries(), st.booleans(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_conv2d_and_its_references_match_pytorch_and_the_tier_gives_the_kernels_bits(g, bias, dtype, seed):
    x, wt, b, kw = _data(g, seed, dtype, bias)
    gy = np.random.default_rng(seed + 2).standard_normal(
        (g["n"], g["cout"]) + K.conv2d_output_size(g["h"], g["w"], (g["kh"], g["kw"]), **{
            k: kw[k] for k in ("stride", "padding", "dilation")})).astype(dtype)
    ref_out, ref_grads = _torch(x, wt, b, gy, kw)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)

    tier, kern = _both(K.conv2d_forward, x, wt, b, **kw)
    _same_bits(tier, kern)
    assert kern.dtype == dtype
    np.testing.assert_allclose(kern, ref_out, **tol)
    out = K.conv2d_forward_reference(x, wt, b, **kw)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref_out, **tol)

    tier, kern = _both(K.conv2d_backward, gy, x, wt, **kw)
    refs = K.conv2d_backward_reference(gy, x, wt, **kw)
    for t, k, r, theirs in zip(tier, kern, refs, ref_grads):
        _same_bits(t, k)
        if theirs is None:  # no bias: PyTorch has no grad_bias, the sum of gy is it
            theirs = gy.astype(np.float64).sum(axis=(0, 2, 3))
        assert k.dtype == r.dtype == dtype
        np.testing.assert_allclose(k, theirs, **tol)
        np.testing.assert_allclose(r, theirs, **tol)

    # every needs_input_grad: the same bits for what is asked, None for the rest
    for need in [(a, bb, cc) for a in (0, 1) for bb in (0, 1) for cc in (0, 1)] + [(True,), (False,), (False, True)]:
        got = K.conv2d_backward(gy, x, wt, needs_input_grad=tuple(map(bool, need)), **kw)
        full = tuple(need) + (True,) * (3 - len(need))
        for asked, a, k in zip(full, got, kern):
            if asked:
                _same_bits(a, k)
            else:
                assert a is None


def test_defaults_are_stride_1_no_padding_no_dilation_one_group():
    rng = np.random.default_rng(0)
    x, wt = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((2, 3, 3, 2))
    gy = rng.standard_normal((2, 2, 5, 5))
    ref_out, ref_grads = _torch(x, wt, None, gy, {})
    for out in (K.conv2d_forward(x, wt), K.conv2d_forward_reference(x, wt)):
        np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    for grads in (K.conv2d_backward(gy, x, wt), K.conv2d_backward_reference(gy, x, wt)):
        for a, b in zip(grads, ref_grads[:2] + (gy.sum(axis=(0, 2, 3)),)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- argument errors
@pytest.mark.parametrize("fn", ["forward", "backward"])
def test_argument_errors_say_what_is_wrong(fn):
    def call(x, wt, **kw):
        if fn == "forward":
            return K.conv2d_forward(np.zeros(x), np.zeros(wt), **kw)
        return K.conv2d_backward(np.zeros(1), np.zeros(x), np.zeros(wt), **kw)

    for x, wt in [((3, 4, 4), (2, 3, 3, 3)), ((1, 3, 4, 4), (2, 3, 3)), ((1, 1, 3, 4, 4), (2, 3, 3, 3)),
                  ((1, 3, 4, 4), (2, 3, 1, 3, 3))]:
        with pytest.raises(ValueError, match=r"conv2d: expected 4-D input and weight"):
            call(x, wt)
    for x, wt, groups in [((1, 3, 4, 4), (2, 1, 3, 3), 2),   # C_in not divisible by groups
                          ((1, 4, 4, 4), (3, 2, 3, 3), 2),   # C_out not divisible by groups
                          ((1, 4, 4, 4), (2, 4, 3, 3), 2),   # weight's C_in/groups wrong
                          ((1, 4, 4, 4), (2, 2, 3, 3), 1)]:
        with pytest.raises(ValueError, match=r"conv2d: input \(.*\), weight \(.*\), groups=\d do not match"):
            call(x, wt, groups=groups)
    for x, wt, kw in [((1, 2, 2, 5), (1, 2, 3, 3), {}), ((1, 2, 5, 2), (1, 2, 3, 3), {}),
                      ((1, 2, 2, 2), (1, 2, 3, 3), {}), ((1, 2, 3, 3), (1, 2, 2, 2), dict(dilation=(3, 1))),
                      ((1, 2, 3, 3), (1, 2, 2, 2), dict(dilation=(1, 3)))]:
        with pytest.raises(ValueError, match=r"conv2d: input \(.*\) too small for kernel \(.*\) \(output \(.*\)\)"):
            call(x, wt, **kw)


def test_a_one_pixel_output_is_fine():
    rng = np.random.default_rng(9)
    x, wt = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((3, 2, 3, 4))
    out = K.conv2d_forward(x, wt)
    assert out.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(out, _torch(x, wt, None, None, {})[0], rtol=1e-12, atol=1e-12)
# ----------------------------------------------------------------------------- dtypes
def test_float32_is_computed_in_float32(monkeypatch, kernels):
    """A float32 input makes every GEMM a float32 one and returns float32, whatever the dtype of the
    weight, bias or upstream gradient (those are cast to x's dtype first: same bits as casting them
    by hand)."""
    rng = np.random.default_rng(7)
    seen = []
    real = K._matmul

    def matmul(a, b, *args, **kwargs):
        seen.append((a.dtype, b.dtype, None if kwargs.get("out") is None else kwargs["out"].dtype))
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(K, "_matmul", matmul)
    x = rng.standard_normal((3, 4, 6, 7)).astype(np.float32)
    for k, kw in [(3, dict(padding=1)), (2, dict(stride=(2, 1))), (1, dict(stride=2)), (3, dict(groups=2))]:
        w64 = rng.standard_normal((4, 4 // kw.get("groups", 1), k, k))
        b64 = rng.standard_normal(4)
        out = K.conv2d_forward(x, w64, b64, **kw)
        assert out.dtype == np.float32
        _same_bits(out, K.conv2d_forward(x, w64.astype(np.float32), b64.astype(np.float32), **kw))
        _same_bits(out, K.conv2d_forward(x, w64.astype(np.float32), list(b64.astype(np.float32)), **kw))
        gy64 = rng.standard_normal(out.shape)
        grads = K.conv2d_backward(gy64, x, w64, **kw)
        for a, b in zip(grads, K.conv2d_backward(gy64.astype(np.float32), x, w64.astype(np.float32), **kw)):
            assert a.dtype == np.float32
            _same_bits(a, b)
    assert seen and all(d == np.float32 for s in seen for d in s if d is not None)
    # the channel-major col2im of a 'same' conv sums in float32 too: the NumPy tier's bits
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    wt = rng.standard_normal((5, 3, 5, 5)).astype(np.float32)
    gy = rng.standard_normal((4, 5, 8, 8)).astype(np.float32)
    for tier, kern in zip(*_both(K.conv2d_backward, gy, x, wt, padding=2)):
        _same_bits(tier, kern)


def test_integer_input_is_computed_in_float32():
    x = np.arange(2 * 3 * 5 * 4).reshape(2, 3, 5, 4) % 7 - 3
    wt = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2) % 5 - 2
    out = K.conv2d_forward(x, wt)
    assert out.dtype == np.float32
    _same_bits(out, K.conv2d_forward(x.astype(np.float32), wt.astype(np.float32)))
    np.testing.assert_array_equal(out, _torch(x.astype(np.float64), wt.astype(np.float64), None, None, {})[0])


def test_non_contiguous_input_and_weight():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 6, 8, 5)).transpose(0, 1, 3, 2)[:, ::2]
    wt = rng.standard_normal((3, 3, 3, 2)).transpose(1, 0, 2, 3)
    kw = dict(padding=(1, 2), stride=(1, 2))
    gy = rng.standard_normal(K.conv2d_forward(np.ascontiguousarray(x), np.ascontiguousarray(wt), **kw).shape)
    ref_out, ref_grads = _torch(np.ascontiguousarray(x), np.ascontiguousarray(wt), None, gy, kw)
    np.testing.assert_allclose(K.conv2d_forward(x, wt, **kw), ref_out, rtol=1e-12, atol=1e-12)
    for a, b in zip(K.conv2d_backward(gy, x, wt, **kw), ref_grads[:2] + (gy.sum(axis=(0, 2, 3)),)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- which path a call takes
def _spy(monkeypatch, owner, name):
    calls, real = [], getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def _winograd_geo(dtype=np.float32, cin=16, cout=16, k=(3, 3), stride=1, dilation=1, groups=1, hw=(6, 6), pad=1):
    x = np.zeros((1, cin, hw[0], hw[1]), dtype)
    wt = np.zeros((cout, cin // groups) + k, dtype)
    xs, ws, geo = K._setup(x, wt, stride, pad, dilation, groups)
    return K._use_winograd(xs, ws, geo, groups)


def test_winograd_only_for_float32_3x3_stride1_undilated_ungrouped_wide_enough():
    assert _winograd_geo()                                     # 16 -> 16 channels, 6x6 output: the limits
    assert _winograd_geo(cin=17, cout=16, hw=(9, 6))
    assert not _winograd_geo(dtype=np.float64)
    assert not _winograd_geo(groups=2)
    assert not _winograd_geo(k=(3, 2)) and not _winograd_geo(k=(2, 3)) and not _winograd_geo(k=(4, 4), pad=2)
    assert not _winograd_geo(stride=(2, 1)) and not _winograd_geo(stride=(1, 2))
    assert not _winograd_geo(dilation=(2, 1), pad=2) and not _winograd_geo(dilation=(1, 2), pad=2)
    assert not _winograd_geo(cin=15) and not _winograd_geo(cout=15) and not _winograd_geo(cin=16, cout=15, hw=(16, 16))
    assert not _winograd_geo(hw=(5, 6)) and not _winograd_geo(hw=(6, 5)) and not _winograd_geo(hw=(5, 9))


@pytest.mark.parametrize("padding", [(1, 1), (1, 0), (0, 2)])
def test_winograd_path_is_taken_and_matches_pytorch(monkeypatch, padding):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 16, 8, 8)).astype(np.float32)
    wt = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    fwd = _spy(monkeypatch, K.winograd, "conv3x3_forward")
    bwd = _spy(monkeypatch, K.winograd, "conv3x3_backward")
    out = K.conv2d_forward(x, wt, b, padding=padding)
    gy = rng.standard_normal(out.shape).astype(np.float32)
    ref_out, ref_grads = _torch(x, wt, b, gy, dict(padding=padding))
    np.testing.assert_allclose(out, ref_out, rtol=1e-3, atol=5e-3)
    grads = K.conv2d_backward(gy, x, wt, padding=padding)
    for a, r in zip(grads, ref_grads):
        np.testing.assert_allclose(a, r, rtol=1e-3, atol=5e-3)
    part = K.conv2d_backward(gy, x, wt, padding=padding, needs_input_grad=(False, True, False))
    assert part[0] is None and part[2] is None
    _same_bits(part[1], grads[1])
    assert len(fwd) == 1 and len(bwd) == 2


def test_pointwise_convs_skip_im2col_and_stride1_is_not_copied(monkeypatch, kernels):
    fills = _spy(monkeypatch, K, "_fill_cols")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 5, 6))
    for stride, groups in [(1, 1), ((2, 1), 2), ((1, 3), 1)]:
        wt = rng.standard_normal((6, 4 // groups, 1, 1))
        out = K.conv2d_forward(x, wt, stride=stride, groups=groups)
        K.conv2d_backward(np.ones_like(out), x, wt, stride=stride, groups=groups)
    assert fills == []
    geo = K._setup(x, wt, 1, 0, 1, 1)[2]
    assert K._is_pointwise(geo) and K._subsampled(x, geo) is x
    for pad in [(1, 0), (0, 1)]:  # a padded 1x1 conv does need im2col
        assert not K._is_pointwise(K._setup(x, wt, 1, pad, 1, 1)[2])
        out = K.conv2d_forward(x, wt, padding=pad)
        np.testing.assert_allclose(out, _torch(x, wt, None, None, dict(padding=pad))[0], rtol=1e-12, atol=1e-12)
    assert len(fills) == 2
    assert not K._is_pointwise(K._setup(x, np.zeros((1, 4, 1, 2)), 1, 0, 1, 1)[2])
    assert not K._is_pointwise(K._setup(x, np.zeros((1, 4, 2, 1)), 1, 0, 1, 1)[2])


@pytest.mark.parametrize("h, w, k, pad, stride, fwd_same, bwd_same", [
    (16, 16, 3, 1, 1, True, True),     # a 256-pixel plane: channel-major im2col and col2im
    (16, 32, 3, 1, 1, True, True),     # exactly SAME_IM2COL_MAX_PLANE (512) pixels
    (8, 40, 3, 1, 1, True, True),      # 320 pixels, but W*W = 1600
    (24, 24, 3, 1, 1, False, True),    # 576 pixels: row-wise im2col, channel-major col2im
    (40, 8, 5, 2, 1, True, True),      # 320 pixels, H*H = 1600
    (6, 6, 3, (1, 0), 1, False, False),   # W_out != W
    (6, 6, 3, (0, 1), 1, False, False),   # H_out != H
    (6, 6, 3, 1, (2, 1), False, False),
    (6, 6, 3, 1, (1, 2), False, False),
])
def test_the_channel_major_same_path_is_taken_exactly_for_same_size_stride1(monkeypatch, kernels, h, w, k, pad,
                                                                              stride, fwd_same, bwd_same):
    im2 = _spy(monkeypatch, K, "_im2col_same")
    col2 = _spy(monkeypatch, K, "_col2im_same")
    rng = np.random.default_rng(h * w)
    x = rng.standard_normal((2, 2, h, w))
    wt = rng.standard_normal((3, 2, k, k))
    assert K._is_same(x.shape, K._setup(x, wt, stride, pad, 1, 1)[2]) == bwd_same  # before the kernels run
    out = K.conv2d_forward(x, wt, padding=pad, stride=stride)
    assert bool(im2) == fwd_same
    gy = rng.standard_normal(out.shape)
    grads = K.conv2d_backward(gy, x, wt, padding=pad, stride=stride)
    assert bool(col2) == bwd_same
    ref_out, ref_grads = _torch(x, wt, None, gy, dict(padding=pad, stride=stride))
    np.testing.assert_allclose(out, ref_out, rtol=1e-11, atol=1e-11)
    for a, r in zip(grads, ref_grads[:2] + (gy.sum(axis=(0, 2, 3)),)):
        np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("shape, k, pad", [((3, 2, 6, 6), 3, 1), ((3, 2, 7, 5), 2, (0, 1))])
def test_numpy_tier_and_kernels_are_used_for_exactly_the_calls_they_should(monkeypatch, shape, k, pad):
    """TIER_CALLS huge: every im2col/col2im (all chunks, every needs_input_grad) in NumPy and no
    kernel; TIER_CALLS = 0: never NumPy."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    wt = rng.standard_normal((2, shape[1], k, k))
    gy = rng.standard_normal(K.conv2d_forward(x, wt, padding=pad).shape)
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)  # one sample a chunk
    np_im2col, np_col2im = _spy(monkeypatch, _datamove, "im2col"), _spy(monkeypatch, _datamove, "col2im")
    same_im2, same_col2 = _spy(monkeypatch, K, "_im2col_same"), _spy(monkeypatch, K, "_col2im_same")
    picks = _spy(monkeypatch, _par, "pick")
    needs = [(True, True, True), (True, False, False), (False, True, False), (False, False, True),
             (True, False, True), (False, True, True)]
    for tier_calls in (1 << 62, 0):
        monkeypatch.setattr(_par, "TIER_CALLS", tier_calls)
        monkeypatch.setattr(K, "_IM2COL_TIER", _par.Tier("im2col"))
        monkeypatch.setattr(K, "_COL2IM_TIER", _par.Tier("col2im"))
        del np_im2col[:], np_col2im[:], same_im2[:], same_col2[:], picks[:]
        out = K.conv2d_forward(x, wt, padding=pad)
        results = [K.conv2d_backward(gy, x, wt, padding=pad, needs_input_grad=need) for need in needs]
        if tier_calls:
            assert len(np_im2col) == shape[0] * (1 + sum(n[1] for n in needs))
            assert len(np_col2im) == shape[0] * sum(n[0] for n in needs)
            assert same_im2 == same_col2 == picks == []
        else:
            assert np_im2col == np_col2im == []
            assert len(same_im2) + len(picks) > 0
        if tier_calls:
            first = (out, results)
    _same_bits(first[0], out)
    for a, b in zip(first[1], results):
        for u, v in zip(a, b):
            assert (u is None) == (v is None)
            if u is not None:
                _same_bits(u, v)


# ----------------------------------------------------------------------------- chunks and threads
@settings(deadline=None, max_examples=30)
@given(st.integers(1, 40), st.integers(1, 5000), st.integers(1, 4), st.integers(1, 3))
def test_chunks_contract(n, row_bytes, threads, fits):
    """Serial (below the 'chunks' threshold): one thread, chunks as large as CHUNK_BYTES allows,
    consecutive, covering the batch. Parallel: chunks no larger, at least two per thread when the
    batch allows, the threads at most one per chunk."""
    chunk_bytes = row_bytes * fits * 3 + row_bytes // 2
    saved = (K.CHUNK_BYTES, _threads.workers, _par.PARALLEL_MIN_ELEMENTS)
    try:
        K.CHUNK_BYTES, _par.PARALLEL_MIN_ELEMENTS = chunk_bytes, 100
        _threads.workers = lambda chunks: max(1, min(chunks, threads))
        for parallel in (False, True):
            macs = 8 * 100 if parallel else 8 * 100 - 1
            spans, step, nthreads = K._chunks(n, row_bytes, macs)
            serial_step = max(1, min(n, chunk_bytes // row_bytes))
            assert spans[0][0] == 0 and spans[-1][1] == n
            assert all(a < b and b - a <= step for a, b in spans)
            assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
            assert all(b - a == step for a, b in spans[:-1])
            if not parallel or threads == 1:
                assert nthreads == 1 and step == serial_step
            else:
                assert step == min(serial_step, -(-n // (2 * threads)))
                assert nthreads == min(len(spans), threads)
    finally:
        K.CHUNK_BYTES, _threads.workers, _par.PARALLEL_MIN_ELEMENTS = saved


@pytest.mark.parametrize("groups, k, pad, stride", [(1, 3, 1, 1), (2, 2, (1, 0), (2, 1)), (1, 3, 0, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_buffers_hold_as_many_samples_as_chunk_bytes_allow(monkeypatch, kernels, groups, k, pad, stride, dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, 4, 6, 5)).astype(dtype)
    wt = rng.standard_normal((4, 4 // groups, k, k)).astype(dtype)
    kw = dict(padding=pad, stride=stride, groups=groups)
    whole = K.conv2d_forward(x, wt, **kw)
    gy = rng.standard_normal(whole.shape).astype(dtype)
    grads = K.conv2d_backward(gy, x, wt, **kw)
    row = 4 * k * k * whole.shape[2] * whole.shape[3] * x.itemsize  # one sample's im2col bytes
    monkeypatch.setattr(K, "CHUNK_BYTES", 3 * row + row // 2)
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 1 << 40)  # one thread
    fills = _spy(monkeypatch, K, "_fill_cols")
    out = K.conv2d_forward(x, wt, **kw)
    got = K.conv2d_backward(gy, x, wt, **kw)
    assert [f[1].shape[1] for f in fills] == [3, 3, 1] * 2
    assert all(f[1].nbytes == f[1].shape[1] * row for f in fills)
    np.testing.assert_allclose(out, whole, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    for a, b in zip(got, grads):
        np.testing.assert_allclose(a, b, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


# ----------------------------------------------------------------------------- NumPy im2col / col2im
def _im2col_by_formula(x, geo):
    """cols[(c*kH + i)*kW + j, n, y*W_out + z] = xpad[n, c, y*sH + i*dH, z*sW + j*dW], by index arrays."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    m, c, h, w = x.shape
    cols = np.zeros((c, kh, kw, m, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = np.arange(ho) * sh + i * dh - ph  # input row of each output row (may lie in the padding)
            colz = np.arange(wo) * sw + j * dw - pw
            ok = (rows[:, None] >= 0) & (rows[:, None] < h) & (colz[None, :] >= 0) & (colz[None, :] < w)
            vals = x[:, :, np.clip(rows, 0, h - 1)][:, :, :, np.clip(colz, 0, w - 1)]
            cols[:, i, j] = np.where(ok, vals, 0).transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, m, ho * wo)


def _col2im_by_formula(cols, shape, geo):
    """The adjoint: every pixel receives 0 + c(0,0) + c(0,1) + ... in i-major order (one pixel at a time)."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo = geo
    m, c, h, w = shape
    c6 = cols.reshape(c, kh, kw, m, ho, wo)
    gx = np.zeros(shape, cols.dtype)
    for p in range(h):
        for q in range(w):
            acc = np.zeros((m, c), cols.dtype)
            for i in range(kh):
                y, ry = divmod(p + ph - i * dh, sh)
                if ry or not 0 <= y < ho:
                    continue
                for j in range(kw):
                    z, rz = divmod(q + pw - j * dw, sw)
                    if rz or not 0 <= z < wo:
                        continue
                    acc = acc + c6[:, i, j, :, y, z].T
            gx[:, :, p, q] = acc
    return gx


@SETTINGS
@given(geometries(max_groups=1), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_numpy_im2col_col2im_follow_their_formulas_and_give_the_kernels_bits(g, dtype, seed):
    x = _data(g, seed, dtype)[0]
    geo = K._setup(x, np.zeros((1, g["cin"], g["kh"], g["kw"])), g["stride"], g["padding"], g["dilation"], 1)[2]
    kh, kw, ho, wo = geo[0], geo[1], geo[8], geo[9]
    rows = g["cin"] * kh * kw
    cols = np.full((rows, g["n"], ho * wo), np.nan, dtype)  # every entry must be written
    _datamove.im2col(x, cols, geo)
    _same_bits(cols, _im2col_by_formula(x, geo))
    kcols = np.full_like(cols, np.nan)
    K._im2col[1](x, kcols, *geo)
    _same_bits(cols, kcols)

    c = np.random.default_rng(seed + 1).standard_normal(cols.shape).astype(dtype)
    gx = np.full(x.shape, np.nan, dtype)  # overwritten
    _datamove.col2im(c.copy(), gx, geo)
    _same_bits(gx, _col2im_by_formula(c, x.shape, geo))
    kgx = np.full_like(gx, np.nan)
    K._col2im[1](c.copy(), kgx, *geo)
    _same_bits(gx, kgx)


# ----------------------------------------------------------------------------- geometry helpers
def test_pair_of_a_number_and_of_a_pair():
    assert pair(3) == (3, 3) and pair((2, 5)) == (2, 5) and pair([4, 1]) == (4, 1)
    a, b = pair((np.int64(2), np.int32(7)))
    assert (a, b) == (2, 7) and type(a) is int and type(b) is int
    assert all(type(v) is int for v in pair(np.int64(6)))


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 2), st.integers(0, 2), st.integers(1, 3), st.integers(1, 3))
def test_conv2d_output_size_is_pytorchs(h, w, kh, kw, sh, sw, ph, pw, dh, dw):
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        return
    expect = torch.nn.functional.conv2d(torch.zeros(1, 1, h, w), torch.zeros(1, 1, kh, kw), stride=(sh, sw),
                                        padding=(ph, pw), dilation=(dh, dw)).shape[2:]
    assert K.conv2d_output_size(h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw)) == tuple(expect)
    # defaults: stride 1, no padding, no dilation
    expect = torch.nn.functional.conv2d(torch.zeros(1, 1, h + 4, w + 4), torch.zeros(1, 1, kh, kw)).shape[2:]
    assert K.conv2d_output_size(h + 4, w + 4, (kh, kw)) == tuple(expect)


def test_the_same_size_im2col_refuses_other_geometry():
    """``_fill_cols``'s channel-major path is only for stride 1 with output size = input size; any
    other geometry would make its kernel write out of bounds, so it raises instead."""
    x = np.ones((2, 3, 6, 6), np.float32)
    x_, w_, geo = K._setup(x, np.ones((4, 3, 3, 3), np.float32), 1, 0, 1, 1)  # 6x6 -> 4x4
    cols = np.empty((3 * 9, 2, geo[-2] * geo[-1]), np.float32)
    with pytest.raises(RuntimeError, match="same-size im2col"):
        K._fill_cols(x_, cols, geo, True, kernel=True)
    _, _, geo1 = K._setup(x, np.ones((4, 3, 3, 3), np.float32), 1, 1, 1, 1)   # the same-size case works
    cols1 = np.empty((3 * 9, 2, 36), np.float32)
    K._fill_cols(x_, cols1, geo1, True, kernel=True)
    ref = np.empty_like(cols1)
    K._fill_cols(x_, ref, geo1, False, kernel=False)
    np.testing.assert_array_equal(cols1, ref)
