"""How ``engine.nn`` and ``engine.optim`` resolve (so that ``import engine as torch`` programs can
write ``torch.nn.Linear``, ``torch.nn.functional.relu``, ``torch.optim.SGD``).

The engine imports nothing above it. ``engine.nn`` is looked up lazily by the engine's module
``__getattr__``: it is the top-level package ``nn`` when that is already imported
(``sys.modules``), else an ``AttributeError`` saying which import is missing.
"""
from __future__ import annotations

import sys

UPPER = {"nn": "import nn", "optim": "import optim", "viz": "import viz"}


def upper_package(name: str):
    """The already imported package ``name`` (``nn``, ``optim``, ``viz``), else AttributeError."""
    if name in UPPER:
        mod = sys.modules.get(name)
        if mod is not None:
            return mod
        raise AttributeError(f"engine.{name} is the package '{name}', which is not imported yet: "
                             f"add `{UPPER[name]}` next to `import engine as torch` (the engine "
                             f"never imports the packages built on it)")
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
