"""Importing the library compiles no Numba kernel and does not even import Numba: every kernel is a
lazy stand-in (``_par.Lazy`` / ``_par.Twins``) whose dispatcher is made at its first call."""
import subprocess
import sys

SCRIPT = r"""
import importlib, sys
import engine, nn, optim, viz
from engine.kernels import _par
mods = ["engine.kernels.conv", "engine.kernels.pool", "engine.kernels.batchnorm",
        "engine.kernels.softmax_xent", "engine.kernels.winograd", "engine.kernels.optim_updates",
        "engine.kernels.relu",
        "optim.sgd", "optim.adagrad", "optim.rmsprop", "optim.adam", "optim.nadam"]
found = made = 0
for name in mods:
    m = importlib.import_module(name)
    for attr in vars(m).values():
        if isinstance(attr, (_par.Lazy, _par.Twins)):
            found += 1
            made += attr.made
print(found, made, int("numba" in sys.modules))
from engine.kernels import pool
import numpy as np
_par.TIER_CALLS = 0
pool.maxpool2d_forward(np.ones((1, 1, 4, 4), np.float32), 2)  # the first kernel call imports Numba
print(int("numba" in sys.modules), int(pool._max_fwd.made))
"""


def test_importing_the_library_and_its_kernel_modules_imports_no_numba_and_compiles_nothing():
    # a fresh interpreter: earlier tests in this process have compiled kernels
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    first, second = out.stdout.splitlines()
    found, made, numba_imported = map(int, first.split())
    assert found >= 10, f"expected the kernel modules to define lazy Numba kernels, found {found}"
    assert made == 0, f"{made} of {found} kernels were made at import"
    assert numba_imported == 0, "importing the library imported numba"
    assert second.split() == ["1", "1"]
