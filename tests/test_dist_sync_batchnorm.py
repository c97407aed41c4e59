"""SyncBatchNorm's math on one rank (the all-reduce replaced by the identity, as for a world
of one): NumPy reference, central-difference gradients, running statistics equal BatchNorm's;
convert_sync_batchnorm. The cross-rank reductions run under mpiexec in tests/distributed."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
from nn.layers import sync_batchnorm as sbn

SETTINGS = settings(deadline=None, max_examples=12)


@contextlib.contextmanager
def one_rank_of_sync():
    """The cross-rank path taken in-process: the all-reduce is the identity (a world of one)
    and the layer believes a multi-rank group exists."""
    saved = sbn._all_sum, sbn.dist.is_initialized, sbn.dist.get_world_size
    sbn._all_sum = lambda arr: arr
    sbn.dist.is_initialized, sbn.dist.get_world_size = (lambda: True), (lambda: 2)
    try:
        yield
    finally:
        sbn._all_sum, sbn.dist.is_initialized, sbn.dist.get_world_size = saved


def ref_bn(x, w, b, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    wshape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w.reshape(wshape) + b.reshape(wshape)


shapes = st.sampled_from([(4, 3), (3, 2, 5), (2, 3, 2, 2)])


@SETTINGS
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_forward_matches_numpy_and_gradients_match_central_differences(shape, seed):
    with one_rank_of_sync():
        _check_function(shape, seed)


def _check_function(shape, seed):
    rng = np.random.default_rng(seed)
    x = engine.tensor(rng.standard_normal(shape), requires_grad=True)
    w = engine.tensor(rng.standard_normal(shape[1]) + 1.5, requires_grad=True)
    b = engine.tensor(rng.standard_normal(shape[1]), requires_grad=True)
    y, mean, var, count = sbn.SyncBatchNormFunction.apply(x, w, b, 1e-5)
    np.testing.assert_allclose(y.numpy(), ref_bn(x.numpy(), w.numpy(), b.numpy(), 1e-5), atol=1e-12)
    axes = (0,) + tuple(range(2, len(shape)))       # the statistics are extra outputs without gradient
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(axis=axes), atol=1e-12)
    np.testing.assert_allclose(var.numpy(), x.numpy().var(axis=axes), atol=1e-12)
    assert count.item() == x.numpy().size // shape[1] and count.dtype == np.int64
    assert not (mean.requires_grad or var.requires_grad or count.requires_grad)
    proj = engine.tensor(rng.standard_normal(shape))   # a non-trivial upstream gradient
    assert engine.gradcheck(lambda x, w, b: sbn.SyncBatchNormFunction.apply(x, w, b, 1e-5)[0] * proj,
                            [x, w, b])


@SETTINGS
@given(shape=shapes, seed=st.integers(0, 2**16), momentum=st.sampled_from([0.1, 0.5, None]))
def test_training_steps_equal_batchnorm_in_outputs_gradients_and_running_stats(shape, seed, momentum):
    """SyncBatchNorm's own path (forced on) against the BatchNorm layer it replaces."""
    with one_rank_of_sync():
        _compare_layers(shape, seed, momentum)


def _compare_layers(shape, seed, momentum):
    rng = np.random.default_rng(seed)
    c = shape[1]
    bn = (nn.BatchNorm1d if len(shape) < 4 else nn.BatchNorm2d)(c, momentum=momentum, dtype=np.float64)
    sync = nn.SyncBatchNorm(c, momentum=momentum, dtype=np.float64)
    for step in range(3):
        x = rng.standard_normal(shape)
        xa = engine.tensor(x.copy(), requires_grad=True)
        xb = engine.tensor(x.copy(), requires_grad=True)
        g = rng.standard_normal(shape)
        ya, yb = bn(xa), sync(xb)
        np.testing.assert_allclose(yb.numpy(), ya.numpy(), atol=1e-12)
        (ya * engine.tensor(g)).sum().backward()
        (yb * engine.tensor(g)).sum().backward()
        np.testing.assert_allclose(xb.grad.numpy(), xa.grad.numpy(), atol=1e-11)
        for name in ("weight", "bias"):
            np.testing.assert_allclose(getattr(sync, name).grad.numpy(), getattr(bn, name).grad.numpy(), atol=1e-11)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_allclose(getattr(sync, name).numpy(), getattr(bn, name).numpy(), atol=1e-12)


def test_without_a_process_group_it_is_batchnorm():
    rng = np.random.default_rng(0)
    x = engine.tensor(rng.standard_normal((5, 3, 2, 2)))
    bn, sync = nn.BatchNorm2d(3, dtype=np.float64), nn.SyncBatchNorm(3, dtype=np.float64)
    np.testing.assert_array_equal(sync(x).numpy(), bn(x).numpy())
    bn.eval(), sync.eval()
    np.testing.assert_array_equal(sync(x).numpy(), bn(x).numpy())


def test_convert_sync_batchnorm_replaces_every_batchnorm_and_keeps_state():
    engine.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, momentum=0.3),
                          nn.Sequential(nn.Flatten(), nn.Linear(8, 4), nn.BatchNorm1d(4, affine=False)))
    model(engine.randn(3, 1, 4, 4))          # non-trivial running statistics
    model[2].eval()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    weight = model[1].weight
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert out is model
    assert type(model[1]) is nn.SyncBatchNorm and type(model[2][2]) is nn.SyncBatchNorm
    assert model[1].weight is weight and model[1].momentum == 0.3 and model[2][2].affine is False
    assert model[2][2].training is False and model[1].training is True
    after = model.state_dict()
    assert list(after) == list(before)
    for k in before:
        np.testing.assert_array_equal(after[k].numpy(), before[k])
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(3))
    assert type(single) is nn.SyncBatchNorm


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="process_group"):
        nn.SyncBatchNorm(3, process_group="other")
    with pytest.raises(ValueError, match=r"at least 2D.*\(3,\)"):
        nn.SyncBatchNorm(3)(engine.randn(3))
    with pytest.raises(TypeError, match="input must be a Tensor, got list"):
        nn.SyncBatchNorm(3)([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="num_features=3"):
        nn.SyncBatchNorm(3)(engine.randn(4, 5))
