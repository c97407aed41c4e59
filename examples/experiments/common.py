"""What every experiment shares: the run configuration, the data (bundled digits or MNIST), one
small training loop over shuffled minibatches, evaluation, and the output files
(``out/experiments/NAME/figure.png`` and ``results.md``)."""
from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import engine
import nn
from nn.data import datasets


@dataclass
class Config:
    """One run: ``quick`` shrinks every experiment to seconds; ``data_dir`` holds MNIST IDX files
    (the bundled scikit-learn digits when None); ``out`` is the root of the output folders."""
    quick: bool = False
    data_dir: str | None = None
    out: Path = field(default_factory=lambda: Path("out/experiments"))
    seed: int = 0

    def folder(self, name):
        """``out/NAME/``, created."""
        path = Path(self.out) / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Data:
    """A classification split: float32 inputs scaled to [0, 1], int64 labels. ``image_shape`` is
    (1, H, W) for reshaping into images."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    image_shape: tuple
    name: str

    @property
    def n_features(self):
        return int(self.x_train.shape[1])

    @property
    def n_classes(self):
        return int(max(self.y_train.max(), self.y_val.max()) + 1)

    def images(self, x):
        """Rows of ``x`` as (N, 1, H, W) images."""
        return x.reshape((-1,) + tuple(self.image_shape))

    def subset(self, n_train=None, n_val=None):
        """The first ``n_train`` training and ``n_val`` validation examples (all when None)."""
        return Data(self.x_train[:n_train], self.y_train[:n_train], self.x_val[:n_val],
                    self.y_val[:n_val], self.image_shape, self.name)


@functools.lru_cache(maxsize=1)
def _digits():
    """scikit-learn's bundled digits (1797 × 64, values 0..16) as (x / 16 float32, y int64), read
    from the CSV the package ships (importing sklearn itself takes seconds)."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.exists():
        from sklearn.datasets import load_digits
        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return (table[:, :-1] / 16.0).astype(np.float32), table[:, -1].astype(np.int64)


def _stratified_split(y, fraction, seed):
    """Indices (train, val): ``fraction`` of every class to val, classes shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(fraction * len(idx)))
        val.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def load_data(cfg, n_train=None, n_val=None):
    """The digits (sklearn's bundled 1797 8x8 images, a fixed stratified 75/25 split) or, with
    ``cfg.data_dir``, MNIST (train / t10k files). ``n_train``/``n_val`` cap the sizes."""
    if cfg.data_dir:             # nn.data.datasets.MNIST names a missing or corrupt file
        train, test = datasets.MNIST(cfg.data_dir, train=True), datasets.MNIST(cfg.data_dir, train=False)
        xs, ys, xv, yv = train.data.numpy(), train.targets.numpy(), test.data.numpy(), test.targets.numpy()
        flat = lambda a: (a.reshape(len(a), -1) / 255.0).astype(np.float32)  # noqa: E731
        data = Data(flat(xs), ys.astype(np.int64), flat(xv), yv.astype(np.int64), (1,) + xs.shape[1:], "MNIST")
    else:
        x, y = _digits()
        tr, va = _stratified_split(y, 0.25, seed=0)
        data = Data(x[tr], y[tr], x[va], y[va], (1, 8, 8), "digits")
    return data.subset(n_train, n_val)


def seed_all(seed):
    """Seed the library's RNG (init, dropout) and return a NumPy generator for shuffling."""
    engine.manual_seed(seed)
    return np.random.default_rng(seed)


def batches(n, batch_size, rng):
    """Index arrays of one epoch over ``n`` examples in a fresh random order."""
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def loader(x, y, batch_size, shuffle=False, seed=0):
    """A ``DataLoader`` over ndarrays ``x``, ``y`` (for ``nn.training.fit``/``evaluate``); a
    shuffling loader draws its order from its own generator seeded with ``seed``."""
    from engine.utils.data import DataLoader, TensorDataset
    generator = engine.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(TensorDataset(engine.tensor(x), engine.tensor(y)), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)


def evaluate(model, x, y, loss_fn=None, batch_size=1024):
    """(mean loss, accuracy) of ``model`` on ndarrays ``x``, ``y`` in eval mode without grad;
    the model's train/eval mode is restored afterwards."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    with engine.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(engine.tensor(x[i:i + batch_size]))
            yb = engine.tensor(y[i:i + batch_size])
            total += float(loss_fn(out, yb).item()) * len(yb)
            correct += int((out.numpy().argmax(1) == y[i:i + batch_size]).sum())
    model.train(was_training)
    return total / len(x), correct / len(x)


def predict_proba(model, x):
    """Softmax class probabilities of ``model`` on ndarray ``x`` (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    with engine.no_grad():
        p = model(engine.tensor(x)).softmax(dim=-1).numpy().copy()
    model.train(was_training)
    return p


def train(model, data, optimizer, epochs, *, batch_size=64, seed=0, loss_fn=None, scheduler=None,
          penalty=None, on_step=None, eval_every_epoch=True, max_steps=None, transform=None):
    """Minibatch training of ``model`` on ``data`` with ``optimizer`` for ``epochs`` epochs.

    loss = loss_fn(model(x), y) (+ ``penalty()`` when given, e.g. ``model.regularization_loss``);
    ``scheduler.step()`` after every optimizer step; ``on_step(step, loss)`` may return True to
    stop; ``transform(x)`` maps a batch ndarray before the model (e.g. to images). Returns a
    history dict: per-step ``"step_loss"`` and per-epoch ``"loss" "accuracy" "val_loss"
    "val_accuracy"``; a non-finite loss stops training and sets ``"diverged": True``."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    transform = transform or (lambda a: a)
    hist = {"step_loss": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "diverged": False}
    model.train()
    step = 0
    for _ in range(epochs):
        for idx in batches(len(data.x_train), batch_size, rng):
            xb = engine.tensor(transform(data.x_train[idx]))
            yb = engine.tensor(data.y_train[idx])
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            if penalty is not None:
                loss = loss + penalty()
            value = float(loss.item())
            hist["step_loss"].append(value)
            if not np.isfinite(value):
                hist["diverged"] = True
                return hist
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
            if (on_step is not None and on_step(step, value)) or (max_steps and step >= max_steps):
                _epoch_end(model, data, hist, loss_fn, transform, eval_every_epoch)
                return hist
        _epoch_end(model, data, hist, loss_fn, transform, eval_every_epoch)
    return hist


def _epoch_end(model, data, hist, loss_fn, transform, enabled):
    if not enabled:
        return
    for prefix, x, y in (("", data.x_train, data.y_train), ("val_", data.x_val, data.y_val)):
        loss, acc = evaluate(model, transform(x), y, loss_fn)
        hist[prefix + "loss"].append(loss)
        hist[prefix + "accuracy"].append(acc)


def mlp(sizes, activation=nn.ReLU, batchnorm=False, dropout=0.0):
    """Linear layers of ``sizes`` (in, h1, …, out) with ``activation`` (and optional BatchNorm1d
    before it, Dropout after it) between them."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(activation())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def snapshot(model):
    """A copy of ``model.state_dict()`` as ndarrays (``copy.deepcopy`` of Parameters is refused)."""
    return {k: np.array(v.numpy() if hasattr(v, "numpy") else v, copy=True) for k, v in model.state_dict().items()}


def restore(model, state):
    """Load a :func:`snapshot` back into ``model``."""
    model.load_state_dict({k: engine.tensor(v.copy()) for k, v in state.items()})
    return model


def plt():
    """matplotlib.pyplot on the Agg backend (files only)."""
    import matplotlib
    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    return pyplot


def save_figure(fig, folder, name="figure.png"):
    """Save ``fig`` as ``folder/name`` (dpi 110) and close it; returns the path."""
    path = Path(folder) / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt().close(fig)
    return path


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(rows):
    """A Markdown table from a list of dicts (columns in first-seen key order)."""
    cols = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def write_results(folder, title, claim, tables, outcome, cfg, data_name=None):
    """``folder/results.md``: the claim, the measured outcome, then one table per
    (heading, rows) pair of ``tables``; returns the path."""
    size = "quick" if cfg.quick else "full"
    parts = [f"# {title}", "", f"Lecture's claim: {claim}", "", f"Measured: {outcome}", "",
             f"Run: {size} size, seed {cfg.seed}" + (f", data {data_name}" if data_name else "") + ".", ""]
    for heading, rows in tables:
        parts += [f"## {heading}", "", markdown_table(rows), ""]
    path = Path(folder) / "results.md"
    path.write_text("\n".join(parts))
    return path
