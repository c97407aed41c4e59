"""Property-based verification for your own bricks: Hypothesis strategies that draw Tensors,
``assert_gradients_match`` for one function, and ``check_function`` for a whole brick.

``import engine`` makes ``engine.testing`` reachable but imports it (and Hypothesis) only on
first touch. Modules are checked by ``nn.testing.check_module`` (the engine knows nothing of nn).

A complete example (save as ``test_my_brick.py`` and run ``pytest``)::

    import numpy as np
    from hypothesis import given, settings, strategies as st

    from engine import Function
    from engine.testing import assert_gradients_match, check_function, shapes, tensors


    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x


    def test_cube_keeps_every_invariant():
        # gradients, second derivatives, linearity, no mutation, no_grad, release, NaN/Inf
        check_function(Cube, tensors(shape=shapes(max_dims=2, max_side=3)), max_examples=10)


    @settings(deadline=None, max_examples=25)
    @given(tensors(shape=shapes(max_dims=3, max_side=4)))
    def test_cube_forward_and_gradient(x):
        np.testing.assert_allclose(Cube.apply(x).numpy(), x.numpy() ** 3)
        assert_gradients_match(Cube.apply, x)          # non-scalar output: every element checked

Keep shapes small in gradient checks: finite differences evaluate the function twice per input
element.
"""
from __future__ import annotations

from .errors import (FUNCTION_CHECKS, CheckFailure, DoubleBackwardMismatch, GradientMismatch,
                     GraphUnderNoGrad, InputMutated, NonFiniteCrash, NonLinearBackward,
                     SavedTensorsNotReleased, UpstreamGradientMutated)
from .function_checks import check_function
from .gradients import assert_gradients_match
from .runner import default_max_examples, set_default_max_examples
from .strategies import broadcastable_shapes, dtypes, elements, shapes, tensors

__all__ = ["shapes", "broadcastable_shapes", "dtypes", "elements", "tensors",
           "assert_gradients_match", "check_function", "FUNCTION_CHECKS", "CheckFailure",
           "GradientMismatch", "DoubleBackwardMismatch", "NonLinearBackward", "InputMutated",
           "UpstreamGradientMutated", "SavedTensorsNotReleased", "GraphUnderNoGrad",
           "NonFiniteCrash", "default_max_examples", "set_default_max_examples"]
