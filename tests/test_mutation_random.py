"""engine.random: seeding, generator objects and state snapshots (written against the mutants mutmut
left alive, docs/mutation.md). Properties: a seed fixes the stream (and NumPy's legacy one), a state
snapshot replays exactly, a thread's seed never touches another thread's stream."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine import random as R

seeds = st.integers(-(2 ** 70), 2 ** 70)


@settings(deadline=None, max_examples=30)
@given(seed=seeds)
def test_manual_seed_fixes_both_streams(seed):
    """Property: after manual_seed(s) the library stream is NumPy's default_rng(s mod 2**64) and
    the legacy global stream is np.random.seed(s mod 2**32)."""
    gen = R.manual_seed(seed)
    assert gen is R.generator()
    first = R.generator().random(4)
    legacy = np.random.random(3)
    np.testing.assert_array_equal(first, np.random.default_rng(seed % 2 ** 64).random(4))
    np.testing.assert_array_equal(legacy, np.random.RandomState(seed % 2 ** 32).random_sample(3))


def test_manual_seed_accepts_integers_only():
    R.manual_seed(np.int64(5))
    R.manual_seed("7")                                 # int("7") works, as torch.manual_seed("7") does
    np.testing.assert_array_equal(R.generator().random(2), np.random.default_rng(7).random(2))
    for bad in (None, "seven", [1]):
        with pytest.raises(TypeError, match=f"manual_seed expected an integer seed, got {type(bad).__name__}"):
            R.manual_seed(bad)


def test_seed_returns_a_seed_that_reproduces_the_stream():
    s = R.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 63
    a = R.generator().random(3)
    R.manual_seed(s)
    np.testing.assert_array_equal(a, R.generator().random(3))
    assert R.seed() != s                                 # fresh entropy each call


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 2 ** 63 - 1), skip=st.integers(0, 5))
def test_rng_state_snapshot_replays(seed, skip):
    """Property: set_rng_state(get_rng_state()) replays the draws made after the snapshot."""
    R.manual_seed(seed)
    R.generator().random(skip)
    state = R.get_rng_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    a = R.generator().random(5)
    R.set_rng_state(state)
    np.testing.assert_array_equal(a, R.generator().random(5))
    R.set_rng_state(state.tolist())                       # any sequence of byte values (Python ints)
    np.testing.assert_array_equal(a, R.generator().random(5))


@pytest.mark.parametrize("bad", [np.zeros(3, np.uint8), np.frombuffer(b'{"x": 1}', np.uint8),
                                 np.frombuffer(b"\xff\xfe", np.uint8), "not a state"])
def test_set_state_rejects_garbage(bad):
    before = R.get_rng_state()
    with pytest.raises(ValueError, match=r"set_state: not a generator state from get_state\(\)"):
        R.set_rng_state(bad)
    with pytest.raises(ValueError, match=r"set_state: not a generator state from get_state\(\)"):
        R.Generator().set_state(bad)
    np.testing.assert_array_equal(R.get_rng_state(), before)


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 2 ** 63 - 1))
def test_generator_objects(seed):
    """Property: Generator(seed) is default_rng(seed); initial_seed reports it; get/set_state replays;
    it is independent of the library stream."""
    g = R.Generator()
    assert g.device == "cpu"
    assert g.manual_seed(seed) is g and g.initial_seed() == seed
    R.manual_seed(1)
    lib = R.generator().random(2)
    state = g.get_state()
    a = g._rng.random(4)
    np.testing.assert_array_equal(a, np.random.default_rng(seed).random(4))
    assert g.set_state(state) is g
    np.testing.assert_array_equal(g._rng.random(4), a)
    R.manual_seed(1)
    np.testing.assert_array_equal(R.generator().random(2), lib)
    s = g.seed()
    assert s == g.initial_seed() and 0 <= s < 2 ** 63 and s != seed
    np.testing.assert_array_equal(g._rng.random(2), np.random.default_rng(s).random(2))


def test_fresh_seeds_cover_the_whole_range():
    """Seeds from entropy (engine.seed, Generator(), Generator.seed) are uniform over [0, 2**63):
    64 draws all below 2**63 and some above 2**62 (fails with probability 2**-64 when correct)."""
    draws = [R.seed() for _ in range(64)]
    draws += [R.Generator().initial_seed() for _ in range(64)]
    g = R.Generator()
    draws += [g.seed() for _ in range(64)]
    for chunk in (draws[:64], draws[64:128], draws[128:]):
        assert all(0 <= s < 2 ** 63 for s in chunk) and max(chunk) >= 2 ** 62


def test_generator_fresh_seed_and_device():
    a, b = R.Generator(), R.Generator("cpu")
    assert a.initial_seed() != b.initial_seed() and 0 <= a.initial_seed() < 2 ** 63
    np.testing.assert_array_equal(a._rng.random(2), np.random.default_rng(a.initial_seed()).random(2))
    assert engine.Generator is R.Generator
    with pytest.raises(RuntimeError, match="Generator: device 'cuda' is not available in this build"):
        R.Generator("cuda")


def test_thread_seed_is_local_and_unseeded_threads_share_the_default():
    R.manual_seed(3)
    main_first = R.generator().random(2)
    R.manual_seed(3)
    out = {}

    def seeded():
        out["gen"] = R.manual_seed(11)
        out["seeded"] = (R.generator() is out["gen"], R.generator().random(2))

    def unseeded():
        out["unseeded"] = R.generator() is R._DEFAULT

    for fn in (seeded, unseeded):
        t = threading.Thread(target=fn)
        t.start()
        t.join()
    assert out["seeded"][0] and out["unseeded"]
    np.testing.assert_array_equal(out["seeded"][1], np.random.default_rng(11).random(2))
    np.testing.assert_array_equal(R.generator().random(2), main_first)   # untouched by the thread's seed
