"""Runs a body of checks on Hypothesis-drawn examples and reports the minimised one.

``run(items, body, max_examples)``: each item is a Hypothesis strategy (drawn per example) or a
fixed value; ``body(values)`` raises a ``CheckFailure``. When nothing is drawn the body runs once
on the values given (so ``check_function`` also works inside a user's own ``@given`` test).
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .. import Tensor
from .errors import CheckFailure

_DEFAULT_MAX_EXAMPLES = 20


def default_max_examples() -> int:
    """How many examples a check draws when ``max_examples`` is not given (20, or what
    ``set_default_max_examples`` / the pytest option ``--gradcheck-max-examples`` set)."""
    return _DEFAULT_MAX_EXAMPLES


def set_default_max_examples(n) -> None:
    """Set the default number of examples of ``check_function``/``check_module`` (None resets).
    A process-wide default for test sessions (the pytest plugin sets it once), not a switch."""
    global _DEFAULT_MAX_EXAMPLES
    if n is None:
        _DEFAULT_MAX_EXAMPLES = 20
        return
    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise ValueError(f"max_examples must be a positive integer, got {n!r}")
    _DEFAULT_MAX_EXAMPLES = int(n)


def describe(values) -> str:
    """A readable listing of example values: Tensors with shape, dtype and contents."""
    values = list(values)
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = list(values[0])  # one drawn tuple of forward arguments
    lines = []
    for i, v in enumerate(values):
        if isinstance(v, Tensor):
            body = np.array2string(np.asarray(v.numpy()), precision=6, threshold=60,
                                   separator=", ").replace("\n", "\n    ")
            lines.append(f"  input {i}: Tensor shape={tuple(v.shape)} dtype={v.dtype} "
                         f"requires_grad={v.requires_grad}\n    {body}")
        else:
            lines.append(f"  input {i}: {v!r}")
    return "\n".join(lines) if lines else "  (no inputs)"


def run(items, body, max_examples=None):
    """Run ``body`` on examples drawn from ``items`` (strategies or fixed values); re-raise the
    first ``CheckFailure`` on the example Hypothesis minimised, with that example in the message."""
    items = list(items)
    if max_examples is None:
        max_examples = default_max_examples()
    if isinstance(max_examples, bool) or int(max_examples) != max_examples or max_examples < 1:
        raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")
    if not any(isinstance(s, st.SearchStrategy) for s in items):
        try:
            body(items)
        except CheckFailure as e:
            raise e.with_example(describe(items), "the inputs given") from None
        return
    count = [0]

    def one_example(values):
        count[0] += 1
        try:
            body(list(values))
        except CheckFailure as e:
            e.with_example(describe(values))
            raise

    strategy = st.tuples(*[s if isinstance(s, st.SearchStrategy) else st.just(s) for s in items])
    test = settings(max_examples=int(max_examples), deadline=None, database=None,
                    report_multiple_bugs=False,
                    phases=[p for p in settings.default.phases if p is not Phase.explain],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])(given(strategy)(one_example))
    try:
        test()
    except CheckFailure as e:
        e.with_example(e.example, f"minimised by Hypothesis; {count[0]} examples run")
        raise
