"""nn.models: parameter counts (published figures, or closed-form counts of the architecture),
output shapes, num_classes, gradients reaching every parameter, the Inception and residual blocks."""
import numpy as np
import pytest

import engine
import nn
from nn import models


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def conv_p(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def cifar_resnet_params(n, classes=10):
    """He et al.'s 6n+2 net with option-A shortcuts: convs without bias, BN (2 params/channel)."""
    total = conv_p(3, 16, 3, False) + 32
    cin = 16
    for w in (16, 32, 64):
        for _ in range(n):
            total += conv_p(cin, w, 3, False) + conv_p(w, w, 3, False) + 4 * w
            cin = w
    return total + 64 * classes + classes


@pytest.mark.parametrize("build,expected", [
    (models.lenet5, 61_706), (models.alexnet, 62_378_344), (models.vgg11, 132_863_336),
    (models.vgg16, 138_357_544), (models.resnet18, 11_689_512)])
def test_published_parameter_counts(build, expected):
    m = build()
    assert n_params(m) == expected
    if build is models.vgg16:
        assert isinstance(m, models.VGG) and m.classifier[-1].weight.shape == (1000, 4096)


@pytest.mark.parametrize("depth", [20, 32])
def test_cifar_resnet_parameter_count_and_depth(depth):
    m = models.cifar_resnet(depth)
    assert n_params(m) == cifar_resnet_params((depth - 2) // 6)
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]
    assert len(convs) + 1 == depth  # 6n + 1 convs + 1 fc (option A: no projection convs)
    with pytest.raises(ValueError, match="6n"):
        models.cifar_resnet(21)


def test_lenet5_shape_and_gradients_reach_every_parameter():
    engine.manual_seed(0)
    m = models.lenet5()
    out = m(engine.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    out.sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    assert models.LeNet5(num_classes=7)(engine.randn(1, 1, 28, 28)).shape == (1, 7)


def test_cifar_resnet_forward_backward_and_num_classes():
    engine.manual_seed(0)
    m = models.cifar_resnet(20, num_classes=5)
    out = m(engine.randn(2, 3, 32, 32))
    assert out.shape == (2, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_resnet18_and_alexnet_single_image_forward():
    engine.manual_seed(0)
    r = models.resnet18(num_classes=10).eval()
    assert isinstance(r, models.ResNet) and isinstance(r.layer1[0], models.BasicBlock)
    with engine.no_grad():
        assert r(engine.randn(1, 3, 224, 224)).shape == (1, 10)
    a = models.alexnet().eval()
    assert isinstance(a, models.AlexNet)
    with engine.no_grad():
        y = a(engine.randn(1, 3, 227, 227))
    assert y.shape == (1, 1000) and np.isfinite(y.numpy()).all()


def test_vgg_features_with_batchnorm():
    from nn.models.vgg import CFGS, make_layers

    f = make_layers(CFGS["vgg11"], batch_norm=True)
    assert sum(isinstance(x, nn.BatchNorm2d) for x in f.modules()) == 8
    assert n_params(f) == n_params(make_layers(CFGS["vgg11"])) + 2 * (64 + 128 + 2 * 256 + 4 * 512)
    assert f(engine.randn(1, 3, 32, 32)).shape == (1, 512, 1, 1)


def test_basic_block_identity_and_projection():
    engine.manual_seed(0)
    b = models.BasicBlock(4, 4)
    x = engine.randn(2, 4, 6, 6)
    assert b(x).shape == (2, 4, 6, 6) and (b(x).numpy() >= 0).all()
    ds = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
    b2 = models.BasicBlock(4, 8, stride=2, downsample=ds).eval()
    for bn in (b2.bn1, b2.bn2, ds[1]):  # with BN = identity the block is relu(conv2(relu(conv1 x)) + proj x)
        bn.running_mean.zero_(), bn.running_var.fill_(1 - 1e-5)
    y = b2(x)
    import nn.functional as F
    ref = F.conv2d(F.conv2d(x, b2.conv1.weight, stride=2, padding=1).relu(), b2.conv2.weight, padding=1)
    ref = (ref + F.conv2d(x, ds[0].weight, stride=2)).relu()
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)


def test_inception_block_channels_and_parameters():
    b = models.InceptionBlock(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet inception (3a)
    expected = (conv_p(192, 64, 1) + conv_p(192, 96, 1) + conv_p(96, 128, 3) + conv_p(192, 16, 1)
                + conv_p(16, 32, 5) + conv_p(192, 32, 1))
    assert n_params(b) == expected
    out = b(engine.randn(2, 192, 7, 7))
    assert out.shape == (2, 64 + 128 + 32 + 32, 7, 7) and b.out_channels == 256
    assert (out.numpy() >= 0).all()
