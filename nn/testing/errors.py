"""The failures ``check_module`` raises, one ``AssertionError`` subclass per check (gradients
and input mutation reuse ``engine.testing.GradientMismatch`` / ``InputMutated``)."""
from __future__ import annotations

from engine.testing import CheckFailure


class UnregisteredState(CheckFailure):
    """A Module, Parameter or Tensor held in a plain attribute or container: invisible to
    ``parameters()``, ``state_dict()`` and dtype conversion (use ModuleList/register_buffer)."""

    check = "registration"


class ReprMismatch(CheckFailure):
    """``repr(module)`` disagrees with the module: a child missing, ``name=value`` not the
    attribute's value, or ``bias=``/``affine=`` not matching the parameters."""

    check = "repr"


class SeedNotReproducible(CheckFailure):
    """Two modules built after the same ``engine.manual_seed`` differ in state or output."""

    check = "seed"


class EvalNotDeterministic(CheckFailure):
    """In eval mode two forwards of the same input differ, or a forward changed a buffer."""

    check = "eval_deterministic"


class TrainEvalMismatch(CheckFailure):
    """train()/eval() did not reach every submodule, or a dropout/batch-norm submodule does not
    behave as documented in that mode."""

    check = "train_eval"


class UnusedParameters(CheckFailure):
    """Parameters that receive no gradient from a training-mode forward/backward (``names``)."""

    check = "unused_parameters"


class StateDictRoundTripMismatch(CheckFailure):
    """A fresh module (another seed) loaded with ``engine.load(engine.save(state_dict()))``
    does not reproduce the outputs bit for bit."""

    check = "state_dict"


class BatchDependence(CheckFailure):
    """In eval, row i of a batched output differs from the output for example i alone."""

    check = "batch_independence"


MODULE_CHECKS = ("registration", "repr", "seed", "input_mutation", "train_eval",
                 "eval_deterministic", "unused_parameters", "state_dict", "batch_independence", "gradient")
