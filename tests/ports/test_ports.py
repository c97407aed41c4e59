"""Runs the ported PyTorch programs in this folder (each file's header says where it came from and
what changed: imports, and for mnist_cnn the data source) and checks that they learn.

To keep ``make test`` short without editing the programs' text, the polynomial programs run with
a module-global ``range`` that caps long loops at ``STEPS`` iterations (short ranges are
untouched); the loss after ``STEPS`` steps must be below the loss after 1 step of the same seeded
run."""
import builtins
import random
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import engine

HERE = Path(__file__).parent
STEPS = 300


def capped_range(cap):
    def _range(*args):
        r = builtins.range(*args)
        return r[:cap] if len(r) > cap else r
    return _range


def run(name, cap, capsys):
    """Run ``name`` (seeded) with loops capped at ``cap``; return (globals, printed lines)."""
    engine.manual_seed(0)
    random.seed(0)
    g = runpy.run_path(str(HERE / name), init_globals={"range": capped_range(cap)}, run_name="__main__")
    return g, capsys.readouterr().out.splitlines()


POLYNOMIALS = ["polynomial_autograd.py", "polynomial_optim.py", "polynomial_module.py",
               "dynamic_net.py",
               "polynomial_custom_function.py"]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_programs_learn(name, capsys):
    g1, _ = run(name, 1, capsys)
    g, lines = run(name, STEPS, capsys)
    first, last = float(g1["loss"]), float(g["loss"])
    assert np.isfinite(last) and last < first, (name, first, last)
    printed = [float(m.group(2)) for m in map(re.compile(r"^(\d+) (\S+)$").match, lines) if m]
    assert printed == sorted(printed, reverse=True)  # what the program prints falls too
    assert lines[-1].startswith("Result: y = ")


def test_mnist_example_learns(capsys):
    g, lines = run("mnist_cnn.py", 10 ** 9, capsys)
    train = [float(m.group(1)) for m in map(re.compile(r"Loss: (\S+)$").search, lines) if m]
    tests = [float(m.group(1)) for m in map(re.compile(r"Average loss: (\S+),").search, lines) if m]
    assert len(tests) == 2 and len(train) == 6
    assert tests[-1] < tests[0] < train[0], (train, tests)
    assert train[0] == pytest.approx(np.log(10), rel=0.2)  # the lectures' initial-loss check


def test_regression_example_converges(capsys):
    g, lines = run("regression.py", 10 ** 9, capsys)
    assert g["loss"] < 1e-3 and lines[0].startswith("Loss: ")
    np.testing.assert_allclose(g["fc"].weight.numpy().ravel(), g["W_target"].numpy().ravel(), atol=0.1)


def test_quickstart_learns_saves_and_loads(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the program writes model.pth into the working directory
    g, lines = run("quickstart.py", 10 ** 9, capsys)
    losses = [float(m.group(1)) for m in map(re.compile(r"Avg loss: (\S+)").search, lines) if m]
    assert len(losses) == 5 and losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    assert lines[0] == "Shape of X [N, C, H, W]:  (64, 1, 28, 28)"
    assert (tmp_path / "model.pth").exists() and lines[-1].startswith("Predicted: ")
