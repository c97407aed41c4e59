"""Mutation-testing guards for ``engine/ops/linalg.py`` (``mm bmm mv dot t addmm norm``) and
``engine/ops/matmul.py`` (the ``Matmul`` Function behind ``@``).

What this file pins down (each test kills mutants the rest of the suite let survive):

* the errors: a non-Tensor argument raises TypeError naming the function and the argument (the
  prefix PyTorch uses); a tensor of the wrong rank raises RuntimeError naming both; ``addmm``'s
  ``beta``/``alpha`` and ``norm``'s ``p`` reject non-numbers with messages that name them;
  ``@`` on a 0-d operand and on batch dims that do not broadcast name the shapes.
* ``bmm``/``t``/``addmm`` values and gradients against PyTorch at shapes where the batch, row and
  column sizes all differ (so a swapped index or axis shows), ``addmm``'s defaults and ``beta``.
* ``Matmul`` gradients against PyTorch for every rank combination (1-D with batched, broadcast
  batch dims), and with only one operand requiring grad.
* ``norm``: ``p = 0`` over a ``dim`` with/without ``keepdim``, ties of the inf-norm (gradient shared
  as PyTorch does), the ``dtype`` argument, the default ``keepdim``, 0-d inputs, and no NumPy
  RuntimeWarning at points where the gradient is the zero subgradient.
"""
import math
import re
import warnings

import numpy as np
import pytest
import torch

import engine
from engine import Tensor
from engine.ops import linalg

RNG = np.random.default_rng(1234)


def _pair(*arrays, requires_grad=True):
    """The same float64 data as engine leaves and as torch leaves."""
    e = [Tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad) for a in arrays]
    t = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad) for a in arrays]
    return e, t


def _check_against_torch(efn, tfn, *arrays, rtol=1e-12, atol=1e-12):
    """Forward and the gradient of Σ out·c (c a fixed random cotangent) agree with PyTorch."""
    es, ts = _pair(*arrays)
    eo, to = efn(*es), tfn(*ts)
    assert tuple(eo.shape) == tuple(to.shape)
    np.testing.assert_allclose(eo.numpy(), to.detach().numpy(), rtol=rtol, atol=atol)
    c = RNG.standard_normal(tuple(to.shape))
    (eo * Tensor(c)).sum().backward()
    (to * torch.tensor(c)).sum().backward()
    for e, t in zip(es, ts):
        # PyTorch leaves .grad None where its backward is the zero (p = 0 norms)
        tg = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(e.grad.numpy(), tg, rtol=1e-10, atol=1e-12)


def _r(*shape):
    return RNG.standard_normal(shape)


# -- argument errors ----------------------------------------------------------------------------
def _ones(*shape):
    return np.ones(shape)


# (name, engine fn, torch fn, good argument shapes, index of the argument made a list, its name).
# ``engine.mm`` etc. turn an array-like FIRST argument into a Tensor before calling the functional
# form in ``engine.ops.linalg``, so the form's own check of its first argument is exercised by
# calling it directly (it is the op's documented entry point for other engine code).
TYPE_CASES = [
    ("mm", linalg.mm, torch.mm, [(2, 2), (2, 2)], 0, "input"),
    ("mm", engine.mm, torch.mm, [(2, 2), (2, 2)], 1, "mat2"),
    ("bmm", linalg.bmm, torch.bmm, [(1, 2, 2), (1, 2, 2)], 0, "input"),
    ("bmm", engine.bmm, torch.bmm, [(1, 2, 2), (1, 2, 2)], 1, "mat2"),
    ("mv", linalg.mv, torch.mv, [(2, 2), (2,)], 0, "input"),
    ("mv", engine.mv, torch.mv, [(2, 2), (2,)], 1, "vec"),
    ("dot", linalg.dot, torch.dot, [(2,), (2,)], 0, "input"),
    ("dot", engine.dot, torch.dot, [(2,), (2,)], 1, "other"),  # PyTorch calls it 'tensor'
    ("t", linalg.t, torch.t, [(2, 2)], 0, "input"),
    ("addmm", linalg.addmm, torch.addmm, [(2, 2), (2, 2), (2, 2)], 0, "input"),
    ("norm", linalg.norm, None, [(2,)], 0, "input"),
]


@pytest.mark.parametrize("name, efn, tfn, shapes, bad, arg", TYPE_CASES)
def test_non_tensor_argument_error_names_function_and_argument(name, efn, tfn, shapes, bad, arg):
    pattern = rf"^{name}\(\): argument '{arg}'"
    eargs = [Tensor(_ones(*s)) for s in shapes]
    eargs[bad] = _ones(*shapes[bad]).tolist()
    with pytest.raises(TypeError, match=pattern):
        efn(*eargs)
    if tfn is not None:  # the same prefix as PyTorch's own message
        targs = [torch.ones(*s) for s in shapes]
        targs[bad] = _ones(*shapes[bad]).tolist()
        with pytest.raises(TypeError, match=rf"^{name}\(\): argument '"):
            tfn(*targs)


# (name, engine fn, torch fn, argument shapes with one of the wrong rank, its name, rank wanted)
RANK_CASES = [
    ("mm", engine.mm, torch.mm, [(2, 2, 1), (2, 2)], "input", 2),
    ("mm", engine.mm, torch.mm, [(2, 2), (2,)], "mat2", 2),
    ("bmm", engine.bmm, torch.bmm, [(2, 2), (1, 2, 2)], "input", 3),
    ("bmm", engine.bmm, torch.bmm, [(1, 2, 2), (2, 2)], "mat2", 3),
    ("mv", engine.mv, torch.mv, [(2,), (2,)], "input", 2),
    ("mv", engine.mv, torch.mv, [(2, 2), (2, 1)], "vec", 1),
    ("dot", engine.dot, torch.dot, [(2, 1), (2,)], "input", 1),
    ("dot", engine.dot, torch.dot, [(2,), (2, 1)], "other", 1),
]


@pytest.mark.parametrize("name, efn, tfn, shapes, arg, ndim", RANK_CASES)
def test_wrong_rank_error_names_function_and_argument(name, efn, tfn, shapes, arg, ndim):
    with pytest.raises(RuntimeError, match=rf"^{name}: {arg} must be a {ndim}-D tensor"):
        efn(*[Tensor(_ones(*s)) for s in shapes])
    with pytest.raises(RuntimeError):  # PyTorch rejects the same shapes (in its own words)
        tfn(*[torch.ones(*s) for s in shapes])


@pytest.mark.parametrize("kw", ["beta", "alpha"])
@pytest.mark.parametrize("value", ["x", None, [1.0]])
def test_addmm_rejects_non_numbers_naming_the_argument(kw, value):
    args = [np.ones((2, 2))] * 3
    with pytest.raises(TypeError):
        torch.addmm(*[torch.tensor(a) for a in args], **{kw: value})
    with pytest.raises(TypeError, match=rf"^addmm\(\): {kw} must be a number, got {re.escape(repr(value))}"):
        engine.addmm(*[Tensor(a) for a in args], **{kw: value})


@pytest.mark.parametrize("p", [[2], object(), 1j])
def test_norm_rejects_a_p_that_is_not_a_number(p):
    with pytest.raises((ValueError, TypeError), match="norm: p must be a number"):
        engine.norm(Tensor(_ones(3)), p)


def test_matmul_of_a_0d_operand_raises_naming_the_shapes():
    for sa, sb in [((), (3,)), ((3,), ()), ((), ())]:
        with pytest.raises(RuntimeError):
            torch.ones(sa) @ torch.ones(sb)
        with pytest.raises(ValueError, match=r"^matmul: both arguments need at least 1 dimension, "
                                             rf"got shapes {re_shape(sa)} and {re_shape(sb)}$"):
            Tensor(_ones(*sa)) @ Tensor(_ones(*sb))


def re_shape(s):
    return re.escape(str(tuple(s)))


@pytest.mark.parametrize("sa, sb", [((2, 3, 4), (3, 4, 5)), ((4, 2, 3, 4), (5, 3, 4, 5)),
                                    ((2, 1, 4), (3, 4, 1))])
def test_matmul_batch_dims_that_do_not_broadcast_are_named(sa, sb):
    with pytest.raises(RuntimeError):
        torch.ones(sa) @ torch.ones(sb)
    msg = rf"batch dimensions {re_shape(sa[:-2])} and {re_shape(sb[:-2])} cannot be broadcast"
    with pytest.raises(ValueError, match=msg):
        Tensor(_ones(*sa)) @ Tensor(_ones(*sb))


# -- values and gradients against PyTorch --------------------------------------------------------
def test_bmm_with_distinct_sizes_matches_torch():
    _check_against_torch(engine.bmm, torch.bmm, _r(2, 3, 4), _r(2, 4, 5))
    _check_against_torch(lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), _r(3, 2, 1), _r(3, 1, 4))
    with pytest.raises(RuntimeError, match="batch sizes differ"):
        engine.bmm(Tensor(_ones(2, 3, 3)), Tensor(_ones(3, 3, 3)))


def test_mv_dot_mm_match_torch():
    _check_against_torch(engine.mv, torch.mv, _r(3, 4), _r(4))
    _check_against_torch(engine.dot, torch.dot, _r(5), _r(5))
    _check_against_torch(engine.mm, torch.mm, _r(2, 3), _r(3, 4))


def test_t_matches_torch_for_every_rank():
    _check_against_torch(engine.t, torch.t, _r(2, 3))
    _check_against_torch(lambda a: a.t(), lambda a: a.t(), _r(3, 1))
    for shape in [(), (4,)]:
        x = Tensor(_r(*shape))
        assert engine.t(x) is x  # PyTorch returns a view with the same shape and values
        assert tuple(torch.t(torch.ones(shape)).shape) == shape
    with pytest.raises(RuntimeError, match="<= 2 dimensions"):
        engine.t(Tensor(_ones(1, 2, 3)))


@pytest.mark.parametrize("kwargs", [{}, {"beta": 2}, {"beta": 2.0, "alpha": 3}, {"alpha": 2},
                                    {"beta": 0.5, "alpha": -1.5}, {"beta": -1}, {"alpha": 0}])
def test_addmm_matches_torch(kwargs):
    _check_against_torch(lambda c, a, b: engine.addmm(c, a, b, **kwargs),
                         lambda c, a, b: torch.addmm(c, a, b, **kwargs), _r(2, 4), _r(2, 3), _r(3, 4))
    # input broadcast to the product's shape
    _check_against_torch(lambda c, a, b: engine.addmm(c, a, b, **kwargs),
                         lambda c, a, b: torch.addmm(c, a, b, **kwargs), _r(4), _r(2, 3), _r(3, 4))


def test_addmm_beta_zero_ignores_nan_in_input_like_torch():
    c = np.full((2, 2), np.nan)
    a, b = _r(2, 3), _r(3, 2)
    ref = torch.addmm(torch.tensor(c), torch.tensor(a), torch.tensor(b), beta=0, alpha=2)
    out = engine.addmm(Tensor(c), Tensor(a), Tensor(b), beta=0, alpha=2)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)


@pytest.mark.parametrize("sa, sb", [
    ((3,), (3,)), ((3,), (3, 4)), ((3,), (2, 3, 4)), ((5, 3,), (3,)), ((2, 5, 3), (3,)),
    ((2, 5, 3), (2, 3, 4)), ((1, 5, 3), (2, 3, 4)), ((5, 3), (2, 3, 4)), ((2, 1, 5, 3), (3, 3, 2)),
])
def test_matmul_gradients_match_torch_for_every_rank(sa, sb):
    _check_against_torch(lambda a, b: a @ b, lambda a, b: a @ b, _r(*sa), _r(*sb))


@pytest.mark.parametrize("which", [0, 1])
def test_matmul_with_one_operand_needing_grad(which):
    arrays = [_r(2, 3, 4), _r(2, 4, 5)]
    es = [Tensor(a, requires_grad=(i == which)) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=(i == which)) for i, a in enumerate(arrays)]
    (es[0] @ es[1]).sum().backward()
    (ts[0] @ ts[1]).sum().backward()
    np.testing.assert_allclose(es[which].grad.numpy(), ts[which].grad.numpy(), rtol=1e-12)
    assert es[1 - which].grad is None


# -- norm --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1), None])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_p0_over_dims_matches_torch(dim, keepdim):
    a = np.array([[0.0, 1.0, -2.0], [1.0, 0.0, 0.0]])
    es, ts = _pair(a)
    out = engine.norm(es[0], 0, dim, keepdim)
    ref = torch.norm(ts[0], 0, dim, keepdim)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    assert ts[0].grad is None  # PyTorch's zero gradient
    np.testing.assert_array_equal(es[0].grad.numpy(), np.zeros(a.shape))


@pytest.mark.parametrize("p", [math.inf, -math.inf])
@pytest.mark.parametrize("dim", [None, 1])
def test_inf_norm_shares_the_gradient_among_ties_like_torch(p, dim):
    a = np.array([[1.0, -1.0, 0.5], [2.0, -3.0, 3.0]])
    _check_against_torch(lambda x: engine.norm(x, p, dim), lambda x: torch.norm(x, p, dim), a)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, "fro"])
def test_norm_keepdim_defaults_to_false_like_torch(p):
    _check_against_torch(lambda x: engine.norm(x, p, 1), lambda x: torch.norm(x, p, 1), _r(2, 3))
    _check_against_torch(lambda x: x.norm(p, 0, True), lambda x: x.norm(p, 0, True), _r(2, 3))


def test_norm_dtype_argument_casts_first_like_torch():
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    for dt, tdt in [(engine.float64, torch.float64), (engine.float32, torch.float32)]:
        out = engine.norm(Tensor(a), 2, 1, dtype=dt)
        ref = torch.norm(torch.tensor(a), 2, 1, dtype=tdt)
        assert str(out.dtype) == str(ref.dtype).replace("torch.", "")
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    assert engine.norm(Tensor(a)).dtype == engine.float32


@pytest.mark.parametrize("p", [math.inf, -math.inf, 0])
@pytest.mark.parametrize("dim", [0, -1, (0,)])
def test_norm_of_a_0d_tensor_over_dim_0_matches_torch(p, dim):
    _check_against_torch(lambda x: engine.norm(x, p, dim), lambda x: torch.norm(x, p, dim),
                         np.array(-3.0))


@pytest.mark.parametrize("a, p", [(np.zeros(3), 2), (np.zeros(3), 3), (np.array([0.0, 1.0]), 0.5),
                                  (np.array([0.0, 2.0, -1.0]), 0.25), (np.zeros((2, 2)), 1)])
def test_norm_at_zero_subgradient_emits_no_numpy_warning(a, p):
    es, ts = _pair(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.norm(es[0], p).backward()
    torch.norm(ts[0], p).backward()
    np.testing.assert_allclose(es[0].grad.numpy(), ts[0].grad.numpy(), rtol=1e-12)


# -- regressions (bugs the survivors above led to; fixed in engine/ops/linalg.py) ---------------
@pytest.mark.parametrize("p", [2, 1, 3, 0.5, -1, math.inf, 0, "fro"])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_regression_norm_of_a_0d_tensor_matches_torch(p, dim):
    # was: TypeError ('numpy.float64' object does not support item assignment) for finite p != 0
    _check_against_torch(lambda x: engine.norm(x, p, dim), lambda x: torch.norm(x, p, dim),
                         np.array(-3.0))


@pytest.mark.parametrize("dim", [1, -2, 5, (0, 1)])
def test_regression_norm_of_a_0d_tensor_rejects_other_dims_like_torch(dim):
    # was: any dim accepted for a 0-d input
    with pytest.raises(IndexError):
        torch.norm(torch.tensor(3.0), 2, dim)
    with pytest.raises(IndexError, match="Dimension out of range"):
        engine.norm(Tensor(np.array(3.0)), 2, dim)


def test_regression_norm_p_none_is_the_2_norm_like_torch():
    # was: ValueError
    _check_against_torch(lambda x: engine.norm(x, None), lambda x: torch.norm(x, None), _r(2, 3))
    _check_against_torch(lambda x: engine.norm(x, None, 1), lambda x: torch.norm(x, None, 1), _r(2, 3))


@pytest.mark.parametrize("a, p", [([1e200, 1e-200], 0.5), ([1e-300, 1e300], 0.5),
                                  ([3e150, -1e-150, 0.0], 0.25), ([1e100, 1e-100], 0.9)])
def test_regression_norm_gradient_of_a_tiny_entry_beside_a_huge_one(a, p):
    # was: 0 for the tiny entry (|a| / out underflowed, 0^(p-1) = inf was zeroed); PyTorch: finite
    _check_against_torch(lambda x: engine.norm(x, p), lambda x: torch.norm(x, p), np.array(a),
                         rtol=1e-9)
