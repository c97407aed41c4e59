"""nn.utils.fuse_batchnorm: the fused copy computes the unfused eval output, has no BatchNorm
left where one followed a Linear/Conv2d, and leaves the original model untouched."""
import numpy as np
from hypothesis import given, settings, strategies as st

import engine
import nn
from nn import models
from nn.utils.fusion import fuse_batchnorm


def _trained(model, shape, steps=2):
    for _ in range(steps):
        model(engine.randn(*shape) * 2 + 0.5)
    return model


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10**6), st.booleans(), st.booleans())
def test_fused_sequential_matches_eval_output(seed, conv_bias, affine):
    engine.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, bias=conv_bias, dtype=np.float64),
                      nn.BatchNorm2d(5, affine=affine, dtype=np.float64), nn.ReLU(), nn.Flatten(),
                      nn.Linear(5 * 4 * 4, 6, dtype=np.float64), nn.BatchNorm1d(6, dtype=np.float64))
    rng = np.random.default_rng(seed)
    for p in m.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    _trained(m, (8, 3, 4, 4))
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    m.train()
    f = fuse_batchnorm(m)
    assert m.training and isinstance(m[1], nn.BatchNorm2d)  # original untouched
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert not f.training
    assert isinstance(f[1], nn.Identity) and isinstance(f[5], nn.Identity)
    assert f[0].bias is not None
    x = engine.Tensor(rng.standard_normal((3, 3, 4, 4)))
    m.eval()
    np.testing.assert_allclose(f(x).numpy(), m(x).numpy(), rtol=1e-9, atol=1e-9)


def test_fused_resnet_matches_and_has_no_batchnorm():
    engine.manual_seed(0)
    m = _trained(models.cifar_resnet(20), (4, 3, 32, 32)).eval()
    f = fuse_batchnorm(m)
    assert not any(isinstance(x, (nn.BatchNorm2d, nn.BatchNorm1d)) for x in f.modules())
    assert sum(isinstance(x, nn.BatchNorm2d) for x in m.modules()) == 19
    x = engine.randn(2, 3, 32, 32)
    np.testing.assert_allclose(f(x).numpy(), m(x).numpy(), rtol=1e-4, atol=1e-4)


def test_bn_without_running_stats_or_not_after_a_layer_is_kept():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False),
                      nn.ReLU(), nn.BatchNorm1d(4))
    f = fuse_batchnorm(m)
    assert isinstance(f[1], nn.BatchNorm1d) and isinstance(f[3], nn.BatchNorm1d)
    x = engine.randn(5, 3)
    np.testing.assert_allclose(f(x).numpy(), m.eval()(x).numpy(), rtol=1e-6)
