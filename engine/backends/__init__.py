"""``engine.backends``: PyTorch's ``torch.backends`` switches that CPU programs touch
(``backends.mps.is_available()``, ``backends.cudnn.benchmark = True``); none changes anything here."""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
