"""nn: Module, Parameter, layers, activations, losses, init, regularizers — built on engine."""
from . import data, functional, init, models, parallel, regularizers, utils
from .containers import Flatten, Identity, ModuleDict, ModuleList, Sequential
from .layers import *  # noqa: F401,F403
from .module import Module
from .parameter import Parameter
