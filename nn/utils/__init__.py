"""nn.utils: gradient clipping, batch-norm fusion, pruning, growing a Linear (``widen_linear``)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .fusion import fuse_batchnorm  # noqa: F401
from .grow import widen_linear  # noqa: F401
