"""DataLoader argument handling, worker processes and worker error reports (engine/utils/data/
dataloader.py, worker.py): stored attributes and error messages against torch.utils.data, the
batches of IterableDatasets split over workers against PyTorch, worker seeding / worker_info /
worker_init_fn, persistent workers across epochs (also after an epoch left early), how many
batches are read ahead, timeouts, dead workers, clean worker shutdown, and the exceptions a
worker reports (type kept when it can be rebuilt, else RuntimeError; PyTorch's message layout)."""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import random
import re
import signal
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, settings, strategies as st

import engine
from engine.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


class _Alarm(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds):
    """Fail (instead of hanging) if the block takes longer than ``seconds``; keeps any alarm an
    outer harness set."""
    def on_alarm(*_):
        raise _Alarm(f"took longer than {seconds} s")
    outer = signal.alarm(0)
    start = time.monotonic()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        if outer:
            signal.alarm(max(1, int(outer - (time.monotonic() - start))))


def _words(msg):
    return re.findall(r"[A-Za-z_]+|\d+|[<>=]", msg)


def _error(fn):
    with pytest.raises(Exception) as ei:
        fn()
    return ei.value


# ----------------------------------------------------------------------------------------------
# constructor: attributes and errors, against torch
# ----------------------------------------------------------------------------------------------

_ATTRS = ["batch_size", "drop_last", "num_workers", "pin_memory", "timeout", "prefetch_factor",
          "persistent_workers", "pin_memory_device", "in_order"]


def _collate_first(batch):
    return batch[0]


@pytest.mark.parametrize("kwargs", [
    {},
    dict(batch_size=3, drop_last=True),
    dict(pin_memory=True, pin_memory_device="cpu", timeout=2.5, in_order=False),
    dict(in_order=True, pin_memory=False),
    dict(num_workers=2),
    dict(num_workers=2, prefetch_factor=3, persistent_workers=True),
    dict(num_workers=1, prefetch_factor=1),
    dict(batch_sampler=[[0, 1], [2]]),
    dict(batch_size=None),
    dict(collate_fn=_collate_first, batch_size=2),
])
def test_stored_attributes_match_torch(kwargs):
    data = list(range(6))
    ours, theirs = DataLoader(data, **kwargs), tud.DataLoader(data, **kwargs)
    for name in _ATTRS:
        assert getattr(ours, name) == getattr(theirs, name), name
        assert type(getattr(ours, name)) is type(getattr(theirs, name)), name
    if "collate_fn" in kwargs:
        assert ours.collate_fn is kwargs["collate_fn"]
        assert [int(b) for b in ours] == [int(b) for b in theirs]


@pytest.mark.parametrize("kwargs", [
    dict(prefetch_factor=2),
    dict(persistent_workers=True),
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_size=None, drop_last=True),
])
def test_error_messages_have_torchs_words(kwargs):
    data = list(range(4))
    ours = _error(lambda: DataLoader(data, **kwargs))
    theirs = _error(lambda: tud.DataLoader(data, **kwargs))
    assert type(ours) is type(theirs) is ValueError
    assert _words(str(ours)) == _words(str(theirs))


@pytest.mark.parametrize("kwargs", [
    dict(batch_size=0), dict(batch_size=-2), dict(batch_size=True), dict(batch_size=1.5),
    dict(batch_size=2, drop_last=1),
])
@pytest.mark.parametrize("iterable", [False, True])
def test_bad_batch_size_and_drop_last_rejected_like_torch(kwargs, iterable):
    class Ours(IterableDataset):
        def __iter__(self):
            return iter(range(4))

    class Theirs(tud.IterableDataset):
        def __iter__(self):
            return iter(range(4))
    ours = _error(lambda: DataLoader(Ours() if iterable else list(range(4)), **kwargs))
    theirs = _error(lambda: tud.DataLoader(Theirs() if iterable else list(range(4)), **kwargs))
    assert type(ours) is type(theirs) is ValueError
    name = next(iter(kwargs if "drop_last" not in kwargs else ["drop_last"]))
    assert str(ours).startswith(f"{name} should be a ")
    assert str(ours).endswith(f"but got {name}={kwargs[name]!r}")


def test_iterable_dataset_with_batch_sampler_message_like_torch():
    class T(tud.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    class E(IterableDataset):
        def __iter__(self):
            return iter(range(3))
    ours = _error(lambda: DataLoader(E(), batch_sampler=[[0]]))
    theirs = _error(lambda: tud.DataLoader(T(), batch_sampler=[[0]]))
    assert type(ours) is type(theirs) is ValueError
    assert _words(str(ours)) == _words(str(theirs))


def test_library_argument_checks():
    """Checks PyTorch leaves to later failures: the library's own messages name the culprit."""
    class NoItems:
        pass
    err = _error(lambda: DataLoader(NoItems()))
    assert isinstance(err, TypeError) and str(err).endswith("got NoItems")
    err = _error(lambda: DataLoader(list(range(4)), batch_sampler=7))
    assert isinstance(err, TypeError)
    assert str(err) == "batch_sampler should be an iterable (a Sampler), got int"
    err = _error(lambda: DataLoader(list(range(4)), sampler=7.5))
    assert isinstance(err, TypeError) and str(err).endswith("got float")
    for bad in (True, 1.5, -1):
        err = _error(lambda: DataLoader(list(range(4)), num_workers=bad))
        assert isinstance(err, ValueError) and "num_workers" in str(err)
    for bad in (0, 1.5, -3):       # PyTorch accepts these and then hangs or fails in range()
        err = _error(lambda: DataLoader(list(range(4)), num_workers=2, prefetch_factor=bad))
        assert isinstance(err, ValueError) and str(err).startswith("prefetch_factor should be")


@settings(deadline=None, max_examples=30)
@given(n=st.integers(0, 20), bs=st.one_of(st.none(), st.integers(1, 7)), drop_last=st.booleans())
def test_len_of_sized_iterable_dataset_matches_torch(n, bs, drop_last):
    if bs is None:
        drop_last = False

    class Ours(IterableDataset):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n

    class Theirs(tud.IterableDataset):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n
    ours = DataLoader(Ours(), batch_size=bs, drop_last=drop_last)
    theirs = tud.DataLoader(Theirs(), batch_size=bs, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert sum(1 for _ in ours) == sum(1 for _ in theirs) == len(theirs)


def test_generator_supplies_the_epoch_seed_not_the_global_rng():
    """PyTorch draws each epoch's base seed from ``generator`` when given: the global RNG is left
    alone (num_workers=0), and the workers' seeds follow the generator, not the global seed."""
    def global_draw_after(make_loader, seed_fn, draw_fn):
        seed_fn(0)
        iter(make_loader())
        return draw_fn()

    data = list(range(4))
    for lib in ("ours", "theirs"):
        if lib == "ours":
            seed_fn, draw = engine.manual_seed, lambda: engine.rand(3).numpy()
            make = lambda: DataLoader(data, generator=engine.Generator().manual_seed(1))
        else:
            seed_fn, draw = torch.manual_seed, lambda: torch.rand(3).numpy()
            make = lambda: tud.DataLoader(data, generator=torch.Generator().manual_seed(1))
        seed_fn(0)
        untouched = draw()
        np.testing.assert_array_equal(global_draw_after(make, seed_fn, draw), untouched)

    seeds = []
    for global_seed in (3, 4):
        engine.manual_seed(global_seed)
        loader = DataLoader(_WorkerReport(4), batch_size=1, num_workers=2,
                            generator=engine.Generator().manual_seed(9), collate_fn=lambda b: b)
        seeds.append([b[0][2] for b in loader])
    assert seeds[0] == seeds[1]


# ----------------------------------------------------------------------------------------------
# worker processes
# ----------------------------------------------------------------------------------------------

_INIT_ARG = []


def _record_init(wid):
    _INIT_ARG.append(wid)


class _WorkerReport(Dataset):
    """Sample i → (worker id, num_workers, seed, dataset tag, init_fn arg, python random draw,
    engine.rand draw, pid), as seen inside the worker."""

    def __init__(self, n, tag=7):
        self.n, self.tag = n, tag

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        return [info.id, info.num_workers, info.seed, info.dataset.tag,
                _INIT_ARG[-1] if _INIT_ARG else -1, random.random(),
                float(engine.rand(1).numpy()[0]), os.getpid()]


def test_worker_info_seeding_and_init_fn():
    engine.manual_seed(5)
    rows = [b[0] for b in DataLoader(_WorkerReport(6), batch_size=1, num_workers=3,
                                     worker_init_fn=_record_init, collate_fn=lambda b: b)]
    assert get_worker_info() is None
    assert [r[0] for r in rows] == [0, 1, 2, 0, 1, 2]
    assert {r[1] for r in rows} == {3} and {r[3] for r in rows} == {7}
    assert [r[4] for r in rows] == [0, 1, 2, 0, 1, 2]          # init_fn got the worker id
    seeds = [r[2] for r in rows[:3]]
    assert seeds == [seeds[0], seeds[0] + 1, seeds[0] + 2]     # base_seed + worker_id (PyTorch)
    for r in rows[:3]:                                       # first draw of each worker
        assert r[5] == random.Random(r[2]).random()          # python's random seeded with it
        engine.manual_seed(r[2])
        assert r[6] == float(engine.rand(1).numpy()[0])       # and the library's generator


def test_torch_seeds_workers_the_same_way():
    class Report(tud.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            info = tud.get_worker_info()
            return [info.id, info.seed, random.random()]
    rows = [b[0] for b in tud.DataLoader(Report(), batch_size=1, num_workers=3, collate_fn=lambda b: b)]
    assert [r[1] for r in rows] == [rows[0][1] + k for k in range(3)]
    assert all(r[2] == random.Random(r[1]).random() for r in rows)


class _Probe(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.float64(i)


class _CountingBatches:
    """A batch sampler that counts how many batches the loader has drawn from it."""

    def __init__(self, n):
        self.n, self.drawn = n, 0

    def __len__(self):
        return self.n

    def __iter__(self):
        for k in range(self.n):
            self.drawn += 1
            yield [k]


@pytest.mark.parametrize("workers,prefetch", [(2, 2), (3, 1), (1, 3)])
def test_reads_ahead_prefetch_factor_times_workers_batches(workers, prefetch):
    sampler = _CountingBatches(20)
    it = iter(DataLoader(_Probe(20), batch_sampler=sampler, num_workers=workers,
                         prefetch_factor=prefetch, timeout=20))
    with _deadline(30):
        assert float(next(it)[0]) == 0.0
        assert sampler.drawn == workers * prefetch
        assert [float(b[0]) for b in it] == list(range(1, 20))
    # PyTorch primes the same number of batches (and puts one more after returning the first)
    tsampler = _CountingBatches(20)
    tit = iter(tud.DataLoader(_Probe(20), batch_sampler=tsampler, num_workers=workers,
                              prefetch_factor=prefetch))
    next(tit)
    assert tsampler.drawn == workers * prefetch + 1
    del tit


def test_custom_context_object_and_bad_context_name():
    class Recording:
        def __init__(self):
            self.ctx, self.processes = mp.get_context("fork"), 0

        def Queue(self):
            return self.ctx.Queue()

        def Process(self, **kw):
            self.processes += 1
            return self.ctx.Process(**kw)
    rec = Recording()
    with _deadline(30):
        out = [float(b[0]) for b in DataLoader(_Probe(5), num_workers=2, multiprocessing_context=rec)]
    assert out == [0.0, 1.0, 2.0, 3.0, 4.0] and rec.processes == 2
    with pytest.raises(ValueError):
        list(tud.DataLoader(_Probe(2), num_workers=1, multiprocessing_context="no-such-method"))
    with pytest.raises(ValueError):
        list(DataLoader(_Probe(2), num_workers=1, multiprocessing_context="no-such-method"))


class _Pid(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return os.getpid()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:             # a zombie is not alive
        return f.read().split(")")[-1].split()[0] != "Z"


def test_workers_are_daemonic_and_exit_cleanly_after_the_epoch():
    before = set(mp.active_children())
    loader = DataLoader(_Pid(), batch_size=1, num_workers=2)
    it = iter(loader)
    with _deadline(30):
        first = int(next(it))
        procs = [p for p in mp.active_children() if p not in before]
        assert len(procs) == 2 and all(p.daemon for p in procs)
        rest = [int(b) for b in it]
    assert {first, *rest} == {p.pid for p in procs}
    assert [p.exitcode for p in procs] == [0, 0]          # told to stop, not terminated


def test_workers_stop_when_the_epoch_fails():
    before = set(mp.active_children())
    with _deadline(30), pytest.raises(KeyError) as ei:
        list(DataLoader(_Failing(6, fail_at=3), batch_size=1, num_workers=2))
    assert ei.value is not None                          # the traceback is still held here
    assert [p for p in mp.active_children() if p not in before] == []


def test_persistent_workers_keep_their_processes_and_non_persistent_do_not():
    with _deadline(60):
        loader = DataLoader(_Pid(), batch_size=1, num_workers=2, persistent_workers=True)
        pids = [sorted({int(b) for b in loader}) for _ in range(3)]
        assert pids[0] == pids[1] == pids[2] and len(pids[0]) == 2
        assert all(_alive(p) for p in pids[0])
        loader._pool.close()
        loader = DataLoader(_Pid(), batch_size=1, num_workers=2)
        first = {int(b) for b in loader}
        assert not any(_alive(p) for p in first)


def test_persistent_workers_after_an_epoch_left_early():
    """Results still in flight from an abandoned epoch must not leak into the next one."""
    data = _Probe(16)
    loader = DataLoader(data, batch_size=2, shuffle=True, num_workers=2, persistent_workers=True,
                        generator=engine.Generator().manual_seed(3), timeout=20)
    single = DataLoader(data, batch_size=2, shuffle=True, generator=engine.Generator().manual_seed(3))
    with _deadline(60):
        for epoch in range(3):
            want = [np.asarray(b).tolist() for b in single]
            got = []
            for b in loader:
                got.append(np.asarray(b).tolist())
                if epoch == 0 and len(got) == 1:
                    break
            assert got == (want[:1] if epoch == 0 else want)
    loader._pool.close()


# ----------------------------------------------------------------------------------------------
# iterable datasets over workers, against PyTorch
# ----------------------------------------------------------------------------------------------

def _make_stream(base, info_fn):
    class Stream(base):
        """Worker w yields sizes[w] consecutive numbers starting at 100*w."""

        def __init__(self, sizes):
            self.sizes = sizes

        def __iter__(self):
            info = info_fn()
            w = 0 if info is None else info.id
            return iter(range(100 * w, 100 * w + self.sizes[w]))
    return Stream


_OurStream = _make_stream(IterableDataset, get_worker_info)
_TorchStream = _make_stream(tud.IterableDataset, tud.get_worker_info)


def _as_lists(loader, limit=200):
    return [np.asarray(b).tolist() for b in itertools.islice(loader, limit)]


@pytest.mark.parametrize("sizes,bs,drop_last", [
    ([5, 2, 7], 2, False),
    ([5, 2, 7], 2, True),
    ([0, 3, 1], 2, False),
    ([6, 1], 3, True),
    ([4, 4, 4], None, False),
])
def test_iterable_dataset_over_workers_matches_torch(sizes, bs, drop_last):
    kw = dict(batch_size=bs, drop_last=drop_last, num_workers=len(sizes))
    with _deadline(60):
        ours = _as_lists(DataLoader(_OurStream(sizes), timeout=20, **kw))
    theirs = _as_lists(tud.DataLoader(_TorchStream(sizes), **kw))
    assert ours == theirs


def test_iterable_dataset_with_persistent_workers_restarts_each_epoch():
    loader = DataLoader(_OurStream([3, 5]), batch_size=2, num_workers=2, persistent_workers=True,
                        timeout=20)
    tl = tud.DataLoader(_TorchStream([3, 5]), batch_size=2, num_workers=2, persistent_workers=True)
    want = _as_lists(tl)
    with _deadline(60):
        for _ in range(3):
            assert _as_lists(loader) == want
    loader._pool.close()


class _ListItems(Dataset):
    """A dataset that only takes single integer indices (a list index would be an error)."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return [i, i * i]


def test_map_dataset_over_workers_matches_torch():
    for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
               dict(batch_size=2, collate_fn=lambda b: [x[1] for x in b])):
        with _deadline(60):
            ours = list(DataLoader(_ListItems(), num_workers=2, timeout=20, **kw))
        theirs = list(tud.DataLoader(_ListItems(), num_workers=2, **kw))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            if isinstance(b, list) and b and isinstance(b[0], torch.Tensor):
                assert [np.asarray(x).tolist() for x in a] == [x.tolist() for x in b]
            else:
                assert np.asarray(a).tolist() == np.asarray(b).tolist()


# ----------------------------------------------------------------------------------------------
# timeouts and dead workers
# ----------------------------------------------------------------------------------------------

class _Sleepy(Dataset):
    def __init__(self, n, seconds):
        self.n, self.seconds = n, seconds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.seconds)
        return np.float32(i)


def test_slow_batches_within_timeout_arrive_without_busy_waiting():
    with _deadline(60):
        for timeout in (0, 3):                    # 0 = wait forever; 3 s > the 1.2 s a batch takes
            cpu = time.process_time()
            out = [float(b[0]) for b in DataLoader(_Sleepy(2, 1.2), batch_size=1, num_workers=2,
                                                    timeout=timeout)]
            cpu = time.process_time() - cpu
            assert out == [0.0, 1.0]
            assert cpu < 0.5, f"the main process burnt {cpu:.2f} s of CPU waiting"


def test_timeout_shorter_than_a_batch_raises():
    with _deadline(30), pytest.raises(RuntimeError, match=r"timed out after 0\.25 seconds"):
        list(DataLoader(_Sleepy(1, 0.7), batch_size=1, num_workers=1, timeout=0.25))


class _Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 1:
            os._exit(5)
        return np.float32(i)


def test_dead_worker_raises():
    with _deadline(30), pytest.raises(RuntimeError, match=r"worker 1 \(pid \d+\) exited unexpectedly "
                                                          r"with exit code 5"):
        list(DataLoader(_Dies(), batch_size=1, num_workers=2))


# ----------------------------------------------------------------------------------------------
# worker exceptions
# ----------------------------------------------------------------------------------------------

class _Failing(Dataset):
    def __init__(self, n, fail_at, exc=KeyError):
        self.n, self.fail_at, self.exc = n, fail_at, exc

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise self.exc(f"sample {i} is broken")
        return np.float32(i)


class _TorchFailing(tud.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError(f"sample {i} is broken")
        return np.float32(i)


def test_worker_exception_message_layout_matches_torch():
    with _deadline(30):
        ours = _error(lambda: list(DataLoader(_Failing(6, fail_at=3), batch_size=1, num_workers=2)))
    theirs = _error(lambda: list(tud.DataLoader(_TorchFailing(), batch_size=1, num_workers=2)))
    assert type(ours) is type(theirs) is KeyError
    o, t = ours.args[0].splitlines(), theirs.args[0].splitlines()
    assert o[:2] == t[:2] == ["Caught KeyError in DataLoader worker process 1.",
                              "Original Traceback (most recent call last):"]
    assert o[-1] == t[-1]                                   # KeyError: 'sample 3 is broken'
    assert re.match(r'  File ".*", line \d+, in ', o[2])
    assert o[-3].strip().startswith("File ") and o[-3].rstrip().endswith("in __getitem__")


class _NotFromText(Exception):
    """An exception class that cannot be rebuilt from a message string."""

    def __init__(self, code=None):
        if code is not None:
            code = int(code)
        super().__init__(code)


def test_worker_exceptions_that_cannot_be_rebuilt_become_runtime_error():
    class Local(Exception):               # not picklable by reference
        pass

    for exc, name in ((Local, "Local"), (_NotFromText, "_NotFromText")):
        with _deadline(30), pytest.raises(RuntimeError) as ei:
            list(DataLoader(_Failing(4, fail_at=2, exc=lambda m, e=exc: e()), batch_size=1,
                            num_workers=2))
        assert type(ei.value) is RuntimeError
        assert str(ei.value).startswith(f"Caught {name} in DataLoader worker process 0.\n"
                                        f"Original Traceback (most recent call last):\n")


def _fail_init(wid):
    raise ValueError(f"init failed in worker {wid}")


def test_worker_init_fn_error_is_reported():
    with _deadline(30), pytest.raises(ValueError) as ei:
        list(DataLoader(_Probe(4), num_workers=1, worker_init_fn=_fail_init))
    assert str(ei.value).startswith("Caught ValueError in DataLoader worker process 0.\n")
    assert str(ei.value).rstrip().endswith("ValueError: init failed in worker 0")


class _StuckAt(Dataset):
    def __init__(self, n, stuck_at, seconds):
        self.n, self.stuck_at, self.seconds = n, stuck_at, seconds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.stuck_at:
            time.sleep(self.seconds)
        return np.float32(i)


@pytest.mark.parametrize("seconds", [0.5, 30])
def test_closing_waits_for_a_busy_worker_but_not_for_a_stuck_one(seconds):
    """Leaving an epoch early while a worker is busy in user code: the loader lets it finish and
    exit cleanly (exit code 0) if it does so soon, but waits only a bounded time (5 s) before
    terminating a stuck one, instead of waiting for the user code to return."""
    before = set(mp.active_children())
    it = iter(DataLoader(_StuckAt(4, stuck_at=1, seconds=seconds), batch_size=1, num_workers=2))
    with _deadline(20):
        assert float(next(it)[0]) == 0.0
        procs = [p for p in mp.active_children() if p not in before]
        start = time.monotonic()
        it.close()
        took = time.monotonic() - start
    assert took < 12
    assert not any(p.is_alive() for p in procs)
    assert sorted(p.exitcode for p in procs) == ([0, 0] if seconds < 1 else [-signal.SIGTERM, 0])
