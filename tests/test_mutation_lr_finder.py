"""optim.LRFinder against plain-Python references of its documented formulas (written against the
mutants of optim/lr_finder.py; LRFinder has no PyTorch counterpart): the value schedule in both
modes, what the optimizer is actually set to on every batch (lr, momentum or beta1), the smoothing
recurrence, the divergence stop, the restore (bit for bit, no aliasing), the trimming, the
suggestion (argmin of np.gradient) and every element of plot(); each argument check's message."""
import math
import types

import numpy as np
import pytest

import engine
import optim
from optim.lr_finder import _snapshot
from test_lr_finder import loader, mse  # the same learnable problem


class LinReg:
    """A duck-typed model: y = x @ w + b (state_dict gives Tensors, as nn.Module does)."""

    def __init__(self, n_in=3, seed=0):
        rng = np.random.default_rng(seed)
        self.w = engine.Tensor(rng.standard_normal((n_in, 1)) * 0.1, requires_grad=True)
        self.b = engine.Tensor(np.zeros(1), requires_grad=True)
        self.training = False
        self.extra = types.SimpleNamespace(arr=np.arange(3.0))   # a non-array, non-container state entry

    def __call__(self, x):
        self.extra.arr += 1.0                        # training mutates it in place
        return x @ self.w + self.b

    def parameters(self):
        return [self.w, self.b]

    def state_dict(self):
        return {"w": self.w.detach(), "b": self.b.detach(), "extra": self.extra}

    def load_state_dict(self, sd):
        self.w.numpy()[...] = sd["w"].numpy()
        self.b.numpy()[...] = sd["b"].numpy()
        self.extra.arr[...] = sd["extra"].arr

    def train(self, mode=True):
        self.training = mode
        return self


class Scripted:
    """A loss_fn returning scripted values (an object with backward() and item())."""

    def __init__(self, values):
        self.values, self.i = list(values), 0

    def __call__(self, out, y):
        v = self.values[self.i]
        self.i += 1
        return types.SimpleNamespace(backward=lambda: None, item=lambda: v)


def recording(opt, key):
    """Record opt.param_groups[*][key] at every step."""
    seen, step = [], opt.step

    def rec(*a, **k):
        seen.append([g[key] for g in opt.param_groups])
        return step(*a, **k)
    opt.step = rec
    return seen


def exp_ref(a, b, n):
    return [a * (b / a) ** (i / (n - 1)) for i in range(n)]


def lin_ref(a, b, n):
    return [a + (b - a) * (i / (n - 1)) for i in range(n)]


def smooth_ref(raw, f):
    out = []
    for i, r in enumerate(raw):
        out.append(r if i == 0 or f == 0 else f * r + (1 - f) * out[-1])
    return out


# -- the schedule and what the optimizer sees -----------------------------------------------------------
@pytest.mark.parametrize("mode", ["exp", "linear", None])
def test_lr_schedule_is_set_on_every_group(mode):
    model = LinReg()
    opt = optim.SGD([{"params": [model.w]}, {"params": [model.b], "lr": 0.5}], lr=0.01, momentum=0.5)
    seen = recording(opt, "lr")
    finder = optim.LRFinder(model, opt, mse)
    assert finder.history == {"lr": [], "loss": []} and finder.best_loss is None
    kw = {} if mode is None else dict(step_mode=mode)
    hist = finder.range_test(loader(), start_lr=1e-3, end_lr=0.5, num_iter=7, diverge_th=1e9, **kw)
    want = (lin_ref if mode == "linear" else exp_ref)(1e-3, 0.5, 7)
    assert set(hist) == {"lr", "loss"}
    np.testing.assert_allclose(hist["lr"], want, rtol=1e-14)
    np.testing.assert_allclose(seen, [[v, v] for v in want], rtol=1e-14)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5] and opt.param_groups[0]["momentum"] == 0.5


def test_linear_lr_range_may_start_at_zero():
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), mse)
    hist = finder.range_test(loader(), start_lr=0.0, end_lr=0.1, num_iter=2, step_mode="linear", diverge_th=1e9)
    assert hist["lr"] == [0.0, 0.1]


@pytest.mark.parametrize("make, key", [
    (lambda p: optim.SGD(p, lr=0.02, momentum=0.9), "momentum"),
    (lambda p: optim.Adam(p, lr=0.02, betas=(0.8, 0.99)), "betas"),
])
@pytest.mark.parametrize("mode", ["linear", "exp"])
def test_momentum_schedule_sets_momentum_or_beta1(make, key, mode):
    model = LinReg()
    opt = make(model.parameters())
    before = opt.param_groups[0][key]
    seen = recording(opt, key)
    finder = optim.LRFinder(model, opt, mse)
    hist = finder.range_test(loader(), start_lr=0.5, end_lr=0.95, num_iter=6, diverge_th=1e9,
                             param="momentum", step_mode=None if mode == "linear" else mode)
    want = (lin_ref if mode == "linear" else exp_ref)(0.5, 0.95, 6)
    assert set(hist) == {"lr", "momentum", "loss"}
    np.testing.assert_allclose(hist["momentum"], want, rtol=1e-14)
    assert hist["lr"] == [0.02] * 6
    got = [s[0] for s in seen]
    if key == "betas":
        assert [b[1] for b in got] == [0.99] * 6
        got = [b[0] for b in got]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert opt.param_groups[0][key] == before and opt.param_groups[0]["lr"] == 0.02
    assert "momentum" not in opt.param_groups[0] or key == "momentum"


@pytest.mark.parametrize("start, end", [(0.0, 0.9), (0.9, 0.0), (0.0, 0.0)])
def test_momentum_range_accepts_zero(start, end):
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.01, momentum=0.5), mse)
    hist = finder.range_test(loader(), start_lr=start, end_lr=end, num_iter=3, param="momentum", diverge_th=1e9)
    np.testing.assert_allclose(hist["momentum"], lin_ref(start, end, 3), rtol=1e-14)


# -- losses: smoothing, best loss, divergence --------------------------------------------------------------
@pytest.mark.parametrize("smooth_f", [0.0, 0.05, 0.3, 0.9])
def test_smoothed_loss_recurrence_and_best(smooth_f):
    raw = [4.0, 3.0, 3.5, 1.0, 2.0, 0.5, 0.7, 0.6]
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), Scripted(raw))
    hist = finder.range_test(loader(), start_lr=1e-3, end_lr=1e-1, num_iter=len(raw), smooth_f=smooth_f,
                             diverge_th=1e9)
    want = smooth_ref(raw, smooth_f)
    np.testing.assert_allclose(hist["loss"], want, rtol=1e-14)
    assert finder.best_loss == min(want)


@pytest.mark.parametrize("raw, th, n", [
    ([2.0, 3.0, 10.0, 10.0, 1.0], 5, 5),      # 10 = 5·2 is not above the threshold
    ([2.0, 3.0, 10.5, 1.0, 1.0], 5, 3),       # 10.5 > 5·2: stop at the third batch
    ([4.0, 2.0, 10.0, 10.5, 1.0], 5, 4),      # the best loss moved to 2
    ([2.0, 3.0, 5.0, 2.5, 2.5], 3, 5),        # 5 < 3·2 (though > 3/2): the product, not the quotient
    ([2.0, float("nan"), 1.0], 5, 2),         # non-finite: stop at once
    ([2.0, float("inf"), 1.0], 1e9, 2),
])
def test_divergence_stops_at_the_right_batch(raw, th, n):
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), Scripted(raw))
    hist = finder.range_test(loader(), start_lr=1e-3, end_lr=1e-1, num_iter=len(raw), smooth_f=0, diverge_th=th)
    assert len(hist["loss"]) == len(hist["lr"]) == n
    np.testing.assert_allclose(hist["lr"], exp_ref(1e-3, 1e-1, len(raw))[:n], rtol=1e-14)


def test_loader_is_reiterated_in_order():
    batches = loader(n_batches=3)
    seen = []
    model = LinReg()

    def loss(out, y):
        seen.append(y)
        return mse(out, y)
    optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.01), loss).range_test(
        batches, start_lr=1e-4, end_lr=1e-3, num_iter=8, diverge_th=1e9)
    assert [next(i for i, b in enumerate(batches) if b[1] is y) for y in seen] == [0, 1, 2, 0, 1, 2, 0, 1]


# -- restore ---------------------------------------------------------------------------------------------------
def test_model_and_optimizer_restored_bit_for_bit_and_not_aliased():
    model = LinReg()
    opt = optim.Adam(model.parameters(), lr=0.01)
    for x, y in loader(3):                          # non-trivial Adam state
        opt.zero_grad()
        mse(model(x), y).backward()
        opt.step()
    w, b, extra = model.w.numpy().copy(), model.b.numpy().copy(), model.extra.arr.copy()
    st = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.state[model.w].items()}
    model.train(False)
    finder = optim.LRFinder(model, opt, mse)
    for _ in range(2):                              # twice: the snapshot itself was not trained
        finder.range_test(loader(), start_lr=1e-4, end_lr=1.0, num_iter=12, diverge_th=1e9)
        assert model.training
        np.testing.assert_array_equal(model.w.numpy(), w)
        np.testing.assert_array_equal(model.b.numpy(), b)
        np.testing.assert_array_equal(model.extra.arr, extra)
        for k, v in st.items():
            np.testing.assert_array_equal(opt.state[model.w][k], v)
        assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["betas"] == (0.9, 0.999)
    for x, y in loader(2):                          # training on after the test mutates the live state ...
        opt.zero_grad()
        mse(model(x), y).backward()
        opt.step()
    finder.reset()                                  # ... and reset() still restores the snapshot
    np.testing.assert_array_equal(model.w.numpy(), w)
    for k, v in st.items():
        np.testing.assert_array_equal(opt.state[model.w][k], v)


def test_snapshot_copies_everything():
    t = engine.Tensor(np.arange(4.0))
    ns = types.SimpleNamespace(a=np.zeros(2))
    obj = {"a": np.ones(3), "t": t, "l": [np.zeros(2), (np.ones(1), 3)], "ns": ns, "x": 1.5}
    snap = _snapshot(obj)
    assert type(snap["l"]) is list and type(snap["l"][1]) is tuple and snap["x"] == 1.5
    np.testing.assert_array_equal(snap["t"].numpy(), np.arange(4.0))
    obj["a"][...] = 7
    t.numpy()[...] = 7
    obj["l"][0][...] = 7
    obj["l"][1][0][...] = 7
    ns.a[...] = 7
    assert not np.any(snap["a"] == 7) and not np.any(snap["t"].numpy() == 7)
    assert not np.any(snap["l"][0] == 7) and not np.any(snap["l"][1][0] == 7) and not np.any(snap["ns"].a == 7)


# -- trimming, suggestion, plot --------------------------------------------------------------------------------
def trim_ref(n, s, e):
    if n - s - e < 2:
        s, e = 0, 0
    return list(range(n))[s:n - e]


def finder_with(xs, ys, param="lr"):
    model = LinReg()
    f = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.5), mse)
    f._param = param
    f.history = {param: list(xs), "loss": list(ys)}
    return f


def suggestion_ref(xs, ys, s, e, log):
    idx = trim_ref(len(xs), s, e)
    if len(idx) < 2:
        return None
    x, y = np.asarray(xs, float)[idx], np.asarray(ys, float)[idx]
    return float(x[int(np.argmin(np.gradient(y, np.log10(x) if log else x)))])


@pytest.fixture(scope="module")
def ax():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 17])
def test_trimming_suggestion_and_plot_data(n, ax):
    rng = np.random.default_rng(n)
    xs = np.sort(rng.uniform(1e-5, 1.0, n) ** 3)          # uneven spacing, also in log10
    ys = rng.uniform(0, 3, n)
    f = finder_with(xs, ys)
    for s in range(0, n + 1):
        for e in range(0, n + 1):
            idx = trim_ref(n, s, e)
            assert f.suggestion(s, e) == suggestion_ref(xs, ys, s, e, True)
            ax.cla()
            f.plot(s, e, ax=ax)
            (line,) = ax.lines
            np.testing.assert_array_equal(line.get_xdata(), xs[idx])
            np.testing.assert_array_equal(line.get_ydata(), ys[idx])
            want = suggestion_ref(xs, ys, s, e, True)          # the marker: this (skip_start, skip_end)'s suggestion
            if want is None:
                assert not ax.collections
            else:
                (marker,) = ax.collections
                np.testing.assert_array_equal(marker.get_offsets(), [[want, ys[xs == want][0]]])


def test_suggestion_defaults_and_momentum_spacing():
    rng = np.random.default_rng(5)
    xs = np.sort(rng.uniform(1e-4, 1, 30)) ** 2
    ys = np.cumsum(rng.uniform(-1, 1, 30))
    for drop in (10, 24):               # a cliff just after the first / at the last point kept by (10, 5)
        y = np.where(np.arange(30) > drop, -50.0, 0.0) if drop == 10 else np.where(np.arange(30) >= drop, -50.0, 0.0)
        f = finder_with(xs, y)
        assert f.suggestion() == suggestion_ref(xs, y, 10, 5, True)
        assert f.suggestion() != (suggestion_ref(xs, y, 11, 5, True) if drop == 10 else
                                  suggestion_ref(xs, y, 10, 6, True))
    # momentum: the gradient over the values themselves, not their log
    m = finder_with(xs, ys, param="momentum")
    assert m.suggestion(0, 0) == suggestion_ref(xs, ys, 0, 0, False) != suggestion_ref(xs, ys, 0, 0, True)
    assert optim.LRFinder(None, None, None).suggestion() is None
    assert finder_with([0.1], [1.0]).suggestion(0, 0) is None


@pytest.mark.parametrize("param, log_lr, scale, label", [
    ("lr", True, "log", "Learning rate"), ("lr", False, "linear", "Learning rate"),
    ("momentum", True, "linear", "Momentum"), ("momentum", False, "linear", "Momentum")])
def test_plot_axes_labels_and_marker(param, log_lr, scale, label, ax):
    import matplotlib.colors as mcolors
    rng = np.random.default_rng(2)
    xs = np.sort(rng.uniform(0.01, 0.99, 25))
    ys = np.cumsum(rng.uniform(-1, 1, 25))
    f = finder_with(xs, ys, param)
    ax.cla()
    assert f.plot(skip_start=3, skip_end=2, log_lr=log_lr, ax=ax) is ax
    assert ax.get_xscale() == scale
    assert ax.get_xlabel() == label and ax.get_ylabel() == "Loss"
    s = f.suggestion(3, 2)
    assert s == suggestion_ref(xs, ys, 3, 2, param == "lr")
    (marker,) = ax.collections
    k = int(np.where(xs == s)[0][0])
    np.testing.assert_array_equal(marker.get_offsets(), [[xs[k], ys[k]]])
    assert list(marker.get_sizes()) == [75]
    assert mcolors.to_hex(marker.get_facecolor()[0]) == "#ff0000"
    assert marker.get_zorder() == 3
    assert marker.get_label() == f"suggestion {s:.2e}"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"suggestion {s:.2e}"]


def test_plot_defaults_new_axes_and_no_marker_without_suggestion():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    xs = np.logspace(-4, 0, 30)
    ys = np.sin(np.arange(30.0))
    f = finder_with(xs, ys)
    ax = f.plot()
    try:
        (line,) = ax.lines
        np.testing.assert_array_equal(line.get_xdata(), xs[10:25])
        assert ax.collections[0].get_offsets()[0][0] == f.suggestion() == suggestion_ref(xs, ys, 10, 5, True)
    finally:
        plt.close(ax.figure)
    g = finder_with([0.1], [1.0])
    ax = g.plot()
    try:
        assert len(ax.lines) == 1 and len(ax.collections) == 0 and ax.get_legend() is None
    finally:
        plt.close(ax.figure)


# -- argument checks -------------------------------------------------------------------------------------------
class NoMomentum:
    defaults = {"lr": 0.1}
    param_groups = [{"lr": 0.1}]


@pytest.mark.parametrize("kw, message", [
    (dict(param="beta"), "param must be 'lr' or 'momentum', got 'beta'"),
    (dict(step_mode="cos"), "step_mode must be 'exp' or 'linear', got 'cos'"),
    (dict(param="momentum", step_mode="cos", start_lr=0.1, end_lr=0.2), "step_mode must be 'exp' or 'linear', got 'cos'"),
    (dict(start_lr=0.0), "exponential range needs positive start_lr and end_lr"),
    (dict(end_lr=0.0), "exponential range needs positive start_lr and end_lr"),
    (dict(start_lr=-1.0, end_lr=-1.0), "exponential range needs positive start_lr and end_lr"),
    (dict(param="momentum", step_mode="exp", start_lr=0.0, end_lr=0.5),
     "exponential range needs positive start_lr and end_lr"),
    (dict(num_iter=1), "num_iter must be >= 2, got 1"),
    (dict(num_iter=0), "num_iter must be >= 2, got 0"),
    (dict(smooth_f=1.0), "smooth_f must be in [0, 1), got 1.0"),
    (dict(smooth_f=1.5), "smooth_f must be in [0, 1), got 1.5"),
    (dict(smooth_f=-0.1), "smooth_f must be in [0, 1), got -0.1"),
    (dict(param="momentum", start_lr=1.0, end_lr=0.5), "for param='momentum' give start_lr and end_lr in [0, 1) "
                                                       "(got 1.0 and 0.5)"),
    (dict(param="momentum", start_lr=1.5, end_lr=0.5), "(got 1.5 and 0.5)"),
    (dict(param="momentum", start_lr=-0.1, end_lr=0.5), "(got -0.1 and 0.5)"),
    (dict(param="momentum", start_lr=0.5, end_lr=1.0), "(got 0.5 and 1.0)"),
    (dict(param="momentum", start_lr=0.5, end_lr=1.5), "(got 0.5 and 1.5)"),
    (dict(param="momentum", start_lr=0.5, end_lr=-0.1), "(got 0.5 and -0.1)"),
])
def test_bad_arguments_raise_with_the_message(kw, message):
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.5), mse)
    with pytest.raises(ValueError) as e:
        finder.range_test(loader(), **kw)
    assert message in str(e.value)
    if "got" not in message:
        assert str(e.value) == message
    assert finder.history == {"lr": [], "loss": []}


def test_momentum_needs_an_optimizer_with_momentum_or_betas():
    model = LinReg()
    for opt in (NoMomentum(), optim.Adagrad(model.parameters(), lr=0.1)):
        with pytest.raises(ValueError) as e:
            optim.LRFinder(model, opt, mse).range_test(loader(), start_lr=0.1, end_lr=0.5, param="momentum")
        assert str(e.value) == "param='momentum' needs an optimizer with momentum or betas"


@pytest.mark.parametrize("smooth_f, num_iter", [(0.0, 2), (0.99, 2)])
def test_boundary_arguments_accepted(smooth_f, num_iter):
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), mse)
    hist = finder.range_test(loader(), start_lr=1e-3, end_lr=1e-2, num_iter=num_iter, smooth_f=smooth_f,
                             diverge_th=1e9)
    assert len(hist["lr"]) == num_iter


def test_default_range_arguments():
    """start 1e-7, end 10, 100 iterations, smooth_f 0.05, diverge_th 5, exp mode for the lr."""
    raw = list(np.linspace(3.0, 1.0, 100))
    model = LinReg()
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), Scripted(raw))
    hist = finder.range_test(loader())
    np.testing.assert_allclose(hist["lr"], exp_ref(1e-7, 10, 100), rtol=1e-14)
    np.testing.assert_allclose(hist["loss"], smooth_ref(raw, 0.05), rtol=1e-14)
    # diverge_th 5: a jump to just above 5x the best stops, just below does not
    for jump, n in ((5.01, 3), (4.99, 4)):
        finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1),
                                Scripted([1.0, 1.0, 1.0 + (jump - 1.0) / 0.05, 1.0]))
        assert len(finder.range_test(loader(), num_iter=4)["loss"]) == n
