"""The functional API of the built-in ops (``engine.exp(x)`` etc.); Tensor methods call these."""
from __future__ import annotations

import operator

import numpy as np

from ..function import Variable
from ._util import normalize_dims, reduce_args, reduce_dims
from .arithmetic import Add, Div, Mul, Neg, Pow, Sub
from .indexing import GetItem, _payload_index
from .join import Cat, Stack
from .matmul import Matmul
from .pad import Pad
from .reduction import AMax, LogSumExp, MaxDim, Mean, Std, Sum, Var
from .selection import Clamp, Maximum, Minimum, Where
from .shape import Expand, Permute, Reshape
from .softmax import LogSoftmax, Softmax
from .unary import Abs, Cos, Exp, Log, Relu, Sigmoid, Sin, Sqrt, Tanh


def _t(x):
    """Make ``x`` a Tensor (for functions whose first argument may be a number or array)."""
    if isinstance(x, Variable):
        return x
    from ..tensor import Tensor

    return Tensor(x)


def add(a, b):
    """a + b (broadcasting)."""
    return Add.apply(_t(a), b)


def sub(a, b):
    """a − b (broadcasting)."""
    return Sub.apply(_t(a), b)


def mul(a, b):
    """a · b elementwise (broadcasting)."""
    return Mul.apply(_t(a), b)


def div(a, b):
    """a / b elementwise (broadcasting)."""
    return Div.apply(_t(a), b)


def pow(a, b):  # noqa: A001
    """a ** b elementwise (broadcasting)."""
    return Pow.apply(_t(a), b)


def neg(a):
    """−a."""
    return Neg.apply(_t(a))


def matmul(a, b):
    """a @ b (NumPy matmul rules)."""
    return Matmul.apply(_t(a), b)


def abs(a):  # noqa: A001
    """|a| elementwise."""
    return Abs.apply(_t(a))


def exp(a):
    """eᵃ elementwise."""
    return Exp.apply(_t(a))


def log(a):
    """ln a elementwise."""
    return Log.apply(_t(a))


def sqrt(a):
    """√a elementwise."""
    return Sqrt.apply(_t(a))


def sin(a):
    """sin a elementwise."""
    return Sin.apply(_t(a))


def cos(a):
    """cos a elementwise."""
    return Cos.apply(_t(a))


def tanh(a):
    """tanh a elementwise."""
    return Tanh.apply(_t(a))


def sigmoid(a):
    """σ(a) = 1 / (1 + e⁻ᵃ) elementwise."""
    return Sigmoid.apply(_t(a))


def relu(a):
    """max(a, 0) elementwise."""
    return Relu.apply(_t(a))


def clamp(a, min=None, max=None):  # noqa: A002
    """min(max(a, min), max) elementwise; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must not be None")
    return Clamp.apply(_t(a), min, max)


clip = clamp


def maximum(a, b):
    """Elementwise max of a and b (broadcasting); ties share the gradient."""
    return Maximum.apply(_t(a), b) if isinstance(a, Variable) else Maximum.apply(a, _t(b))


def minimum(a, b):
    """Elementwise min of a and b (broadcasting); ties share the gradient."""
    return Minimum.apply(_t(a), b) if isinstance(a, Variable) else Minimum.apply(a, _t(b))


def where(condition, a, b):
    """a where condition else b (broadcasting all three)."""
    if not isinstance(a, Variable) and not isinstance(b, Variable):
        a = _t(a)
    return Where.apply(condition, a, b)


def sum(a, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):  # noqa: A001
    """Σ over ``dim`` (all dims when None)."""
    a = _t(a)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    if dtype is not None:
        a = a.to(dtype)
    return Sum.apply(a, reduce_dims(dim, a.ndim), keepdim)


def mean(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Arithmetic mean over ``dim`` (all dims when None)."""
    a = _t(a)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return Mean.apply(a, reduce_dims(dim, a.ndim), keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return int(correction)
    return 1 if unbiased in (None, True) else 0


def var(a, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Σ (a − ā)² / (n − correction); unbiased (correction=1) by default, as PyTorch."""
    a = _t(a)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return Var.apply(a, reduce_dims(dim, a.ndim), keepdim, _correction(unbiased, correction))


def std(a, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """√var (unbiased by default); its gradient is 0 (not NaN) where the slice is constant."""
    a = _t(a)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return Std.apply(a, reduce_dims(dim, a.ndim), keepdim, _correction(unbiased, correction))


class MaxResult(tuple):
    """``(values, indices)`` returned by ``max(dim=...)``/``min(dim=...)``, as torch.return_types."""

    __slots__ = ()

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"(values={self[0]!r}, indices={self[1]!r})"


def _extreme(a, dim, keepdim, axis, keepdims, is_min, other=None):
    a = _t(a)
    if other is not None:
        return minimum(a, other) if is_min else maximum(a, other)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    if a._data.size == 0:
        raise RuntimeError("max()/min() of an empty tensor has no identity")
    if dim is None:
        return AMax.apply(a, reduce_dims(None, a.ndim), False, is_min)
    if not isinstance(dim, (int, np.integer)):
        return AMax.apply(a, reduce_dims(dim, a.ndim), keepdim, is_min)
    (d,) = normalize_dims(dim, a.ndim)
    if a.ndim == 0:  # PyTorch: the value itself and index 0
        from ..tensor import Tensor

        return MaxResult(AMax.apply(a, (), keepdim, is_min), Tensor._wrap(np.zeros((), np.int64)))
    values, indices = MaxDim.apply(a, d, keepdim, is_min)
    return MaxResult(values, indices)


def max(a, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):  # noqa: A001
    """Largest element (0-d), or ``(values, indices)`` along ``dim``."""
    return _extreme(a, dim, keepdim, axis, keepdims, False, other)


def min(a, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):  # noqa: A001
    """Smallest element (0-d), or ``(values, indices)`` along ``dim``."""
    return _extreme(a, dim, keepdim, axis, keepdims, True, other)


def amax(a, dim=None, keepdim=False):
    """Max over ``dim`` (int or tuple); ties share the gradient evenly."""
    a = _t(a)
    return AMax.apply(a, reduce_dims(dim, a.ndim), keepdim, False)


def amin(a, dim=None, keepdim=False):
    """Min over ``dim`` (int or tuple); ties share the gradient evenly."""
    a = _t(a)
    return AMax.apply(a, reduce_dims(dim, a.ndim), keepdim, True)


def argmax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest element (flattened when dim is None); no gradient."""
    return _arg(np.argmax, a, dim, keepdim, axis, keepdims)


def argmin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the smallest element (flattened when dim is None); no gradient."""
    return _arg(np.argmin, a, dim, keepdim, axis, keepdims)


def _arg(fn, a, dim, keepdim, axis, keepdims):
    from ..tensor import Tensor

    a = _t(a)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    if dim is None:
        return Tensor._wrap(np.asarray(fn(a._data), dtype=np.int64))
    return Tensor._wrap(np.asarray(fn(a._data, axis=dim, keepdims=keepdim), dtype=np.int64))


def logsumexp(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log Σ eᵃ over ``dim``, computed stably."""
    a = _t(a)
    dim, keepdim = reduce_args(dim, keepdim, axis, keepdims)
    return LogSumExp.apply(a, reduce_dims(dim, a.ndim), keepdim)


def _one_dim(dim, ndim, name):
    if dim is None:
        raise TypeError(f"{name}() needs dim= (PyTorch's implicit dim is deprecated)")
    return normalize_dims(dim, ndim)[0]


def softmax(a, dim=None, *, axis=None):
    """e^(aᵢ) / Σⱼ e^(aⱼ) along ``dim``."""
    a = _t(a)
    return Softmax.apply(a, _one_dim(dim if axis is None else axis, a.ndim, "softmax"))


def log_softmax(a, dim=None, *, axis=None):
    """aᵢ − log Σⱼ e^(aⱼ) along ``dim``."""
    a = _t(a)
    return LogSoftmax.apply(a, _one_dim(dim if axis is None else axis, a.ndim, "log_softmax"))


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(s) for s in shape)     # ints only: 2.5 is a TypeError, not 2
    except TypeError:
        raise TypeError(f"expected a sequence of ints, got {tuple(shape)!r}") from None


def reshape(a, *shape):
    """The same elements viewed with a new shape (one dim may be −1)."""
    return Reshape.apply(_t(a), _shape_arg(shape))


def permute(a, *dims):
    """Reorder dimensions: ``out.shape[i] = a.shape[dims[i]]``."""
    a = _t(a)
    dims = _shape_arg(dims)
    if len(dims) != a.ndim:
        raise ValueError(f"permute: dims {dims} are not a permutation of the {a.ndim} dims of shape {a.shape}")
    axes = tuple(normalize_dims(d, a.ndim)[0] for d in dims)       # IndexError when out of range
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {a.ndim} dims of shape {a.shape}")
    return Permute.apply(a, axes)


def transpose(a, dim0, dim1):
    """Swap two dimensions."""
    a = _t(a)
    axes = list(range(a.ndim))
    d0, d1 = normalize_dims(dim0, a.ndim)[0], normalize_dims(dim1, a.ndim)[0]
    if not axes:                      # a 0-d tensor: transpose(0, -1) is the tensor itself
        return Permute.apply(a, ())
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(a, tuple(axes))


def expand(a, *shape):
    """Broadcast to ``shape`` without copying (−1 keeps a dim)."""
    a = _t(a)
    shape = _shape_arg(shape)
    lead = len(shape) - a.ndim
    shape = tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return Expand.apply(a, shape)


def flatten(a, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    a = _t(a)
    if a.ndim == 0:
        normalize_dims(start_dim, 0), normalize_dims(end_dim, 0)     # 0 and -1 only (IndexError)
        return reshape(a, 1)
    (s,), (e,) = normalize_dims(start_dim, a.ndim), normalize_dims(end_dim, a.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {a.shape}")
    shape = a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:]
    return reshape(a, shape)


def squeeze(a, dim=None):
    """Drop size-1 dims (only ``dim`` when given)."""
    a = _t(a)
    dims = normalize_dims(dim, a.ndim) if dim is not None else tuple(range(a.ndim))
    return reshape(a, tuple(s for i, s in enumerate(a.shape) if not (i in dims and s == 1)))


def unsqueeze(a, dim):
    """Insert a size-1 dim at position ``dim``."""
    a = _t(a)
    (d,) = normalize_dims(dim, a.ndim + 1)
    return reshape(a, a.shape[:d] + (1,) + a.shape[d:])


def cat(tensors, dim=0):
    """Join tensors along an existing dim."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("cat expects a non-empty list of tensors")
    return Cat.apply(normalize_dims(dim, tensors[0].ndim)[0], *tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join equally shaped tensors along a new dim."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("stack expects a non-empty list of tensors")
    return Stack.apply(normalize_dims(dim, tensors[0].ndim + 1)[0], *tensors)


def pad(a, pad, mode="constant", value=0):  # noqa: A002
    """Pad with PyTorch's pad tuple (last dim first); modes constant/reflect/replicate/circular."""
    return Pad.apply(_t(a), tuple(pad), mode, value)


def getitem(a, index):
    """``a[index]``: slices, ints, None, Ellipsis, integer arrays, boolean masks."""
    return GetItem.apply(a, _payload_index(index))


# NumPy ufuncs on Tensors (Tensor.__array_ufunc__) map to the differentiable ops above.
_UFUNCS = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: pow,
    np.negative: neg, np.matmul: matmul, np.absolute: abs, np.exp: exp, np.log: log,
    np.sqrt: sqrt, np.sin: sin, np.cos: cos, np.tanh: tanh, np.maximum: maximum,
    np.minimum: minimum,
}
_NONDIFF_UFUNCS = {np.sign, np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
                   np.not_equal, np.isfinite, np.isnan, np.isinf, np.logical_and, np.logical_or,
                   np.logical_not, np.floor, np.ceil, np.round, np.rint}
