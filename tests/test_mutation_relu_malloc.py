"""Mutation-test gaps of engine.kernels.relu and engine._malloc: which path relu_backward's tier
runs, and keep_freed_memory's / _is_glibc's fallbacks where the C library is not glibc or lacks
mallopt (checked in-process with a fake CDLL, so glibc's malloc settings are never touched)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine import _malloc
from engine.kernels import _par
from engine.kernels import relu as R


@settings(deadline=None, max_examples=20)
@given(st.integers(0, 4), st.integers(0, 8))
def test_relu_backward_runs_the_numpy_twin_for_the_first_tier_calls_then_the_kernel(tier_calls, n):
    g = np.array([1.0, -2.0, 3.0], np.float32)
    out = np.array([0.5, 0.0, -1.0], np.float32)
    twin, kernel = [], []
    numpy_twin, numba_kernel = R.relu_backward_reference, R._backward
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_par, "TIER_CALLS", tier_calls)
        mp.setattr(R, "_TIER", _par.Tier("relu"))
        mp.setattr(R, "relu_backward_reference", lambda *a: twin.append(1) or numpy_twin(*a))
        mp.setattr(R, "_backward", lambda *a: kernel.append(1) or numba_kernel(*a))
        for _ in range(n):
            np.testing.assert_array_equal(R.relu_backward(g, out), np.array([1.0, 0.0, 0.0], np.float32))
    assert len(twin) == min(n, tier_calls) and len(kernel) == n - min(n, tier_calls)


class _FakeCDLL:
    """Stands in for ``ctypes.CDLL``: records its construction; ``has_mallopt`` says whether the
    library has a ``mallopt`` (one that records its calls and succeeds)."""

    def __init__(self, has_mallopt):
        self.opened, self.calls, self.has_mallopt = [], [], has_mallopt

    def __call__(self, name):
        self.opened.append(name)
        if not self.has_mallopt:
            return object()                      # no .mallopt: AttributeError
        fake = self

        class _Lib:
            @staticmethod
            def mallopt(*args):
                fake.calls.append(args)
                return 1
        return _Lib()


@pytest.fixture
def untuned_env(monkeypatch):
    """No opt-out and no user malloc settings, so keep_freed_memory gets past its first check."""
    for key in ("GRADBRICKS_MALLOC_TUNING", "GLIBC_TUNABLES") + _malloc._USER_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_keep_freed_memory_does_nothing_when_the_c_library_is_not_glibc(untuned_env):
    cdll = _FakeCDLL(has_mallopt=True)
    untuned_env.setattr(_malloc.ctypes, "CDLL", cdll)
    untuned_env.setattr(_malloc, "_is_glibc", lambda: False)
    assert _malloc.keep_freed_memory() is False
    assert cdll.opened == [] and cdll.calls == []


@pytest.mark.parametrize("library", ["cannot be opened", "has no mallopt"])
def test_keep_freed_memory_is_false_when_mallopt_cannot_be_found(untuned_env, library):
    def cdll(name):
        if library == "cannot be opened":
            raise OSError(name)
        return _FakeCDLL(has_mallopt=False)(name)
    untuned_env.setattr(_malloc, "_is_glibc", lambda: True)
    untuned_env.setattr(_malloc.ctypes, "CDLL", cdll)
    assert _malloc.keep_freed_memory() is False


@pytest.mark.parametrize("error", [AttributeError, ValueError, OSError])
def test_is_glibc_is_false_when_confstr_fails(monkeypatch, error):
    def confstr(name):
        raise error(name)
    monkeypatch.setattr(_malloc.os, "confstr", confstr)
    assert _malloc._is_glibc() is False
