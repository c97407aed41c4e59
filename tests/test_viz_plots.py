"""viz plots with the Agg backend: the expected axes and lines, saving on request."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import engine  # noqa: E402
import nn  # noqa: E402
import viz  # noqa: E402


def teardown_function():
    import matplotlib.pyplot as plt
    plt.close("all")


def test_plot_history(tmp_path):
    h = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "accuracy": [0.5, 0.7, 0.8],
         "val_accuracy": [0.4, 0.6, 0.7], "lr": [0.1, 0.1, 0.01]}
    fig = viz.plot_history(h, path=tmp_path / "h.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "lr"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2, 1]
    assert list(fig.axes[0].get_lines()[1].get_ydata()) == [1.1, 0.8, 0.7]
    assert (tmp_path / "h.png").stat().st_size > 0


def test_plot_lr_finder_marks_suggestion():
    class Finder:
        history = {"lr": list(np.logspace(-5, 0, 30)), "loss": list(np.linspace(2, 1, 30))}

        def suggestion(self):
            return 1e-3
    fig = viz.plot_lr_finder(Finder())
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 2
    assert len(viz.plot_lr_finder({"lr": [1e-3, 1e-2], "loss": [1, 2]}).axes[0].get_lines()) == 1


def tanh_net(std):
    engine.manual_seed(0)
    layers = []
    for _ in range(3):
        lin = nn.Linear(16, 16)
        nn.init.normal_(lin.weight, 0.0, std)
        layers += [lin, nn.Tanh()]
    return nn.Sequential(*layers)


def test_activation_histograms_one_line_per_layer(tmp_path):
    model = tanh_net(1.0)
    x = engine.randn(64, 16)
    fig = viz.plot_activation_histograms(model, x, path=tmp_path / "a.png")
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 3
    assert "saturated" in fig.axes[0].get_legend().get_texts()[0].get_text()
    fig = viz.plot_activation_histograms(model, x, overlay=False)
    assert len(fig.axes) == 3 and all(len(a.get_lines()) == 1 for a in fig.axes)
    fig = viz.plot_activation_histograms(model, x, layers=["0", "2"])
    assert len(fig.axes[0].get_lines()) == 2


def test_gradient_histograms():
    model = tanh_net(0.01)
    with pytest.raises(ValueError, match="no .grad"):
        viz.plot_gradient_histograms(model)
    ((model(engine.randn(32, 16)) - 1.0) ** 2).mean().backward()
    fig = viz.plot_gradient_histograms(model)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 3 and labels[0].startswith("0.weight") and "grad:data" in labels[0]
    assert len(viz.plot_gradient_histograms(model, weights_only=False).axes[0].get_lines()) == 6
