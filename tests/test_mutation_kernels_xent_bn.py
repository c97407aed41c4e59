"""engine.kernels.softmax_xent and engine.kernels.batchnorm, the Python around the Numba kernels
(mutation-testing follow-up): argument conversion and checks (dtypes, shapes, messages naming the
argument), the NumPy tier of the cross-entropy row kernels (same bits as the kernels, answers a
process's first calls without the kernels, no floating-point warnings), ``(N, C, *)`` logits and
inputs, the serial and the parallel batch-norm twins, and the plain-NumPy ``*_reference`` twins --
all against PyTorch as the independent oracle."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from engine.kernels import _par, batchnorm as B, softmax_xent as X
from tiers import same_bits as _same_bits

SETTINGS = settings(deadline=None, max_examples=30)


def _mode(tier):
    """TIER_CALLS for the NumPy tier (huge) or the kernels from the first call (0)."""
    return 1 << 62 if tier else 0


def _close(got, want, dtype, **kw):
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    tol.update(kw)
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), equal_nan=True, **tol)


# ----------------------------------------------------------------------------- cross-entropy
@st.composite
def xent_cases(draw):
    n, c = draw(st.integers(1, 7)), draw(st.integers(1, 6))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c) + extra) * draw(st.sampled_from([1.0, 30.0]))
    if draw(st.booleans()):  # one sample far from 0: a row max must be taken per row
        x[rng.integers(n)] += draw(st.sampled_from([800.0, -800.0]))
    x = x.astype(dtype)
    ignore = draw(st.sampled_from([-100, 0, 1, 7]))
    t = rng.integers(0, c, (n,) + extra)
    t[rng.random(t.shape) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = ignore
    w = rng.uniform(0.1, 2, c).astype(dtype) if draw(st.booleans()) else None
    kw = dict(weight=w, ignore_index=ignore, label_smoothing=draw(st.sampled_from([0.0, 0.1, 1.0])),
              reduction=draw(st.sampled_from(["mean", "sum", "none"])))
    g = (rng.standard_normal(t.shape).astype(dtype) if kw["reduction"] == "none"
         else float(rng.uniform(0.5, 2)))
    return x, t, kw, g


def _torch_xent(x, t, kw, g):
    """Loss and logits gradient by PyTorch in float64."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    w = None if kw["weight"] is None else torch.tensor(kw["weight"], dtype=torch.float64)
    loss = F.cross_entropy(xt, torch.tensor(t), weight=w, ignore_index=kw["ignore_index"],
                           label_smoothing=kw["label_smoothing"], reduction=kw["reduction"])
    loss.backward(torch.as_tensor(np.asarray(g, np.float64)))
    return loss.detach().numpy(), xt.grad.numpy()


@SETTINGS
@given(xent_cases())
def test_xent_tier_gives_the_kernels_bits_and_both_match_torch(case):
    x, t, kw, g = case
    saved = _par.TIER_CALLS
    try:
        res = {}
        for tier in (True, False):
            _par.TIER_CALLS = _mode(tier)
            loss, lse = X.cross_entropy_forward(x, t, **kw)
            res[tier] = loss, lse, X.cross_entropy_backward(g, x, t, lse, **kw)
    finally:
        _par.TIER_CALLS = saved
    for a, b in zip(res[True], res[False]):
        _same_bits(a, b)
    loss, lse, gx = res[False]
    assert loss.dtype == gx.dtype == x.dtype and loss.shape == (t.shape if kw["reduction"] == "none" else ())
    assert gx.shape == x.shape and gx.flags.c_contiguous
    want_loss, want_gx = _torch_xent(x, t, kw, g)
    _close(loss, want_loss, x.dtype)
    _close(X.cross_entropy_forward_reference(x, t, **kw), want_loss, x.dtype)
    assert X.cross_entropy_forward_reference(x, t, **kw).dtype == x.dtype
    if np.all(np.isfinite(want_gx)):
        _close(gx, want_gx, x.dtype)
    if x.ndim == 2:
        ref = X.cross_entropy_backward_reference(g, x, t, **kw)
        assert ref.dtype == x.dtype
        _close(ref, want_gx, x.dtype)


def test_xent_references_default_to_mean_and_no_smoothing():
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    kw = dict(weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean")
    want_loss, want_gx = _torch_xent(x, t, kw, 1.0)
    _close(X.cross_entropy_forward_reference(x, t), want_loss, x.dtype)
    _close(X.cross_entropy_backward_reference(1.0, x, t), want_gx, x.dtype)
    loss, lse = X.cross_entropy_forward(x, t)
    _close(loss, want_loss, x.dtype)
    _close(X.cross_entropy_backward(1.0, x, t, lse), want_gx, x.dtype)


@pytest.mark.parametrize("tier", [True, False])
def test_xent_argument_errors_name_the_problem(tier, monkeypatch):
    monkeypatch.setattr(_par, "TIER_CALLS", _mode(tier))
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"cross_entropy: expected logits \(N, C\) or \(N, C, \*\), got \(4,\)"):
        X.cross_entropy_forward(np.zeros(4), np.array([0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(4,\) does not match logits \(3, 4\)"):
        X.cross_entropy_forward(x, np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match logits \(3, 4, 2\)"):
        X.cross_entropy_forward(np.zeros((3, 4, 2)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        X.cross_entropy_forward(x, np.array([0, 1, 2]), reduction="avg")
    # a bad target that is not in the first row, and negative ones (not the ignore_index)
    for target, bad in (([4, 1, 0], 4), ([0, 1, 4], 4), ([2, -1, 0], -1), ([0, 3, -7], -7), ([-100, 5, 0], 5)):
        with pytest.raises(IndexError, match=rf"^cross_entropy: target {bad} is out of bounds for 4 classes$"):
            X.cross_entropy_forward(x, np.array(target), label_smoothing=0.0)
        with pytest.raises(IndexError, match=rf"^cross_entropy: target {bad} is out of bounds for 4 classes$"):
            X.cross_entropy_forward(x, np.array(target), label_smoothing=0.2)
    t3 = np.zeros((3, 2), np.int64)
    t3[2, 1] = 6
    with pytest.raises(IndexError, match=r"^cross_entropy: target 6 is out of bounds for 4 classes$"):
        X.cross_entropy_forward(np.zeros((3, 4, 2)), t3)


def test_xent_converts_logits_weight_and_target_dtypes():
    rng = np.random.default_rng(7)
    xi = rng.integers(-3, 4, (5, 3, 2))
    t = rng.integers(0, 3, (5, 2))
    loss, lse = X.cross_entropy_forward(xi, t, reduction="none")
    want, _ = X.cross_entropy_forward(xi.astype(np.float32), t, reduction="none")
    assert loss.dtype == np.float32
    _same_bits(loss, want)
    gx = X.cross_entropy_backward(np.ones(t.shape), xi, t, lse, reduction="none")
    assert gx.dtype == np.float32
    x = rng.standard_normal((40, 5)).astype(np.float32)
    t = rng.integers(0, 5, 40)
    w64 = rng.uniform(0.1, 3, 5)
    for kw in (dict(reduction="none"), dict(reduction="mean", label_smoothing=0.3)):
        l64, lse = X.cross_entropy_forward(x, t, weight=w64, **kw)
        l32, _ = X.cross_entropy_forward(x, t, weight=w64.astype(np.float32), **kw)
        _same_bits(l64, l32)  # the weight is taken in the logits' dtype
        _same_bits(X.cross_entropy_backward(1.0 if kw["reduction"] == "mean" else np.ones(40), x, t, lse,
                                            weight=w64, **kw),
                   X.cross_entropy_backward(1.0 if kw["reduction"] == "mean" else np.ones(40), x, t, lse,
                                            weight=w64.astype(np.float32), **kw))
    _same_bits(X.cross_entropy_forward(x, list(t))[0], X.cross_entropy_forward(x, t)[0])
    # the upstream gradient is taken in the logits' dtype too (the kernel and the reference)
    lse = X.cross_entropy_forward(x, t)[1]
    g64 = rng.standard_normal(40) * 1.1
    for red, g in (("none", g64), ("mean", g64[0]), ("sum", g64[1])):
        _same_bits(X.cross_entropy_backward(g, x, t, lse, reduction=red, label_smoothing=0.1),
                   X.cross_entropy_backward(np.float32(g) if np.ndim(g) == 0 else g.astype(np.float32), x, t, lse,
                                            reduction=red, label_smoothing=0.1))
    _same_bits(X.cross_entropy_backward_reference(g64, x, t, reduction="none"),
               X.cross_entropy_backward_reference(g64.astype(np.float32), x, t, reduction="none"))
    _same_bits(X.cross_entropy_forward(x, t.astype(np.int32))[0], X.cross_entropy_forward(x, t)[0])


@pytest.mark.parametrize("tier", [True, False])
def test_xent_gives_no_floating_point_warnings(tier, monkeypatch):
    """inf/NaN losses and 'mean' over no rows are results, not warnings (the kernels never warn)."""
    monkeypatch.setattr(_par, "TIER_CALLS", _mode(tier))
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -1.0]])
    w = np.array([1.0, 0.0, 2.0])
    t_all = np.array([-100, -100])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, lse = X.cross_entropy_forward(x, np.array([1, 0]), weight=w, reduction="none")
        assert np.isnan(loss[0]) and loss[1] == pytest.approx(-np.log(np.exp(2) / np.exp([2, 0.5, -1]).sum()))
        mean, lse = X.cross_entropy_forward(x, t_all)
        assert np.isnan(mean)
        smoothed, _ = X.cross_entropy_forward(x[1:], np.array([1]), weight=w, label_smoothing=0.1)
        assert not np.isfinite(smoothed)  # total weight 0, a positive smoothing term: x / 0 (PyTorch: NaN)
        assert not np.isfinite(X.cross_entropy_forward_reference(x[1:], np.array([1]), weight=w, label_smoothing=0.1))
        for g in (1.0, 0.0):  # 'mean' over no rows: g / 0, 0 / 0
            assert np.all(X.cross_entropy_backward(g, x, t_all, lse) == 0)
            gx = X.cross_entropy_backward(g, x, np.array([1, -100]), lse, weight=w)  # total weight 0
            assert np.all(np.isnan(gx[0])) and np.all(gx[1] == 0)  # as PyTorch
        ref = X.cross_entropy_backward_reference(1.0, x, t_all)
        assert np.all(ref == 0) and np.isnan(X.cross_entropy_forward_reference(x, t_all))


def test_xent_numpy_tier_answers_the_first_calls_without_the_kernels(monkeypatch):
    def no_kernel(*args):
        raise AssertionError("the kernel ran")

    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((4, 3)), np.array([0, 2, -100, 1])
    monkeypatch.setattr(_par, "TIER_CALLS", 1 << 62)
    want, lse = X.cross_entropy_forward(x, t, label_smoothing=0.0)
    want_g = X.cross_entropy_backward(1.0, x, t, lse, label_smoothing=0.3)
    monkeypatch.setattr(X, "_rows_loss", no_kernel)
    monkeypatch.setattr(X, "_rows_grad", no_kernel)
    _same_bits(X.cross_entropy_forward(x, t, label_smoothing=0.0)[0], want)
    _same_bits(X.cross_entropy_backward(1.0, x, t, lse, label_smoothing=0.3), want_g)
    with pytest.raises(AssertionError, match="the kernel ran"):  # label smoothing: no NumPy loss path
        X.cross_entropy_forward(x, t, label_smoothing=0.3)
    monkeypatch.setattr(_par, "TIER_CALLS", 0)
    with pytest.raises(AssertionError, match="the kernel ran"):
        X.cross_entropy_forward(x, t, label_smoothing=0.0)
    with pytest.raises(AssertionError, match="the kernel ran"):
        X.cross_entropy_backward(1.0, x, t, lse)


def test_seq_sum_adds_left_to_right_in_float64_along_the_last_axis():
    rng = np.random.default_rng(11)
    a = (rng.standard_normal((3, 2, 200)) * 10.0 ** rng.integers(-4, 5, (3, 2, 200))).astype(np.float32)
    want = np.zeros((3, 2))
    for idx in np.ndindex(3, 2):
        s = 0.0
        for v in a[idx]:
            s += float(v)
        want[idx] = s
    got = X._seq_sum(a)
    assert got.dtype == np.float64
    _same_bits(got, want)
    empty = X._seq_sum(np.zeros((2, 3, 0), np.float32))
    _same_bits(empty, np.zeros((2, 3)))


# ----------------------------------------------------------------------------- batch norm
@st.composite
def bn_cases(draw):
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 4))) + tuple(
        draw(st.lists(st.integers(1, 3), max_size=2)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.standard_normal(shape) * draw(st.sampled_from([0.5, 5.0])) + draw(st.sampled_from([0.0, 3.0])))
    c = shape[1]
    w = rng.standard_normal(c).astype(dtype) if draw(st.booleans()) else None
    b = rng.standard_normal(c).astype(dtype) if draw(st.booleans()) else None
    training = draw(st.booleans())
    stats = dict(running_mean=rng.standard_normal(c), running_var=rng.uniform(0.2, 3, c))  # float64
    eps = draw(st.sampled_from([1e-5, 1e-2, 0.5]))
    gy = rng.standard_normal(shape).astype(dtype)
    if shape[0] * np.prod(shape[2:], dtype=int) == 1:  # one value per channel: PyTorch refuses to train
        training = False
    return x.astype(dtype), w, b, training, stats, eps, gy


def _torch_bn(x, w, b, training, stats, eps, gy):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    c = x.shape[1]
    wt = torch.tensor(np.ones(c) if w is None else w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(np.zeros(c) if b is None else b, dtype=torch.float64, requires_grad=True)
    rm, rv = (torch.tensor(stats[k], dtype=torch.float64) for k in ("running_mean", "running_var"))
    out = F.batch_norm(xt, rm.clone(), rv.clone(), wt, bt, training=training, momentum=0.0, eps=eps)
    out.backward(torch.tensor(gy, dtype=torch.float64))
    axes = (0,) + tuple(range(2, x.ndim))
    x64 = x.astype(np.float64)
    mean, var = (x64.mean(axis=axes), x64.var(axis=axes)) if training else (stats["running_mean"],
                                                                            stats["running_var"])
    return (out.detach().numpy(), mean, 1 / np.sqrt(var + eps), var), (xt.grad.numpy(), wt.grad.numpy(),
                                                                        bt.grad.numpy())


def _check_bn(case):
    x, w, b, training, stats, eps, gy = case
    want_fwd, want_bwd = _torch_bn(*case)
    got = B.batchnorm_forward(x, w, b, eps, training=training, **stats)
    ref = B.batchnorm_forward_reference(x, w, b, eps, training=training, **stats)
    for g, r, want in zip(got, ref, want_fwd):
        assert g.dtype == r.dtype == x.dtype
        _close(g, want, x.dtype, rtol=1e-3 if x.dtype == np.float32 else 1e-9)
        _close(r, want, x.dtype, rtol=1e-3 if x.dtype == np.float32 else 1e-9)
    assert got[0].shape == x.shape and got[1].shape == (x.shape[1],)
    _, mean, invstd, _ = got
    bwd = B.batchnorm_backward(gy, x, w, mean, invstd, training)
    ref = B.batchnorm_backward_reference(gy, x, w, mean, invstd, training)
    for g, r, want in zip(bwd, ref, want_bwd):
        assert g.dtype == r.dtype == x.dtype and g.shape == r.shape == want.shape
        scale = 1 + np.abs(want).max()
        _close(g, want, x.dtype, atol=(2e-3 if x.dtype == np.float32 else 1e-8) * scale)
        _close(r, want, x.dtype, atol=(2e-3 if x.dtype == np.float32 else 1e-8) * scale)
    return got, bwd


@SETTINGS
@given(bn_cases())
def test_batchnorm_and_its_reference_match_torch(case):
    _check_bn(case)


@settings(deadline=None, max_examples=10)
@given(bn_cases())
def test_batchnorm_on_threads_matches_torch(case):
    saved = _par.PARALLEL_MIN_ELEMENTS
    try:
        _par.PARALLEL_MIN_ELEMENTS = 0  # every kernel parallel (batch norm: channel ranges on threads)
        _check_bn(case)
    finally:
        _par.PARALLEL_MIN_ELEMENTS = saved


def test_batchnorm_reference_defaults_are_training_and_eps_1e_5():
    x = np.random.default_rng(2).standard_normal((4, 3, 2)) * 0.01  # small variance: eps shows
    out = F.batch_norm(torch.tensor(x), None, None, training=True).numpy()
    np.testing.assert_allclose(B.batchnorm_forward_reference(x)[0], out, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(B.batchnorm_forward(x)[0], out, rtol=1e-9, atol=1e-9)
    _, mean, invstd, _ = B.batchnorm_forward(x)
    gy = np.ones_like(x)
    for g, r in zip(B.batchnorm_backward(gy, x, None, mean, invstd),
                    B.batchnorm_backward_reference(gy, x, None, mean, invstd)):
        np.testing.assert_allclose(g, r, atol=1e-9)
    np.testing.assert_allclose(B.batchnorm_backward(gy, x, None, mean, invstd)[0], 0, atol=1e-6)


def test_batchnorm_argument_errors_name_the_argument():
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"^batch_norm: expected \(N, C\) or \(N, C, \*\) input, got \(3,\)$"):
        B.batchnorm_forward(np.zeros(3))
    for name in ("weight", "bias"):
        with pytest.raises(ValueError, match=rf"^batch_norm: {name} has shape \(2,\), expected \(3,\) for 3 channels$"):
            B.batchnorm_forward(x, **{name: np.ones(2)})
    for name in ("running_mean", "running_var"):
        stats = dict(running_mean=np.zeros(3), running_var=np.ones(3))
        stats[name] = np.ones(4)
        with pytest.raises(ValueError, match=rf"^batch_norm: {name} has shape \(4,\), expected \(3,\) for 3 channels$"):
            B.batchnorm_forward(x, training=False, **stats)
    for stats in (dict(), dict(running_mean=np.zeros(3)), dict(running_var=np.ones(3))):
        with pytest.raises(ValueError, match=r"^batch_norm: training=False needs running_mean and running_var$"):
            B.batchnorm_forward(x, training=False, **stats)
    _, mean, invstd, _ = B.batchnorm_forward(x)
    with pytest.raises(ValueError, match=r"^batch_norm: weight has shape \(1, 2\), expected \(3,\) for 3 channels$"):
        B.batchnorm_backward(x, x, np.ones((1, 2)), mean, invstd)
    with pytest.raises(ValueError, match=r"^batch_norm: mean has shape \(2,\), expected \(3,\) for 3 channels$"):
        B.batchnorm_backward(x, x, None, mean[:2], invstd)
    with pytest.raises(ValueError, match=r"^batch_norm: invstd has shape \(4,\), expected \(3,\) for 3 channels$"):
        B.batchnorm_backward(x, x, None, mean, np.ones(4))
    with pytest.raises(ValueError, match=r"^batch_norm: grad_out has shape \(2, 3\), expected the input's \(2, 3, 4\)$"):
        B.batchnorm_backward(np.zeros((2, 3)), x, None, mean, invstd)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_converts_its_arguments_to_the_inputs_dtype(training):
    """None weight/bias are 1/0; int input is float32; weight, bias, statistics, grad_out are taken in
    the input's dtype, as a (C,) vector of any shape of C elements."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((16, 3, 500)) * 30 + 1).astype(np.float32)  # enough values to see a rounding
    c = 3
    stats = dict(running_mean=rng.standard_normal(c), running_var=rng.uniform(0.5, 2, c))
    stats32 = {k: v.astype(np.float32) for k, v in stats.items()}
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    gy = rng.standard_normal(x.shape)
    base = B.batchnorm_forward(x, w.astype(np.float32), b.astype(np.float32), training=training, **stats32)
    for args in ((w, b, stats), (w.reshape(1, c), b.reshape(c, 1), stats32), (list(w), list(b), stats)):
        got = B.batchnorm_forward(x, args[0], args[1], training=training, **args[2])
        for g, want in zip(got, base):
            _same_bits(g, want)
    ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
    for g, want in zip(B.batchnorm_forward(x, training=training, **stats),
                       B.batchnorm_forward(x, ones, zeros, training=training, **stats32)):
        _same_bits(g, want)
    for bias in rng.standard_normal((4, c)).astype(np.float32):
        for g, want in zip(B.batchnorm_forward(x, None, bias, training=training, **stats),
                           B.batchnorm_forward(x, ones, bias, training=training, **stats32)):
            _same_bits(g, want)
    _, mean, invstd, _ = base
    bwd = B.batchnorm_backward(gy.astype(np.float32), x, w.astype(np.float32), mean, invstd, training)
    for g, want in zip(B.batchnorm_backward(gy, x, w, mean.astype(np.float64), invstd.astype(np.float64),
                                            training), bwd):
        _same_bits(g, want)
    for g, want in zip(B.batchnorm_backward(gy, x, None, mean, invstd, training),
                       B.batchnorm_backward(gy, x, ones, mean, invstd, training)):
        _same_bits(g, want)
    xi = rng.integers(-5, 6, (4, 2, 3))
    for g, want in zip(B.batchnorm_forward(xi, training=training, **{k: v[:2] for k, v in stats.items()}),
                       B.batchnorm_forward(xi.astype(np.float32), training=training,
                                           **{k: v[:2] for k, v in stats.items()})):
        _same_bits(g, want)
    # the references keep the input's dtype too
    ref = B.batchnorm_forward_reference(x, training=training, **stats)
    assert all(r.dtype == np.float32 for r in ref)
    assert all(r.dtype == np.float32 for r in B.batchnorm_backward_reference(gy.astype(np.float32), x, None,
                                                                              mean, invstd, training))
