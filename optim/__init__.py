"""Optimizers, learning-rate schedulers and the LR range test, with PyTorch's names and semantics.

``optim`` depends only on ``engine``: parameters are engine Tensors, updated in place through the
fused Numba kernels of ``engine.kernels.optim_updates`` (compiled on the first ``step``).
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lr_finder import LRFinder
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD


def __getattr__(name):
    # clip_grad lives in nn.utils (owned there); re-exported lazily so optim never imports nn eagerly
    if name in ("clip_grad_norm_", "clip_grad_value_"):
        from nn.utils import clip_grad
        return getattr(clip_grad, name)
    raise AttributeError(f"module 'optim' has no attribute {name!r}")


__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "LRFinder",
           "lr_scheduler", "clip_grad_norm_", "clip_grad_value_"]
