"""A module-scoped autouse fixture for the kernel tests: tiered kernels (``_par.Tier``) run from
their first call, so those tests exercise the Numba kernels, not the NumPy paths of a process's
first calls (tests/test_kernels_tiers.py checks that those give the kernels' bits).

Use: ``from tiers import kernels_from_the_first_call  # noqa: F401`` in the test module."""
import pytest

from engine.kernels import _par


@pytest.fixture(autouse=True, scope="module")
def kernels_from_the_first_call():
    saved = _par.TIER_CALLS
    _par.TIER_CALLS = 0
    yield
    _par.TIER_CALLS = saved
