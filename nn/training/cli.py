"""The main job: ``python -m nn.training --dataset digits|mnist|fashion-mnist [--data-dir DIR]
--model NAME --optimizer NAME --lr X --epochs N --out DIR``.

It loads the data (10% of the training split held out for validation, fixed seed), runs the
sanity check on the initial loss, the LR range test, trains with ``fit`` (progress bar,
OneCycle schedule stepped per batch, a resumable checkpoint after every epoch, CSV log),
evaluates on the test split (also after every epoch, for the record), then writes to ``--out``: ``history.png`` (loss/accuracy curves),
``lr_finder.png``, ``graph.svg`` (the model's backward graph), ``checkpoint.npz``,
``history.csv`` and ``metrics.json``; finally it reloads the checkpoint into a fresh model and
checks that its predictions on the test split are identical."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import engine
from engine.utils.data import DataLoader, TensorDataset, random_split

from .. import layers as L
from ..containers import Flatten, Sequential
from ..data import datasets
from .callbacks import CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint
from .checkpoint import load_checkpoint
from .loop import evaluate, fit, predict
from .sanity import check_initial_loss


def digits_cnn(num_classes=10):
    """A small CNN for 1x8x8 digits: 3x3 convs 1→32→32, max-pool to 4x4, 32→64, max-pool to
    2x2, dropout, linear 256→classes (BatchNorm after each conv)."""
    return Sequential(
        L.Conv2d(1, 32, 3, padding=1), L.BatchNorm2d(32), L.ReLU(),
        L.Conv2d(32, 32, 3, padding=1), L.BatchNorm2d(32), L.ReLU(), L.MaxPool2d(2),
        L.Conv2d(32, 64, 3, padding=1), L.BatchNorm2d(64), L.ReLU(), L.MaxPool2d(2),
        Flatten(), L.Dropout(0.25), L.Linear(64 * 2 * 2, num_classes))


def mlp(in_features, num_classes=10, hidden=256):
    """Flatten → Linear(in, hidden) → ReLU → Dropout(0.2) → Linear(hidden, classes)."""
    return Sequential(Flatten(), L.Linear(in_features, hidden), L.ReLU(), L.Dropout(0.2), L.Linear(hidden, num_classes))


def build_model(name, image_size):
    from ..models import lenet5
    h, w = image_size
    if name == "cnn":
        if (h, w) != (8, 8):
            raise SystemExit(f"--model cnn is the 8x8 digits CNN; for {h}x{w} images use --model lenet5 or mlp")
        return digits_cnn()
    if name == "lenet5":
        if (h, w) != (28, 28):
            raise SystemExit(f"--model lenet5 expects 28x28 images, the dataset has {h}x{w}; use --model cnn or mlp")
        return lenet5()
    if name == "mlp":
        return mlp(h * w)
    raise SystemExit(f"unknown --model {name!r}: choose cnn (digits), lenet5 (MNIST) or mlp")


def build_optimizer(name, params, lr, weight_decay):
    import optim
    table = {"sgd": lambda: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay),
             "adam": lambda: optim.Adam(params, lr=lr, weight_decay=weight_decay),
             "adamw": lambda: optim.AdamW(params, lr=lr, weight_decay=weight_decay or 1e-2),
             "nadam": lambda: optim.NAdam(params, lr=lr, weight_decay=weight_decay),
             "rmsprop": lambda: optim.RMSprop(params, lr=lr, weight_decay=weight_decay),
             "adagrad": lambda: optim.Adagrad(params, lr=lr, weight_decay=weight_decay)}
    if name not in table:
        raise SystemExit(f"unknown --optimizer {name!r}: choose one of {', '.join(table)}")
    return table[name]()


def load_data(name, data_dir, limit=None):
    """(train, test) as float32 N×1×H×W images standardized with the training mean/std, int64 labels."""
    if name == "digits":
        tr, te = datasets.Digits(train=True), datasets.Digits(train=False)
    elif name in ("mnist", "fashion-mnist"):
        if not data_dir:
            raise SystemExit(f"--dataset {name} needs --data-dir (a folder with the four IDX files)")
        cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
        tr, te = cls(data_dir, train=True), cls(data_dir, train=False)
    else:
        raise SystemExit(f"unknown --dataset {name!r}: choose digits, mnist or fashion-mnist")
    xtr, ytr = tr.data.numpy(), tr.targets.numpy()
    xte, yte = te.data.numpy(), te.targets.numpy()
    if limit:
        xtr, ytr, xte, yte = xtr[:limit], ytr[:limit], xte[:max(1, limit // 4)], yte[:max(1, limit // 4)]
    xtr = xtr.astype(np.float32)[:, None] / 255.0
    xte = xte.astype(np.float32)[:, None] / 255.0
    mean, std = float(xtr.mean()), float(xtr.std())
    norm = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    return (TensorDataset(engine.tensor(norm(xtr)), engine.tensor(ytr.astype(np.int64))),
            TensorDataset(engine.tensor(norm(xte)), engine.tensor(yte.astype(np.int64))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m nn.training", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion-mnist"])
    p.add_argument("--data-dir", default=None, help="folder with the IDX files (mnist, fashion-mnist)")
    p.add_argument("--model", default=None, help="cnn (digits), lenet5 (28x28), mlp; default by dataset")
    p.add_argument("--optimizer", default="adamw")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate of the OneCycle schedule")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=None, help="early stopping on val_loss")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images (smoke runs)")
    p.add_argument("--no-lr-find", action="store_true", help="skip the LR range test")
    p.add_argument("--resume", default=None, help="continue from a checkpoint written by an earlier run")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", default="out")
    return p.parse_args(argv)


def _lr_find(model, opt, loss_fn, loader, out):
    import viz
    from optim import LRFinder
    finder = LRFinder(model, opt, loss_fn)
    finder.range_test(loader, start_lr=1e-5, end_lr=1.0, num_iter=60)
    viz.plots.plot_lr_finder(finder, path=os.path.join(out, "lr_finder.png"), skip_start=5, skip_end=3)
    return finder.suggestion(skip_start=5, skip_end=3)


def _draw_graph(model, loss_fn, batch, out):
    import viz
    x, y = batch
    was = model.training
    model.eval()                      # eval mode: drawing must not move BatchNorm's running statistics
    try:
        loss = loss_fn(model(x[:2]), y[:2])
    finally:
        model.train(was)
    path = os.path.join(out, "graph.svg")
    viz.save(viz.draw_graph(loss, params=model), path)
    return path


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    engine.manual_seed(args.seed)
    model_name = args.model or ("cnn" if args.dataset == "digits" else "lenet5")
    lr = args.lr if args.lr is not None else (1e-2 if args.optimizer in ("adam", "adamw", "nadam") else 0.1)
    t0 = time.perf_counter()
    train_full, test = load_data(args.dataset, args.data_dir, args.limit)
    n_val = max(1, len(train_full) // 10)
    train, val = random_split(train_full, [len(train_full) - n_val, n_val],
                              generator=engine.Generator().manual_seed(args.seed))
    gen = engine.Generator().manual_seed(args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=gen, num_workers=args.workers)
    val_loader = DataLoader(val, batch_size=512)
    test_loader = DataLoader(test, batch_size=512)
    image_size = tuple(train_full.tensors[0].shape[2:])
    model = build_model(model_name, image_size)
    loss_fn = L.CrossEntropyLoss()
    opt = build_optimizer(args.optimizer, model.parameters(), lr, args.weight_decay)
    print(f"{args.dataset}: {len(train)} train / {len(val)} val / {len(test)} test images {image_size}; "
          f"model {model_name} ({sum(int(np.prod(p.shape)) for p in model.parameters()):,} parameters), "
          f"{args.optimizer} lr {lr:g}, {args.epochs} epochs, batch {args.batch_size}")
    first = check_initial_loss(model, loss_fn, next(iter(DataLoader(train, batch_size=256))))
    print(f"initial loss {first.loss:.3f} (ln C = {first.expected:.3f})")
    if not args.no_lr_find and args.resume is None:
        suggestion = _lr_find(model, opt, loss_fn, loader, args.out)
        print(f"LR range test: steepest descent at lr {suggestion:.3g} (plot in {args.out}/lr_finder.png); "
              f"training with peak lr {lr:g}")
    import optim
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=args.epochs, steps_per_epoch=len(loader))
    times, start, test_per_epoch = [], [], []

    def _test_each_epoch(epoch, logs):        # eval mode + no_grad: no state or RNG is touched
        times.append(time.perf_counter() - start[-1])
        test_per_epoch.append(evaluate(model, test_loader, loss_fn)["accuracy"])

    callbacks = [ModelCheckpoint(os.path.join(args.out, "checkpoint.npz")),
                 CSVLogger(os.path.join(args.out, "history.csv"), append=args.resume is not None),
                 LambdaCallback(on_epoch_begin=lambda e, logs: start.append(time.perf_counter()),
                                on_epoch_end=_test_each_epoch)]
    if args.patience is not None:
        callbacks.append(EarlyStopping(patience=args.patience, restore_best_weights=True))
    history = fit(model, loader, loss_fn=loss_fn, optimizer=opt, epochs=args.epochs, val_loader=val_loader,
                  scheduler=sched, callbacks=callbacks, progress=not args.no_progress, resume_from=args.resume)
    test_metrics = evaluate(model, test_loader, loss_fn)
    # reload the checkpoint into a fresh model: its predictions must be identical
    fresh = build_model(model_name, image_size)
    ckpt = os.path.join(args.out, "checkpoint.npz")      # the last epoch's, resumable (history included)
    if args.patience is not None:            # early stopping restored the best weights: they go next to it
        from .checkpoint import save_checkpoint
        ckpt = os.path.join(args.out, "best.npz")
        save_checkpoint(ckpt, model, epoch=history.epoch[-1])
    load_checkpoint(ckpt, fresh)
    same = np.array_equal(np.asarray(predict(model, test_loader)), np.asarray(predict(fresh, test_loader)))
    import viz
    viz.plots.plot_history(history, path=os.path.join(args.out, "history.png"), metrics=["loss", "accuracy"])
    graph = _draw_graph(model, loss_fn, next(iter(test_loader)), args.out)
    metrics = {"dataset": args.dataset, "model": model_name, "optimizer": args.optimizer, "lr": lr,
               "epochs_run": len(history.epoch), "test_loss": test_metrics["loss"],
               "test_accuracy": test_metrics["accuracy"], "val_accuracy": history.history["val_accuracy"],
               "test_accuracy_per_epoch": test_per_epoch, "seconds_per_epoch": times,
               "total_seconds": time.perf_counter() - t0,
               "checkpoint_predictions_identical": bool(same)}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(f"test accuracy {100 * test_metrics['accuracy']:.2f}% (loss {test_metrics['loss']:.4f}); "
          f"{np.mean(times) if times else 0:.2f} s/epoch, {metrics['total_seconds']:.1f} s total")
    files = ["history.png"] + (["lr_finder.png"] if os.path.exists(os.path.join(args.out, "lr_finder.png")) else []) + \
        [os.path.basename(graph), "checkpoint.npz"] + (["best.npz"] if args.patience is not None else []) + \
        ["history.csv", "metrics.json"]
    print(f"wrote {', '.join(os.path.join(args.out, f) for f in files)}; checkpoint reloaded: predictions "
          f"{'identical' if same else 'DIFFERENT'}")
    if not same:
        print("error: predictions of the reloaded checkpoint differ", file=sys.stderr)
        return 1
    return 0
