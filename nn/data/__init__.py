"""nn.data: ``engine.utils.data`` (datasets, samplers, DataLoader) plus torchvision's names —
``datasets`` (MNIST, FashionMNIST, Digits), ``transforms`` and the IDX reader ``read_idx``."""
from engine.utils.data import *  # noqa: F401,F403
from engine.utils.data import __all__ as _data_all

from . import datasets, transforms
from .datasets import load_digits
from .idx import read_idx, write_idx

__all__ = [*_data_all, "datasets", "transforms", "read_idx", "write_idx", "load_digits"]
