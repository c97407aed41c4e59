"""The experiments built on nn.training, nn.utils.summary and nn.utils.prune, at ``--quick`` size
(same conventions as tests/test_experiments.py)."""
from test_experiments import out, result  # noqa: F401  (the shared fixture and runner)


def test_early_stopping(out):
    r = result("early_stopping", out)
    full = r["full"]["val_loss"]
    assert r["stop_epoch"] < r["epochs"]             # it stopped before the budget
    assert r["best_epoch"] <= r["stop_epoch"]
    assert min(full) < full[-1]                      # validation loss rose again: overfitting
    assert r["test"]["early"]["loss"] < r["test"]["full"]["loss"]


def test_architectures(out):
    r = result("architectures", out)
    for name, m in r["models"].items():
        assert m["params"] == m["published"], name
    assert r["vgg_fc_share"] > 0.5                   # VGG-16's first FC layer holds most weights


def test_pruning(out):
    r = result("pruning", out)
    rows, ft = r["rows"], r["ft"]
    dense = rows[0.0]["val accuracy, pruned"]
    assert rows[0.5]["val accuracy, pruned"] > dense - 0.05      # half the weights: hardly any loss
    top = r["amounts"][-1]
    tuned, pruned = rows[top][f"after {ft} epochs fine-tuning"], rows[top]["val accuracy, pruned"]
    if pruned < dense - 0.05:                                     # pruning hurt: fine-tuning recovers
        assert tuned > pruned + 0.02
    assert rows[top]["weights still 0 after fine-tuning"] >= 0.9 * top
    assert r["fold_diff"] < 1e-3 and r["bn_layers"][1] == 0 < r["bn_layers"][0]
