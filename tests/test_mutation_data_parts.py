"""engine.utils.data, the parts below the DataLoader (mutation-testing guard): ``default_collate``
and ``default_convert`` (non-list batches, NumPy scalars and string arrays, mixed Python numbers,
mapping/sequence/named-tuple types kept, the error messages), the datasets (``TensorDataset``,
``ConcatDataset`` indexing at the boundaries, ``ChainDataset``, ``random_split`` lengths and
fractions and its draw from the library generator), the samplers (argument checks with PyTorch's
messages, ``generator=`` honoured, one permutation per epoch, weights in float16),
``DistributedSampler`` (defaults, argument checks, padding when the data is shorter than the
world) and the map fetcher (``__getitems__``, custom ``collate_fn``, datasets without ``__len__``,
negative indices, the TensorDataset fast path behaving exactly like the per-sample path).
PyTorch is the reference wherever it has the feature; otherwise plain NumPy or an invariant."""
from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import engine
from engine.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                               DistributedSampler, IterableDataset, RandomSampler, Subset,
                               SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                               default_collate, default_convert, random_split)
from engine.utils.data import _rng


def _np(x):
    return np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x)


def _same(ours, ref):
    """Structural equality of a collated result and PyTorch's (types of containers, dtypes, values)."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, engine.Tensor), type(ours)
        a, b = _np(ours), _np(ref)
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
        np.testing.assert_array_equal(a, b)
    elif isinstance(ref, collections.abc.Mapping):
        assert type(ours) is type(ref) and list(ours) == list(ref)
        for k in ref:
            _same(ours[k], ref[k])
    elif isinstance(ref, (list, tuple)) and not isinstance(ref, str):
        assert type(ours) is type(ref) and len(ours) == len(ref), (type(ours), type(ref))
        for u, v in zip(ours, ref):
            _same(u, v)
    else:
        assert type(ours) is type(ref) and ours == ref


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the outcome compared is the exception
        return e
    return None


# ---------------------------------------------------------------- default_collate / default_convert

def test_collate_accepts_any_iterable_batch():
    samples = [(np.arange(3.0) + i, i) for i in range(4)]
    ref = default_collate(samples)
    for batch in ((s for s in samples), iter(samples), tuple(samples)):
        out = default_collate(batch)
        assert isinstance(out, list) and len(out) == 2
        np.testing.assert_array_equal(_np(out[0]), np.stack([s[0] for s in samples]))
        np.testing.assert_array_equal(_np(out[1]), _np(ref[1]))
        assert out[1].dtype == engine.int64
    with pytest.raises(ValueError) as e:
        default_collate(s for s in [])
    assert str(e.value) == "default_collate: the batch is empty"
    with pytest.raises(ValueError) as e:
        default_collate([])
    assert str(e.value) == "default_collate: the batch is empty"


@pytest.mark.parametrize("make, kind", [(engine.tensor, "tensor"), (np.asarray, "array")])
def test_collate_unequal_shapes_message(make, kind):
    batch = [make(np.zeros(2, np.float32)), make(np.zeros(3, np.float32))]
    with pytest.raises(RuntimeError) as e:
        default_collate(batch)
    ref = _raises(lambda: tud.default_collate([torch.zeros(2), torch.zeros(3)]))
    assert isinstance(ref, RuntimeError) and "stack expects each tensor to be equal size" in str(ref)
    assert str(e.value) == (f"default_collate: stack expects each {kind} to be equal size, but got "
                            f"(2,) at entry 0 and (3,) at entry 1")


def test_collate_numpy_scalars_and_strings_as_torch():
    for batch in ([np.float32(1.5), np.float32(-2)], [np.int16(3), np.int16(4)], [np.bool_(True), np.bool_(False)]):
        _same(default_collate(batch), tud.default_collate(batch))
    strs = [np.str_("a"), np.str_("bc")]
    out = default_collate(strs)
    assert out == tud.default_collate(strs) == ["a", "bc"] and isinstance(out, list)
    arrs = [np.array(["a"]), np.array(["b"])]                 # string arrays are refused, as torch
    assert isinstance(_raises(lambda: tud.default_collate(arrs)), TypeError)
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate(arrs)


@pytest.mark.parametrize("batch", [[True, False, True], [3, -4], [1.5, 2.0], [2.5, True, 1],
                                   [1, 2.5], [True, 2], [False, 0.5], [0, True]])
def test_collate_python_numbers_as_torch(batch):
    """torch.tensor(batch)'s inference for bool/int-led batches (a later float makes the batch
    the default float dtype, a later int makes a bool-led batch int64); float-led is float64."""
    _same(default_collate(batch), tud.default_collate(batch))


def test_collate_python_numbers_follow_default_dtype():
    old = engine.get_default_dtype()
    try:
        engine.set_default_dtype(np.float64)
        torch.set_default_dtype(torch.float64)
        _same(default_collate([1, 2.5]), tud.default_collate([1, 2.5]))
    finally:
        engine.set_default_dtype(old)
        torch.set_default_dtype(torch.float32)


def test_collate_refuses_unrepresentable_numbers():
    assert _raises(lambda: tud.default_collate([2 ** 63, 1])) is not None
    with pytest.raises((OverflowError, ValueError)):
        default_collate([2 ** 63, 1])
    assert _raises(lambda: tud.default_collate([1.5, "a"])) is not None
    with pytest.raises((TypeError, ValueError)):
        default_collate([1.5, "a"])


class _MyList(list):
    pass


def test_collate_keeps_mapping_and_sequence_types():
    od = [collections.OrderedDict(b=np.float32(i), a=i) for i in range(3)]
    _same(default_collate(od), tud.default_collate(od))
    plain = [{"x": i, "y": [i, i + 1]} for i in range(3)]
    _same(default_collate(plain), tud.default_collate(plain))
    seqs = [_MyList([i, 2 * i]) for i in range(3)]
    _same(default_collate(seqs), tud.default_collate(seqs))


def test_collate_unequal_sequences_message():
    assert "each element in list of batch should be of equal size" in str(
        _raises(lambda: tud.default_collate([[1, 2], [1]])))
    with pytest.raises(RuntimeError) as e:
        default_collate([[1, 2], [1]])
    assert str(e.value) == "default_collate: each element in list of batch should be of equal size"


Point = collections.namedtuple("Point", "x y")


def test_default_convert_as_torch():
    cases = [np.arange(3), np.float32(2.5), np.int64(7),
             {"a": np.arange(2.0), "b": "s"}, collections.OrderedDict(z=np.ones(2), y=1),
             Point(np.arange(2), np.float64(1.0)), [np.arange(2), "t"]]
    for data in cases:
        _same(default_convert(data), tud.default_convert(data))
    for data in (np.array(["a", "b"]), np.array([b"x"]), np.array([1, None], dtype=object)):
        out, ref = default_convert(data), tud.default_convert(data)
        assert type(out) is type(ref) is np.ndarray and out is data
    s = np.str_("abc")
    assert default_convert(s) is s and tud.default_convert(s) is s


# ------------------------------------------------------------------------------------ datasets

def test_base_dataset_messages_name_the_subclass():
    class NoItems(Dataset):
        pass

    class NoIter(IterableDataset):
        pass

    with pytest.raises(NotImplementedError) as e:
        NoItems()[0]
    assert str(e.value) == "NoItems must define __getitem__"
    with pytest.raises(NotImplementedError) as e:
        iter(NoIter())
    assert str(e.value) == "NoIter must define __iter__"


class _Count(IterableDataset):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __iter__(self):
        return iter(range(self.a, self.b))

    def __len__(self):
        return self.b - self.a


class _TCount(tud.IterableDataset):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __iter__(self):
        return iter(range(self.a, self.b))

    def __len__(self):
        return self.b - self.a


def test_chain_dataset_as_torch():
    parts, tparts = [(0, 3), (10, 12), (5, 5)], None
    tparts = [_TCount(*p) for p in parts]
    ours = ChainDataset(_Count(*p) for p in parts)           # any iterable of datasets
    ref = tud.ChainDataset(tparts)
    assert list(ours) == list(ref) and list(ours) == list(ours)
    assert len(ours) == len(ref) == 5
    summed = _Count(0, 2) + _Count(7, 9)
    assert isinstance(summed, ChainDataset) and list(summed) == list(_TCount(0, 2) + _TCount(7, 9))
    bad = ChainDataset([_Count(0, 1), [4, 5]])
    it = iter(bad)
    assert next(it) == 0
    with pytest.raises(TypeError) as e:
        next(it)
    assert str(e.value) == "ChainDataset only supports IterableDataset (dataset 1 is list)"
    assert isinstance(_raises(lambda: list(tud.ChainDataset([_TCount(0, 1), [4, 5]]))), AssertionError)


def test_tensor_dataset_inputs_and_messages():
    x = np.arange(12.0).reshape(4, 3)
    ds = TensorDataset(x)                                     # an ndarray is accepted, one tensor
    assert len(ds) == 4 and len(tud.TensorDataset(torch.as_tensor(x))) == 4
    np.testing.assert_array_equal(_np(ds[2][0]), x[2])
    assert len(TensorDataset(engine.zeros(5, 2), np.arange(5))) == 5
    with pytest.raises(ValueError) as e:
        TensorDataset()
    assert str(e.value) == "TensorDataset needs at least one tensor"
    with pytest.raises(TypeError) as e:
        TensorDataset(np.zeros(2), [1, 2])
    assert str(e.value) == "TensorDataset: argument 1 must be a Tensor (or ndarray), got list"
    with pytest.raises(ValueError) as e:
        TensorDataset(np.zeros(2), np.zeros(()))
    assert str(e.value) == ("TensorDataset: every tensor needs a first (sample) dimension; got shapes "
                            "[(2,), ()]")
    assert "Size mismatch between tensors" in str(_raises(lambda: tud.TensorDataset(torch.zeros(3), torch.zeros(4))))
    with pytest.raises(ValueError) as e:
        TensorDataset(np.zeros(3), np.zeros((4, 2)))
    assert str(e.value) == "Size mismatch between tensors: first dimensions [3, 4] (shapes [(3,), (4, 2)])"


def _concat_parts():
    sizes = [2, 3, 1, 4]
    return sizes, [list(range(100 * k, 100 * k + s)) for k, s in enumerate(sizes)]


def test_concat_dataset_indexing_as_torch():
    sizes, lists = _concat_parts()
    ours, ref = ConcatDataset(lists), tud.ConcatDataset(lists)
    n = sum(sizes)
    assert len(ours) == len(ref) == n and ours.cumulative_sizes == ref.cumulative_sizes
    assert [ours[i] for i in range(-n, n)] == [ref[i] for i in range(-n, n)]
    assert len(ConcatDataset([[1, 2, 3]])) == 3
    for bad in (n, n + 3, -n - 1, -n - 5):
        with pytest.raises(IndexError) as e:
            ours[bad]
        assert str(e.value) == f"index {bad} out of range for a ConcatDataset of length {n}"
        assert _raises(lambda: ref[bad]) is not None


def test_concat_dataset_messages():
    assert "datasets should not be an empty iterable" in str(_raises(lambda: tud.ConcatDataset([])))
    with pytest.raises(ValueError) as e:
        ConcatDataset([])
    assert str(e.value) == "ConcatDataset: datasets should not be an empty iterable"
    with pytest.raises(TypeError) as e:
        ConcatDataset([[1], _Count(0, 2)])
    assert str(e.value) == "ConcatDataset does not support IterableDataset (dataset 1)"

    class NoLen(Dataset):
        def __getitem__(self, i):
            return i

    with pytest.raises(TypeError) as e:
        ConcatDataset([[1], [2], NoLen()])
    assert str(e.value) == "ConcatDataset: dataset 2 (NoLen) has no __len__"


@pytest.mark.parametrize("n, lengths", [(5, [0.0, 1.0]), (7, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]),
                                        (4, [0.5, 0.5, 0.0]), (5, [2, 3]), (6, [0, 6])])
def test_random_split_lengths_as_torch(n, lengths):
    ours = random_split(range(n), lengths, generator=engine.Generator().manual_seed(0))
    ref = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in ref]
    assert sorted(i for s in ours for i in s) == list(range(n))


@pytest.mark.parametrize("n, lengths", [(5, [0.5, 0.25]), (5, [1 + 1e-10, 0.0]), (5, [2.5, 2.5]),
                                        (5, [2, 2])])
def test_random_split_bad_lengths_raise_as_torch(n, lengths):
    assert isinstance(_raises(lambda: tud.random_split(range(n), lengths)), (ValueError, TypeError))
    with pytest.raises(ValueError):
        random_split(range(n), lengths)


def test_random_split_refuses_negative_lengths():
    with pytest.raises(ValueError) as e:                     # (torch returns a broken split)
        random_split(range(5), [6, -1])
    assert str(e.value) == ("random_split: lengths must be non-negative integers or fractions summing "
                            "to 1, got [6, -1]")


def test_random_split_messages():
    with pytest.raises(ValueError) as e:
        random_split(range(3), [])
    assert str(e.value) == "random_split: lengths must not be empty"
    with pytest.raises(ValueError) as e:
        random_split(range(5), [2, 2])
    assert str(e.value) == "Sum of input lengths (4) does not equal the length of the input dataset (5)"


def test_random_split_draws_its_permutation_from_the_library_generator():
    """As torch (``randperm(n, generator=default_generator)``): after the same seed, the split is
    the permutation ``engine.randperm`` would give."""
    for seed in (0, 1, 2):
        engine.manual_seed(seed)
        parts = random_split(range(10), [3, 7])
        engine.manual_seed(seed)
        perm = engine.randperm(10).tolist()
        assert list(parts[0]) == perm[:3] and list(parts[1]) == perm[3:]
        torch.manual_seed(seed)
        tparts = tud.random_split(range(10), [3, 7])
        torch.manual_seed(seed)
        assert list(tparts[0]) + list(tparts[1]) == torch.randperm(10).tolist()


# ------------------------------------------------------------------------------------ samplers

def test_sampler_argument_messages_as_torch():
    cases = [lambda m: m.RandomSampler(range(3), replacement=1),
             lambda m: m.RandomSampler(range(3), num_samples=0),
             lambda m: m.BatchSampler(range(3), 0, False),
             lambda m: m.BatchSampler(range(3), True, False),
             lambda m: m.BatchSampler(range(3), 2, 1),
             lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
             lambda m: m.WeightedRandomSampler([1.0, 2.0], -2),
             lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=1)]
    import engine.utils.data as ours
    for case in cases:
        a, b = _raises(lambda: case(ours)), _raises(lambda: case(tud))
        assert a is not None and b is not None
        assert type(a) is type(b) and str(a) == str(b), (a, b)
    with pytest.raises(ValueError) as e:
        BatchSampler(range(3), "2", False)
    assert str(e.value) == "batch_size should be a positive integer value, but got batch_size='2'"
    with pytest.raises(TypeError) as e:
        BatchSampler(5, 2, False)
    assert str(e.value) == "sampler should be an iterable of indices, got int"


def test_weighted_sampler_checks_and_messages():
    for w in ([1.0, float("nan")], [1.0, float("inf")], [2.0, -1.0], [0.0, 0.0]):
        with pytest.raises(ValueError) as e:
            WeightedRandomSampler(w, 3)
        assert str(e.value) == "weights must be finite, non-negative and not all zero"
    with pytest.raises(ValueError) as e:
        WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False)
    assert str(e.value) == "cannot draw num_samples=3 without replacement from 2 non-zero weights"
    small = WeightedRandomSampler([0.2, 0.3], 50)                # a sum below 1 is fine (torch too)
    got = list(small)
    assert len(got) == 50 and set(got) <= {0, 1}
    assert len(list(tud.WeightedRandomSampler([0.2, 0.3], 50))) == 50


def test_weighted_sampler_float16_weights():
    w = np.array([6e4, 6e4, 0.0], dtype=np.float16)           # their float16 sum overflows
    got = list(WeightedRandomSampler(w, 40, generator=engine.Generator().manual_seed(1)))
    ref = list(tud.WeightedRandomSampler(torch.as_tensor(w), 40))
    assert len(got) == len(ref) == 40
    assert set(got) <= {0, 1} and set(ref) <= {0, 1} and set(got) == {0, 1}


@pytest.mark.parametrize("make", [lambda g: SubsetRandomSampler(list(range(30)), generator=g),
                                  lambda g: WeightedRandomSampler(np.ones(30), 30, generator=g),
                                  lambda g: RandomSampler(range(30), generator=g),
                                  lambda g: RandomSampler(range(30), replacement=True, generator=g)])
def test_samplers_follow_their_generator_not_the_global_seed(make):
    out = []
    for global_seed in (1, 2):
        engine.manual_seed(global_seed)
        out.append(list(make(engine.Generator().manual_seed(11))))
    assert out[0] == out[1]
    out2 = list(make(engine.Generator().manual_seed(12)))
    assert out2 != out[0]


def test_random_sampler_draws_one_permutation_per_epoch():
    """Each epoch of ``RandomSampler(generator=g)`` is one permutation drawn from ``g``'s stream
    (NumPy's PCG64 seeded like ``g``): no draw is wasted between epochs."""
    n, seed = 9, 4
    sampler = RandomSampler(range(n), generator=engine.Generator().manual_seed(seed))
    ref = np.random.default_rng(seed)
    for _ in range(3):
        assert list(sampler) == ref.permutation(n).tolist()
    long = RandomSampler(range(4), num_samples=10, generator=engine.Generator().manual_seed(seed))
    ref = np.random.default_rng(seed)
    expect = np.concatenate([ref.permutation(4), ref.permutation(4), ref.permutation(4)[:2]]).tolist()
    assert list(long) == expect


def test_random_sampler_empty_source_yields_nothing():
    assert list(RandomSampler([])) == [] and list(RandomSampler([], num_samples=3)) == []


def test_library_generator_gives_one_seed_per_epoch():
    """With no generator, RandomSampler takes exactly one draw from the global stream per epoch,
    whatever the dataset size (as torch, which draws one int64 seed)."""
    def after(mod, n):
        mod.manual_seed(0)
        list((RandomSampler if mod is engine else tud.RandomSampler)(range(n)))
        return float(mod.rand(1)[0])
    for mod in (torch, engine):
        assert after(mod, 3) == after(mod, 200)


def test_draw_seed_sources():
    """``draw_seed(g)`` comes from ``g`` (not the global stream) and ``draw_seed()`` is the next
    63-bit draw of the library generator."""
    seeds = []
    for glob in (5, 6):
        engine.manual_seed(glob)
        g = engine.Generator().manual_seed(3)
        seeds.append((_rng.draw_seed(g), _rng.draw_seed(g)))
        assert seeds[-1][0] != seeds[-1][1]                    # it advances g
    assert seeds[0] == seeds[1]
    ref = np.random.default_rng(3)
    assert seeds[0] == (int(ref.integers(0, 2 ** 63 - 1)), int(ref.integers(0, 2 ** 63 - 1)))
    npg = np.random.default_rng(8)
    assert _rng.draw_seed(npg) == int(np.random.default_rng(8).integers(0, 2 ** 63 - 1))
    for seed in range(4):
        engine.manual_seed(seed)
        got = [_rng.draw_seed() for _ in range(5)]
        engine.manual_seed(seed)
        lib = engine.random.generator()
        assert got == [int(lib.integers(0, 2 ** 63 - 1)) for _ in range(5)]
        assert max(got) > 2 ** 40


def test_bad_generator_message():
    with pytest.raises(TypeError) as e:
        list(RandomSampler(range(3), generator="seed"))
    assert str(e.value) == ("generator must be an engine.Generator (or a numpy.random.Generator), got str")


# --------------------------------------------------------------------------- DistributedSampler

def test_distributed_defaults_as_torch():
    ours = DistributedSampler(range(10), num_replicas=4, rank=1)
    ref = tud.DistributedSampler(range(10), num_replicas=4, rank=1)
    assert (ours.seed, ours.drop_last, ours.shuffle) == (ref.seed, ref.drop_last, ref.shuffle)
    assert len(ours) == len(ref) == 3
    a = list(DistributedSampler(range(10), num_replicas=4, rank=1))
    b = list(DistributedSampler(range(10), num_replicas=4, rank=1, seed=0))
    assert a == b


@pytest.mark.parametrize("n, reps, drop_last", [(2, 5, False), (1, 4, False), (3, 8, False),
                                                (10, 4, True), (10, 3, True), (7, 3, False)])
def test_distributed_shards_as_torch(n, reps, drop_last):
    for rank in range(reps):
        ours = DistributedSampler(range(n), num_replicas=reps, rank=rank, shuffle=False, drop_last=drop_last)
        ref = tud.DistributedSampler(range(n), num_replicas=reps, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(ref) and len(ours) == len(ref)
        assert (ours.drop_last, ours.total_size, ours.num_samples) == (ref.drop_last, ref.total_size, ref.num_samples)
        shuf = DistributedSampler(range(n), num_replicas=reps, rank=rank, drop_last=drop_last)
        assert len(list(shuf)) == len(ref)


def test_distributed_argument_checks():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError) as e:
            DistributedSampler(range(10), num_replicas=bad, rank=0)
        assert str(e.value) == f"num_replicas must be a positive integer, got {bad!r}"
    for rank in (4, -1, True, 1.0):
        a = _raises(lambda: DistributedSampler(range(10), num_replicas=4, rank=rank))
        assert isinstance(a, ValueError)
        assert str(a) == f"Invalid rank {rank!r}, rank should be in the interval [0, 3]"
    for rank in (4, -1):
        b = _raises(lambda: tud.DistributedSampler(range(10), num_replicas=4, rank=rank))
        assert type(b) is ValueError and str(b) == f"Invalid rank {rank}, rank should be in the interval [0, 3]"


# ---------------------------------------------------------------------------------- the fetcher

class _Plain(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.float32(i) * np.ones(2, np.float32), i


class _TPlain(tud.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.float32(i) * np.ones(2, np.float32), i


def _loader_pairs(make_ours, make_ref, **kw):
    ours = list(DataLoader(make_ours(), **kw))
    ref = list(tud.DataLoader(make_ref(), **kw))
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        _same(a, b)


def test_subset_of_plain_and_tensor_datasets():
    idx = [4, 0, 3, 1]
    _loader_pairs(lambda: Subset(_Plain(6), idx), lambda: tud.Subset(_TPlain(6), idx), batch_size=3)
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    _loader_pairs(lambda: Subset(Subset(TensorDataset(x), [5, 4, 3, 2, 1]), idx),
                  lambda: tud.Subset(tud.Subset(tud.TensorDataset(torch.as_tensor(x)), [5, 4, 3, 2, 1]), idx),
                  batch_size=3)


def test_dataset_without_len_and_negative_indices():
    class NoLen(Dataset):
        def __getitem__(self, i):
            return np.full(2, i, np.int64)

    class TNoLen(tud.Dataset):
        def __getitem__(self, i):
            return np.full(2, i, np.int64)

    _loader_pairs(NoLen, TNoLen, sampler=[3, 1, 2], batch_size=2)
    _loader_pairs(lambda: _Plain(5), lambda: _TPlain(5), sampler=[-5, -1, 0, 4], batch_size=2)
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    _loader_pairs(lambda: TensorDataset(x), lambda: tud.TensorDataset(torch.as_tensor(x)),
                  sampler=[-5, 4, -2], batch_size=2)
    with pytest.raises(IndexError):
        list(DataLoader(_Plain(5), sampler=[-6], batch_size=1))


def test_custom_collate_fn_is_used_with_a_tensor_dataset():
    x = np.arange(8, dtype=np.float32).reshape(4, 2)

    def collate(batch):
        return ("custom", len(batch), type(batch[0]).__name__)
    ours = list(DataLoader(TensorDataset(x), batch_size=3, collate_fn=collate))
    ref = list(tud.DataLoader(tud.TensorDataset(torch.as_tensor(x)), batch_size=3, collate_fn=collate))
    assert [b[:2] for b in ours] == [b[:2] for b in ref] == [("custom", 3), ("custom", 1)]
    assert ours[0][2] == "tuple"


def test_getitems_is_used_as_torch():
    class Many(_Plain):
        def __getitems__(self, indices):
            assert type(indices) is list
            return [(np.zeros(1, np.float32), 1000 + i) for i in indices]

    class TMany(_TPlain):
        def __getitems__(self, indices):
            return [(np.zeros(1, np.float32), 1000 + i) for i in indices]

    _loader_pairs(lambda: Many(5), lambda: TMany(5), batch_size=2)
    _loader_pairs(lambda: Many(5), lambda: TMany(5), batch_sampler=[(1, 3), [0]])


def test_batch_sampler_yielding_ints_message():
    with pytest.raises(TypeError) as e:
        list(DataLoader(_Plain(5), batch_sampler=[3]))
    assert str(e.value) == "DataLoader: the batch sampler must yield lists of indices, got int (3)"


@pytest.mark.parametrize("batch", [[0.0, 1.0], [], [np.float64(2.0)]])
def test_tensor_dataset_fast_path_is_the_per_sample_path(batch):
    """``TensorDataset`` collates a whole batch in one fancy-indexing step; for index lists that
    are not integers that step must give what ``[ds[i] for i in batch]`` collated gives (torch:
    a float index is an IndexError)."""
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    fast = _raises(lambda: list(DataLoader(TensorDataset(x), batch_sampler=[batch])))
    class PerSample(Dataset):                                 # the same samples, no fast path
        def __init__(self):
            self.ds = TensorDataset(x)

        def __len__(self):
            return 5

        def __getitem__(self, i):
            return self.ds[i]
    slow = _raises(lambda: list(DataLoader(PerSample(), batch_sampler=[batch])))
    assert fast is not None and type(fast) is type(slow)
    if batch:
        ref = _raises(lambda: list(tud.DataLoader(tud.TensorDataset(torch.as_tensor(x)), batch_sampler=[batch])))
        assert type(fast) is type(ref) is IndexError
