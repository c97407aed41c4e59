"""``python -m nn.training``: the main job (see ``nn.training.cli``)."""
import sys

from .cli import main

sys.exit(main())
