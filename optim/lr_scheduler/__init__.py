"""Learning-rate schedulers with PyTorch's update rules, defaults and ``step()`` conventions.

The constructor records ``initial_lr`` in every param group (when ``last_epoch == -1``) and performs
the initial ``step()``, so the optimizer's lr is the epoch-0 value right after construction.  Call
``optimizer.step()`` then ``scheduler.step()`` once per epoch (or per batch for CyclicLR/OneCycleLR).
``get_lr()`` is the chainable (recursive) form; ``step(epoch)`` (deprecated in PyTorch) uses the
closed form where one exists.  ``state_dict()`` holds only numbers, strings, lists and dicts.
"""
from .base import LRScheduler
from .chained import ChainedScheduler, PolynomialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .plateau import ReduceLROnPlateau
from .sequential import SequentialLR
from .simple import ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR, StepLR

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
           "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "PolynomialLR", "ChainedScheduler"]
