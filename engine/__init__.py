"""gradbricks' autodiff core: Tensor, Scalar, Function, backward, no_grad, gradcheck.

Nothing here imports ``nn``, ``optim`` or ``viz``, and importing it compiles no Numba kernel.
"""
from . import dtypes
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half,  # noqa: A004
                     promote_types, result_type,
                     int32, int64, long, set_default_dtype, uint8)
from .function import Function, Node
from .grad_mode import (detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state
from .tensor import Tensor
from .scalar import Scalar
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                        randperm, tensor, zeros, zeros_like)
from .ops import (abs, add, amax, amin, argmax, argmin, cat, clamp, clip, concatenate, cos, div,  # noqa: A004
                  exp, expand, flatten, log, log_softmax, logsumexp, matmul, max, maximum, mean,
                  min, minimum, mul, neg, pad, permute, pow, relu, reshape, sigmoid, sin, softmax,
                  sqrt, squeeze, stack, std, sub, sum, tanh, transpose, unsqueeze, var, where)
from .ops.surface_methods import FUNCTIONS as _SURFACE_FUNCTIONS, install as _install_methods
from .ops.linalg import addmm, bmm, dot, mm, mv, norm, t
from .ops.tiling import chunk, flip, split, unbind
from .ops.sorting import argsort, sort, topk
from .ops.scan import cumsum, prod
from .ops.logic import all, any, eq, ge, gt, le, lt, ne  # noqa: A004
from .ops.gather import gather, index_select, masked_fill, scatter_add
from .ops.rounding import ceil, floor, isfinite, isinf, isnan, nan_to_num, round, sign  # noqa: A004
from .autograd_api import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .serialization import load, save
from . import distributed, graph  # distributed imports no MPI until init_process_group

_install_methods(Tensor)
from . import accelerator, backends, cuda
from .device import device
from .upper import upper_package as _upper_package


__all__ = [name for name in dir() if not name.startswith("_")]


def __getattr__(name):
    """``engine.testing`` (it imports Hypothesis) and ``engine.utils`` (``engine.utils.data``,
    PyTorch's ``torch.utils.data``) on first touch (``import engine`` imports neither);
    ``engine.nn``, ``engine.optim`` (and so ``engine.nn.functional``): the packages above the
    engine once they are imported (``import nn``) — the engine itself never imports them."""
    if name in ("testing", "utils"):
        import importlib

        return importlib.import_module("." + name, __name__)
    return _upper_package(name)
