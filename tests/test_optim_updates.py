"""The fused Numba update kernels equal their NumPy reference twins (engine/kernels/optim_updates)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.kernels import optim_updates as ou

SHAPES = st.lists(st.sampled_from([(), (1,), (3, 4), (7,), (2, 3, 2)]), min_size=1, max_size=4)


def _arrays(rng, shapes, dtype, positive=False):
    out = []
    for s in shapes:
        a = np.array(rng.standard_normal(s), dtype=dtype)
        out.append(np.array(np.abs(a) + 0.5, dtype=dtype) if positive else a)
    return out


def _run_both(fn, arrays):
    results = []
    for backend in ("numpy", "numba"):
        copies = [[a.copy() for a in col] if isinstance(col, list) else col for col in arrays]
        fn(copies, backend)
        results.append(copies)
    return results


def _assert_close(results, dtype):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for col_a, col_b in zip(*results):
        if isinstance(col_a, list):
            for a, b in zip(col_a, col_b):
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


CASES = {
    "sgd": lambda A, b, o: ou.sgd_update(A[0], A[1], A[2], o["first"], lr=o["lr"], momentum=o["mom"],
                                         dampening=o["damp"], weight_decay=o["wd"], nesterov=o["nest"],
                                         maximize=o["max"], backend=b),
    "adagrad": lambda A, b, o: ou.adagrad_update(A[0], A[1], A[3], o["c1"], weight_decay=o["wd"], eps=1e-10,
                                                 maximize=o["max"], backend=b),
    "rmsprop": lambda A, b, o: ou.rmsprop_update(A[0], A[1], A[3], A[2], A[4], lr=o["lr"], alpha=0.9, eps=1e-8,
                                                 weight_decay=o["wd"], momentum=o["mom"], centered=o["flag"],
                                                 maximize=o["max"], backend=b),
    "adam": lambda A, b, o: ou.adam_update(A[0], A[1], A[2], A[3], A[4], o["c1"], o["c2"], beta1=0.9, beta2=0.99,
                                           eps=1e-8, weight_decay=o["wd"], decay=o["decay"], amsgrad=o["flag"],
                                           maximize=o["max"], backend=b),
    "nadam": lambda A, b, o: ou.nadam_update(A[0], A[1], A[2], A[3], [-c for c in o["c1"]], [-c for c in o["c2"]],
                                             o["c2"], beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=o["wd"],
                                             decay=o["decay"], maximize=o["max"], backend=b),
}


@settings(deadline=None, max_examples=25)
@given(name=st.sampled_from(sorted(CASES)), shapes=SHAPES, seed=st.integers(0, 2**31 - 1),
       dtype=st.sampled_from([np.float64, np.float32]), flag=st.booleans(), maximize=st.booleans(),
       wd=st.sampled_from([0.0, 0.1]), mom=st.sampled_from([0.0, 0.9]), nest=st.booleans())
def test_kernel_equals_numpy_twin(name, shapes, seed, dtype, flag, maximize, wd, mom, nest):
    rng = np.random.default_rng(seed)
    T = len(shapes)
    # slots: 0 params, 1 grads, 2 free state, 3 positive state (sums / square averages), 4 positive state
    cols = [_arrays(rng, shapes, dtype), _arrays(rng, shapes, dtype), _arrays(rng, shapes, dtype),
            _arrays(rng, shapes, dtype, positive=True), _arrays(rng, shapes, dtype, positive=True)]
    if name == "rmsprop":            # centered needs square_avg >= grad_avg**2
        cols[3] = [np.array(a + b * b, dtype=dtype) for a, b in zip(cols[3], cols[2])]
    opts = dict(first=list(rng.integers(0, 2, T)), lr=0.1, mom=mom, damp=0.0 if nest else 0.3,
                nest=nest and mom > 0, wd=wd, max=maximize, flag=flag, decay=0.99 if flag else 1.0,
                c1=list(rng.uniform(0.01, 0.5, T)), c2=list(rng.uniform(0.1, 1.0, T)))
    results = _run_both(lambda A, b: CASES[name](A, b, opts), cols)
    _assert_close(results, dtype)
    # the update did something (the test can fail if a backend were a no-op)
    assert any(not np.array_equal(a, b) for a, b in zip(results[1][0], cols[0]))


def test_kernel_handles_many_chunks_and_mixed_sizes():
    rng = np.random.default_rng(0)
    shapes = [(3 * ou.CHUNK + 5,), (2,), (ou.CHUNK,), (0,)]
    cols = [_arrays(rng, shapes, np.float32) for _ in range(3)] + [_arrays(rng, shapes, np.float32, True)] * 2
    T = len(shapes)
    fn = lambda A, b: CASES["adam"](A, b, dict(c1=[0.1] * T, c2=[0.5] * T, wd=0.1, decay=1.0, flag=True, max=False))
    _assert_close(_run_both(fn, cols), np.float32)


def test_unknown_backend_raises():
    p = [np.zeros(3)]
    with pytest.raises(ValueError, match="backend"):
        ou.sgd_update(p, p, [], [0], lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False, backend="gpu")
