"""viz: see a computation graph (Graphviz) and a training run (matplotlib).

    import viz
    g = viz.draw_graph(loss, params=model)       # backward view, module clusters, shapes
    viz.save(g, "lenet.svg")                     # .svg .png .pdf .dot
    viz.plot_history(history)                    # loss/metric curves (matplotlib)
    viz.plot_loss_landscape(model, loss_fn, (x, y))   # 2-D filter-normalised slice (Li et al.)

Reads graphs only through ``engine.graph`` (the public graph-walking API).
"""
from .graph import VizDigraph, draw_graph
from .landscape import plot_loss_landscape
from .modules import trace
from .plots import (plot_activation_histograms, plot_gradient_histograms, plot_history,
                    plot_lr_finder)
from .render import find_renderer, save

__all__ = ["draw_graph", "trace", "save", "find_renderer", "plot_history", "plot_lr_finder",
           "plot_activation_histograms", "plot_gradient_histograms", "plot_loss_landscape", "VizDigraph"]
