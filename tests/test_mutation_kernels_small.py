"""The kernels' Python plumbing, checked where the kernel tests do not reach (mutation testing of
engine/kernels/optim_updates.py, _par.py, _blas.py, _threads.py, _checks.py and __init__.py):

* ``UpdateRule.update`` runs the kernel exactly when it should (``backend``, C-contiguous writeable
  arrays of the parameter's dtype, the ``Tier`` of exact rules) and gives the twin's results for
  mixed-dtype / strided gradients, stale or grown address plans and tensors of ``k*CHUNK + 1``
  elements; float32 hyper-parameters stay float32 (bits of ``w - lr*g`` in float32);
* ``_validate``'s errors and messages (mixed parameter dtypes, non-arrays, state lists of the wrong
  length, a bad slot after an unused one);
* ``_par``: thresholds, ``pick``, ``Tier.kernel_due``, the stand-ins' and lazy kernels' flags,
  defaults, closures and reprs, the twins' parallel/serial/cache options and distinct names;
* ``_blas``: the OpenBLAS lookup agrees with threadpoolctl, small products run on one BLAS thread
  (also when nested) and the user's count is restored and never raised; the fallback without
  OpenBLAS is ``np.matmul``;
* ``_threads``: chunks really run concurrently on ``nworkers`` threads with distinct worker ids,
  never past ``chunks``, an error in a pool thread reaches the caller; ``sum_in_order``'s order;
* ``_checks`` and ``choose_threading_layer`` (on a stand-in ``numba`` object).
"""
import os
import re
import subprocess
import sys
import threading
import types

import numba
import numpy as np
import pytest

import engine.kernels as kernels_pkg
from engine.kernels import _blas, _checks, _par, _threads, optim_updates as ou
from engine.kernels._par import prange
from optim.adam import ADAM_RULE
from optim.rmsprop import RMSPROP_RULE
from optim.sgd import SGD_RULE, sgd_reference

SGD_HYPER = dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)


# ------------------------------------------------------------------------------ optim_updates
class _Spy:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


def _spy_rule(**exact):
    pair = (_Spy(SGD_RULE.kernel[0]), _Spy(SGD_RULE.kernel[1]))
    rule = ou.UpdateRule("spy-sgd", pair, sgd_reference, state=("momentum_buffer",), per_tensor=("first",), **exact)
    return rule, pair


def _kernel_calls(pair):
    return pair[0].calls + pair[1].calls


def _sgd(rule, params, grads, **kw):
    rule.update(param=params, grad=grads, momentum_buffer=None, first=[False] * len(params), **SGD_HYPER, **kw)


def _sgd_by_hand(params, grads):
    return [p - p.dtype.type(SGD_HYPER["lr"]) * g.astype(p.dtype) for p, g in zip(params, grads)]


@pytest.fixture
def tier_calls(monkeypatch):
    def set_(n):
        monkeypatch.setattr(_par, "TIER_CALLS", n)
    set_(0)
    return set_


def test_update_runs_the_kernel_exactly_for_ready_arrays(tier_calls):
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        rule, pair = _spy_rule()
        p, g = [rng.standard_normal((3, 5)).astype(dtype)], [rng.standard_normal((3, 5)).astype(dtype)]
        want = _sgd_by_hand(p, g)
        _sgd(rule, p, g, cache={})
        assert _kernel_calls(pair) == 1
        np.testing.assert_allclose(p[0], want[0], rtol=1e-6)
        _sgd(rule, p, g, backend="numpy")
        assert _kernel_calls(pair) == 1, "backend='numpy' must not run the kernel"
    # not ready for the kernel: strided parameter, float16, strided state -> the twin, same result
    cases = [([rng.standard_normal((5, 3)).T], [rng.standard_normal((3, 5))]),
             ([rng.standard_normal(7).astype(np.float16)], [rng.standard_normal(7).astype(np.float16)])]
    for p, g in cases:
        rule, pair = _spy_rule()
        want = _sgd_by_hand(p, g)
        _sgd(rule, p, g, cache={})
        assert _kernel_calls(pair) == 0
        np.testing.assert_allclose(p[0], want[0], rtol=1e-3)
    rule, pair = _spy_rule()
    p, g = [np.ones((4, 3))], [np.ones((4, 3))]
    buf = [np.zeros((3, 4)).T]
    rule.update(param=p, grad=g, momentum_buffer=buf, first=[True], **dict(SGD_HYPER, momentum=0.9))
    assert _kernel_calls(pair) == 0
    np.testing.assert_array_equal(buf[0], 1.0)
    np.testing.assert_allclose(p[0], 0.9)


def test_a_read_only_parameter_is_not_written_behind_numpys_back(tier_calls):
    rule, pair = _spy_rule()
    p = np.ones(6)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _sgd(rule, [p], [np.ones(6)])
    assert _kernel_calls(pair) == 0
    np.testing.assert_array_equal(p, 1.0)


def test_exact_rules_run_the_twin_for_the_first_calls_others_never(tier_calls):
    tier_calls(3)
    rule, pair = _spy_rule(exact=True)
    seen = []
    for _ in range(5):
        _sgd(rule, [np.ones(4)], [np.ones(4)])
        seen.append(_kernel_calls(pair))
    assert seen == [0, 0, 0, 1, 2]
    assert repr(rule.tier) == "Tier('spy-sgd', calls=3)"
    tier_calls(1 << 62)
    rule, pair = _spy_rule()  # exact=False by default
    _sgd(rule, [np.ones(4)], [np.ones(4)])
    assert _kernel_calls(pair) == 1, "a rule whose twin rounds differently is never tiered"


def test_tier_counts_calls_until_the_kernel_is_due(monkeypatch):
    monkeypatch.setattr(_par, "TIER_CALLS", 2)
    tier = _par.Tier("x")
    assert [tier.kernel_due() for _ in range(4)] == [False, False, True, True]
    assert repr(tier) == "Tier('x', calls=2)"


def test_gradients_of_another_dtype_or_layout_are_converted_for_the_kernel(tier_calls):
    rng = np.random.default_rng(1)
    shapes = [(), (5, 4), (3,)]  # a 0-d parameter first
    for gdtype, strided in [(np.float32, False), (np.float64, True), (np.int64, False), (np.float32, True)]:
        p = [np.asarray(rng.standard_normal(s)) for s in shapes]
        if strided:
            g = [np.asarray(rng.standard_normal(s[::-1]).T).astype(gdtype) for s in shapes]
        else:
            g = [np.asarray(rng.integers(-3, 4, s) if gdtype == np.int64 else rng.standard_normal(s)).astype(gdtype)
                 for s in shapes]
        want = [a.copy() for a in p]
        _sgd(SGD_RULE, want, g, backend="numpy")
        _sgd(SGD_RULE, p, g, cache={})
        for a, b in zip(p, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_float32_hyper_parameters_stay_float32_in_the_kernel(tier_calls):
    rng = np.random.default_rng(2)
    p = [rng.standard_normal(2000).astype(np.float32)]
    g = [rng.standard_normal(2000).astype(np.float32)]
    want = _sgd_by_hand(p, g)
    _sgd(SGD_RULE, p, g)
    assert p[0].tobytes() == want[0].tobytes()


def test_adam_float32_kernel_gives_its_twins_bits(tier_calls):
    rng = np.random.default_rng(3)
    shapes = [(40, 30), (7,), (1,)]
    p = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    args = lambda ps: dict(exp_avg=[np.zeros_like(a) for a in ps], exp_avg_sq=[np.zeros_like(a) for a in ps],  # noqa: E731
                           max_exp_avg_sq=None, step_size=[0.01, 0.2, 0.03], bias_correction2_sqrt=[0.3, 0.5, 0.9],
                           beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decay=1.0, amsgrad=False,
                           maximize=False)
    g = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = [a.copy() for a in p]
    ADAM_RULE.update(param=want, grad=g, **args(want), backend="numpy")
    ADAM_RULE.update(param=p, grad=g, **args(p))
    for a, b in zip(p, want):
        assert a.tobytes() == b.tobytes()


def test_tensors_one_element_past_a_chunk_boundary_are_updated_to_the_end(tier_calls):
    rng = np.random.default_rng(4)
    shapes = [(ou.CHUNK + 1,), (3,), (2 * ou.CHUNK + 1,), (ou.CHUNK - 1,)]
    p = [rng.standard_normal(s) for s in shapes]
    g = [rng.standard_normal(s) for s in shapes]
    want = _sgd_by_hand(p, g)
    _sgd(SGD_RULE, p, g, cache={})
    for a, b in zip(p, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_cached_plan_is_not_reused_for_other_or_more_arrays(tier_calls):
    rng = np.random.default_rng(5)
    cache = {}
    keep = []
    for _ in range(3):  # new parameter arrays each time (the old ones kept alive: other addresses)
        p, g = [rng.standard_normal(6)], [rng.standard_normal(6)]
        want = _sgd_by_hand(p, g)
        _sgd(SGD_RULE, p, g, cache=cache)
        np.testing.assert_allclose(p[0], want[0], rtol=1e-12)
        keep.append((p[0], p[0].copy()))
    for a, after in keep:  # later calls did not touch the earlier arrays
        np.testing.assert_array_equal(a, after)
    # the same first array and one more: the second must be updated too
    p0, p1 = rng.standard_normal(5), rng.standard_normal(8)
    g0, g1 = rng.standard_normal(5), rng.standard_normal(8)
    cache = {}
    _sgd(SGD_RULE, [p0], [g0], cache=cache)
    want1 = p1 - 0.1 * g1
    _sgd(SGD_RULE, [p0, p1], [g0, g1], cache=cache)
    np.testing.assert_allclose(p1, want1, rtol=1e-12)
    # the same arrays again: the state slots must follow (momentum buffers of a new list)
    p = [np.ones(4)]
    cache = {}
    for buf_value in (0.0, 2.0):
        buf = [np.full(4, buf_value)]
        rule_args = dict(SGD_HYPER, momentum=0.5)
        want = p[0] - 0.1 * (0.5 * buf_value + 1.0)
        SGD_RULE.update(param=p, grad=[np.ones(4)], momentum_buffer=buf, first=[False], cache=cache, **rule_args)
        np.testing.assert_allclose(p[0], want, rtol=1e-12)
        np.testing.assert_allclose(buf[0], 0.5 * buf_value + 1.0, rtol=1e-12)


def test_first_parameter_not_an_ndarray_is_a_type_error():
    """(bug fixed: ``update`` read ``param[0].dtype`` before validating, so a non-ndarray first
    parameter raised AttributeError instead of the launcher's TypeError)"""
    with pytest.raises(TypeError, match=r"^sgd: param and grad must be ndarrays \(tensor 0\)$"):
        SGD_RULE.update(**_sgd_args(param=[[1.0] * 4], momentum_buffer=None))


def _sgd_args(**over):
    args = dict(param=[np.ones(4)], grad=[np.ones(4)], momentum_buffer=[np.zeros(4)], first=[False],
                **dict(SGD_HYPER, momentum=0.9))
    args.update(over)
    return args


def test_launcher_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"sgd: parameters of one call must share a dtype, got float64 and float32"):
        SGD_RULE.update(**_sgd_args(param=[np.ones(4), np.ones(4, np.float32)], grad=[np.ones(4)] * 2,
                                    momentum_buffer=None, first=[False] * 2))
    for p, g in [(np.ones(4), [1.0] * 4), ([1.0] * 4, np.ones(4)), ([1.0] * 4, [1.0] * 4)]:
        with pytest.raises(TypeError, match=r"^sgd: param and grad must be ndarrays \(tensor 1\)$"):
            SGD_RULE.update(**_sgd_args(param=[np.ones(4), p], grad=[np.ones(4), g], momentum_buffer=None,
                                        first=[False] * 2))
    with pytest.raises(ValueError, match=r"^sgd: momentum_buffer has 2 entries for 1 parameters$"):
        SGD_RULE.update(**_sgd_args(momentum_buffer=[np.zeros(4), np.zeros(4)]))
    with pytest.raises(ValueError, match=r"^sgd: momentum_buffer\[0\] must be an ndarray of shape \(4,\) and dtype "
                                         r"float64, got \(3,\) float64$"):
        SGD_RULE.update(**_sgd_args(momentum_buffer=[np.zeros(3)]))
    with pytest.raises(ValueError, match=r"^sgd: momentum_buffer\[0\] must be an ndarray of shape \(4,\) and dtype "
                                         r"float64, got list $"):
        SGD_RULE.update(**_sgd_args(momentum_buffer=[[0.0] * 4]))
    # a state slot after an unused one is still checked
    p = np.ones(4)
    with pytest.raises(ValueError, match=r"^rmsprop: momentum_buffer\[0\] must be an ndarray"):
        RMSPROP_RULE.update(param=[p], grad=[np.ones(4)], square_avg=[np.zeros(4)], grad_avg=None,
                            momentum_buffer=[np.zeros(3)], lr=0.1, alpha=0.9, eps=1e-8, weight_decay=0.0,
                            momentum=0.9, centered=False, maximize=False)
    np.testing.assert_array_equal(p, 1.0)


# ------------------------------------------------------------------------------ _par
def test_parallel_worth_threshold_is_inclusive_and_scaled(monkeypatch):
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 1000)
    assert _par.parallel_worth(1000) and not _par.parallel_worth(999)
    assert _par.parallel_worth(1000, "memory_bound") and not _par.parallel_worth(999, "memory_bound")
    assert _par.parallel_worth(8000, "chunks") and not _par.parallel_worth(7999, "chunks")
    assert _par.parallel_worth(250, "optimizer") and not _par.parallel_worth(249, "optimizer")


def test_stand_ins_resolve_to_numba_and_say_what_they_stand_for():
    assert repr(_par.nb) == "<stand-in for numba>"
    assert repr(_par.prange) == "<stand-in for numba.prange>"
    assert _par.nb.resolve() is numba and _par.prange.resolve() is numba.prange
    assert list(_par.prange(3)) == [0, 1, 2]
    assert _par.nb.get_num_threads() == numba.get_num_threads()
    assert _par.nb.njit is _par.njit  # lazy, not Numba's
    with pytest.raises(AttributeError):
        _par.nb.no_such_numba_attribute  # noqa: B018


def _div(a, b):
    return a / b


def _scaled(x, k=3.0):
    return x * k


def _closure(c):
    def add(x):
        return x + c
    return add


def test_njit_stand_in_keeps_flags_defaults_and_closures():
    # flags reach Numba: error_model="numpy" makes 1/0 inf instead of ZeroDivisionError
    for make in (lambda f: _par.njit(error_model="numpy")(f), lambda f: _par.Stand("njit")(error_model="numpy")(f)):
        assert make(_div)(1.0, 0.0) == np.inf
    with pytest.raises(ZeroDivisionError):
        _par.njit()(_div)(1.0, 0.0)
    bare = _par.njit(_div)
    assert isinstance(bare, _par.Lazy) and bare(1.0, 4.0) == 0.25
    assert _par.njit(_scaled)(2.0) == 6.0 and _par.njit(cache=False)(_scaled)(2.0, k=0.5) == 1.0
    assert _par.njit(_closure(5.0))(1.0) == 6.0


def test_lazy_kernel_repr_says_whether_it_is_made():
    lazy = _par.njit(_scaled)
    assert repr(lazy) == "<lazy Numba kernel _scaled (not made)>"
    assert lazy(1.0) == 3.0
    assert repr(lazy) == "<lazy Numba kernel _scaled>"


def _count_up(out):
    for i in prange(out.shape[0]):
        out[i] = i / 0.0 if out[i] == 0.5 else i


def test_twins_are_parallel_and_serial_cached_under_distinct_names_with_the_flags(monkeypatch):
    pair = _par.twins(_count_up, error_model="numpy")
    assert len(pair) == 2 and not pair.made
    par, ser = pair
    assert par.targetoptions.get("parallel") and not ser.targetoptions.get("parallel")
    # both get the flags (parfors would hide error_model, a warm cache any flag: check what Numba was given)
    assert par.targetoptions.get("error_model") == ser.targetoptions.get("error_model") == "numpy"
    assert par.py_func.__qualname__ != ser.py_func.__qualname__, "the twins would share a cache entry"
    for d in (par, ser):
        assert type(d._cache).__name__ != "NullCache", "cache=True"
        out = np.array([0.0, 0.5, 0.0])
        d(out)  # error_model="numpy": 1/0 is inf, no ZeroDivisionError
        np.testing.assert_array_equal(out, [0.0, np.inf, 2.0])
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)
    locked = _par.pick(pair, 1)
    assert locked.dispatcher is par
    for call in (lambda o: locked(o), lambda o: locked(out=o)):
        out = np.array([0.0, 0.0])
        call(out)
        np.testing.assert_array_equal(out, [0.0, 1.0])


def test_pick_honours_the_kind_and_the_thread_count(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one Numba thread")
    monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 1000)
    pair = ("parallel twin", "serial twin")
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        assert _par.pick(pair, 1000).dispatcher == "parallel twin" and _par.pick(pair, 999) == "serial twin"
        assert _par.pick(pair, 250, "optimizer").dispatcher == "parallel twin"
        assert _par.pick(pair, 7999, "chunks") == "serial twin"
        numba.set_num_threads(1)
        assert _par.pick(pair, 1 << 40) == "serial twin"
        monkeypatch.setattr(_par, "PARALLEL_MIN_ELEMENTS", 0)
        assert _par.pick(pair, 0).dispatcher == "parallel twin"
    finally:
        numba.set_num_threads(threads)


@_par.njit
def _twice(x):
    return 2 * x


def _sum_twice(n):
    s = 0
    for i in prange(n):
        s += _twice(i)
    return s


def test_uncached_lazy_kernels_see_numbas_prange_and_other_lazy_kernels():
    # no cache=True: compiled in this process, so the globals that _rebind resolves are used
    assert _par.njit(_sum_twice)(4) == 12
    assert _par.njit(parallel=True)(_sum_twice)(5) == 20


COLD_MODULE = """
from engine.kernels._par import prange

def kern(out):
    for i in prange(out.shape[0]):
        out[i] = i / 0.0 if out[i] == 0.5 else i
"""
COLD_SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from engine.kernels import _par
import coldmod
for d in _par.twins(coldmod.kern, error_model="numpy"):
    out = np.array([0.0, 0.5, 0.0])
    d(out)
    print(out.tolist(), sum(d.stats.cache_hits.values()))
from optim.adagrad import ADAGRAD_RULE
_par.PARALLEL_MIN_ELEMENTS, _par.TIER_CALLS = 1 << 62, 0  # the serial twin (Numba's default model raises)
p = np.ones(2)
with np.errstate(invalid="ignore"):
    ADAGRAD_RULE.update(param=[p], grad=[np.zeros(2)], sum=[np.zeros(2)], clr=[0.1], weight_decay=0.0, eps=0.0,
                        maximize=False)
print(p.tolist())
"""


def test_twins_compile_with_their_flags_and_separate_cache_entries_from_a_cold_cache(tmp_path):
    """A fresh interpreter and an empty Numba cache: the twins compile from source (a warm cache
    would load them whatever the flags), each with error_model="numpy", neither loading the other's;
    an optimizer update kernel too (optim_updates.FLAGS: 0/0 is NaN, not ZeroDivisionError)."""
    (tmp_path / "coldmod.py").write_text(COLD_MODULE)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", COLD_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                         env=env, cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["[0.0, inf, 2.0] 0", "[0.0, inf, 2.0] 0", "[nan, nan]"]


# ------------------------------------------------------------------------------ _blas
BIG = _par.WORK_SCALE["gemm"] * _par.PARALLEL_MIN_ELEMENTS  # multiply-adds from which BLAS gets 2 threads


@pytest.fixture
def blas():
    """The OpenBLAS (get, set) pair, set to two threads for the test (skipped without two)."""
    api = _blas._openblas()
    if not api:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that _blas finds")
    get, set_ = api
    saved = get()
    set_(2)
    if get() != 2:
        set_(saved)
        pytest.skip("OpenBLAS runs on one thread here")
    yield get, set_
    set_(saved)


def test_find_openblas_agrees_with_threadpoolctl(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libs = [c for c in threadpoolctl.ThreadpoolController().lib_controllers
            if c.internal_api == "openblas" and "numpy" in c.filepath]
    if not libs:
        pytest.skip("NumPy's BLAS is not an OpenBLAS")
    monkeypatch.setattr(_blas, "_api", None)
    api = _blas._openblas()
    assert api and _blas._api is api
    get, set_ = _blas._find_openblas()
    saved = get()
    try:
        for n in (1, 2):
            set_(n)
            assert get() == n
            info = threadpoolctl.ThreadpoolController().select(internal_api="openblas").info()
            assert [i["num_threads"] for i in info if i["filepath"] == libs[0].filepath] == [n]
    finally:
        set_(saved)


def _recording_np(get, nested=None):
    seen = []

    def matmul(a, b, out=None):
        seen.append(get())
        if nested is not None and not nested.get("done"):
            nested["done"] = True
            _blas.matmul(np.ones((2, 3)), np.ones((3, 2)))
            seen.append(get())
        return np.matmul(a, b, out=out)
    return types.SimpleNamespace(matmul=matmul), seen


def test_small_products_run_on_one_blas_thread_and_restore_the_count(blas, monkeypatch):
    get, set_ = blas
    fake, seen = _recording_np(get)
    monkeypatch.setattr(_blas, "np", fake)
    rng = np.random.default_rng(6)
    # (a shape, b shape, one BLAS thread?) -- M*N*K on either side of the threshold, M != N != K
    # (a 1-D operand is one row or one column: M or N is 1)
    cases = [((2048, 64), (64, 64), True), ((64, 2048), (2048, 64), True), ((64, 8192), (8192, 64), False),
             ((3, 256, 16), (3, 16, 2048), True), ((2, 64, 8192), (2, 8192, 64), False),
             ((3, 1024, 16), (16, 512), True), ((2, 512, 16), (2, 16, 4096), False),
             ((4096,), (4096, 4096), False), ((2048,), (2048, 4096), True), ((8192, 2048), (2048,), False),
             ((4096, 2048), (2048,), True), ((64,), (64,), True)]
    for sa, sb, one in cases:
        m, n = (sa[-2] if len(sa) > 1 else 1), (sb[-1] if len(sb) > 1 else 1)
        assert (m * sa[-1] * n < BIG) == one
        a, b = rng.standard_normal(sa, np.float32), rng.standard_normal(sb, np.float32)
        out = np.empty(np.matmul(a, b).shape, np.float32)
        seen.clear()
        assert _blas.matmul(a, b, out=out) is out
        np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-4, atol=1e-3)
        assert seen == [1 if one else 2], (sa, sb)
        assert get() == 2 and _blas._state["depth"] == 0
        seen.clear()
        _blas.matmul(a, b, one_thread=True)
        assert seen == [1] and get() == 2


def test_nested_small_products_restore_the_count_once_at_the_end(blas, monkeypatch):
    get, set_ = blas
    fake, seen = _recording_np(get, nested={})
    monkeypatch.setattr(_blas, "np", fake)
    _blas.matmul(np.ones((3, 4)), np.ones((4, 5)))
    assert seen == [1, 1, 1]  # outer, inner, outer after the inner call returned
    assert get() == 2 and _blas._state["depth"] == 0


def test_matmul_never_raises_the_users_thread_count(blas, monkeypatch):
    get, set_ = blas
    _blas.matmul(np.ones((3, 4)), np.ones((4, 5)))  # saw 2 threads
    set_(1)
    fake, seen = _recording_np(get)
    monkeypatch.setattr(_blas, "np", fake)
    _blas.matmul(np.ones((3, 4)), np.ones((4, 5)))
    assert seen == [1] and get() == 1


def test_matmul_without_openblas_is_numpys(monkeypatch):
    monkeypatch.setattr(_blas, "_api", False)
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    out = np.empty((2, 3, 5))
    assert _blas.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
    np.testing.assert_array_equal(_blas.matmul(a, b, one_thread=True), np.matmul(a, b))


# ------------------------------------------------------------------------------ _threads
def test_chunks_run_concurrently_with_one_worker_id_per_thread(monkeypatch):
    nworkers = 2  # the caller and one pool thread (the pool has at least one on any machine)
    barrier = threading.Barrier(nworkers, timeout=20)
    owner, lock, seen = {}, threading.Lock(), []

    def body(worker, i):
        assert 0 <= worker < nworkers and 0 <= i < 2 * nworkers
        with lock:
            assert owner.setdefault(worker, threading.get_ident()) == threading.get_ident(), "worker id shared"
            seen.append(i)
        if i < nworkers:
            barrier.wait()  # the first nworkers chunks only finish together

    _threads.run(body, 2 * nworkers, nworkers)
    assert sorted(seen) == list(range(2 * nworkers))
    assert len(owner) == nworkers and owner[0] == threading.get_ident()


def test_pool_threads_are_named_and_their_errors_reach_the_caller():
    barrier = threading.Barrier(2, timeout=20)
    names = []

    def body(worker, i):
        barrier.wait()
        if worker != 0:
            names.append(threading.current_thread().name)
            raise ValueError("in a pool thread")

    with pytest.raises(ValueError, match="in a pool thread"):
        _threads.run(body, 2, 2)
    assert names and names[0].startswith("gradbricks-chunks")


def test_workers_follow_numbas_thread_count():
    threads = numba.get_num_threads()
    try:
        assert _threads.workers(0) == 1 and _threads.workers(1000) == threads
        numba.set_num_threads(1)
        assert _threads.workers(5) == 1
    finally:
        numba.set_num_threads(threads)


def test_sum_in_order_adds_left_to_right_into_the_first_part():
    parts = [np.array([1e8], np.float32), np.array([-1e8], np.float32), np.array([1.0], np.float32),
             np.array([0.25], np.float32)]
    total = _threads.sum_in_order(parts)
    assert total is parts[0]
    assert total[0] == np.float32(1.25)  # ((1e8 - 1e8) + 1) + 0.25, not 1e8 + (-1e8 + 1) ...


# ------------------------------------------------------------------------------ _checks, __init__
def test_float_array_gives_c_contiguous_float32_or_float64():
    x = np.arange(12.0).reshape(3, 4).T
    for a, dtype, want in [(x, None, np.float64), (x.astype(np.float32), None, np.float32),
                           (np.arange(5), None, np.float32), ([1, 2], None, np.float32),
                           (x.astype(np.float32), np.float64, np.float64), (x, np.float32, np.float32)]:
        got = _checks.float_array(a, "f", "x", dtype=dtype)
        assert got.dtype == want and got.flags.c_contiguous
        np.testing.assert_array_equal(got, np.asarray(a, dtype=want))


def test_shape_4d_and_expect_shape():
    assert _checks.shape_4d(np.array([2, 3, 0, 5]), "f", "s") == (2, 3, 0, 5)
    assert all(type(s) is int for s in _checks.shape_4d(np.array([2, 3, 4, 5]), "f", "s"))
    for bad in [(1, 2, 3), (1, 2, 3, 4, 5), (1, -1, 2, 2)]:
        with pytest.raises(ValueError, match=r"^f: s must be a 4-D shape \(N, C, H, W\), got " + re.escape(str(bad)) + "$"):
            _checks.shape_4d(bad, "f", "s")
    _checks.expect_shape(np.zeros((2, 3)), [2, 3], "f", "a")
    with pytest.raises(ValueError, match=r"^f: a has shape \(2, 3\), expected \(3, 2\)$"):
        _checks.expect_shape(np.zeros((2, 3)), [3, 2], "f", "a")


@pytest.mark.parametrize("layer, env, want", [("default", None, "workqueue"), ("DEFAULT", None, "workqueue"),
                                              ("omp", None, "omp"), ("default", "tbb", "default")])
def test_choose_threading_layer_respects_the_users_choice(layer, env, want, monkeypatch):
    monkeypatch.delenv("NUMBA_THREADING_LAYER", raising=False)
    if env:
        monkeypatch.setenv("NUMBA_THREADING_LAYER", env)
    fake = types.SimpleNamespace(config=types.SimpleNamespace(THREADING_LAYER=layer))
    kernels_pkg.choose_threading_layer(fake)
    assert fake.config.THREADING_LAYER == want
