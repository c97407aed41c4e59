"""Optimizers, learning-rate schedulers and the LR range test, with PyTorch's names and semantics.

``optim`` depends only on ``engine``: parameters are engine Tensors, updated in place through the
fused Numba kernels of ``engine.kernels.optim_updates`` (compiled on the first ``step``), or in
plain NumPy (Adadelta, Adamax, RAdam, LBFGS).
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .lbfgs import LBFGS
from .lr_finder import LRFinder
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD


def __getattr__(name):
    # clip_grad lives in nn.utils (owned there); re-exported lazily so optim never imports nn eagerly
    if name in ("clip_grad_norm_", "clip_grad_value_"):
        from nn.utils import clip_grad
        return getattr(clip_grad, name)
    raise AttributeError(f"module 'optim' has no attribute {name!r}")


__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adadelta", "Adamax", "RAdam", "LBFGS", "LRFinder",
           "lr_scheduler", "clip_grad_norm_", "clip_grad_value_"]
