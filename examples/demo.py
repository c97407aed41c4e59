"""`make demo`: the main job on scikit-learn's bundled digits (no download).

Equivalent to ``python -m nn.training --dataset digits --model cnn --optimizer adamw --lr 0.01
--epochs 8 --out out``: a small CNN (31k parameters) trained with a progress bar, then in ``out/``
the loss/accuracy curves (history.png), the LR range test (lr_finder.png), the model's backward
graph (graph.svg), the resumable checkpoint (checkpoint.npz), history.csv and metrics.json; the
checkpoint is reloaded into a fresh model and its predictions are checked to be identical. Extra
command-line arguments are passed on (e.g. ``--epochs 3``).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nn.training.cli import main  # noqa: E402

DEMO = ["--dataset", "digits", "--model", "cnn", "--optimizer", "adamw", "--lr", "0.01", "--epochs", "8",
        "--out", os.path.join(ROOT, "out")]

if __name__ == "__main__":
    sys.exit(main(DEMO + sys.argv[1:]))
