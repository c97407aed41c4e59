"""engine.utils: PyTorch's ``torch.utils`` — ``engine.utils.data`` (datasets, samplers, DataLoader)."""
from . import data  # noqa: F401
