"""nn.utils.prune (masks against NumPy, gradients of pruned weights zero, iterative pruning,
remove, global pruning, sparsity) and nn.utils.summary (totals = the zoo's parameter counts)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import optim
from nn.utils import prune, summary


def _distinct(shape, seed):
    """Weights with distinct magnitudes (no ties), random signs."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    mags = (rng.permutation(n) + 1).astype(np.float32) / n
    return (mags * rng.choice([-1, 1], n)).reshape(shape).astype(np.float32)


def _linear(w):
    m = nn.Linear(w.shape[1], w.shape[0])
    m.weight.data[...] = w
    return m


@settings(deadline=None, max_examples=25)
@given(o=st.integers(1, 6), i=st.integers(1, 6), frac=st.floats(0, 1), seed=st.integers(0, 999))
def test_l1_unstructured_mask_matches_numpy(o, i, frac, seed):
    w = _distinct((o, i), seed)
    m = prune.l1_unstructured(_linear(w), "weight", amount=frac)
    k = int(round(frac * w.size))
    ref = np.ones(w.size, np.float32)
    ref[np.argsort(np.abs(w).reshape(-1))[:k]] = 0
    np.testing.assert_array_equal(m.weight_mask.numpy(), ref.reshape(w.shape))
    np.testing.assert_array_equal(np.asarray(m.weight), w * ref.reshape(w.shape))
    np.testing.assert_array_equal(m.weight_orig.numpy(), w)         # the original is kept


@settings(deadline=None, max_examples=20)
@given(o=st.integers(2, 6), i=st.integers(2, 6), k=st.integers(0, 2), n=st.sampled_from([1, 2, np.inf]),
       dim=st.sampled_from([0, 1, -1]), seed=st.integers(0, 999))
def test_ln_structured_mask_matches_numpy(o, i, k, n, dim, seed):
    w = _distinct((o, i), seed)
    m = prune.ln_structured(_linear(w), "weight", amount=k, n=n, dim=dim)
    axis = 1 - (dim % 2)
    norms = np.linalg.norm(w.astype(np.float64), ord=n, axis=axis)
    mask = m.weight_mask.numpy()
    keep = (mask.sum(axis=axis) > 0)
    ref = np.broadcast_to(keep[:, None] if dim % 2 == 0 else keep[None, :], w.shape).astype(np.float32)
    assert int((~keep).sum()) == k                                   # whole channels, k of them
    if 0 < k < len(keep):                                            # the smallest norms went
        assert norms[~keep].max() <= norms[keep].min() * (1 + 1e-12)
    np.testing.assert_array_equal(m.weight_mask.numpy(), ref)


def test_pruned_gradients_zero_and_mask_stays_while_training():
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    prune.random_unstructured(model[2], "weight", amount=5)
    assert prune.is_pruned(model) and not prune.is_pruned(nn.Linear(2, 2))
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    x, y = engine.randn(16, 6), engine.tensor(np.arange(16) % 3)
    for _ in range(5):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        for lin in (model[0], model[2]):
            mask = lin.weight_mask.numpy()
            assert np.all(lin.weight_orig.grad.numpy()[mask == 0] == 0)
        opt.step()
    model(x)
    for lin in (model[0], model[2]):
        assert np.all(np.asarray(lin.weight)[lin.weight_mask.numpy() == 0] == 0)
    assert int((model[2].weight_mask.numpy() == 0).sum()) == 5
    assert sorted(model.state_dict()) == ["0.bias", "0.weight_mask", "0.weight_orig", "2.bias", "2.weight_mask",
                                          "2.weight_orig"]


def test_iterative_pruning_acts_on_remaining_entries():
    w = _distinct((4, 5), 3)
    m = _linear(w)
    prune.l1_unstructured(m, "weight", amount=0.5)        # 10 pruned
    prune.l1_unstructured(m, "weight", amount=0.5)        # half of the 10 left
    assert int(m.weight_mask.numpy().sum()) == 5
    ref = np.zeros(20, np.float32)
    ref[np.argsort(np.abs(w).reshape(-1))[-5:]] = 1       # the 5 largest survive
    np.testing.assert_array_equal(m.weight_mask.numpy().reshape(-1), ref)
    assert len([h for h in m._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]) == 1
    prune.ln_structured(m, "weight", amount=1, n=1, dim=0)
    assert int((m.weight_mask.numpy().sum(axis=1) == 0).sum()) >= 1


def test_remove_global_and_sparsity():
    engine.manual_seed(1)
    a, b = _linear(_distinct((3, 4), 0)), _linear(_distinct((2, 4), 1) * 10)
    wa, wb = a.weight.numpy().copy(), b.weight.numpy().copy()
    model = nn.Sequential(a, b)
    prune.global_unstructured([(a, "weight"), (b, "weight")], pruning_method=prune.L1Unstructured, amount=10)
    allw = np.concatenate([np.abs(wa).reshape(-1), np.abs(wb).reshape(-1)])
    thresh = np.sort(allw)[9]
    np.testing.assert_array_equal(a.weight_mask.numpy(), (np.abs(wa) > thresh).astype(np.float32))
    np.testing.assert_array_equal(b.weight_mask.numpy(), (np.abs(wb) > thresh).astype(np.float32))
    total = sum(int(np.prod(p.shape)) for p in [a.weight_orig, a.bias, b.weight_orig, b.bias])
    assert prune.sparsity(model) == pytest.approx(10 / total)
    prune.remove(a, "weight")
    assert isinstance(a.weight, nn.Parameter) and "weight_orig" not in dict(a.named_parameters())
    np.testing.assert_array_equal(a.weight.numpy(), wa * (np.abs(wa) > thresh))
    assert prune.is_pruned(model) and not prune.is_pruned(a)
    with pytest.raises(ValueError, match="has to be pruned"):
        prune.remove(a, "weight")
    with pytest.raises(ValueError, match="amount"):
        prune.l1_unstructured(b, "weight", amount=1.5)
    with pytest.raises(ValueError, match="should be smaller"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=5)
    with pytest.raises(ValueError, match="registered parameter"):
        prune.l1_unstructured(nn.Linear(2, 2), "nothere", amount=1)
    m = prune.identity(nn.Linear(2, 2), "weight")
    assert m.weight_mask.numpy().all()
    m = prune.custom_from_mask(nn.Linear(2, 2), "weight", np.array([[1, 0], [0, 1]]))
    assert prune.sparsity(m) == pytest.approx(2 / 6)


@pytest.mark.parametrize("factory, size, count", [
    (lambda: nn.models.lenet5(), (1, 1, 28, 28), 61706),
    (lambda: nn.models.resnet18(), (1, 3, 224, 224), 11689512),
    (lambda: nn.models.cifar_resnet(20), (2, 3, 32, 32), None),
    (lambda: nn.models.alexnet(), (1, 3, 112, 112), 62378344),                # the adaptive pool takes 112x112
    (lambda: nn.models.vgg11(batch_norm=True), (1, 3, 32, 32), 132868840),    # torchvision's vgg11_bn count
    (lambda: nn.models.InceptionBlock(16, 8, 8, 16, 4, 8, 8), (1, 16, 8, 8), None),
])
def test_summary_totals_equal_zoo_counts(factory, size, count):
    model = factory()
    s = summary(model, size)
    ref = sum(int(np.prod(p.shape)) for p in model.parameters())
    assert s.total_params == ref == sum(r.params for r in s.layers)
    if count is not None:
        assert s.total_params == count
    assert s.trainable_params == s.total_params
    text = str(s)
    assert f"Total params: {ref:,}" in text


def test_summary_shapes_and_mult_adds_against_hand_count():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 7))
    s = summary(model, (2, 3, 5, 5))
    assert [r.output_shape for r in s.layers] == [(2, 4, 5, 5), (2, 4, 5, 5), (2, 100), (2, 7)]
    assert [r.mult_adds for r in s.layers] == [4 * 3 * 9 * 2 * 25, 0, 0, 100 * 7 * 2]
    assert s.total_mult_adds == 4 * 3 * 9 * 2 * 25 + 1400
    assert model.training
    for p in model[0].parameters():
        p.requires_grad_(False)
    assert summary(model, (1, 3, 5, 5)).trainable_params == 707
    with pytest.raises(ValueError, match="positive ints"):
        summary(model, (0, 3, 5, 5))


def test_structured_pruning_refuses_a_one_dimensional_parameter_like_torch():
    for prune_bias in (lambda m: prune.ln_structured(m, "bias", amount=1, n=2, dim=0),
                       lambda m: prune.random_structured(m, "bias", amount=1, dim=0)):
        m = nn.Linear(3, 4)
        with pytest.raises(ValueError, match=r"multidimensional tensors.*\(4,\) with 1 dims"):
            prune_bias(m)
        assert not prune.is_pruned(m) and "bias" in dict(m.named_parameters())     # left untouched
