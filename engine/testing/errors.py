"""The failures ``check_function`` raises: one ``AssertionError`` subclass per check.

Each carries what a user needs to find the bug: the input (index or parameter name), the element,
the analytic and the numeric value where there are two numbers to compare, and, once Hypothesis
has shrunk it, the minimised example (``example``) appended to the message.
"""
from __future__ import annotations


class CheckFailure(AssertionError):
    """Base class: ``check`` names the check that failed; ``example`` is the (minimised) input."""

    check = "check"

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details
        self.example = None
        for key, value in details.items():
            setattr(self, key, value)

    def with_example(self, example: str, note: str = "") -> "CheckFailure":
        """Append the falsifying example (as Hypothesis minimised it) to the message."""
        self.example = example
        head = "Falsifying example" + (f" ({note})" if note else "")
        self.args = (f"{self.message}\n{head}:\n{example}",)
        return self

    def __str__(self):
        return f"[{self.check}] {self.args[0]}" if self.args else f"[{self.check}]"


class GradientMismatch(CheckFailure):
    """Backward disagrees with central finite differences (``input``, ``element``,
    ``output_element``, ``analytic``, ``numeric``)."""

    check = "gradient"


class DoubleBackwardMismatch(CheckFailure):
    """The derivative of backward (create_graph=True) disagrees with finite differences of
    backward, or double backward raised although the brick claims it."""

    check = "double_backward"


class NonLinearBackward(CheckFailure):
    """backward(αu + βw) ≠ α·backward(u) + β·backward(w): backward is not linear in the output
    gradient (e.g. it squares, takes abs of, or adds a constant to the upstream gradient)."""

    check = "linearity"


class InputMutated(CheckFailure):
    """Forward or backward changed an input in place (``input``, ``element``, ``before``,
    ``after``)."""

    check = "input_mutation"


class UpstreamGradientMutated(CheckFailure):
    """backward changed the gradient it received (``output``, ``element``, ``before``,
    ``after``)."""

    check = "upstream_mutation"


class SavedTensorsNotReleased(CheckFailure):
    """After backward (retain_graph=False) a node still holds tensors: saved values not freed, or
    Tensors/arrays kept as ctx attributes instead of ``ctx.save_for_backward``."""

    check = "release"


class GraphUnderNoGrad(CheckFailure):
    """Under ``no_grad`` the output requires grad or has a grad_fn, or differs from the output
    computed with grad recording on."""

    check = "no_grad"


class NonFiniteCrash(CheckFailure):
    """A NaN or ±Inf in an input made forward or backward raise."""

    check = "nonfinite"


# the order they run in: cheap invariants first, so a failure among them is found (and shrunk) fast
FUNCTION_CHECKS = ("no_grad", "input_mutation", "upstream_mutation", "release", "linearity",
                   "gradient", "double_backward", "nonfinite")
