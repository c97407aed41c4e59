"""optim.LRFinder: the range test schedule, smoothing, divergence stop, restore, suggestion, plot."""
import numpy as np
import pytest

import engine
import optim


class LinReg:
    """A duck-typed Module: y = x @ w + b."""

    def __init__(self, n_in, seed=0):
        rng = np.random.default_rng(seed)
        self.w = engine.Tensor(rng.standard_normal((n_in, 1)) * 0.1, requires_grad=True)
        self.b = engine.Tensor(np.zeros(1), requires_grad=True)
        self.training = False

    def __call__(self, x):
        return x @ self.w + self.b

    def parameters(self):
        return [self.w, self.b]

    def state_dict(self):
        return {"w": self.w.numpy(), "b": self.b.numpy()}

    def load_state_dict(self, sd):
        for k, v in sd.items():
            getattr(self, k).data[...] = getattr(v, "data", v)

    def train(self, mode=True):
        self.training = mode
        return self


def mse(out, y):
    return ((out - y) ** 2).mean()


def loader(n_batches=8, seed=1):
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal((3, 1))
    batches = []
    for _ in range(n_batches):
        x = rng.standard_normal((16, 3))
        batches.append((engine.Tensor(x), engine.Tensor(x @ w_true + 0.5)))
    return batches


def test_range_test_schedule_smoothing_and_restore():
    model = LinReg(3)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    w0 = model.w.numpy().copy()
    opt.zero_grad()
    mse(model(loader()[0][0]), loader()[0][1]).backward()
    opt.step()                                   # non-trivial optimizer state to restore
    w1, buf1 = model.w.numpy().copy(), opt.state[model.w]["momentum_buffer"].copy()
    finder = optim.LRFinder(model, opt, mse)
    hist = finder.range_test(loader(), start_lr=1e-4, end_lr=1e-1, num_iter=20, diverge_th=1e9)
    assert len(hist["lr"]) == 20 == len(hist["loss"])
    np.testing.assert_allclose(hist["lr"], 1e-4 * 1000 ** (np.arange(20) / 19), rtol=1e-12)
    assert model.training
    # restored: parameters, momentum buffer and lr
    np.testing.assert_array_equal(model.w.numpy(), w1)
    np.testing.assert_array_equal(opt.state[model.w]["momentum_buffer"], buf1)
    assert opt.param_groups[0]["lr"] == 0.01
    assert not np.array_equal(w0, w1)


def test_smoothed_loss_is_exponential_average():
    model = LinReg(3)
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), mse)
    raw = []
    orig = finder._train_batch
    finder._train_batch = lambda x, y: raw.append(orig(x, y)) or raw[-1]
    hist = finder.range_test(loader(), start_lr=1e-5, end_lr=1e-3, num_iter=12, smooth_f=0.2, diverge_th=1e9)
    want = [raw[0]]
    for r in raw[1:]:
        want.append(0.2 * r + 0.8 * want[-1])
    np.testing.assert_allclose(hist["loss"], want, rtol=1e-12)


def test_stops_on_divergence_and_reiterates_loader():
    model = LinReg(3)
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), mse)
    hist = finder.range_test(loader(n_batches=3), start_lr=1e-3, end_lr=1e3, num_iter=100, diverge_th=5)
    assert 3 < len(hist["loss"]) < 100                 # ran past one loader pass, stopped early
    assert hist["loss"][-1] > 5 * finder.best_loss or not np.isfinite(hist["loss"][-1])
    assert np.all(np.isfinite(model.w.numpy()))           # restored despite the divergence


def test_suggestion_is_steepest_descent():
    model = LinReg(3)
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), mse)
    assert finder.suggestion() is None
    lrs = np.logspace(-5, 0, 50)
    loss = 1 / (1 + np.exp((np.log10(lrs) + 2) * 4))   # steepest drop at lr = 1e-2
    finder.history = {"lr": list(lrs), "loss": list(loss)}
    assert finder.suggestion() == pytest.approx(1e-2, rel=0.3)


def test_momentum_range():
    model = LinReg(3)
    opt = optim.Adam(model.parameters(), lr=0.01)
    finder = optim.LRFinder(model, opt, mse)
    hist = finder.range_test(loader(), start_lr=0.5, end_lr=0.95, num_iter=10, param="momentum", diverge_th=1e9)
    np.testing.assert_allclose(hist["momentum"], np.linspace(0.5, 0.95, 10), rtol=1e-12)
    assert hist["lr"] == [0.01] * 10
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="start_lr and end_lr in"):
        finder.range_test(loader(), param="momentum")


def test_plot_returns_axes_with_suggestion():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model = LinReg(3)
    finder = optim.LRFinder(model, optim.SGD(model.parameters(), lr=0.1), mse)
    finder.range_test(loader(), start_lr=1e-4, end_lr=1.0, num_iter=30, diverge_th=1e9)
    ax = finder.plot()
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == 1 and len(ax.collections) == 1      # the curve and the suggestion marker
    x, _ = ax.collections[0].get_offsets()[0]
    assert x == pytest.approx(finder.suggestion())
