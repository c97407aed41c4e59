"""``nn.testing.conv2d_configs`` draws arguments PyTorch accepts with an input they fit, and
``nn.testing.modules`` draws built-in layers that run on their input shapes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import engine
import nn
from nn.testing import Conv2dConfig, ModuleCase, conv2d_configs, modules

SETTINGS = settings(deadline=None, max_examples=20, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cfg=conv2d_configs())
def test_conv2d_configs_are_valid_and_predict_the_output_shape(cfg):
    assert isinstance(cfg, Conv2dConfig)
    assert cfg.in_channels % cfg.groups == 0 and cfg.out_channels % cfg.groups == 0
    assert cfg.input_shape[1] == cfg.in_channels
    if cfg.padding == "same":
        assert cfg.stride == (1, 1)
    conv = cfg.build()
    out = conv(engine.randn(*cfg.input_shape))
    h, w = cfg.output_hw()
    assert h >= 1 and w >= 1
    assert out.shape == (cfg.input_shape[0], cfg.out_channels, h, w)
    # the formula, independently: floor((n + 2p − d(k − 1) − 1)/s) + 1 per side
    if not isinstance(cfg.padding, str):
        for n, p, d, k, s, got in zip(cfg.input_shape[2:], cfg.padding, cfg.dilation,
                                      cfg.kernel_size, cfg.stride, out.shape[2:]):
            assert got == (n + 2 * p - d * (k - 1) - 1) // s + 1


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@SETTINGS
@given(cfg=conv2d_configs())
def test_conv2d_configs_match_pytorch(cfg):
    torch = pytest.importorskip("torch")
    ours = cfg.build()
    ref = torch.nn.Conv2d(**cfg.kwargs()).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.weight.numpy().astype(np.float64)))
        if cfg.bias:
            ref.bias.copy_(torch.from_numpy(ours.bias.numpy().astype(np.float64)))
    x = np.random.default_rng(0).standard_normal(cfg.input_shape)
    expect = ref(torch.from_numpy(x)).detach().numpy()
    ours.weight.data = ours.weight.numpy().astype(np.float64)
    if cfg.bias:
        ours.bias.data = ours.bias.numpy().astype(np.float64)
    got = ours(engine.tensor(x)).numpy()
    assert got.shape == expect.shape
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(case=modules(), data=st.data())
def test_modules_draws_layers_that_run_on_their_input_shape(case, data):
    assert isinstance(case, ModuleCase) and repr(case).startswith(f"ModuleCase({case.name}")
    m = case.factory()
    assert isinstance(m, nn.Module)
    if case.input_strategy is not None:
        x = data.draw(case.input_strategy)
    else:
        x = engine.randn(*case.input_shape, dtype=engine.float64)
    for mode in (True, False):
        m.train(mode)
        out = m(x)
        assert np.all(np.isfinite(out.numpy()))
        assert out.shape[0] == case.input_shape[0]  # every drawn layer keeps the batch dimension


def test_nn_testing_is_an_attribute_that_imports_hypothesis_on_first_touch():
    import os
    import subprocess
    import sys

    code = ("import sys, nn\n"
            "assert 'hypothesis' not in sys.modules, 'hypothesis imported by import nn'\n"
            "assert nn.testing.check_module is sys.modules['nn.testing'].check_module\n"
            "assert 'hypothesis' in sys.modules\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(nn.__file__))))
    assert res.returncode == 0, res.stderr
