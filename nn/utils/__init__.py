"""nn.utils: gradient clipping, batch-norm fusion, pruning (``nn.utils.prune``), ``summary``, growing
a Linear (``widen_linear``)."""
from . import prune  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .fusion import fuse_batchnorm  # noqa: F401
from .grow import widen_linear  # noqa: F401
from .summary import summary  # noqa: F401
