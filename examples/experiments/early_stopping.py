"""Experiment 5, early stopping: the validation curve of an over-parameterised net trained far
too long, with ``EarlyStopping(patience, restore_best_weights=True)`` marking where it stops and
which epoch's weights it restores (``nn.training.fit`` with Keras-style callbacks). The
validation set drives the stopping; a separate test set (the other half of the held-out data)
measures the result."""
from __future__ import annotations

import numpy as np

import nn
import optim
from nn.training import EarlyStopping, evaluate, fit

from . import common

NAME = "early_stopping"
TITLE = "5. Early stopping"
CLAIM = ("the validation loss falls, reaches a minimum and rises again as the net overfits; stopping "
         "at the minimum (with the best weights restored) gives a better model than training to the end")


def run(cfg):
    n_train, hidden = (150, 64) if cfg.quick else (300, 256)
    epochs, patience = (25, 3) if cfg.quick else (100, 10)
    lr = 1e-2 if cfg.quick else 3e-3
    data = common.load_data(cfg, n_train=n_train)
    half = len(data.x_val) // 2
    val = common.Data(data.x_train, data.y_train, data.x_val[:half], data.y_val[:half], data.image_shape, data.name)
    test = (data.x_val[half:], data.y_val[half:])
    folder = cfg.folder(NAME)
    loss_fn = nn.CrossEntropyLoss()
    runs = {}
    for name, callbacks in (("no early stopping", []),
                            ("EarlyStopping", [EarlyStopping(monitor="val_loss", patience=patience,
                                                             restore_best_weights=True)])):
        common.seed_all(cfg.seed)
        model = common.mlp([data.n_features, hidden, hidden, data.n_classes])
        hist = fit(model, common.loader(val.x_train, val.y_train, 64, shuffle=True, seed=cfg.seed), loss_fn=loss_fn,
                   optimizer=optim.Adam(model.parameters(), lr=lr), epochs=epochs,
                   val_loader=common.loader(val.x_val, val.y_val, 1024), callbacks=callbacks, progress=False)
        scores = evaluate(model, common.loader(*test, 1024), loss_fn)
        runs[name] = (hist.history, callbacks[0] if callbacks else None, scores)

    full, _, full_test = runs["no early stopping"]
    stopped, es, es_test = runs["EarlyStopping"]
    best_epoch, stop_epoch = es.best_epoch + 1, (es.stopped_epoch + 1 if es.stopped_epoch else len(stopped["val_loss"]))
    plt = common.plt()
    fig, ax = plt.subplots(figsize=(8, 4.6))
    e = np.arange(1, len(full["loss"]) + 1)
    ax.plot(e, full["loss"], label="training loss")
    ax.plot(e, full["val_loss"], label="validation loss")
    ax.axvline(stop_epoch, color="red", ls="--", label=f"EarlyStopping stops (epoch {stop_epoch})")
    ax.plot([best_epoch], [stopped["val_loss"][best_epoch - 1]], "r*", ms=14,
            label=f"restored weights (epoch {best_epoch})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(f"MLP {data.n_features}-{hidden}-{hidden}-{data.n_classes} on {n_train} {data.name} examples, "
                 f"patience {patience}")
    ax.legend()
    common.save_figure(fig, folder)

    rows = [{"run": "trained to the end", "epochs": len(full["loss"]), "min val loss": min(full["val_loss"]),
             "final val loss": full["val_loss"][-1], "test loss": full_test["loss"], "test accuracy": full_test["accuracy"]},
            {"run": f"EarlyStopping(patience={patience}, restore_best_weights=True)", "epochs": stop_epoch,
             "min val loss": min(stopped["val_loss"]), "final val loss": stopped["val_loss"][-1],
             "test loss": es_test["loss"], "test accuracy": es_test["accuracy"]}]
    outcome = (f"validation loss bottoms out at epoch {int(np.argmin(full['val_loss'])) + 1} "
               f"({min(full['val_loss']):.3f}) and ends at {full['val_loss'][-1]:.3f} after {len(full['loss'])} epochs; "
               f"EarlyStopping stops at epoch {stop_epoch} and restores epoch {best_epoch}: test loss "
               f"{es_test['loss']:.3f} vs {full_test['loss']:.3f}, test accuracy {es_test['accuracy']:.3f} vs "
               f"{full_test['accuracy']:.3f} when trained to the end")
    common.write_results(folder, TITLE, CLAIM,
                         [(f"Adam({lr:g}), batch 64; validation {half} / test {len(test[1])} held-out examples", rows)],
                         outcome, cfg, data.name)
    return {"outcome": outcome, "full": full, "stopped": stopped, "best_epoch": best_epoch, "stop_epoch": stop_epoch,
            "test": {"full": full_test, "early": es_test}, "epochs": epochs}
