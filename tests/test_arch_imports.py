"""The engine's import chain: every module imports on its own in a fresh interpreter, no module
imports another engine module inside a function (no deferred imports), none assigns into another
module at import time (no patched globals), and the package has no import cycle."""
from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

import engine

ENGINE_DIR = os.path.dirname(engine.__file__)
ROOT = os.path.dirname(ENGINE_DIR)
CYCLES_TOOL = "/work/shared/tools/import_cycles.py"


def _engine_modules():
    mods = []
    for d, _, files in os.walk(ENGINE_DIR):
        for f in sorted(files):
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), ROOT)[:-3].replace(os.sep, ".")
                mods.append(rel[: -len(".__init__")] if rel.endswith(".__init__") else rel)
    return sorted(mods)


MODULES = _engine_modules()


def _source(module):
    path = os.path.join(ROOT, *module.split("."))
    return open(path + ".py" if os.path.exists(path + ".py") else os.path.join(path, "__init__.py")).read()


def test_every_engine_module_is_listed():
    for expected in ("engine.node", "engine._backward", "engine.variable", "engine.function",
                     "engine.ops", "engine.tensor", "engine.functional", "engine.autograd"):
        assert expected in MODULES


def test_each_engine_module_imports_alone_in_a_fresh_interpreter():
    # one interpreter per module, so that no module relies on another having been imported first;
    # a module whose optional dependency is missing (e.g. Hypothesis) may fail with ImportError
    # naming that dependency only
    script = ("import importlib, sys\n"
              "m = sys.argv[1]\n"
              "importlib.import_module(m)\n"
              "print('ok', m)\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [(m, subprocess.Popen([sys.executable, "-c", script, m], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
             for m in MODULES]
    failures = []
    for m, p in procs:
        out, err = p.communicate(timeout=300)
        if p.returncode != 0 or f"ok {m}" not in out:
            failures.append(f"{m}: {err.strip().splitlines()[-1] if err.strip() else out}")
    assert not failures, "\n".join(failures)


def _imports_engine(node, module):
    """True when an import statement names a module of the engine package."""
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "engine"
    return any(a.name.split(".")[0] == "engine" for a in node.names)


@pytest.mark.parametrize("module", MODULES)
def test_no_deferred_engine_imports(module):
    tree = ast.parse(_source(module))
    deferred = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and _imports_engine(node, module):
                    deferred.append(f"line {node.lineno} in {fn.name}()")
    assert not deferred, f"{module} imports engine modules inside functions: {deferred}"


@pytest.mark.parametrize("module", MODULES)
def test_no_module_assigns_into_an_imported_module(module):
    tree = ast.parse(_source(module))
    aliases = {a.asname or a.name.split(".")[0] for node in tree.body
               if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    patched = [f"{t.value.id}.{t.attr}" for node in tree.body if isinstance(node, ast.Assign)
               for t in node.targets if isinstance(t, ast.Attribute)
               and isinstance(t.value, ast.Name) and t.value.id in aliases]
    assert not patched, f"{module} patches {patched} at import time"


@pytest.mark.skipif(not os.path.exists(CYCLES_TOOL), reason="the workspace's cycle checker is absent")
@pytest.mark.parametrize("package", ["engine", "nn", "optim", "viz"])
def test_no_import_cycles(package):
    res = subprocess.run([sys.executable, CYCLES_TOOL, os.path.join(ROOT, package)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_engine_autograd_is_the_public_namespace():
    from engine import autograd

    for name in ("Function", "grad", "backward", "gradcheck", "gradgradcheck", "detect_anomaly"):
        assert hasattr(autograd, name), name
    assert autograd.Function is engine.Function
    assert autograd.grad is engine.grad
    assert autograd.gradcheck is engine.gradcheck
