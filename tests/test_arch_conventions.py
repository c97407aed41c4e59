"""nn follows the engine's conventions: built-in Functions keep extra backward data in ``meta``
(no other ctx attributes), extra outputs are outputs marked non-differentiable (no lists passed in
to be filled), the engine (not each backward) refuses double backward through a Function that is
not twice differentiable, and one helper turns an int-or-pair argument into a pair."""
from __future__ import annotations

import ast
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
from nn import functional as F

ROOT = os.path.dirname(os.path.dirname(engine.__file__))
# what the engine itself may keep in a Node's __dict__ (class-level defaults, set when used)
ENGINE_BOOKKEEPING = {"_n_out", "_non_diff", "_pre_hooks", "_stack"}


def _builtin_sources():
    for pkg in ("engine/ops", "nn/functional"):
        for f in sorted(os.listdir(os.path.join(ROOT, pkg))):
            if f.endswith(".py"):
                yield os.path.join(pkg, f)


@pytest.mark.parametrize("path", list(_builtin_sources()))
def test_builtin_functions_set_no_ctx_attribute_but_meta(path):
    tree = ast.parse(open(os.path.join(ROOT, path)).read())
    bad = [f"line {t.lineno}: ctx.{t.attr}" for node in ast.walk(tree) if isinstance(node, ast.Assign)
           for t in node.targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
           and t.value.id == "ctx" and t.attr != "meta"]
    assert not bad, f"{path}: {bad}"


def test_no_layer_module_defines_its_own_pair_helper():
    # layers and their functions share nn.validation.pair_arg (torchvision-style transforms in
    # nn.data follow torchvision's own, more lenient size rules)
    for d in ("nn/functional", "nn/layers"):
        for f in os.listdir(os.path.join(ROOT, d)):
            if f.endswith(".py"):
                tree = ast.parse(open(os.path.join(ROOT, d, f)).read())
                names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
                assert "_pair" not in names, os.path.join(d, f)


def _forward_everything(x, labels):
    """One graph through every built-in nn Function."""
    conv_w = engine.randn(4, 3, 3, 3, dtype=np.float64, requires_grad=True)
    h = F.conv2d(x, conv_w, padding=1)
    h = F.batch_norm(h, engine.zeros(4, dtype=np.float64), engine.ones(4, dtype=np.float64),
                     training=True)
    h, _ = F.max_pool2d(h, 2, return_indices=True)
    h = F.avg_pool2d(F.leaky_relu(h), 1) + F.adaptive_avg_pool2d(F.elu(h), (2, 2))
    h = F.group_norm(F.gelu(h), 2) + F.instance_norm(F.softplus(h))
    h = F.layer_norm(h.flatten(1), (16,))
    logits = F.linear(h, engine.randn(3, 16, dtype=np.float64, requires_grad=True))
    return (F.cross_entropy(logits, labels) + F.binary_cross_entropy_with_logits(logits, logits.sigmoid().detach())
            + F.binary_cross_entropy(logits.sigmoid(), engine.ones(2, 3, dtype=np.float64) * 0.5)
            + engine.erf(logits).sum() + (logits * logits).log1p().mean())


def test_builtin_nodes_keep_nothing_but_engine_bookkeeping_in_their_dict():
    engine.manual_seed(0)
    x = engine.randn(2, 3, 4, 4, dtype=np.float64, requires_grad=True)
    loss = _forward_everything(x, engine.tensor([0, 2]))
    seen = 0
    for rec in engine.graph.walk(loss):
        if rec.kind != "op" or not rec.node.fn.raw:
            continue
        seen += 1
        extra = set(vars(rec.node)) - ENGINE_BOOKKEEPING
        assert not extra, f"{rec.name} keeps {sorted(extra)} outside meta"
    assert seen > 20
    loss.backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name, fn", [
    ("Conv2dFunction", lambda x: F.conv2d(x, engine.ones(1, 1, 2, 2, dtype=np.float64))),
    ("MaxPool2dFunction", lambda x: F.max_pool2d(x, 2)),
    ("AvgPool2dFunction", lambda x: F.avg_pool2d(x, 2)),
    ("AdaptiveAvgPool2dFunction", lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("BatchNormFunction", lambda x: F.batch_norm(x, None, None, training=True)),
    ("CrossEntropy", lambda x: F.cross_entropy(x.flatten(1), engine.tensor([0, 1]))),
])
def test_the_engine_refuses_double_backward_through_once_differentiable_nn_functions(name, fn):
    x = engine.randn(2, 1, 4, 4, dtype=np.float64, requires_grad=True)
    (g,) = engine.grad(fn(x).sum(), x)            # first order works
    assert g.shape == x.shape
    with pytest.raises(RuntimeError, match=f"{name}Backward does not support double backward"):
        engine.grad(fn(x).sum(), x, create_graph=True)


@settings(deadline=None, max_examples=15)
@given(k=st.integers(1, 3), n=st.integers(1, 3), h=st.integers(3, 6), seed=st.integers(0, 2 ** 16))
def test_max_pool_indices_are_an_output_without_gradient(k, n, h, seed):
    x = engine.Tensor(np.random.default_rng(seed).standard_normal((n, 2, h, h)), requires_grad=True)
    out, ind = F.max_pool2d(x, k, return_indices=True)
    assert ind.dtype == np.int64 and ind.shape == out.shape
    assert not ind.requires_grad and ind.grad_fn is None
    # the indices point at the maxima: gathering them from each plane gives the output
    flat = x.numpy().reshape(n, 2, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, ind.numpy().reshape(n, 2, -1), 2),
                                  out.numpy().reshape(n, 2, -1))
    out.sum().backward()                               # no gradient needed for the indices
    expected = np.zeros(flat.shape)
    for a in range(n):
        for c in range(2):
            np.add.at(expected[a, c], ind.numpy().reshape(n, 2, -1)[a, c], 1.0)
    np.testing.assert_array_equal(x.grad.numpy().reshape(n, 2, -1), expected)


@settings(deadline=None, max_examples=15)
@given(n=st.integers(2, 4), c=st.integers(1, 3), seed=st.integers(0, 2 ** 16), kernel=st.booleans())
def test_batch_norm_statistics_come_back_as_outputs_and_update_the_running_buffers(n, c, seed, kernel):
    dtype = np.float64 if kernel else np.float16    # float16 runs the composite AffineNorm path
    x = np.random.default_rng(seed).standard_normal((n, c, 3)).astype(dtype)
    rm, rv = engine.zeros(c, dtype=np.float64), engine.ones(c, dtype=np.float64)
    F.batch_norm(engine.Tensor(x), rm, rv, training=True, momentum=0.25)
    x64 = x.astype(np.float64)
    m = x64.mean(axis=(0, 2))
    v = x64.var(axis=(0, 2), ddof=1)
    np.testing.assert_allclose(rm.numpy(), 0.25 * m, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * v, rtol=1e-3, atol=1e-3)


def test_non_differentiable_outputs_receive_none_not_zeros():
    seen = []

    class TwoOut(engine.Function):
        raw = True

        @staticmethod
        def forward(ctx, a):
            idx = np.argsort(a)
            ctx.mark_non_differentiable(idx)
            return a * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            seen.append(g_idx)
            return g * 2

    x = engine.Tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    y, idx = TwoOut.apply(x)
    y.sum().backward()
    assert seen == [None]
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
