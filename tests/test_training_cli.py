"""The main job end to end at a tiny size: python -m nn.training on the digits (and on small IDX
files in the MNIST layout), every output written, the checkpoint reloads to identical predictions."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nn.data import write_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "nn.training", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_cli_digits_tiny(tmp_path):
    out = tmp_path / "out"
    r = _run("--dataset", "digits", "--model", "cnn", "--optimizer", "adam", "--lr", "0.01", "--epochs", "2",
             "--limit", "300", "--batch-size", "32", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ("history.png", "lr_finder.png", "graph.svg", "checkpoint.npz", "history.csv", "metrics.json"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    assert m["checkpoint_predictions_identical"] and m["epochs_run"] == 2
    assert m["test_accuracy"] > 0.3                      # 2 epochs on 270 images: far above chance (0.1)
    assert "test accuracy" in r.stdout and "predictions identical" in r.stdout
    assert "<svg" in (out / "graph.svg").read_text()
    # resuming from the final checkpoint restores the history and trains no further epoch
    r2 = _run("--dataset", "digits", "--model", "cnn", "--optimizer", "adam", "--lr", "0.01", "--epochs", "2",
              "--limit", "300", "--batch-size", "32", "--out", str(out), "--resume", str(out / "checkpoint.npz"),
              cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr[-3000:]
    m2 = json.loads((out / "metrics.json").read_text())
    assert m2["epochs_run"] == 2 and m2["val_accuracy"] == m["val_accuracy"] and m2["seconds_per_epoch"] == []
    assert m2["test_accuracy"] == m["test_accuracy"]

def test_cli_patience_keeps_the_resumable_checkpoint_and_writes_the_best_weights(tmp_path):
    """With --patience the restored best weights go to best.npz (predictions checked against it);
    checkpoint.npz stays the last epoch's full state, so resuming from it keeps the history."""
    out = tmp_path / "out"
    args = ("--dataset", "digits", "--model", "mlp", "--epochs", "3", "--limit", "200", "--no-lr-find",
            "--no-progress", "--patience", "5", "--out", str(out))
    r = _run(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["checkpoint_predictions_identical"] and "best.npz" in r.stdout
    r2 = _run(*args, "--resume", str(out / "checkpoint.npz"), cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr[-3000:]
    m2 = json.loads((out / "metrics.json").read_text())
    assert m2["epochs_run"] == 3 and m2["val_accuracy"] == m["val_accuracy"] and m2["seconds_per_epoch"] == []


def test_cli_mnist_layout_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for split, n in (("train", 80), ("t10k", 20)):
        y = rng.integers(0, 10, n)
        x = np.zeros((n, 28, 28), np.uint8)
        for i, c in enumerate(y):                        # a learnable pattern: a bright bar per class
            x[i, 2 * c + 2:2 * c + 5, 4:24] = 255
        write_idx(data / f"{split}-images-idx3-ubyte.gz", x)
        write_idx(data / f"{split}-labels-idx1-ubyte.gz", y.astype(np.uint8))
    out = tmp_path / "o"
    r = _run("--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--epochs", "1", "--no-lr-find",
             "--no-progress", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["checkpoint_predictions_identical"]
    # Fashion-MNIST has MNIST's file names and layout: the same folder serves --dataset fashion-mnist
    r = _run("--dataset", "fashion-mnist", "--data-dir", str(data), "--model", "mlp", "--epochs", "1",
             "--no-lr-find", "--no-progress", "--out", str(tmp_path / "f"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "f" / "metrics.json").read_text())
    assert m["dataset"] == "fashion-mnist" and m["checkpoint_predictions_identical"]
    assert r.stdout.startswith("fashion-mnist: 72 train / 8 val / 20 test images (28, 28)")
    bad = _run("--dataset", "mnist", "--data-dir", str(tmp_path / "nothere"), "--out", str(out), cwd=tmp_path)
    assert bad.returncode != 0 and "train-images-idx3-ubyte" in bad.stderr
    bad = _run("--dataset", "digits", "--model", "lenet5", "--out", str(out), cwd=tmp_path)
    assert bad.returncode != 0 and "28x28" in bad.stderr
