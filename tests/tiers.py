"""A module-scoped autouse fixture for the kernel tests: tiered kernels (``_par.Tier``) run from
their first call, so those tests exercise the Numba kernels, not the NumPy paths of a process's
first calls (tests/test_kernels_tiers.py checks that those give the kernels' bits).

Use: ``from tiers import kernels_from_the_first_call  # noqa: F401`` in the test module. Also the
helpers ``tier_and_kernel`` (one call on each tier) and ``same_bits`` (dtype, shape and bytes equal)."""
import numpy as np
import pytest

from engine.kernels import _par


@pytest.fixture(autouse=True, scope="module")
def kernels_from_the_first_call():
    saved = _par.TIER_CALLS
    _par.TIER_CALLS = 0
    yield
    _par.TIER_CALLS = saved


def tier_and_kernel(fn, *args, **kwargs):
    """``fn`` with the NumPy tier (TIER_CALLS huge), then with the kernels (TIER_CALLS = 0)."""
    saved = _par.TIER_CALLS
    try:
        _par.TIER_CALLS = 1 << 62
        tier = fn(*args, **kwargs)
        _par.TIER_CALLS = 0
        return tier, fn(*args, **kwargs)
    finally:
        _par.TIER_CALLS = saved


def same_bits(a, b):
    """``a`` and ``b`` have the same dtype, shape and bytes."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert a.tobytes() == b.tobytes(), f"max difference {np.nanmax(np.abs(a.astype(np.float64) - b))}"
