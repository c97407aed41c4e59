"""engine.utils.data: datasets, samplers, default_collate, DataLoader (single process and
worker processes), against plain NumPy/Python references and PyTorch's rules."""
from __future__ import annotations

import collections
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
from engine.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, DistributedSampler,
                               IterableDataset, RandomSampler, SequentialSampler, Subset,
                               SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                               default_collate, get_worker_info, random_split)


def _ds(n, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return TensorDataset(engine.tensor(rng.standard_normal((n, d)).astype(np.float32)),
                         engine.tensor(np.arange(n)))


def _batches(loader):
    return [tuple(np.asarray(t) for t in b) for b in loader]


def test_torch_utils_data_resolves_as_an_attribute_after_import_engine():
    """``import engine as torch`` then ``torch.utils.data.DataLoader`` (no import of its own), and
    ``import engine`` alone loads no data module (a fresh interpreter)."""
    import subprocess
    import sys
    code = ("import sys, engine as torch\n"
            "print('engine.utils.data' in sys.modules)\n"
            "print(torch.utils.data.DataLoader.__module__, torch.utils.data.TensorDataset.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(engine.__file__).parents[1])).stdout.split()
    assert out == ["False", "engine.utils.data.dataloader", "TensorDataset"]


def test_import_paths():
    import engine.utils.data as d
    assert engine.utils.data is d
    assert d.DataLoader is DataLoader


@settings(deadline=None, max_examples=25)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans(),
       seed=st.integers(0, 2 ** 31))
def test_batches_cover_dataset(n, bs, drop_last, shuffle, seed):
    ds = _ds(n)
    engine.manual_seed(seed)
    batches = _batches(DataLoader(ds, batch_size=bs, shuffle=shuffle, drop_last=drop_last))
    sizes = [len(b[1]) for b in batches]
    expect = [bs] * (n // bs) + ([] if drop_last or n % bs == 0 else [n % bs])
    assert sizes == expect
    assert len(DataLoader(ds, batch_size=bs, drop_last=drop_last)) == len(expect)
    idx = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, int)
    assert len(set(idx.tolist())) == len(idx)                        # no repeats
    if not shuffle:
        np.testing.assert_array_equal(idx, np.arange(len(idx)))
    for x, i in batches:                                             # rows match their labels
        np.testing.assert_array_equal(x, np.asarray(ds.tensors[0])[i])


def test_shuffle_follows_manual_seed_and_generator():
    ds = _ds(50)
    engine.manual_seed(3)
    a = _batches(DataLoader(ds, batch_size=50, shuffle=True))[0][1]
    engine.manual_seed(3)
    b = _batches(DataLoader(ds, batch_size=50, shuffle=True))[0][1]
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(50)) and a.tolist() != list(range(50))
    g1, g2 = engine.Generator().manual_seed(7), engine.Generator().manual_seed(7)
    c = _batches(DataLoader(ds, batch_size=50, shuffle=True, generator=g1))[0][1]
    d = _batches(DataLoader(ds, batch_size=50, shuffle=True, generator=g2))[0][1]
    np.testing.assert_array_equal(c, d)
    loader = DataLoader(ds, batch_size=50, shuffle=True, generator=g1)
    e1, e2 = _batches(loader)[0][1], _batches(loader)[0][1]
    assert e1.tolist() != e2.tolist()                                # a new permutation per epoch


def test_generator_state_roundtrip():
    g = engine.Generator().manual_seed(5)
    s = g.get_state()
    x = list(RandomSampler(range(20), generator=g))
    g.set_state(s)
    assert list(RandomSampler(range(20), generator=g)) == x
    assert g.initial_seed() == 5
    with pytest.raises(ValueError, match="generator state"):
        g.set_state(np.zeros(3, np.uint8))
    with pytest.raises(RuntimeError, match="cuda"):
        engine.Generator("cuda")


@settings(deadline=None, max_examples=10)
@given(n=st.integers(1, 30), bs=st.integers(1, 8), workers=st.integers(1, 3), seed=st.integers(0, 1000))
def test_workers_yield_same_batches_in_same_order(n, bs, workers, seed):
    ds = _ds(n)
    engine.manual_seed(seed)
    single = _batches(DataLoader(ds, batch_size=bs, shuffle=True))
    engine.manual_seed(seed)
    multi = _batches(DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers))
    assert len(single) == len(multi)
    for a, b in zip(single, multi):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)


class _Squares(Dataset):
    def __init__(self, n, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"sample {i} is broken")
        return {"x": np.full(2, i * i, np.float32), "i": i, "name": f"s{i}"}


def test_workers_dict_samples_and_persistent_workers():
    loader = DataLoader(_Squares(11), batch_size=4, num_workers=2, persistent_workers=True)
    for _ in range(2):
        got = list(loader)
        assert [b["i"].tolist() for b in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
        assert got[2]["name"] == ["s8", "s9", "s10"]
        np.testing.assert_array_equal(np.asarray(got[1]["x"]), np.repeat(np.arange(4, 8) ** 2, 2).reshape(4, 2))
    loader._pool.close()


def test_worker_error_reraised_naming_worker():
    loader = DataLoader(_Squares(10, fail_at=6), batch_size=2, num_workers=2)
    with pytest.raises(KeyError, match=r"worker process 1[\s\S]*sample 6 is broken"):
        list(loader)


def test_worker_init_fn_and_worker_info():
    class WhoAmI(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            info = get_worker_info()
            return np.array([info.id, info.num_workers, int(engine.rand(1).numpy()[0] < 2)])

    out = np.concatenate([np.asarray(b) for b in DataLoader(WhoAmI(), batch_size=1, num_workers=2)])
    assert out[:, 0].tolist() == [0, 1, 0, 1, 0, 1] and set(out[:, 1]) == {2}
    assert get_worker_info() is None

    def bad_init(wid):
        raise RuntimeError(f"init failed in {wid}")
    with pytest.raises(RuntimeError, match="init failed"):
        list(DataLoader(WhoAmI(), batch_size=2, num_workers=1, worker_init_fn=bad_init))


class _Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def test_iterable_dataset_single_and_workers():
    assert [b.tolist() for b in DataLoader(_Stream(10), batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b.tolist() for b in DataLoader(_Stream(10), batch_size=4, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    multi = [b.tolist() for b in DataLoader(_Stream(10), batch_size=2, num_workers=2)]
    assert sorted(sum(multi, [])) == list(range(10))
    assert multi[0] == [0, 2] and multi[1] == [1, 3]                 # round-robin over workers (PyTorch)
    assert [int(x) for x in DataLoader(_Stream(3), batch_size=None)] == [0, 1, 2]


def test_default_collate_against_numpy():
    Pair = collections.namedtuple("Pair", "a b")
    arrs = [np.random.default_rng(i).standard_normal((2, 3)) for i in range(4)]
    out = default_collate([(a, 1, 0.5, "s", Pair(a, True)) for a in arrs])
    np.testing.assert_array_equal(np.asarray(out[0]), np.stack(arrs))
    assert out[0].dtype == np.float64 and isinstance(out, list)
    assert out[1].dtype == np.int64 and out[1].tolist() == [1] * 4
    assert out[2].dtype == np.float64 and out[3] == ["s"] * 4
    assert isinstance(out[4], Pair) and out[4].b.dtype == np.bool_
    t = default_collate([engine.tensor([1.0, 2.0]), engine.tensor([3.0, 4.0])])
    assert t.dtype == np.float32 and t.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(RuntimeError, match=r"equal size.*\(2,\) at entry 0 and \(3,\) at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


@settings(deadline=None, max_examples=25)
@given(n=st.integers(0, 40), fracs=st.lists(st.integers(1, 5), min_size=1, max_size=4), seed=st.integers(0, 99))
def test_random_split_partitions(n, fracs, seed):
    ds = list(range(n))
    fr = [f / sum(fracs) for f in fracs]
    parts = random_split(ds, fr, generator=engine.Generator().manual_seed(seed))
    sizes = [len(p) for p in parts]
    assert sum(sizes) == n and max(sizes) - min(sizes) <= n  # all of it
    floor = [int(np.floor(n * f)) for f in fr]
    assert all(s - fl in (0, 1) for s, fl in zip(sizes, floor))
    assert sorted(sum(([p[i] for i in range(len(p))] for p in parts), [])) == ds
    parts2 = random_split(ds, sizes, generator=engine.Generator().manual_seed(seed))
    assert [list(p.indices) for p in parts2] == [list(p.indices) for p in parts]


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="non-negative integers or fractions"):
        random_split(range(5), [-1, 6])


def test_subset_concat():
    c = ConcatDataset([list(range(3)), list(range(10, 14))])
    assert len(c) == 7 and [c[i] for i in range(7)] == [0, 1, 2, 10, 11, 12, 13] and c[-1] == 13
    assert c.cumulative_sizes == [3, 7]
    with pytest.raises(IndexError):
        c[7]
    s = Subset(_ds(10), [9, 2])
    assert [int(s[i][1]) for i in range(2)] == [9, 2]
    assert [b[1].tolist() for b in DataLoader(s, batch_size=2)] == [[9, 2]]
    assert len(_ds(3) + _ds(4)) == 7
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(engine.zeros(3, 2), engine.zeros(4))


@settings(deadline=None, max_examples=25)
@given(n=st.integers(1, 50), k=st.integers(1, 80), seed=st.integers(0, 99))
def test_random_sampler(n, k, seed):
    g = engine.Generator().manual_seed(seed)
    s = list(RandomSampler(range(n), num_samples=k, generator=g))
    assert len(s) == k == len(RandomSampler(range(n), num_samples=k))
    for start in range(0, k - k % n, n):                             # whole permutations first
        assert sorted(s[start:start + n]) == list(range(n))
    r = list(RandomSampler(range(n), replacement=True, num_samples=k, generator=g))
    assert len(r) == k and all(0 <= i < n for i in r)
    sub = list(SubsetRandomSampler([3 * i for i in range(n)], generator=g))
    assert sorted(sub) == [3 * i for i in range(n)]


def test_weighted_sampler_frequencies():
    w = np.array([0.0, 1.0, 3.0])
    s = np.array(list(WeightedRandomSampler(w, 20000, generator=engine.Generator().manual_seed(0))))
    freq = np.bincount(s, minlength=3) / len(s)
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.02)
    no_rep = list(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False))
    assert sorted(no_rep) == [0, 1, 2]
    for bad, msg in [([-1, 1], "non-negative"), ([[1, 2]], "1-D"), ([0, 0], "not all zero")]:
        with pytest.raises(ValueError, match=msg):
            WeightedRandomSampler(bad, 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1, 1], 0)


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 40), reps=st.integers(1, 5), shuffle=st.booleans(), drop_last=st.booleans(),
       epoch=st.integers(0, 5))
def test_distributed_sampler_shards(n, reps, shuffle, drop_last, epoch):
    shards = []
    for r in range(reps):
        s = DistributedSampler(range(n), num_replicas=reps, rank=r, shuffle=shuffle, drop_last=drop_last)
        s.set_epoch(epoch)
        shards.append(list(s))
        assert len(shards[-1]) == len(s)
    sizes = {len(x) for x in shards}
    assert len(sizes) == 1                                           # equal shards
    flat = sum(shards, [])
    if drop_last:
        assert len(set(flat)) == len(flat) and len(flat) == (n // reps) * reps
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // reps) * reps
    if not shuffle and shards[0]:
        assert shards[0][0] == 0


def test_distributed_sampler_defaults_and_errors():
    s = DistributedSampler(range(5))
    assert (s.num_replicas, s.rank) == (1, 0)
    a = list(s)
    s.set_epoch(1)
    assert sorted(a) == sorted(s) == list(range(5)) and a != list(s)
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(5), num_replicas=2, rank=2)


def test_batch_sampler_and_sequential():
    assert list(BatchSampler(SequentialSampler(range(7)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(range(7), 3, True)) == 2
    loader = DataLoader(_ds(7), batch_sampler=BatchSampler(range(7), 3, False))
    assert [b[1].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [int(b[1]) for b in DataLoader(_ds(3), batch_size=None)] == [0, 1, 2]


@pytest.mark.parametrize("kwargs, err, msg", [
    (dict(batch_size=0), ValueError, "batch_size should be a positive integer"),
    (dict(batch_size=-2), ValueError, "batch_size"),
    (dict(batch_sampler=[[0]], batch_size=2), ValueError, "mutually exclusive"),
    (dict(batch_sampler=[[0]], shuffle=True), ValueError, "mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), ValueError, "mutually exclusive"),
    (dict(batch_sampler=[[0]], sampler=[0]), ValueError, "mutually exclusive"),
    (dict(sampler=[0, 1], shuffle=True), ValueError, "mutually exclusive with shuffle"),
    (dict(sampler=5), TypeError, "sampler should be an iterable"),
    (dict(num_workers=-1), ValueError, "num_workers"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor"),
    (dict(persistent_workers=True), ValueError, "persistent_workers"),
    (dict(batch_size=None, drop_last=True), ValueError, "drop_last"),
    (dict(timeout=-1), ValueError, "timeout"),
])
def test_loader_argument_errors(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        DataLoader(_ds(4), **kwargs)


def test_loader_bad_samplers_at_iteration():
    with pytest.raises(IndexError, match="yielded index 4 but the dataset has 4 samples"):
        list(DataLoader(_ds(4), sampler=SequentialSampler(range(10)), batch_size=2))
    with pytest.raises(TypeError, match="lists of indices"):
        list(DataLoader(_ds(4), batch_sampler=[0, 1]))
    with pytest.raises(ValueError, match="IterableDataset.*shuffle"):
        DataLoader(_Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="IterableDataset.*sampler"):
        DataLoader(_Stream(3), sampler=[0])


class _Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        import os
        if i == 2:
            os._exit(3)
        return np.float32(i)


class _Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        import time
        time.sleep(3)
        return np.float32(i)


def test_dead_worker_and_timeout_raise():
    with pytest.raises(RuntimeError, match=r"worker 1 \(pid \d+\) exited unexpectedly with exit code 3"):
        list(DataLoader(_Dies(), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(DataLoader(_Slow(), batch_size=1, num_workers=1, timeout=0.5))


_ORPHAN_SCRIPT = """
import os, sys, numpy as np
from engine.utils.data import DataLoader, TensorDataset
import engine
loader = DataLoader(TensorDataset(engine.tensor(np.arange(100.))), batch_size=2, num_workers=2,
                    persistent_workers=True)
next(iter(loader))
import multiprocessing
print(' '.join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
os.kill(os.getpid(), 9)   # SIGKILL: no cleanup code of ours runs
"""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie awaiting its reaper counts as gone
        return f.read().split(") ")[1][0] != "Z"


@pytest.mark.skipif(not os.path.exists("/proc"), reason="reads /proc to tell zombies apart")
def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    # PyTorch's workers watch their parent (ManagerWatchdog); ours check every
    # PARENT_CHECK_INTERVAL seconds while idle. Before: they blocked on their queue forever.
    log = tmp_path / "pids"
    with open(log, "w") as f:  # a file, not a pipe: orphaned workers would hold a pipe open
        subprocess.run([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=f, stderr=subprocess.STDOUT,
                       timeout=120)
    pids = [int(p) for p in log.read_text().split()]
    assert len(pids) == 2, log.read_text()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if _alive(p)]
    for p in left:
        os.kill(p, 9)
    assert not left, f"workers {left} outlived their killed main process"
