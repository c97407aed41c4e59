"""Importing the library compiles no Numba kernel: every dispatcher starts without signatures."""
import subprocess
import sys

SCRIPT = r"""
import importlib, numba, sys
import engine, nn, optim, viz
mods = ["engine.kernels.conv", "engine.kernels.pool", "engine.kernels.batchnorm",
        "engine.kernels.softmax_xent", "engine.kernels.winograd", "engine.kernels.optim_updates",
        "optim.sgd", "optim.adagrad", "optim.rmsprop", "optim.adam", "optim.nadam"]
found = compiled = 0
for name in mods:
    m = importlib.import_module(name)
    for attr in vars(m).values():
        cands = attr if isinstance(attr, tuple) else (attr,)
        for d in cands:
            if isinstance(d, numba.core.registry.CPUDispatcher):
                found += 1
                compiled += bool(d.signatures)
print(found, compiled)
"""


def test_importing_the_library_and_its_kernel_modules_compiles_nothing():
    # a fresh interpreter: earlier tests in this process have compiled kernels
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    found, compiled = map(int, out.stdout.split())
    assert found >= 10, f"expected the kernel modules to define Numba dispatchers, found {found}"
    assert compiled == 0, f"{compiled} of {found} kernels were compiled at import"
