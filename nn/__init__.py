"""nn: Module, Parameter, layers, activations, losses, init, regularizers — built on engine."""
from . import data, functional, init, models, parallel, regularizers, utils
from .containers import Flatten, Identity, ModuleDict, ModuleList, Sequential
from .layers import *  # noqa: F401,F403
from .module import Module
from .parameter import Parameter


def __getattr__(name):
    """``nn.testing`` on first touch (it imports Hypothesis; ``import nn`` does not)."""
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
