"""nn.training: fit/evaluate/predict, callbacks, checkpoints and exact resume, sanity checks."""
from __future__ import annotations

import csv
import math
import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import optim
from nn.data import DataLoader, TensorDataset
from nn.training import (Callback, CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, TensorBoardLogger,
                         accuracy, check_initial_loss, evaluate, fit, load_checkpoint, overfit_one_batch, predict,
                         save_checkpoint, top_k_accuracy)


def _blobs(n=120, d=4, c=3, seed=0):
    centers = 4.0 * np.eye(c, d)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    return TensorDataset(engine.tensor(x), engine.tensor(y.astype(np.int64)))


def _model(d=4, c=3, p=0.2):
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Dropout(p), nn.Linear(16, c))


def _setup(seed=0, gen=None, lr=0.05):
    engine.manual_seed(seed)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    train = DataLoader(_blobs(), batch_size=16, shuffle=True, generator=gen)
    val = DataLoader(_blobs(seed=1), batch_size=64)
    return model, opt, train, val


def _weights(model):
    return {k: np.array(np.asarray(v)) for k, v in model.state_dict().items()}


def test_fit_lowers_loss_and_restores_mode():
    model, opt, train, val = _setup()
    first = evaluate(model, val, nn.CrossEntropyLoss())
    h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=4, val_loader=val, progress=False)
    assert h.epoch == [0, 1, 2, 3]
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h.history["val_loss"][-1] < 0.5 * first["loss"] and h.history["val_accuracy"][-1] > 0.9
    assert model.training                                           # as before fit
    model.eval()
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, progress=False)
    assert not any(m.training for m in model.modules())            # eval before → eval after
    assert isinstance(h.history["loss"][0], float)


def test_modes_seen_by_the_model_during_fit():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)

        def forward(self, x):
            seen.append((self.training, engine.is_grad_enabled()))
            return self.lin(x)

    model = Probe()
    ds = _blobs(20)
    fit(model, DataLoader(ds, batch_size=10), loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=1, val_loader=DataLoader(ds, batch_size=20), progress=False)
    assert seen == [(True, True), (True, True), (False, False)]
    seen.clear()
    predict(model, DataLoader(ds, batch_size=20))
    assert seen == [(False, False)] and model.training


def test_evaluate_and_predict_against_numpy():
    model, _, _, val = _setup()
    ds = val.dataset
    x, y = np.asarray(ds.tensors[0]), np.asarray(ds.tensors[1])
    model.eval()
    with engine.no_grad():
        out = np.asarray(model(engine.tensor(x)))
    model.train()
    logp = out - out.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    res = evaluate(model, DataLoader(ds, batch_size=7), nn.CrossEntropyLoss(), metrics=("accuracy", "top_k_accuracy"))
    np.testing.assert_allclose(res["loss"], -logp[np.arange(len(y)), y].mean(), rtol=1e-5)
    np.testing.assert_allclose(res["accuracy"], (out.argmax(1) == y).mean())
    assert res["top_k_accuracy"] == 1.0                             # k=5 >= 3 classes
    np.testing.assert_allclose(np.asarray(predict(model, DataLoader(ds, batch_size=9))), out, rtol=1e-6)


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 20), c=st.integers(2, 8), k=st.integers(1, 8), seed=st.integers(0, 999))
def test_metrics_against_numpy(n, c, k, seed):
    rng = np.random.default_rng(seed)
    out, y = rng.standard_normal((n, c)), rng.integers(0, c, n)
    assert accuracy(out, y) == np.mean(out.argmax(1) == y)
    ranks = (out > out[np.arange(n), y][:, None]).sum(1)           # how many classes beat the target
    assert top_k_accuracy(out, y, k=k) == np.mean(ranks < k)
    probs = rng.random(n)
    t = rng.integers(0, 2, n).astype(np.float32)
    assert accuracy(probs, t) == np.mean((probs > 0.5) == (t > 0.5))
    logits, t2 = np.append(probs * 4 - 2, -3.0), np.append(t, 0.0)     # scores outside [0, 1]: threshold 0
    assert accuracy(logits, t2) == np.mean((logits > 0) == (t2 > 0.5))


def test_exact_resume_bit_for_bit(tmp_path):
    """3 epochs straight vs 1 epoch + checkpoint + (fresh objects) resume to 3: identical."""
    def run(epochs, resume=None, ckpt=None):
        gen = engine.Generator().manual_seed(11)
        model, opt, train, val = _setup(seed=5, gen=gen)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        cbs = [ModelCheckpoint(ckpt, monitor="val_loss")] if ckpt else []
        if resume:
            engine.manual_seed(999)                                  # the checkpoint must restore RNG
            gen.manual_seed(12345)
        h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs, val_loader=val,
                scheduler=sched, callbacks=cbs, progress=False, resume_from=resume)
        return model, h

    full_model, full_h = run(3)
    path = str(tmp_path / "ck.npz")
    run(1, ckpt=path)
    resumed_model, resumed_h = run(3, resume=path)
    a, b = _weights(full_model), _weights(resumed_model)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert resumed_h.epoch == full_h.epoch == [0, 1, 2]
    assert resumed_h.history == full_h.history


def test_checkpoint_roundtrip_and_tamper(tmp_path):
    model, opt, train, _ = _setup()
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, progress=False)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    sched.step()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, opt, sched, epoch=3, note="hello", numbers=[1, 2.5])
    w = _weights(model)
    model2, opt2, _, _ = _setup(seed=1)
    sched2 = optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=5)
    info = load_checkpoint(path, model2, opt2, sched2)
    assert info == {"epoch": 3, "note": "hello", "numbers": [1, 2.5]}
    assert all(np.array_equal(w[k], v) for k, v in _weights(model2).items())
    assert sched2.last_epoch == sched.last_epoch and opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    # a file whose arrays were rewritten (valid zip, valid manifest) is refused and changes nothing
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    key = next(k for k in arrays if k != "__manifest__" and arrays[k].dtype == np.float32)
    arrays[key] = arrays[key] + 1
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    before = _weights(model2)
    with pytest.raises(ValueError, match="altered or is corrupt"):
        load_checkpoint(bad, model2, opt2)
    assert all(np.array_equal(before[k], v) for k, v in _weights(model2).items())
    raw = bytearray(path.read_bytes())                              # flipped bytes: not a valid file
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "flip.npz").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="flip.npz"):
        load_checkpoint(tmp_path / "flip.npz", model2)
    engine.save(model.state_dict(), tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "plain.npz", model2)


def test_load_checkpoint_all_or_nothing(tmp_path):
    model, opt, _, _ = _setup()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, opt)
    other = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    other_opt = optim.Adam(other.parameters())       # wrong optimizer kind: fails after the model loaded
    before = _weights(other)
    sched = optim.lr_scheduler.StepLR(other_opt, 1)
    with pytest.raises(ValueError, match="no scheduler state"):
        load_checkpoint(path, other, other_opt, sched)
    assert all(np.array_equal(before[k], v) for k, v in _weights(other).items())
    bigger = nn.Sequential(nn.Linear(4, 17), nn.ReLU(), nn.Dropout(0.2), nn.Linear(17, 3))
    with pytest.raises(Exception):
        load_checkpoint(path, bigger)


def test_early_stopping_epoch_and_restore():
    """val_loss sequence forced by a callback: stops at the right epoch, restores best weights."""
    model, opt, train, val = _setup()
    seq = [1.0, 0.8, 0.85, 0.9, 0.95, 0.7]
    snapshots = {}

    class Fake(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = seq[epoch]
            snapshots[epoch] = _weights(self.model)

    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=6, callbacks=[Fake(), es], progress=False)
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best_epoch == 1
    assert all(np.array_equal(snapshots[1][k], v) for k, v in _weights(model).items())
    es2 = EarlyStopping(monitor="val_accuracy", patience=0, min_delta=0.5)
    assert es2.mode == "max"
    h2 = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=5, val_loader=val, callbacks=[es2],
             progress=False)
    assert h2.epoch == [0, 1]                                          # nothing beats +0.5 accuracy


def test_model_checkpoint_best_only_and_csv(tmp_path):
    model, opt, train, val = _setup()
    seq = [0.5, 0.3, 0.4, 0.2, 0.6]
    kept = []

    class Fake(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = seq[epoch]

    mc = ModelCheckpoint(str(tmp_path / "best-{epoch:02d}.npz"), save_best_only=True)
    log = tmp_path / "log.csv"
    lam = LambdaCallback(on_epoch_end=lambda e, logs: kept.append(_weights(model)))
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=5, callbacks=[Fake(), mc, CSVLogger(log), lam],
        progress=False)
    assert sorted(os.listdir(tmp_path)) == ["best-01.npz", "best-02.npz", "best-04.npz", "log.csv"]
    assert mc.best_path.endswith("best-04.npz") and mc.best == 0.2
    m2 = _model()
    assert load_checkpoint(mc.best_path, m2)["epoch"] == 3
    assert all(np.array_equal(kept[3][k], v) for k, v in _weights(m2).items())
    rows = list(csv.reader(open(log)))
    assert rows[0] == ["epoch", "accuracy", "loss", "lr", "val_loss"] and [r[0] for r in rows[1:]] == list("01234")
    assert [float(r[4]) for r in rows[1:]] == seq


def test_schedulers_stepping():
    model, opt, train, val = _setup()
    steps = len(train)
    oc = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2 * steps)
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=2, scheduler=oc, progress=False)
    assert oc.last_epoch == 2 * steps                                   # stepped per batch
    opt2 = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=0, factor=0.5)

    class Worse(Callback):
        pass
    h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt2, epochs=3, scheduler=plateau, val_loader=val,
            progress=False)
    lrs = h.history["lr"]
    vl = h.history["val_loss"]
    expect = [0.1]
    for e in range(2):                                                   # halves whenever val_loss did not improve
        improved = vl[e] < min(vl[:e], default=math.inf) * (1 - 1e-4)
        expect.append(expect[-1] if improved or e == 0 else expect[-1] * 0.5)
    np.testing.assert_allclose(lrs, expect)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt2, epochs=1, scheduler=plateau,
            scheduler_interval="step", progress=False)


def test_clip_grad_norm_applied():
    norms = []
    model, opt, train, _ = _setup(lr=0.0)

    class Spy(Callback):
        def on_batch_end(self, batch, logs=None):
            g = np.sqrt(sum(float((np.asarray(p.grad) ** 2).sum()) for p in self.model.parameters()))
            norms.append(g)
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, clip_grad_norm=0.01, callbacks=[Spy()],
        progress=False)
    assert max(norms) <= 0.01 * (1 + 1e-4)


def test_fit_argument_errors():
    model, opt, train, _ = _setup()
    kw = dict(loss_fn=nn.CrossEntropyLoss(), optimizer=opt, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, train, epochs=0, **kw)
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(model, train, epochs=1, scheduler_interval="batch", **kw)
    with pytest.raises(TypeError, match="Callback"):
        fit(model, train, epochs=1, callbacks=[print], **kw)
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, train, epochs=1, metrics=("f2",), **kw)
    with pytest.raises(TypeError, match=r"\(input, target\)"):
        fit(model, DataLoader(_blobs().tensors[0], batch_size=4), epochs=1, **kw)


def test_progress_bar_on_tty_and_summary_otherwise(capsys, monkeypatch):
    import io

    class TTY(io.StringIO):
        def isatty(self):
            return True
    tty = TTY()
    monkeypatch.setattr(sys, "stderr", tty)
    model, opt, train, _ = _setup()
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1)
    text = tty.getvalue()
    assert "Epoch 1/1" in text and f"{len(train)}/{len(train)}" in text and "loss=" in text and "lr=" in text
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1)
    assert "Epoch 1/1 - loss:" in capsys.readouterr().out
    fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, progress=False)
    assert capsys.readouterr().out == ""


def test_sanity_checks():
    model, opt, train, _ = _setup()
    batch = next(iter(train))
    r = check_initial_loss(model, nn.CrossEntropyLoss(), batch)
    assert r.expected == pytest.approx(math.log(3))
    with pytest.warns(RuntimeWarning, match="far from"):
        model[-1].weight.data[...] = np.asarray(model[-1].weight) * 100
        check_initial_loss(model, nn.CrossEntropyLoss(), batch)
    model, opt, train, _ = _setup()
    w = _weights(model)
    res = overfit_one_batch(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), batch, steps=150)
    assert res.learned and res.accuracy == 1.0 and res.loss < res.initial_loss
    assert all(np.array_equal(w[k], v) for k, v in _weights(model).items())     # restored
    frozen = _model()
    with pytest.warns(RuntimeWarning, match="could not overfit"):
        res = overfit_one_batch(frozen, nn.CrossEntropyLoss(), optim.SGD(frozen.parameters(), lr=0.0), batch, steps=3)
    assert not res.learned


def test_tensorboard_logger(tmp_path, monkeypatch):
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        tensorboardX = None
    if tensorboardX is not None:
        model, opt, train, _ = _setup()
        fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, callbacks=[TensorBoardLogger(tmp_path)],
            progress=False)
        assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path))
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"gradbricks\[tensorboard\]"):
        TensorBoardLogger(tmp_path)


def test_fit_with_worker_loader_matches_single_process():
    def run(workers):
        gen = engine.Generator().manual_seed(3)
        engine.manual_seed(0)
        model = _model()
        train = DataLoader(_blobs(), batch_size=16, shuffle=True, generator=gen, num_workers=workers)
        h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.05),
                epochs=2, progress=False)
        return h.history["loss"], _weights(model)
    (l0, w0), (l2, w2) = run(0), run(2)
    assert l0 == l2 and all(np.array_equal(w0[k], w2[k]) for k in w0)


@pytest.mark.parametrize("checkpoint_first", [True, False])
def test_exact_resume_with_early_stopping_after_the_checkpoint(tmp_path, checkpoint_first):
    """Whatever the callback order, the checkpoint of epoch k holds EarlyStopping's state after
    epoch k: resuming stops at the same epoch and restores the same weights as the straight run."""
    seq = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9]                     # best at epoch 1, patience 2: stop at epoch 3

    class Fake(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = seq[epoch]

    def run(epochs, resume=None, ckpt=None):
        gen = engine.Generator().manual_seed(11)
        model, opt, train, _ = _setup(seed=5, gen=gen)
        es = EarlyStopping(patience=2, restore_best_weights=True)
        cbs = [ModelCheckpoint(ckpt)] if ckpt else []
        cbs = [Fake(), *cbs, es] if checkpoint_first else [Fake(), es, *cbs]
        if resume:
            engine.manual_seed(999)
            gen.manual_seed(12345)
        h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs, callbacks=cbs,
                progress=False, resume_from=resume)
        return _weights(model), h, es

    full_w, full_h, full_es = run(6)
    assert full_h.epoch == [0, 1, 2, 3] and full_es.best_epoch == 1
    path = str(tmp_path / "ck.npz")
    run(2, ckpt=path)                                          # checkpoint after epoch 1 (the best so far)
    w, h, es = run(6, resume=path, ckpt=str(tmp_path / "ck2.npz"))
    assert h.epoch == full_h.epoch and es.best_epoch == full_es.best_epoch == 1
    assert es.stopped_epoch == full_es.stopped_epoch == 3
    assert all(np.array_equal(full_w[k], w[k]) for k in full_w)


def test_early_stopping_restores_best_weights_at_the_end_and_baseline_like_keras():
    """Keras 3: restore_best_weights also when training ran to the end; with a baseline, an
    improving epoch never stops training but only one beating the baseline resets the wait."""
    seq = [1.0, 0.5, 0.6, 0.55, 0.45, 0.44, 0.7]
    snapshots = {}

    class Fake(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = seq[epoch]
            snapshots[epoch] = _weights(self.model)

    model, opt, train, _ = _setup()
    es = EarlyStopping(patience=5, restore_best_weights=True)
    h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=4, callbacks=[Fake(), es], progress=False)
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 0 and es.best_epoch == 1
    assert all(np.array_equal(snapshots[1][k], v) for k, v in _weights(model).items())
    # baseline 0.3 is never beaten: the wait counts every epoch; epoch 2 does not improve and the
    # wait (3) has reached patience 3
    es = EarlyStopping(patience=3, baseline=0.3)
    h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=7, callbacks=[Fake(), es], progress=False)
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 2 and es.best_epoch == 1
    # epochs 0-5 improve (no stop on an improving epoch although the wait passes patience), epoch 6 does not
    es = EarlyStopping(patience=3, baseline=0.3)
    seq[2:4] = [0.49, 0.48]
    h = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=7, callbacks=[Fake(), es], progress=False)
    assert h.epoch == [0, 1, 2, 3, 4, 5, 6] and es.stopped_epoch == 6 and es.best_epoch == 5


def test_scheduler_interval_explicit_and_cyclic_per_batch():
    model, opt, train, _ = _setup()
    steps, kw = len(train), dict(loss_fn=nn.CrossEntropyLoss(), optimizer=opt, progress=False)
    cyc = optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3)
    fit(model, train, epochs=2, scheduler=cyc, **kw)
    assert cyc.last_epoch == 2 * steps                                   # CyclicLR: per batch by default
    step = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    lr0 = opt.param_groups[0]["lr"]
    fit(model, train, epochs=2, scheduler=step, scheduler_interval="step", **kw)
    assert step.last_epoch == 2 * steps and opt.param_groups[0]["lr"] == pytest.approx(lr0 * 0.5 ** (2 * steps))
    oc = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    h = fit(model, train, epochs=3, scheduler=oc, scheduler_interval="epoch", **kw)
    assert oc.last_epoch == 3 and len(set(h.history["lr"])) == 3          # once per epoch when asked
