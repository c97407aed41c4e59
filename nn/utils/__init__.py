"""nn.utils: gradient clipping, batch-norm fusion, pruning."""
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .fusion import fuse_batchnorm  # noqa: F401
