"""viz.landscape: filter-normalised directions, 1-D interpolation and 2-D slices against a plain
NumPy reference, parameters and mode left untouched, and the picture."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
import viz
from viz.landscape import filter_normalized_direction, interpolate_losses, landscape_2d


def _model(n_in, hidden, n_out, seed):
    engine.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, n_out))


def _numpy_loss(theta, x, y):
    """Plain-NumPy twin of the model above with an MSE loss."""
    h = np.tanh(x @ theta["0.weight"].T + theta["0.bias"])
    out = h @ theta["2.weight"].T + theta["2.bias"]
    return float(np.mean((out - y) ** 2))


def _params(model):
    return {n: p.numpy().astype(np.float64).copy() for n, p in model.named_parameters()}


dims = st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 4), st.integers(0, 10 ** 6))


@settings(deadline=None, max_examples=15)
@given(dims)
def test_direction_is_filter_normalised(d):
    n_in, hidden, n_out, seed = d
    model = _model(n_in, hidden, n_out, seed)
    direction = filter_normalized_direction(model, seed=seed)
    for name, p in model.named_parameters():
        w = p.numpy().astype(np.float64)
        if w.ndim == 1:
            assert np.all(direction[name] == 0)          # biases ignored (Li et al.)
        else:
            np.testing.assert_allclose(np.linalg.norm(direction[name], axis=1), np.linalg.norm(w, axis=1),
                                       rtol=1e-9, atol=1e-12)
    again = filter_normalized_direction(model, seed=seed)
    assert all(np.array_equal(direction[k], again[k]) for k in direction)


@settings(deadline=None, max_examples=10)
@given(dims)
def test_interpolation_matches_numpy_and_restores(d):
    n_in, hidden, n_out, seed = d
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((7, n_in)).astype(np.float32)
    y = rng.standard_normal((7, n_out)).astype(np.float32)
    model = _model(n_in, hidden, n_out, seed)
    start = _params(model)
    for p in model.parameters():                          # "training": move the parameters
        p.numpy()[...] += rng.standard_normal(p.shape).astype(np.float32)
    end, mode = _params(model), model.training
    alphas = np.array([-0.5, 0.0, 0.3, 1.0, 1.5])
    got_a, losses = interpolate_losses(model, nn.MSELoss(), (engine.tensor(x), engine.tensor(y)), start,
                                       alphas=alphas)
    ref = [_numpy_loss({k: start[k] + a * (end[k] - start[k]) for k in start}, x, y) for a in alphas]
    np.testing.assert_allclose(losses, ref, rtol=1e-4, atol=1e-5)
    assert np.array_equal(got_a, alphas)
    assert all(np.array_equal(v, end[k]) for k, v in _params(model).items())
    assert model.training == mode


@settings(deadline=None, max_examples=8)
@given(dims)
def test_slice_matches_numpy(d):
    n_in, hidden, n_out, seed = d
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((5, n_in)).astype(np.float32), rng.standard_normal((5, n_out)).astype(np.float32)
    model = _model(n_in, hidden, n_out, seed)
    theta = _params(model)
    d1, d2 = filter_normalized_direction(model, seed), filter_normalized_direction(model, seed + 1)
    xs, ys = np.array([-1.0, 0.0, 0.5]), np.array([-0.5, 0.0])
    grid = landscape_2d(model, nn.MSELoss(), (engine.tensor(x), engine.tensor(y)), d1, d2, xs, ys)
    assert grid.shape == (2, 3)
    for i, b in enumerate(ys):
        for j, a in enumerate(xs):
            ref = _numpy_loss({k: theta[k] + a * d1[k] + b * d2[k] for k in theta}, x, y)
            assert grid[i, j] == pytest.approx(ref, rel=1e-4, abs=1e-5)
    assert grid[1, 1] == pytest.approx(_numpy_loss(theta, x, y), rel=1e-5)
    assert all(np.array_equal(v, theta[k]) for k, v in _params(model).items())


def test_plot_both_kinds(tmp_path):
    rng = np.random.default_rng(0)
    x, y = engine.tensor(rng.standard_normal((16, 3)).astype(np.float32)), engine.tensor(rng.integers(0, 2, 16))
    model = _model(3, 4, 2, 0)
    start = model.state_dict()
    start = {k: engine.tensor(v.numpy().copy()) for k, v in start.items()}
    for p in model.parameters():
        p.numpy()[...] *= 1.5
    fig = viz.plot_loss_landscape(model, nn.CrossEntropyLoss(), (x, y), steps=5, path=tmp_path / "2d.png")
    assert (tmp_path / "2d.png").stat().st_size > 0 and fig.axes
    fig = viz.plot_loss_landscape(model, nn.CrossEntropyLoss(), (x, y), start=start, steps=5,
                                  path=tmp_path / "1d.png")
    assert (tmp_path / "1d.png").stat().st_size > 0


def test_interpolation_rejects_mismatched_state():
    model = _model(3, 4, 2, 0)
    x, y = engine.randn(4, 3), engine.randn(4, 2)
    with pytest.raises(ValueError, match="lack parameters"):
        interpolate_losses(model, nn.MSELoss(), (x, y), {"0.weight": np.zeros((4, 3))})
    bad = {n: np.zeros((1,)) for n, _ in model.named_parameters()}
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        interpolate_losses(model, nn.MSELoss(), (x, y), bad)


def test_plot_argument_errors():
    model = _model(3, 4, 2, 0)
    batch = (engine.randn(4, 3), engine.tensor(np.arange(4) % 2))
    with pytest.raises(TypeError, match="model must be a Module"):
        viz.plot_loss_landscape(3.0, nn.CrossEntropyLoss(), batch)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        viz.plot_loss_landscape(model, None, batch)
    with pytest.raises(TypeError, match="batch must be a pair"):
        viz.plot_loss_landscape(model, nn.CrossEntropyLoss(), batch[0])
    for kw, msg in (({"steps": 10 ** 9}, "steps"), ({"steps": 2.5}, "steps"), ({"span": float("nan")}, "span"),
                    ({"seed": -1}, "seed")):
        with pytest.raises(ValueError, match=msg):
            viz.plot_loss_landscape(model, nn.CrossEntropyLoss(), batch, **kw)
    with pytest.raises(TypeError, match="start must be a state dict"):
        viz.plot_loss_landscape(model, nn.CrossEntropyLoss(), batch, start=[1, 2])
