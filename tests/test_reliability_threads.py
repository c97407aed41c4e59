"""Threads (issue 10, items 2-3): grad mode, anomaly mode and the random stream are per thread, as
in PyTorch, and Numba's parallel kernels launched from several threads neither abort nor corrupt.

Two threads training two models (and one training next to one predicting under ``no_grad``) give
bit-for-bit the results of running them one after the other."""
import subprocess
import sys
import threading

import numpy as np
import pytest

import engine
import nn
import optim
from nn import functional as F


@pytest.fixture(autouse=True)
def _switch_often():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)          # interleave the threads as much as the GIL allows
    yield
    sys.setswitchinterval(old)


def run_threads(*fns):
    results, errors = [None] * len(fns), []
    start = threading.Barrier(len(fns))

    def wrap(i, fn):
        try:
            start.wait()
            results[i] = fn()
        except BaseException as e:          # noqa: BLE001 - reported by the test below
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return results


def train(seed, steps=40):
    """Seed this thread's stream, build a model with dropout and batch norm, train it with Adam on a
    fixed problem; returns the losses and the final weights."""
    engine.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    x = engine.Tensor(rng.standard_normal((64, 8)).astype(np.float32))
    y = engine.Tensor(rng.integers(0, 3, 64))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.numpy().copy() for p in model.parameters()]


def predict(model, x, steps=200):
    outs = []
    model.eval()
    for _ in range(steps):
        with engine.no_grad():
            out = model(x)
            assert not out.requires_grad
            outs.append(out.numpy().copy())
    return outs


def assert_same(a, b):
    la, wa = a
    lb, wb = b
    assert la == lb
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


def test_two_threads_training_equal_the_sequential_runs():
    sequential = [train(1), train(2)]
    concurrent = run_threads(lambda: train(1), lambda: train(2))
    assert_same(concurrent[0], sequential[0])
    assert_same(concurrent[1], sequential[1])


def test_training_next_to_a_no_grad_predictor_equals_the_sequential_runs():
    engine.manual_seed(0)
    frozen = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))
    x = engine.Tensor(np.random.default_rng(5).standard_normal((32, 8)).astype(np.float32))
    seq_train, seq_pred = train(3, steps=60), predict(frozen, x)
    con_train, con_pred = run_threads(lambda: train(3, steps=60), lambda: predict(frozen, x))
    assert_same(con_train, seq_train)
    for a, b in zip(con_pred, seq_pred):
        np.testing.assert_array_equal(a, b)


def test_grad_mode_and_anomaly_mode_are_per_thread():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with engine.no_grad(), engine.detect_anomaly():
            inside.set()
            release.wait(10)

    def other():
        inside.wait(10)
        seen["grad"], seen["anomaly"] = engine.is_grad_enabled(), engine.is_anomaly_enabled()
        w = engine.Tensor(np.ones(3, np.float32), requires_grad=True)
        seen["records"] = (w * 2).sum().requires_grad
        release.set()

    run_threads(holder, other)
    assert seen == {"grad": True, "anomaly": False, "records": True}
    assert engine.is_grad_enabled() and not engine.is_anomaly_enabled()


def test_backward_does_not_switch_grad_off_in_other_threads():
    """A long backward runs (with recording off, in its own thread) while another thread builds
    graphs: every op of the other thread records."""
    def long_backward():
        x = engine.Tensor(np.ones(16, np.float32), requires_grad=True)
        y = x
        for _ in range(3000):
            y = y * 1.0001
        y.sum().backward()
        return True

    def recorder():
        w = engine.Tensor(np.ones(4, np.float32), requires_grad=True)
        return sum((w * 3).sum().requires_grad for _ in range(3000))

    _, recorded = run_threads(long_backward, recorder)
    assert recorded == 3000


def test_seeding_one_thread_leaves_the_other_threads_stream_alone():
    def draws(seed, reseed_between):
        engine.manual_seed(seed)
        out = []
        for _ in range(200):
            out.append(float(engine.rand(1)))
            if reseed_between:
                engine.manual_seed(99)        # only this thread's stream
                engine.manual_seed(99)
        return out

    expected = draws(7, False)
    got, _ = run_threads(lambda: draws(7, False), lambda: draws(8, True))
    assert got == expected


KERNELS = r"""
import threading, numpy as np, engine, optim
from nn import functional as F

def work(seed):
    rng = np.random.default_rng(seed)
    p = engine.Tensor(rng.standard_normal(3_000_000).astype(np.float32), requires_grad=True)
    o = optim.Adam([p], lr=1e-3)
    x = engine.Tensor(rng.standard_normal((8, 16, 96, 96)).astype(np.float32), requires_grad=True)
    w = engine.Tensor(np.ones(16, np.float32), requires_grad=True)
    b = engine.Tensor(np.zeros(16, np.float32), requires_grad=True)
    out = []
    for _ in range(3):
        p.grad = engine.Tensor(rng.standard_normal(3_000_000).astype(np.float32))
        o.step()
        y = F.max_pool2d(F.batch_norm(x, None, None, w, b, training=True), 2)
        y.sum().backward()
        out.append((p.numpy().copy(), y.numpy().copy(), x.grad.numpy().copy()))
        x.grad = None
    return out

seq = [work(0), work(1)]
res = [None, None]
ts = [threading.Thread(target=lambda i=i: res.__setitem__(i, work(i))) for i in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
same = all(np.array_equal(a, b) for r, s in zip(res, seq) for ra, sa in zip(r, s) for a, b in zip(ra, sa))
print("same" if same else "different")
"""


def test_parallel_kernels_from_two_threads_neither_abort_nor_corrupt():
    out = subprocess.run([sys.executable, "-c", KERNELS], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() == "same"
