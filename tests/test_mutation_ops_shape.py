"""Mutation-testing guards for ``engine/ops/shape.py``, ``engine/ops/tiling.py`` and ``engine/ops/pad.py``.

What this file pins down (each test kills mutants that the rest of the suite let survive):

* view ops (``permute transpose mT expand expand_as flatten squeeze unsqueeze``): values and
  gradients against PyTorch, including the 0-d corner cases (``transpose(0, -1)``, ``flatten``'s
  dim range) and ``expand``'s ``-1`` after new leading dims.
* the errors of the shape functions: exception class, and a message that names the op, the
  argument and the offending value (``reshape(2.5)``, ``view_as([..])``, ``permute`` with a bad
  order, ``flatten`` with start after end).
* ``split chunk unbind``: pieces and gradients against PyTorch, the default ``dim``, the
  ``split_size == 0`` rule (allowed only for an empty dim) and the errors for bad sizes.
* ``repeat`` (zero repeats are allowed, as in PyTorch) and ``flip`` (0-d tensors included).
* ``pad``: the default fill value, the reflect-size limit (``pad < size``, on each side), the
  pad-length limit, float32 gradients staying float32, and double backward of the
  reflect / replicate / circular modes (``PadScatter``'s own backward) against PyTorch.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import engine


def _pair(shape, seed=0, dtype=np.float64):
    """The same random values as an engine tensor and a torch tensor, both requiring grad."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _close(ours, ref, **kw):
    np.testing.assert_allclose(np.asarray(ours.detach().numpy()), ref.detach().numpy(), **kw)
    assert tuple(ours.shape) == tuple(ref.shape)


def _check_op(shape, f, seed=0):
    """``f`` applied to engine and torch inputs: same value, same gradient for random weights."""
    x, xt = _pair(shape, seed)
    y, yt = f(x), f(xt)
    _close(y, yt)
    w = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape))
    (y * engine.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    _close(x.grad, xt.grad)


def _check_pieces(shape, f, seed=0):
    """``f`` returns a tuple of pieces: same count, values and gradient as in torch."""
    x, xt = _pair(shape, seed)
    ps, pts = f(x), f(xt)
    assert len(ps) == len(pts)
    rng = np.random.default_rng(seed + 1)
    loss, loss_t = 0.0, 0.0
    for p, pt in zip(ps, pts):
        _close(p, pt)
        w = rng.standard_normal(tuple(pt.shape))
        loss = loss + (p * engine.tensor(w)).sum()
        loss_t = loss_t + (pt * torch.tensor(w)).sum()
    if ps:
        loss.backward()
        loss_t.backward()
        _close(x.grad, xt.grad)


# -- shape.py: values and gradients ---------------------------------------------------------------
@pytest.mark.parametrize("dims", [(2, 0, 1), (1, 2, 0), (0, 2, 1), (-1, 0, -2)])
def test_permute_matches_torch(dims):
    _check_op((2, 3, 4), lambda x: x.permute(*dims))
    _check_op((2, 3, 4), lambda x: x.permute(dims))


@pytest.mark.parametrize("d0, d1", [(0, 2), (-1, 1), (1, 1), (2, -3)])
def test_transpose_matches_torch(d0, d1):
    _check_op((2, 3, 4), lambda x: x.transpose(d0, d1))


def test_transpose_of_a_0d_tensor_is_the_tensor_with_its_gradient():
    _check_op((), lambda x: x.transpose(0, -1))
    x = engine.tensor(2.5, requires_grad=True)
    y = x.transpose(0, -1)
    assert y.shape == () and y.grad_fn is not None


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 1, 3, 4)])
def test_mT_swaps_the_last_two_dims_like_torch(shape):
    _check_op(shape, lambda x: x.mT)


@pytest.mark.parametrize("shape, size", [((3, 1), (2, -1, 4)), ((3, 1), (2, 5, 3, -1)),
                                         ((1, 3), (-1, 3)), ((2, 1), (2, 1, 2, 4))])
def test_expand_with_minus_one_after_new_leading_dims_matches_torch(shape, size):
    _check_op(shape, lambda x: x.expand(*size))


@pytest.mark.parametrize("start, end", [(0, -1), (-1, 0), (1, 0), (-2, -1), (0, 1), (10, 11)])
def test_flatten_of_a_0d_tensor_checks_both_dims_like_torch(start, end):
    # a 0-d tensor accepts only dims 0 and -1 for start_dim and for end_dim
    ok = all(d in (0, -1) for d in (start, end))
    if ok:
        _check_op((), lambda x: x.flatten(start, end))
        return
    with pytest.raises(IndexError):
        torch.tensor(1.0).flatten(start, end)
    with pytest.raises(IndexError, match=r"Dimension out of range"):
        engine.tensor(1.0).flatten(start, end)


@pytest.mark.parametrize("start", [1, -2, 5])
def test_flatten_of_a_0d_tensor_rejects_a_bad_start_dim_with_default_end(start):
    with pytest.raises(IndexError):
        torch.tensor(1.0).flatten(start)
    with pytest.raises(IndexError, match=r"Dimension out of range"):
        engine.tensor(1.0).flatten(start)
    with pytest.raises(IndexError, match=r"Dimension out of range"):
        engine.tensor(1.0).flatten(0, start)


def test_flatten_start_after_end_error_names_both_dims_and_the_shape():
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3, 4).flatten(2, 1)
    with pytest.raises(ValueError) as e:
        engine.zeros(2, 3, 4).flatten(2, 1)
    assert str(e.value) == "flatten: start_dim 2 comes after end_dim 1 for shape (2, 3, 4)"


@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1, -3])
def test_squeeze_matches_torch(dim):
    f = (lambda x: x.squeeze()) if dim is None else (lambda x: x.squeeze(dim))
    _check_op((1, 3, 1), f)
    _check_op((2, 1, 1), f)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_unsqueeze_matches_torch_including_the_end_position(dim):
    _check_op((2, 3), lambda x: x.unsqueeze(dim))


@pytest.mark.parametrize("shape", [(), (0, 3), (2, 3, 4), (7,)])
def test_numel_matches_torch(shape):
    n = engine.numel(engine.zeros(shape))
    assert n == torch.numel(torch.zeros(shape)) and type(n) is int


# -- shape.py: errors -----------------------------------------------------------------------------
def test_reshape_with_a_non_int_names_the_shape():
    with pytest.raises(TypeError):
        torch.zeros(2).reshape(2.5)
    with pytest.raises(TypeError) as e:
        engine.zeros(2).reshape(2.5)
    assert str(e.value) == "expected a sequence of ints, got (2.5,)"


@pytest.mark.parametrize("op", ["view_as", "expand_as"])
@pytest.mark.parametrize("other", [[1, 2, 3], 3])
def test_view_as_and_expand_as_reject_a_non_tensor_naming_op_and_argument(op, other):
    with pytest.raises(TypeError, match=rf"^{op}\(\): argument 'other'"):
        getattr(torch.zeros(3), op)(other)
    with pytest.raises(TypeError) as e:
        getattr(engine.zeros(3), op)(other)
    assert str(e.value) == f"{op}(): argument 'other' must be a Tensor, not {type(other).__name__}"


@pytest.mark.parametrize("dims", [(0,), (0, 1, 2), (0, 0), (1, 1)])
def test_permute_with_a_bad_order_names_dims_and_shape(dims):
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3).permute(*dims)
    with pytest.raises(ValueError) as e:
        engine.zeros(2, 3).permute(*dims)
    assert str(e.value) == f"permute: dims {dims} are not a permutation of the 2 dims of shape (2, 3)"


# -- tiling.py ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, size, dim", [((5, 3), 2, 0), ((2, 7), 3, 1), ((2, 7), 3, -1),
                                              ((4, 2), [1, 0, 3], 0), ((2, 6), (2, 4), 1),
                                              ((0, 3), 0, 0), ((0, 3), 2, 0), ((3, 0), 0, 1),
                                              ((0,), [0, 0], 0), ((6,), 6, 0), ((6,), 8, 0)])
def test_split_matches_torch(shape, size, dim):
    _check_pieces(shape, lambda x: x.split(size, dim))


def test_split_default_dim_is_zero():
    _check_pieces((4, 6), lambda x: x.split(3))


@pytest.mark.parametrize("shape, size", [((3,), 0), ((3,), -1), ((0,), -1), ((0, 2), -2)])
def test_split_rejects_a_bad_split_size(shape, size):
    with pytest.raises(RuntimeError):
        torch.zeros(*shape).split(size)
    with pytest.raises(RuntimeError) as e:
        engine.zeros(*shape).split(size)
    assert str(e.value) == f"split(): split_size must be a positive int, got {size}"


@pytest.mark.parametrize("sizes", [[1, 1], [2, 2], [4, -1]])
def test_split_rejects_sizes_that_do_not_add_up(sizes):
    with pytest.raises(RuntimeError):
        torch.zeros(3).split(sizes)
    with pytest.raises(RuntimeError, match=r"^split\(\): sizes .* must be >= 0 and add up to 3"):
        engine.zeros(3).split(sizes)


@pytest.mark.parametrize("n", range(0, 8))
@pytest.mark.parametrize("chunks", [1, 2, 3, 4, 9])
def test_chunk_sizes_match_torch(n, chunks):
    _check_pieces((n, 2), lambda x: x.chunk(chunks))
    _check_pieces((2, n), lambda x: x.chunk(chunks, 1))
    _check_pieces((2, n), lambda x: x.chunk(chunks, dim=-1))


def test_chunk_default_dim_is_zero():
    _check_pieces((4, 6), lambda x: x.chunk(2))
    _check_pieces((4, 6), lambda x: engine.chunk(x, 2) if isinstance(x, engine.Tensor) else torch.chunk(x, 2))


@pytest.mark.parametrize("chunks", [0, -1, 2.5, True])
def test_chunk_rejects_a_bad_chunks(chunks):
    with pytest.raises((RuntimeError, TypeError)):
        torch.zeros(4).chunk(chunks)
    with pytest.raises(RuntimeError) as e:
        engine.zeros(4).chunk(chunks)
    assert str(e.value) == f"chunk(): chunks must be a positive int, got {chunks!r}"


@pytest.mark.parametrize("op", [lambda x: x.chunk(2), lambda x: x.split(1), lambda x: x.unbind()])
def test_tiling_ops_reject_a_0d_tensor(op):
    with pytest.raises((RuntimeError, IndexError)):
        op(torch.tensor(1.0))
    with pytest.raises(RuntimeError) as e:
        op(engine.tensor(1.0))
    assert str(e.value) == "this op needs a tensor with at least one dimension, got a 0-d tensor"


@pytest.mark.parametrize("shape, dim", [((3, 4), None), ((3, 4), 1), ((2, 3, 4), -1),
                                        ((2, 3, 4), 1), ((0, 2), 0)])
def test_unbind_matches_torch(shape, dim):
    f = (lambda x: x.unbind()) if dim is None else (lambda x: x.unbind(dim))
    _check_pieces(shape, f)


@pytest.mark.parametrize("shape, reps", [((2, 3), (2, 1)), ((2, 3), (1, 3, 2)), ((3,), (2, 2, 2)),
                                         ((2, 3), (0, 2)), ((2, 3), (2, 0)), ((2,), (3, 0)),
                                         ((), (2, 3)), ((2, 1, 3), (1, 2, 1))])
def test_repeat_matches_torch(shape, reps):
    _check_op(shape, lambda x: x.repeat(*reps))
    _check_op(shape, lambda x: x.repeat(reps))


@pytest.mark.parametrize("shape, reps", [((2, 3), (2,)), ((2, 3), (1, -1))])
def test_repeat_rejects_too_few_or_negative_sizes(shape, reps):
    with pytest.raises(RuntimeError):
        torch.zeros(*shape).repeat(*reps)
    with pytest.raises(RuntimeError, match=r"^repeat\(\): sizes"):
        engine.zeros(*shape).repeat(*reps)


@pytest.mark.parametrize("dims", [[0], [1], [-1], [0, 2], [2, 1, 0], []])
def test_flip_matches_torch(dims):
    _check_op((2, 3, 4), lambda x: x.flip(dims))
    _check_op((2, 3, 4), lambda x: engine.flip(x, dims) if isinstance(x, engine.Tensor)
              else torch.flip(x, dims))


@pytest.mark.parametrize("dims", [[0], [-1], []])
def test_flip_of_a_0d_tensor_is_the_tensor_like_torch(dims):
    _check_op((), lambda x: engine.flip(x, dims) if isinstance(x, engine.Tensor)
              else torch.flip(x, dims))


@pytest.mark.parametrize("shape, dims, exc", [((), [1], IndexError), ((), [0, -1], RuntimeError),
                                              ((2, 3), [0, -2], RuntimeError),
                                              ((2, 3), [2], IndexError)])
def test_flip_rejects_bad_or_repeated_dims_like_torch(shape, dims, exc):
    with pytest.raises(exc):
        torch.flip(torch.zeros(shape), dims)
    with pytest.raises(exc):
        engine.flip(engine.zeros(shape), dims)


# -- pad.py ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("pad", [(1, 2), (0, 1, 2, 0), (1, 1, 0, 0, 2, 1)])
def test_pad_default_fill_is_zero_like_torch(pad):
    _check_op((2, 3, 4), lambda x: engine.pad(x, pad) if isinstance(x, engine.Tensor)
              else TF.pad(x, pad))
    x = engine.ones(2, 3, 4)
    out = engine.pad(x, pad).numpy()
    assert out.sum() == x.numpy().sum()          # every added element is 0


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(2, 1), (1, 1), (0, 3), (1, 2, 2, 1), (0, 0, 3, 1), (1, 1, 1, 1)])
def test_pad_non_constant_values_and_gradients_match_torch(mode, pad):
    shape = (2, 4, 5) if len(pad) == 2 else (1, 2, 4, 5)     # the ranks torch supports
    _check_op(shape, lambda x: engine.pad(x, pad, mode=mode) if isinstance(x, engine.Tensor)
              else TF.pad(x, pad, mode=mode))


@pytest.mark.parametrize("pad", [(3, 0), (0, 3), (3, 3), (4, 1), (1, 4)])
def test_reflect_pad_must_be_smaller_than_the_dim_on_each_side(pad):
    with pytest.raises(RuntimeError):
        TF.pad(torch.zeros(1, 3), pad, mode="reflect")
    with pytest.raises(ValueError, match=r"^pad: reflect padding .* must be smaller than"):
        engine.pad(engine.zeros(1, 3), pad, mode="reflect")


@pytest.mark.parametrize("ndim, pad", [(1, (1, 1, 1, 1)), (3, (0,) * 8), (2, (1, 1, 1, 1, 1, 1)),
                                       (2, (1, 1, 1))])
def test_pad_length_limit_and_its_message(ndim, pad):
    shape = (2,) * ndim
    with pytest.raises(RuntimeError):
        TF.pad(torch.zeros(shape), pad)
    with pytest.raises(ValueError) as e:
        engine.pad(engine.zeros(*shape), pad)
    assert str(e.value) == (f"pad: padding length must be even and at most 2*ndim={2 * ndim}, "
                            f"got {len(pad)} for an input with {ndim} dims")


def test_pad_negative_padding_message():
    with pytest.raises(ValueError) as e:
        engine.pad(engine.zeros(2), (-1, 1))
    assert str(e.value) == "pad: negative padding (-1, 1) is not supported"


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradient_keeps_float32(mode):
    x, xt = _pair((1, 2, 5), dtype=np.float32)
    engine.pad(x, (2, 1), mode=mode).sum().backward()
    TF.pad(xt, (2, 1), mode=mode).sum().backward()
    assert x.grad.dtype == engine.float32 and x.grad.numpy().dtype == np.float32
    _close(x.grad, xt.grad)
    x = engine.tensor(xt.detach().numpy(), requires_grad=True)
    (g,) = engine.autograd.grad((engine.pad(x, (2, 1), mode=mode) ** 2).sum(), x, create_graph=True)
    assert g.dtype == engine.float32 and g.numpy().dtype == np.float32


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, pad", [((1, 2, 5), (2, 1)), ((1, 1, 4, 5), (1, 2, 3, 0)),
                                        ((1, 1, 4, 5), (1, 1, 1, 1))])
def test_pad_double_backward_matches_torch(mode, shape, pad):
    """The gradient of the gradient runs ``PadScatter.backward`` (a pad of the incoming gradient)."""
    x, xt = _pair(shape, seed=3)
    w = np.random.default_rng(4).standard_normal(tuple(TF.pad(xt, pad, mode=mode).shape))
    v = np.random.default_rng(5).standard_normal(shape)
    y = (engine.pad(x, pad, mode=mode) ** 2 * engine.tensor(w)).sum()
    yt = (TF.pad(xt, pad, mode=mode) ** 2 * torch.tensor(w)).sum()
    (g,) = engine.autograd.grad(y, x, create_graph=True)
    (gt,) = torch.autograd.grad(yt, xt, create_graph=True)
    _close(g, gt)
    (g * engine.tensor(v)).sum().backward()
    (gt * torch.tensor(v)).sum().backward()
    _close(x.grad, xt.grad)
