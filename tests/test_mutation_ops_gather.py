"""Mutation-testing guards for ``engine/ops/gather.py``, ``engine/ops/indexing.py`` and
``engine/ops/join.py``.

What this file pins down (each test kills mutants that the rest of the suite let survive):

* ``gather`` / ``scatter_add`` / ``index_select`` / ``masked_fill`` against ``torch``: values,
  dtypes (integer inputs stay integer; float32 stays float32), gradients, the 0-d input paths,
  a ``src`` larger than ``index`` in ``scatter_add``, a 0-d ``index`` in ``index_select``, and
  index/mask/src given as NumPy arrays or lists (the library accepts them; the result must equal
  the Tensor form).
* The exact error messages: they name the op, the argument, the offending index (the smallest
  when it is below range, else the largest), the dimension and its size.
* Negative indices down to ``-size`` wrap around like NumPy's ``take_along_axis``/``take``.
* ``Tensor.__getitem__`` with basic indices (ints, slices, None, Ellipsis) returns a view that
  shares the base's version counter, as in PyTorch; gradients keep the leaf's dtype; double
  backward through ``IndexAdd`` works.
* ``cat`` / ``stack``: a single tensor, negative ``dim``, gradients when only some inputs
  require grad, and the empty-list messages.
"""
import numpy as np
import pytest
import torch

import engine
from engine import Tensor


def _pair(a, requires_grad=False):
    """The same float64/int data as an engine leaf and a torch leaf."""
    a = np.asarray(a)
    return (engine.tensor(a.copy(), requires_grad=requires_grad),
            torch.tensor(a.copy(), requires_grad=requires_grad))


def _same(ours, theirs):
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
IDX = np.array([[0, 2, 1], [2, 2, 0]])          # smaller than A in dim 0, 3 along dim 1


# -- gather ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_values_and_grad_match_torch(dim):
    idx = IDX if dim != 0 else np.array([[0, 2, 1, 1], [2, 2, 0, 1]])
    x, tx = _pair(A, requires_grad=True)
    out, tout = engine.gather(x, dim, engine.tensor(idx)), torch.gather(tx, dim, torch.tensor(idx))
    _same(out, tout)
    w = RNG.standard_normal(idx.shape)
    (out * engine.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_gather_double_backward_by_finite_differences():
    x = engine.tensor(A.copy(), requires_grad=True)
    assert engine.gradgradcheck(lambda t: engine.gather(t, 1, engine.tensor(IDX)) ** 2, [x])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_gather_on_0d_input_matches_torch(dtype):
    t = torch.tensor(5, dtype=dtype)
    x = engine.tensor(t.numpy())
    for index in ([0, 0, 0], 0, [0]):
        _same(engine.gather(x, 0, engine.tensor(index)), torch.gather(t, 0, torch.tensor(index)))
        _same(engine.gather(x, -1, engine.tensor(index)), torch.gather(t, -1, torch.tensor(index)))


def test_gather_on_0d_input_grad_matches_torch():
    for index in (0, [0, 0, 0]):
        x, tx = _pair(np.array(1.5), requires_grad=True)
        (engine.gather(x, 0, engine.tensor(index)) * 3.0).sum().backward()
        (torch.gather(tx, 0, torch.tensor(index)) * 3.0).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_gather_on_0d_input_rejects_index_1():
    with pytest.raises(RuntimeError):
        torch.gather(torch.tensor(5.0), 0, torch.tensor([1]))
    with pytest.raises(RuntimeError) as e:
        engine.gather(engine.tensor(5.0), 0, engine.tensor([0, 1]))
    assert str(e.value) == "gather(): index 1 is out of bounds for dimension 0 with size 1"


def test_gather_0d_index_on_nd_input_is_rejected_like_torch():
    with pytest.raises(RuntimeError):
        torch.gather(torch.ones(2, 3), 1, torch.tensor(0))
    for shape in [(2, 3), (3,)]:
        with pytest.raises(RuntimeError, match=r"^gather\(\): index \(\) and input .* must have the "
                                               r"same number of dimensions$"):
            engine.gather(engine.ones(*shape), 0, engine.tensor(0))


def test_gather_accepts_numpy_and_list_indices_like_a_tensor():
    x = engine.tensor(A)
    ref = engine.gather(x, 1, engine.tensor(IDX)).numpy()
    np.testing.assert_array_equal(engine.gather(x, 1, IDX).numpy(), ref)
    np.testing.assert_array_equal(engine.gather(x, 1, IDX.tolist()).numpy(), ref)


def test_negative_indices_are_rejected_like_torch():
    # was: wrapped like NumPy; PyTorch 2.13 raises RuntimeError (tests/test_fix_ops_hooks.py)
    idx = np.array([[-4, -1, 0], [-4, 3, -3]])
    x, tx = engine.tensor(A), torch.tensor(A)
    with pytest.raises(RuntimeError):
        torch.gather(tx, 1, torch.tensor(idx))
    with pytest.raises(RuntimeError, match="index -4 is out of bounds"):
        engine.gather(x, 1, engine.tensor(idx))
    sel = np.array([-3, -1, 2])
    with pytest.raises(IndexError):  # torch: IndexError for dim 0, RuntimeError for dim 1
        torch.index_select(tx, 0, torch.tensor(sel))
    with pytest.raises(IndexError, match="index -3 is out of bounds"):
        engine.index_select(x, 0, engine.tensor(sel))


@pytest.mark.parametrize("index, bad", [([[0, 5, -1]], -1), ([[-5, 0, 1]], -5), ([[0, 4, 1]], 4),
                                        ([[-9, 7, 0]], -9), ([[2, 1, 9]], 9)])
def test_gather_out_of_range_message_names_the_offending_index(index, bad):
    with pytest.raises(RuntimeError) as e:
        engine.gather(engine.tensor(A), 1, engine.tensor(index))
    assert str(e.value) == f"gather(): index {bad} is out of bounds for dimension 1 with size 4"


def test_gather_message_for_a_float_index_names_op_and_argument():
    with pytest.raises(TypeError) as e:
        engine.gather(engine.tensor(A), 1, engine.tensor([[0.0]]))
    assert str(e.value) == "gather(): index must be an integer (int64) tensor, got dtype float32"


def test_gather_shape_error_messages_name_the_op():
    with pytest.raises(RuntimeError) as e:
        engine.gather(engine.tensor(A), 1, engine.tensor([0]))
    assert str(e.value) == ("gather(): index (1,) and input (3, 4) must have the same number of "
                            "dimensions")
    with pytest.raises(RuntimeError) as e:
        engine.gather(engine.tensor(A), 1, engine.zeros(4, 1, dtype=engine.int64))
    assert str(e.value) == "gather(): size of index (4, 1) exceeds the input (3, 4) in dimension 0"


# -- scatter_add -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add_values_and_grads_match_torch(dim):
    idx = np.array([[0, 2, 1], [2, 2, 0]]) if dim == 0 else np.array([[0, 3, 3], [1, 1, 1]])
    src = RNG.standard_normal((2, 3))
    x, tx = _pair(A, requires_grad=True)
    s, ts = _pair(src, requires_grad=True)
    out = engine.scatter_add(x, dim, engine.tensor(idx), s)
    tout = torch.scatter_add(tx, dim, torch.tensor(idx), ts)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    w = RNG.standard_normal(A.shape)
    (out * engine.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_scatter_add_keeps_dtype_like_torch(dtype):
    t = torch.arange(12).reshape(3, 4).to(dtype)
    ts = torch.arange(6).reshape(2, 3).to(dtype) + 1
    idx = torch.tensor([[0, 2, 1], [2, 2, 0]])
    out = engine.scatter_add(engine.tensor(t.numpy()), 0, engine.tensor(idx.numpy()),
                             engine.tensor(ts.numpy()))
    _same(out, torch.scatter_add(t, 0, idx, ts))


def test_scatter_add_with_src_larger_than_index_uses_its_leading_block_like_torch():
    src = RNG.standard_normal((3, 5))
    idx = np.array([[0, 3], [1, 1]])
    x, tx = _pair(A, requires_grad=True)
    s, ts = _pair(src, requires_grad=True)
    out = engine.scatter_add(x, 1, engine.tensor(idx), s)
    tout = torch.scatter_add(tx, 1, torch.tensor(idx), ts)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    w = RNG.standard_normal(A.shape)
    (out * engine.tensor(w)).sum().backward()
    ref = np.zeros_like(src)  # torch's own backward rejects this case, so: NumPy
    ref[:2, :2] = np.take_along_axis(w[:2], idx, axis=1)
    np.testing.assert_array_equal(s.grad.numpy(), ref)


def test_scatter_add_of_float_src_into_an_integer_input_is_rejected_like_torch():
    """Was: promoted (out = input + IndexAdd(src)); PyTorch 2.13 rejects mixed dtypes."""
    x = np.arange(4)
    src, idx = np.array([1.5, 2.25, -0.5]), np.array([0, 0, 3])
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        torch.scatter_add(torch.tensor(x), 0, torch.tensor(idx), torch.tensor(src))
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        engine.scatter_add(engine.tensor(x), 0, engine.tensor(idx), engine.tensor(src))


def test_scatter_add_on_0d_input_matches_torch():
    for index, src in [(0, 2.5), ([0, 0], [2.0, 3.5])]:
        x, tx = _pair(np.array(1.0))
        out = engine.scatter_add(x, 0, engine.tensor(index), engine.tensor(src, dtype=engine.float64))
        _same(out, torch.scatter_add(tx, 0, torch.tensor(index), torch.tensor(src, dtype=torch.float64)))


def test_scatter_add_accepts_array_src_and_index_like_tensors():
    src = RNG.standard_normal((2, 3))
    x = engine.tensor(A)
    ref = engine.scatter_add(x, 0, engine.tensor(IDX), engine.tensor(src)).numpy()
    np.testing.assert_array_equal(engine.scatter_add(x, 0, IDX, src).numpy(), ref)
    # a list src is read in the input's dtype (a float32 Tensor src would be rejected, as PyTorch)
    np.testing.assert_array_equal(engine.scatter_add(x, 0, IDX.tolist(), src.tolist()).numpy(), ref)


def test_scatter_add_error_messages_name_the_op():
    x = engine.tensor(A)
    with pytest.raises(TypeError) as e:
        engine.scatter_add(x, 0, engine.tensor([[0.5]]), engine.ones(1, 1))
    assert str(e.value) == "scatter_add(): index must be an integer (int64) tensor, got dtype float32"
    with pytest.raises(RuntimeError) as e:
        engine.scatter_add(x, 0, engine.tensor([[3]]), engine.ones(1, 1, dtype=engine.float64))
    assert str(e.value) == "scatter_add(): index 3 is out of bounds for dimension 0 with size 3"
    with pytest.raises(RuntimeError) as e:
        engine.scatter_add(x, 0, engine.tensor([[0]]), engine.ones(1, dtype=engine.float64))
    assert str(e.value) == "scatter_add(): index (1, 1) must not be larger than src (1,) in any dimension"


# -- index_select ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("sel", [[2, 0, 2], 1])
def test_index_select_values_and_grad_match_torch(dim, sel):
    x, tx = _pair(A, requires_grad=True)
    out = engine.index_select(x, dim, engine.tensor(sel))
    tout = torch.index_select(tx, dim, torch.tensor(sel))
    _same(out, tout)
    w = RNG.standard_normal(tuple(tout.shape))
    (out * engine.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_index_select_on_1d_input_matches_torch():
    x, tx = _pair(np.array([4.0, -1.0, 7.0]))
    _same(engine.index_select(x, 0, engine.tensor([2, 2, 0])),
          torch.index_select(tx, 0, torch.tensor([2, 2, 0])))


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
@pytest.mark.parametrize("sel", [[0], 0])
def test_index_select_on_0d_input_matches_torch(dtype, sel):
    t = torch.tensor(5, dtype=dtype)
    _same(engine.index_select(engine.tensor(t.numpy()), 0, engine.tensor(sel)),
          torch.index_select(t, 0, torch.tensor(sel)))


@pytest.mark.parametrize("sel", [[0, 0], []])
def test_index_select_on_0d_input_takes_exactly_one_index_like_torch(sel):
    with pytest.raises(RuntimeError) as te:
        torch.index_select(torch.tensor(5.0), 0, torch.tensor(sel, dtype=torch.int64))
    with pytest.raises(RuntimeError) as e:
        engine.index_select(engine.tensor(5.0), 0, engine.tensor(sel, dtype=engine.int64))
    assert str(e.value) == str(te.value)


def test_index_select_on_0d_input_grad_matches_torch():
    x, tx = _pair(np.array(2.0), requires_grad=True)
    (engine.index_select(x, 0, engine.tensor([0])) * 3.0).sum().backward()
    (torch.index_select(tx, 0, torch.tensor([0])) * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_index_select_error_messages():
    with pytest.raises(IndexError) as e:
        engine.index_select(engine.tensor(5.0), 0, engine.tensor([1]))
    assert str(e.value) == "index_select(): index 1 is out of bounds for dimension 0 with size 1"
    with pytest.raises(RuntimeError) as e:  # PyTorch: RuntimeError (IndexError only for a 0-d input)
        engine.index_select(engine.tensor(A), 1, engine.tensor([0, 4]))
    assert str(e.value) == "index_select(): index 4 is out of bounds for dimension 1 with size 4"
    with pytest.raises(TypeError) as e:
        engine.index_select(engine.tensor(A), 1, engine.tensor([0.0]))
    assert str(e.value) == "index_select(): index must be an integer (int64) tensor, got dtype float32"


# -- masked_fill -----------------------------------------------------------------------------------
MASK = np.array([[True, False, False, True]])


def test_masked_fill_values_and_grad_match_torch():
    x, tx = _pair(A, requires_grad=True)
    for value in (2.5, engine.tensor(2.5)):
        out = engine.masked_fill(x, engine.tensor(MASK), value)
        tout = tx.masked_fill(torch.tensor(MASK), 2.5)
        _same(out, tout)
    w = RNG.standard_normal(A.shape)
    (out * engine.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_masked_fill_accepts_numpy_and_list_masks_like_a_tensor():
    x = engine.tensor(A)
    ref = engine.masked_fill(x, engine.tensor(MASK), -1.0).numpy()
    np.testing.assert_array_equal(engine.masked_fill(x, MASK, -1.0).numpy(), ref)
    np.testing.assert_array_equal(engine.masked_fill(x, MASK.tolist(), -1.0).numpy(), ref)
    np.testing.assert_array_equal(ref, np.where(MASK, -1.0, A))


def test_masked_fill_rejects_a_1d_value_tensor_like_torch():
    with pytest.raises(RuntimeError):
        torch.ones(2).masked_fill(torch.tensor([True, False]), torch.tensor([7.0]))
    with pytest.raises(RuntimeError) as e:
        engine.ones(2).masked_fill(engine.tensor([True, False]), engine.tensor([7.0]))
    assert str(e.value) == "masked_fill(): value must be a number or a 0-d tensor, got shape (1,)"


# -- getitem: views and gradients ------------------------------------------------------------------
@pytest.mark.parametrize("index", [(0, slice(1, None)), 0, (None, Ellipsis, 1), (Ellipsis,),
                                   slice(1, 2), (slice(None), None)])
def test_basic_index_is_a_view_sharing_the_version_counter_like_torch(index):
    b, tb = engine.zeros(2, 3), torch.zeros(2, 3)
    s, ts = b[index], tb[index]
    b.add_(1)
    tb.add_(1)
    assert s.shape == tuple(ts.shape)
    assert (s._version, b._version) == (ts._version, tb._version)
    np.testing.assert_array_equal(s.numpy(), ts.numpy())


@pytest.mark.parametrize("index", [[1, 0], (slice(None), [2, 2]), np.array([True, False]),
                                   (0, np.array([0, 2]))])
def test_advanced_index_is_a_copy_with_its_own_version_counter_like_torch(index):
    b, tb = engine.zeros(2, 3), torch.zeros(2, 3)
    s, ts = b[index], tb[torch.as_tensor(index) if isinstance(index, np.ndarray) else index]
    b.add_(1)
    tb.add_(1)
    assert (s._version, b._version) == (ts._version, tb._version)
    np.testing.assert_array_equal(s.numpy(), ts.numpy())


@pytest.mark.parametrize("index", [(0, slice(1, None)), (None, Ellipsis, 1), ([1, 1, 0],)])
def test_getitem_grad_keeps_float32_and_matches_torch(index):
    a = RNG.standard_normal((3, 3)).astype(np.float32)
    x, tx = engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (x[index] * 2).sum().backward()
    (tx[index] * 2).sum().backward()
    _same(x.grad, tx.grad)
    g, = engine.autograd.grad((x[index] ** 2).sum(), [x], create_graph=True)
    tg, = torch.autograd.grad((tx[index] ** 2).sum(), [tx], create_graph=True)
    assert g.requires_grad and tg.requires_grad
    _same(g, tg)


# -- cat / stack -----------------------------------------------------------------------------------
def test_cat_and_stack_of_a_single_tensor_match_torch():
    x, tx = _pair(A)
    _same(engine.cat([x]), torch.cat([tx]))
    _same(engine.stack([x]), torch.stack([tx]))
    _same(engine.stack([x], dim=-1), torch.stack([tx], dim=-1))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_stack_values_and_grads_match_torch_when_some_inputs_need_no_grad(dim):
    parts = [RNG.standard_normal((3, 4)) for _ in range(3)]
    ours = [engine.tensor(p, requires_grad=i != 1) for i, p in enumerate(parts)]
    theirs = [torch.tensor(p, requires_grad=i != 1) for i, p in enumerate(parts)]
    out, tout = engine.stack(ours, dim=dim), torch.stack(theirs, dim=dim)
    _same(out, tout)
    w = RNG.standard_normal(tuple(tout.shape))
    (out * engine.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for o, t in zip(ours, theirs):
        assert (o.grad is None) == (t.grad is None)
        if t.grad is not None:
            np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())


def test_stack_double_backward_by_finite_differences():
    x = engine.tensor(A.copy(), requires_grad=True)
    y = engine.tensor(A[::-1].copy(), requires_grad=True)
    assert engine.gradgradcheck(lambda s, t: engine.stack([s, t], dim=1) ** 2, [x, y])


def test_cat_and_stack_of_nothing_raise_with_a_message():
    with pytest.raises(ValueError) as e:
        engine.cat([])
    assert str(e.value) == "cat expects a non-empty list of tensors"
    with pytest.raises(ValueError) as e:
        engine.stack([])
    assert str(e.value) == "stack expects a non-empty list of tensors"
