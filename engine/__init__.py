"""gradbricks' autodiff core: Tensor, Scalar, Function, backward, no_grad, gradcheck.

Nothing here imports ``nn``, ``optim`` or ``viz``, and importing it compiles no Numba kernel.
The modules import each other in one direction (CONTRIBUTING.md, "The import chain"):
grad_mode → node → _backward → variable → function → ops → tensor → functional → the rest.
"""
from . import dtypes
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half,  # noqa: A004
                     promote_types, result_type,
                     int, int32, int64, long, set_default_dtype, uint8)
from .grad_mode import (detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .node import Node
from .function import Function
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state
from .tensor import Tensor
from .functional import *  # noqa: F401,F403  (abs add … where: one per row of engine.ops.TABLE)
from .scalar import Scalar
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                        randperm, tensor, zeros, zeros_like)
from .differentiate import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .serialization import load, save
from . import autograd, distributed, graph  # distributed imports no MPI until init_process_group
from . import accelerator, backends, cuda
from .device import device
from .upper import upper_package as _upper_package
from ._malloc import keep_freed_memory as _keep_freed_memory

_MALLOC_TUNED = _keep_freed_memory()  # glibc keeps freed memory for the next step (engine._malloc)

# the dtype aliases named like builtins (engine.int, engine.float, engine.bool) are attributes only:
# ``from engine import *`` must not shadow int/float/bool
__all__ = [name for name in dir() if not name.startswith("_") and name not in ("bool", "float", "int")]


def __getattr__(name):
    """``engine.testing`` (it imports Hypothesis) and ``engine.utils`` (``engine.utils.data``,
    PyTorch's ``torch.utils.data``) on first touch (``import engine`` imports neither);
    ``engine.nn``, ``engine.optim`` (and so ``engine.nn.functional``): the packages above the
    engine once they are imported (``import nn``) — the engine itself never imports them."""
    if name in ("testing", "utils"):
        import importlib

        return importlib.import_module("." + name, __name__)
    return _upper_package(name)
