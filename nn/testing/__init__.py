"""Property-based verification of whole layers: ``check_module`` (gradients w.r.t. inputs and
every parameter by name, train vs eval, state_dict round trip, seeded reproducibility, unused
parameters, batch independence, repr) and strategies for layer configurations
(``conv2d_configs``, ``modules``). See docs/verification.md for a worked example.

Example::

    import nn
    from nn.testing import check_module

    def test_my_layer():
        check_module(lambda: nn.Linear(3, 2), (4, 3), max_examples=5)
"""
from __future__ import annotations

from .errors import (MODULE_CHECKS, BatchDependence, EvalNotDeterministic, ReprMismatch,
                     SeedNotReproducible, StateDictRoundTripMismatch, TrainEvalMismatch,
                     UnregisteredState, UnusedParameters)
from .module_checks import check_module
from .strategies import Conv2dConfig, ModuleCase, conv2d_configs, modules

__all__ = ["check_module", "conv2d_configs", "modules", "Conv2dConfig", "ModuleCase",
           "MODULE_CHECKS", "UnregisteredState", "ReprMismatch", "SeedNotReproducible",
           "EvalNotDeterministic", "TrainEvalMismatch", "UnusedParameters",
           "StateDictRoundTripMismatch", "BatchDependence"]
