"""The lectures' claims as experiments anyone can rerun (issue 12): one module per experiment,
each with ``NAME``, ``TITLE``, ``CLAIM`` and ``run(cfg) -> dict`` writing
``cfg.out/NAME/figure.png`` and ``results.md``.

    python -m examples.experiments NAME [--quick] [--data-dir DIR] [--out DIR]
    python -m examples.experiments all --quick
"""
from __future__ import annotations

import importlib
import time

from .common import Config

# number in the issue -> module name (the experiment's NAME on the command line)
EXPERIMENTS = {
    1: "initialization",
    2: "batchnorm",
    3: "dropout",
    4: "regularization",
    5: "early_stopping",
    6: "optimizers",
    7: "lr_schedules",
    8: "landscape",
    9: "depth",
    10: "architectures",
    11: "pretraining",
    12: "growth",
    13: "pruning",
    14: "ensembles",
}


def available():
    """Names of the experiments whose module exists, in the lectures' order."""
    names = []
    for name in EXPERIMENTS.values():
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            continue
        names.append(name)
    return names


def run(name, cfg=None):
    """Run experiment ``name`` with ``cfg`` (a :class:`Config`); returns its measured results."""
    cfg = cfg or Config()
    if name not in EXPERIMENTS.values():
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS.values())} or 'all'")
    module = importlib.import_module(f"{__name__}.{name}")
    start = time.perf_counter()
    results = module.run(cfg)
    results["seconds"] = time.perf_counter() - start
    return results


__all__ = ["Config", "EXPERIMENTS", "available", "run"]
