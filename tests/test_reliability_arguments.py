"""Invalid arguments are rejected with a clear error naming the argument (issue 10, items 5 and 9),
instead of a silently wrong result or a ZeroDivisionError/reshape error from deep inside."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
from nn import functional as F

X = engine.randn(2, 3, 8, 8)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel_size=0, stride=1), "kernel_size must be positive"),
    (dict(kernel_size=-2), "kernel_size must be positive"),
    (dict(kernel_size=2, stride=0), "stride must be positive"),
    (dict(kernel_size=2, stride=-1), "stride must be positive"),
    (dict(kernel_size=3, padding=-1), "padding must be non-negative"),
    (dict(kernel_size=3, padding=2), "at most half"),
    (dict(kernel_size=9), "too small"),
])
def test_pooling_rejects_bad_windows(pool, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pool(X, **kwargs)


@pytest.mark.parametrize("dilation", [0, -1])
def test_max_pool_rejects_non_positive_dilation(dilation):
    with pytest.raises(ValueError, match="dilation must be positive"):
        F.max_pool2d(X, 2, dilation=dilation)


@pytest.mark.parametrize("bad", [2.5, "2", (2, 2, 2), None])
def test_pooling_rejects_non_integer_sizes(bad):
    with pytest.raises((TypeError, ValueError)):
        F.max_pool2d(X, bad)


@settings(deadline=None, max_examples=30)
@given(k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2),
       h=st.integers(1, 9), ceil=st.booleans())
def test_max_pool_accepts_exactly_pytorchs_valid_windows(k, s, p, d, h, ceil):
    """Valid iff padding ≤ half the effective kernel and the output is at least 1: then the output
    has PyTorch's size, otherwise ValueError (never an all -inf result)."""
    x = engine.randn(1, 2, h, h)
    eff = d * (k - 1) + 1
    size = h + 2 * p - eff
    out = (-(-size // s) if ceil else size // s) + 1
    if ceil and out > 1 and (out - 1) * s >= h + p:   # PyTorch: the last window must start inside
        out -= 1
    if p > eff // 2 or out < 1:
        with pytest.raises(ValueError):
            F.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
        return
    y = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
    assert y.shape == (1, 2, out, out)
    assert np.isfinite(y.numpy()).all() or d > 1      # dilated windows may cover padding only


def test_adaptive_pool_of_an_empty_plane_raises():
    for shape in [(1, 3, 0, 4), (1, 3, 4, 0), (1, 0, 4, 4)]:
        with pytest.raises(ValueError, match="non-zero size"):
            F.adaptive_avg_pool2d(engine.zeros(*shape), 2)
    assert F.adaptive_avg_pool2d(engine.zeros(0, 3, 4, 4), 2).shape == (0, 3, 2, 2)


@pytest.mark.parametrize("args, kwargs, match", [
    ((3, 4, 0), {}, "kernel_size must be positive"),
    ((3, 4, 3), dict(stride=0), "stride must be positive"),
    ((3, 4, 3), dict(dilation=-1), "dilation must be positive"),
    ((3, 4, 3), dict(padding=-1), "negative padding"),
    ((0, 4, 3), {}, "in_channels must be a positive integer"),
    ((3, -4, 3), {}, "out_channels must be a positive integer"),
    ((3, 4, 3), dict(groups=0), "groups must be a positive integer"),
])
def test_conv2d_constructor_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.Conv2d(*args, **kwargs)


def test_conv2d_rejects_float_sizes():
    with pytest.raises(TypeError, match="kernel_size"):
        nn.Conv2d(3, 4, 2.5)
    with pytest.raises(TypeError, match="stride"):
        F.conv2d(X, engine.randn(4, 3, 3, 3), stride=1.5)


@pytest.mark.parametrize("groups", [0, -1, 1.5])
def test_group_norm_rejects_non_positive_groups(groups):
    with pytest.raises(ValueError, match="num_groups"):
        nn.GroupNorm(groups, 4)
    with pytest.raises(ValueError, match="num_groups"):
        F.group_norm(engine.randn(2, 4, 3), groups)


@settings(deadline=None, max_examples=40)
@given(ndim=st.integers(0, 4), dim=st.integers(-7, 7))
def test_dims_out_of_range_raise_index_error(ndim, dim):
    """stack/unsqueeze take dims in [-(n+1), n]; permute/flatten/transpose/softmax/sum/cat in
    [-n, n-1] (0-d tensors accept 0 and -1 where PyTorch does): outside, IndexError; inside, the
    NumPy reference result."""
    a = engine.Tensor(np.arange(np.prod((2,) * ndim), dtype=np.float64).reshape((2,) * ndim))
    n = ndim
    if -(n + 1) <= dim <= n:
        assert engine.stack([a, a], dim=dim).shape == np.stack([a.numpy()] * 2, axis=dim).shape
        assert a.unsqueeze(dim).shape == np.expand_dims(a.numpy(), dim).shape
    else:
        with pytest.raises(IndexError, match="Dimension out of range"):
            engine.stack([a, a], dim=dim)
        with pytest.raises(IndexError, match="Dimension out of range"):
            a.unsqueeze(dim)
    m = max(n, 1)
    cases = [lambda: a.flatten(dim), lambda: a.sum(dim=dim), lambda: a.transpose(dim, 0)]
    if n >= 1:
        cases += [lambda: engine.cat([a, a], dim=dim), lambda: a.softmax(dim=dim),
                  lambda: a.permute(*([dim] + [i for i in range(n) if i != dim % n]))]
    for case in cases:
        if -m <= dim < m:
            case()
        else:
            with pytest.raises(IndexError, match="Dimension out of range"):
                case()


def test_permute_and_flatten_reject_bad_combinations():
    a = engine.randn(2, 3, 4)
    with pytest.raises(ValueError, match="permutation"):
        a.permute(0, 0, 1)
    with pytest.raises(ValueError, match="permutation"):
        a.permute(0, 1)
    with pytest.raises(ValueError, match="start_dim"):
        a.flatten(2, 1)
    with pytest.raises(TypeError):
        a.permute(0, 1.5, 2)
    with pytest.raises(TypeError):
        a.reshape(2.5, 4)


def _leaf_and_loss():
    x = engine.Tensor(np.ones(3), requires_grad=True)
    return x, (x * 2).sum()


@pytest.mark.parametrize("call, match", [
    (lambda x, y: engine.grad(3, x), "grad: outputs must be a Tensor or a sequence"),
    (lambda x, y: engine.grad(y, None), "grad: inputs must be a Tensor or a sequence"),
    (lambda x, y: engine.grad([y], [1.0]), "grad: element 0 of inputs must be a Tensor, got float"),
    (lambda x, y: engine.grad([y, "a"], x), "grad: element 1 of outputs must be a Tensor, got str"),
    (lambda x, y: engine.grad(y, [x, "b"]), "grad: element 1 of inputs must be a Tensor, got str"),
    (lambda x, y: engine.grad(y, x, grad_outputs=5), "grad: grad_outputs must be a Tensor"),
    (lambda x, y: engine.autograd.backward(y, grad_tensors=5), "backward: grad_tensors must be a Tensor"),
    (lambda x, y: engine.autograd.backward("y"), "backward: tensors must be a Tensor"),
    (lambda x, y: engine.grad([y], [x], grad_outputs=[1.0]), "grad: element 0 of grad_outputs must be a Tensor or None, got float"),
    (lambda x, y: y.backward(2), "backward: element 0 of grad_tensors must be a Tensor or None, got int"),
    (lambda x, y: y.backward(inputs=[x, 3]), "backward: element 1 of inputs must be a Tensor, got int"),
])
def test_autograd_entry_points_name_a_non_tensor_argument(call, match):
    x, y = _leaf_and_loss()
    with pytest.raises(TypeError, match=match):
        call(x, y)
    assert engine.grad(y, x)[0].tolist() == [2.0, 2.0, 2.0]     # the graph was left intact


@pytest.mark.parametrize("method", ["expand_as", "view_as", "reshape_as", "type_as"])
@pytest.mark.parametrize("other", [[1.0, 2.0], slice(1), 3, None])
def test_as_methods_name_a_non_tensor_other(method, other):
    with pytest.raises(TypeError, match=rf"{method}\(\): argument 'other' must be a Tensor, not {type(other).__name__}"):
        getattr(engine.ones(2, 1), method)(other)


@pytest.mark.parametrize("name", ["format", "engine", "renderer", "formatter"])
@pytest.mark.parametrize("value", [(), True, -0.0])
def test_viz_digraph_names_a_non_string_parameter(name, value):
    import viz

    with pytest.raises(TypeError, match=f"VizDigraph: {name} must be a str"):
        viz.VizDigraph(**{name: value})
    g = viz.VizDigraph(format="svg", engine="neato")
    with pytest.raises(TypeError, match=f"VizDigraph: {name} must be a str"):
        setattr(g, name, value)
    assert (g.format, g.engine) == ("svg", "neato")
