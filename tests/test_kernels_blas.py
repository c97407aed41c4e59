"""engine.kernels._blas (small GEMMs on one BLAS thread) and the package's threading-layer choice."""
import os
import subprocess
import sys

import numpy as np

from engine.kernels import _blas


def _blas_threads():
    api = _blas._openblas()
    return api[0]() if api else None


def test_matmul_equals_numpy_and_restores_thread_count():
    rng = np.random.default_rng(0)
    before = _blas_threads()
    for shape_a, shape_b in [((6, 25), (25, 300)), ((2, 3, 4), (2, 4, 5)), ((64, 576), (576, 2048))]:
        a, b = rng.standard_normal(shape_a, np.float32), rng.standard_normal(shape_b, np.float32)
        np.testing.assert_allclose(_blas.matmul(a, b), np.matmul(a, b), rtol=1e-5, atol=1e-5)
        out = np.empty(np.broadcast_shapes(shape_a[:-2], shape_b[:-2]) + (shape_a[-2], shape_b[-1]), np.float32)
        assert _blas.matmul(a, b, out=out) is out
        assert _blas_threads() == before
    assert _blas._state["depth"] == 0


def _run(code, **env):
    full = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout.strip()


def test_threading_layer_is_workqueue_unless_the_user_chose_one():
    code = "import numba, engine.kernels; print(numba.config.THREADING_LAYER)"
    assert _run(code) == "workqueue"
    assert _run(code, NUMBA_THREADING_LAYER="omp") == "omp"
    assert _run("import numba; numba.config.THREADING_LAYER = 'tbb'; import engine.kernels; "
                "print(numba.config.THREADING_LAYER)") == "tbb"
