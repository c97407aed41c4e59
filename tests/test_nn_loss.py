"""Losses: forward vs NumPy references at drawn shapes, gradients by gradcheck, reductions,
ignore_index / class weights / label smoothing formulas, the fused cross-entropy against its
composite twin, numerical stability and error messages."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import nn.functional as F

SETTINGS = settings(deadline=None, max_examples=15)
seeds = st.integers(0, 2 ** 31)
REDS = ("mean", "sum", "none")


def T(a, grad=True):
    return engine.Tensor(np.array(a), requires_grad=grad and np.asarray(a).dtype.kind == "f")


def log_softmax(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def reduce_np(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), seeds, st.sampled_from(REDS), st.floats(0.2, 2))
def test_regression_losses(shape, seed, reduction, delta):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    d = x - y
    refs = {
        "mse": (lambda a, b: F.mse_loss(a, b, reduction=reduction), nn.MSELoss(reduction=reduction), d ** 2),
        "l1": (lambda a, b: F.l1_loss(a, b, reduction=reduction), nn.L1Loss(reduction=reduction), np.abs(d)),
        "huber": (lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
                  nn.HuberLoss(reduction=reduction, delta=delta),
                  np.where(np.abs(d) < delta, 0.5 * d ** 2, delta * (np.abs(d) - 0.5 * delta))),
    }
    for name, (fn, mod, loss) in refs.items():
        xt, yt = T(x), T(y)
        np.testing.assert_allclose(fn(xt, yt).numpy(), reduce_np(loss, reduction), err_msg=name)
        np.testing.assert_allclose(mod(xt, yt).numpy(), reduce_np(loss, reduction), err_msg=name)
        assert engine.gradcheck(fn, [xt, yt]), name


def _class_problem(rng, n, c, spatial, ignore):
    x = rng.standard_normal((n, c, *spatial))
    t = rng.integers(0, c, (n, *spatial))
    if ignore:
        t.reshape(-1)[0] = -100
    return x, t


def ce_reference(x, t, w, reduction, eps=0.0, ignore_index=-100):
    """Per-element cross-entropy in NumPy with the class dim at axis 1."""
    C = x.shape[1]
    logp = log_softmax(x, 1)
    keep = t != ignore_index
    ts = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, ts[:, None], 1)[:, 0]
    wt = (w[ts] if w is not None else np.ones(ts.shape)) * keep
    wc = (w if w is not None else np.ones(C)).reshape((1, C) + (1,) * (x.ndim - 2))
    nll = -wt * picked
    smooth = -(logp * wc).sum(1) * keep
    if reduction == "mean":
        return ((1 - eps) * nll.sum() + eps / C * smooth.sum()) / wt.sum()
    return reduce_np((1 - eps) * nll + eps / C * smooth, reduction)


@SETTINGS
@given(st.integers(1, 4), st.integers(2, 5), st.lists(st.integers(1, 3), max_size=2), seeds,
       st.sampled_from(REDS), st.booleans(), st.booleans(), st.sampled_from([0.0, 0.25]))
def test_cross_entropy_and_nll(n, c, spatial, seed, reduction, weighted, ignore, eps):
    rng = np.random.default_rng(seed)
    x, t = _class_problem(rng, n, c, spatial, ignore)
    w = rng.uniform(0.5, 2, c) if weighted else None
    if ignore and t.size == 1 and reduction == "mean":
        return  # all targets ignored: 0/0 (nan), tested separately
    xt = T(x)
    fn = lambda a: F.cross_entropy(a, T(t), weight=w, reduction=reduction, label_smoothing=eps)  # noqa: E731
    np.testing.assert_allclose(fn(xt).numpy(), ce_reference(x, t, w, reduction, eps), rtol=1e-10, atol=1e-12)
    mod = nn.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(mod(xt, T(t)).numpy(), ce_reference(x, t, w, reduction, eps), rtol=1e-10)
    assert engine.gradcheck(fn, [xt])
    # nll_loss on log-probabilities is the eps = 0 case
    nll = lambda a: F.nll_loss(a, T(t), weight=w, reduction=reduction)  # noqa: E731
    lp = T(log_softmax(x, 1))
    np.testing.assert_allclose(nll(lp).numpy(), ce_reference(x, t, w, reduction), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nn.NLLLoss(weight=w, reduction=reduction)(lp, T(t)).numpy(),
                               ce_reference(x, t, w, reduction), rtol=1e-10, atol=1e-12)
    assert engine.gradcheck(nll, [lp])


@SETTINGS
@given(st.integers(1, 6), st.integers(2, 6), seeds, st.sampled_from(REDS), st.booleans())
def test_fused_cross_entropy_matches_composite(n, c, seed, reduction, weighted):
    rng = np.random.default_rng(seed)
    x, t = _class_problem(rng, n, c, (), n > 1)
    w = rng.uniform(0.5, 2, c) if weighted else None
    a, b = T(x), T(x)
    fused = F.cross_entropy(a, T(t), weight=w, reduction=reduction)
    composite = F.nll_loss(F.log_softmax(b, dim=1), T(t), weight=w, reduction=reduction)
    np.testing.assert_allclose(fused.numpy(), composite.numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(fused.shape)
    fused.backward(g)
    composite.backward(g)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_reduction_sum_is_n_times_mean():
    rng = np.random.default_rng(0)
    x, y = T(rng.standard_normal((7, 3))), T(rng.uniform(0.05, 0.95, (7, 3)))
    t = T(rng.integers(0, 3, 7))
    pairs = [(F.mse_loss, x, y, 21), (F.l1_loss, x, y, 21), (F.huber_loss, x, y, 21),
             (F.cross_entropy, x, t, 7), (F.nll_loss, x, t, 7), (F.binary_cross_entropy, y, y * 0.5, 21),
             (F.binary_cross_entropy_with_logits, x, y, 21)]
    for fn, a, b, n in pairs:
        m, s, e = (fn(a, b, reduction=r) for r in REDS)
        assert s.item() == pytest.approx(n * m.item()), fn.__name__
        assert e.numpy().size == n and e.numpy().sum() == pytest.approx(s.item()), fn.__name__


def test_label_smoothing_formula_by_hand():
    x = np.array([[2.0, 0.5, -1.0]])
    t = np.array([0])
    eps = 0.3
    logp = x[0] - np.log(np.exp(x[0]).sum())
    expected = -(1 - eps) * logp[0] - eps / 3 * logp.sum()
    assert F.cross_entropy(T(x), T(t), label_smoothing=eps).item() == pytest.approx(expected)
    # the same as a cross-entropy against the smoothed one-hot distribution
    soft = np.full((1, 3), eps / 3)
    soft[0, 0] += 1 - eps
    assert F.cross_entropy(T(x), T(soft)).item() == pytest.approx(expected)


@SETTINGS
@given(st.integers(1, 4), st.integers(2, 5), seeds, st.sampled_from(REDS), st.booleans(), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_probability_targets(n, c, seed, reduction, weighted, eps):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, 2))
    y = rng.dirichlet(np.ones(c), (n, 2)).transpose(0, 2, 1)
    w = rng.uniform(0.5, 2, c) if weighted else np.ones(c)
    ys = y * (1 - eps) + eps / c
    per = -(log_softmax(x, 1) * ys * w[None, :, None]).sum(1)
    ref = per.sum() / (n * 2) if reduction == "mean" else reduce_np(per, reduction)
    fn = lambda a, b: F.cross_entropy(a, b, weight=w if weighted else None, reduction=reduction, label_smoothing=eps)  # noqa: E731
    xt, yt = T(x), T(y)
    np.testing.assert_allclose(fn(xt, yt).numpy(), ref, rtol=1e-10)
    assert engine.gradcheck(fn, [xt, yt])


def test_unbatched_and_all_ignored():
    x = np.array([0.1, 1.2, -0.3])
    assert F.cross_entropy(T(x), T(np.array(1))).item() == pytest.approx(-log_softmax(x, 0)[1])
    assert F.cross_entropy(T(x), T(np.array(1)), reduction="none").shape == ()
    out = F.cross_entropy(T(x[None]), T(np.array([-100])))
    assert np.isnan(out.item())
    assert F.cross_entropy(T(x[None]), T(np.array([-100])), reduction="sum").item() == 0
    assert F.cross_entropy(T(x[None]), T(np.array([7])), ignore_index=7, reduction="sum").item() == 0


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), seeds, st.sampled_from(REDS), st.booleans())
def test_binary_cross_entropy(shape, seed, reduction, weighted):
    rng = np.random.default_rng(seed)
    p, y = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    w = rng.uniform(0.5, 2, shape[-1]) if weighted else None
    ww = 1 if w is None else w
    ref = reduce_np(-ww * (y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)
    fn = lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction)  # noqa: E731
    pt, yt = T(p), T(y)
    np.testing.assert_allclose(fn(pt, yt).numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(nn.BCELoss(weight=w, reduction=reduction)(pt, yt).numpy(), ref, rtol=1e-10)
    assert engine.gradcheck(fn, [pt, yt])


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), seeds, st.sampled_from(REDS), st.booleans(), st.booleans())
def test_bce_with_logits(shape, seed, reduction, weighted, pos):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape) * 3, rng.uniform(0, 1, shape)
    w = rng.uniform(0.5, 2, shape[-1]) if weighted else None
    pw = rng.uniform(0.5, 3, shape[-1]) if pos else None
    s = 1 / (1 + np.exp(-x))
    ref = -(1 if w is None else w) * ((1 if pw is None else pw) * y * np.log(s) + (1 - y) * np.log(1 - s))
    ref = reduce_np(ref, reduction)
    fn = lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, reduction=reduction, pos_weight=pw)  # noqa: E731
    xt, yt = T(x), T(y)
    np.testing.assert_allclose(fn(xt, yt).numpy(), ref, rtol=1e-9)
    mod = nn.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)
    np.testing.assert_allclose(mod(xt, yt).numpy(), ref, rtol=1e-9)
    assert engine.gradcheck(fn, [xt, yt])


def test_binary_losses_are_stable_at_the_extremes():
    out = F.binary_cross_entropy(T([0.0, 1.0, 1.0]), T([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(out.numpy(), [100.0, 100.0, 0.0])  # log clamped at -100
    x = T([1000.0, -1000.0, 0.0])
    out = F.binary_cross_entropy_with_logits(x, T([0.0, 1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(out.numpy(), [1000.0, 1000.0, np.log(2)])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, -0.5])  # σ(x) − y, exact at x = 0


def test_error_messages():
    x = engine.randn(32, 10)
    with pytest.raises(ValueError, match=r"cross_entropy: input \(32, 10\) and target \(31,\)"):
        F.cross_entropy(x, engine.tensor(np.zeros(31, dtype=np.int64)))
    with pytest.raises(TypeError, match=r"\(32, 10\) float32 and target \(32,\) float32"):
        F.cross_entropy(x, engine.zeros(32))
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError for a wrong target dtype
        F.nll_loss(x, engine.zeros(32))
    with pytest.raises(IndexError, match="target value 12 .*10 classes"):
        F.cross_entropy(x, engine.tensor(np.full(32, 12)))
    with pytest.raises(IndexError, match="-3"):
        F.nll_loss(x, engine.tensor(np.full(32, -3)))
    with pytest.raises(ValueError, match=r"weight \(3,\)"):
        F.cross_entropy(x, engine.tensor(np.zeros(32, dtype=np.int64)), weight=np.ones(3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(T([1.5]), T([1.0]))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        F.binary_cross_entropy_with_logits(T([1.0, 2.0, 3.0]), T([1.0, 0.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(T([1.0]), T([1.0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(T([[1.0, 2.0]]), T([1.0]))


def test_weight_is_a_buffer_and_float32_stays_float32():
    m = nn.CrossEntropyLoss(weight=engine.tensor([1.0, 2.0, 3.0]))
    assert list(m.state_dict()) == ["weight"]
    out = m(engine.randn(4, 3), engine.tensor([0, 1, 2, 1]))
    assert out.dtype == np.float32 and out.shape == ()
    for fn, b in ((F.binary_cross_entropy_with_logits, engine.rand(4, 3)), (F.mse_loss, engine.rand(4, 3))):
        assert fn(engine.randn(4, 3), b).dtype == np.float32
