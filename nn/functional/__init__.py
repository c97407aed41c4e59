"""``nn.functional`` (import as F): every layer and loss as a function, PyTorch names."""
from engine import pad  # noqa: F401  (F.pad is engine.pad)

from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .activation_extra import *  # noqa: F401,F403
from .activation_shrink import *  # noqa: F401,F403
from .conv_extra import *  # noqa: F401,F403
from .dropout1d import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .loss_extra import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
