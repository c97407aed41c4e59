"""``Tensor``: an ndarray payload (``._data``) plus its place in the autograd graph.

Arithmetic operators, NumPy ufuncs (``np.exp(t)`` via ``__array_ufunc__``) and the op methods
(``x.exp()``, ``x.sum(dim)``: made from ``engine.ops.TABLE`` below the class) all dispatch to the
built-in Functions in ``engine.ops``.
"""
from __future__ import annotations

import numpy as np

from . import conversion as _conversion
from . import dtypes
from .device import CPU as _CPU
from .function import Function
from .function import apply_small as _small
from .grad_mode import STATE
from .ops import logic as _logic
from .ops import NONDIFF_UFUNCS, PROPERTIES, TABLE, UFUNCS, Abs, Add, Div, Matmul, Mul, Neg, Pow, Sub
from .ops._util import payload as _payload
from .ops._util import unbroadcast
from .ops.indexing import getitem, payload_index
from .random import generator
from .variable import Variable

_new = object.__new__
_ndarray = np.ndarray
_get_grad, _set_grad = Variable.grad.__get__, Variable.grad.__set__   # the slot behind Tensor.grad


def _check_broadcasts_to(name, arg, shape, target):
    """An in-place method's ``arg`` of ``shape`` must broadcast to the edited tensor's ``target``
    shape (the result cannot grow); else a RuntimeError naming both shapes."""
    shape, target = tuple(shape), tuple(target)
    if len(shape) > len(target) or any(s not in (1, t) for s, t in zip(shape[::-1], target[::-1])):
        raise RuntimeError(f"{name}: {arg} of shape {shape} does not broadcast to the tensor's "
                           f"shape {target}")


class Copy(Function):
    """out = src broadcast to ``shape`` and cast to ``dtype``: what ``copy_`` and ``fill_`` record
    when ``src`` requires grad;  dsrc = g summed over the broadcast dims, in src's dtype."""

    raw = True

    @staticmethod
    def forward(ctx, src, shape, dtype):
        src = np.asarray(src)
        ctx.meta = (src.shape, src.dtype)
        return np.array(np.broadcast_to(src, shape), dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.meta
        g = unbroadcast(g, shape)
        return (g.astype(dtype, copy=False) if isinstance(g, _ndarray) else g.to(dtype)), None, None


class CopySlices(Function):
    """out = old with ``out[index] = value``: what ``x[index] = value`` records when ``value``
    requires grad;  dvalue = g[index] summed to value's shape, in value's dtype. ``old`` is always
    a graph-free copy here (in-place edits of tensors requiring grad are refused), so it gets none."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, old, value, index):
        value = np.asarray(value)
        ctx.meta = (index, value.shape, value.dtype)
        out = old.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, g):
        index, shape, dtype = ctx.meta
        gv = np.asarray(g[index])
        if gv.ndim < len(shape):  # NumPy lets value carry extra leading size-1 dims
            gv = gv.reshape((1,) * (len(shape) - gv.ndim) + gv.shape)
        return None, unbroadcast(gv, shape).astype(dtype, copy=False), None


class Tensor(Variable):
    """An n-dimensional array that records the ops applied to it for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python floats/lists become float32,
    ndarrays keep their dtype and memory (as ``torch.from_numpy``).
    """

    __slots__ = ()
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        arr = dtypes.to_array(data, dtype)
        self._data = arr
        _set_grad(self, None)
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (None until then), a Tensor of this shape."""
        return _get_grad(self, Tensor)

    @grad.setter
    def grad(self, value):
        """Assign a gradient: a Tensor (or an ndarray) of exactly this tensor's shape, or None
        (PyTorch's checks and messages; a different shape would be read flat by the fused
        optimizer kernels)."""
        if value is not None:
            if not isinstance(value, (Tensor, _ndarray)):
                raise TypeError("assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                                   f"of size '{list(self._data.shape)}'. Please ensure that the gradient and the "
                                   "tensor are the same size")
        _set_grad(self, value)

    # -- the Variable protocol --------------------------------------------------------------
    @staticmethod
    def _wrap(payload, grad_fn=None, output_nr=0, vc=None):
        """A Tensor around ``payload`` (no copy), optionally as output ``output_nr`` of ``grad_fn``."""
        t = _new(Tensor)
        t._data = payload if type(payload) is _ndarray else np.asarray(payload)
        _set_grad(t, None)
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t._output_nr = output_nr
        t._vc = [0] if vc is None else vc
        t._hooks = None
        return t

    @staticmethod
    def _all_finite(payload) -> bool:
        return bool(np.isfinite(payload).all()) if np.asarray(payload).dtype.kind in "fc" else True

    def _seed_gradient(self, gradient):
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; this "
                                   f"tensor has shape {self.shape}: pass gradient= of that shape")
            return np.ones_like(self._data)
        g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient, dtype=self.dtype)
        if g.shape != self.shape:
            raise RuntimeError(f"backward: gradient has shape {g.shape} but the tensor has shape {self.shape}")
        # cast to the output's dtype first, as PyTorch (hooks and nodes see the output's dtype)
        if isinstance(gradient, Tensor) and gradient.requires_grad:
            return gradient if g.dtype == self.dtype else gradient.to(self.dtype)
        # no copy, as PyTorch: built-in backward functions never write into a gradient, and a leaf
        # copies a seed before keeping it as its .grad (engine._backward: ``handed``); copying an
        # 8 MB seed was 0.9 ms of a 5.7 ms BatchNorm2d layer step
        return g if g.dtype == self.dtype else g.astype(self.dtype)

    def _accumulate_grad(self, g, create_graph, handed):
        """``.grad += g`` for a leaf (hooks first); the first gradient is stored without a copy
        unless it is a view or was already handed to another leaf in this backward."""
        if self._hooks:
            g = self._run_leaf_hooks(g, create_graph)
            if np.shape(g) != self._data.shape:  # PyTorch refuses it too (was broadcast silently)
                raise RuntimeError(f"a hook has changed the size of value: it returned shape "
                                   f"{tuple(np.shape(g))} for a tensor of shape {self._data.shape}")
        if create_graph:
            self.grad = g if self.grad is None else self.grad + g
            return
        if g.dtype != self._data.dtype:
            g = g.astype(self._data.dtype)
        if self.grad is None:
            if g.base is not None or id(g) in handed or not g.flags.writeable:
                g = g.copy()
            handed.add(id(g))
            self.grad = Tensor._wrap(g)
        else:
            cur = self.grad._data
            if cur.flags.writeable and cur.base is None:
                cur += g
            else:
                self.grad = Tensor._wrap(cur + g)

    _value_cls = None  # set below: results of ops on Tensors (and Parameters) are Tensors

    # -- attributes ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The dimensions, as a tuple (PyTorch's ``torch.Size`` is a tuple too)."""
        return self._data.shape

    @property
    def dtype(self):
        """The NumPy dtype of the payload."""
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    def dim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    def size(self, dim=None):
        """The shape, or one dimension of it."""
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return self._data.size

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def numpy(self) -> np.ndarray:
        """The payload ndarray (shared, not a copy)."""
        return self._data

    @property
    def data(self) -> "Tensor":
        """PyTorch's ``.data``: a Tensor sharing this one's storage, cut from the graph and with its
        own version counter, so in-place edits through it (``p.data.add_(u)``, ``p.data[...] = a``)
        are neither recorded nor checked by autograd."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        """``t.data = other`` swaps the payload for ``other``'s (a Tensor or array-like; the shape
        may change, the dtype is kept as given), as PyTorch's ``.data`` assignment does."""
        arr = value._data if isinstance(value, Tensor) else dtypes.to_array(value)
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"data must be a Tensor or an array, not {type(value).__name__}")
        if self.requires_grad and not dtypes.is_floating(arr.dtype):
            raise TypeError(f"cannot assign data of dtype {arr.dtype} to a tensor that requires grad")
        self._data = arr

    def item(self):
        """The single element as a Python number (a RuntimeError otherwise, as PyTorch)."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        """The payload as nested Python lists."""
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def _python_number(self):
        """The single element for ``float()``/``int()``: PyTorch raises ValueError there (item()
        raises RuntimeError)."""
        if self._data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"(shape {self.shape})")
        return self._data.item()

    def __float__(self):
        return float(self._python_number())

    def __int__(self):
        return int(self._python_number())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self._data.size} elements is ambiguous")
        return bool(self._data)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if self._data.dtype != np.float32 and self._data.dtype != np.int64 and self._data.dtype != np.bool_:
            extra += f", dtype={self._data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __hash__(self):
        return id(self)

    def __deepcopy__(self, memo):
        """``copy.deepcopy`` of a leaf (PyTorch's rule: non-leaves refuse): a new tensor of the same
        class with copied data, ``requires_grad`` and ``.grad`` (``copy.deepcopy(model)`` uses it)."""
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol; call .detach() first")
        out = _new(type(self))
        Tensor.__init__(out, self._data.copy())
        out.requires_grad = self.requires_grad
        memo[id(self)] = out
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        return out

    # -- graph controls -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking on or off for a leaf (in place); returns self."""
        if requires_grad and not dtypes.is_floating(self._data.dtype):
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(got {self._data.dtype})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use "
                               ".detach() for a non-leaf")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares storage and version counter)."""
        return Tensor._wrap(self._data, None, 0, self._vc)

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        """A copy of the data that stays in the graph."""
        return self * 1 if self.requires_grad else Tensor._wrap(self._data.copy())

    def contiguous(self) -> "Tensor":
        """Self (NumPy handles memory layout)."""
        return self

    # -- device and dtype conversion (argument forms in engine.conversion) ---------------------
    @property
    def device(self):
        """Where the data lives: always ``device(type='cpu')`` in this build."""
        return _CPU

    is_cuda = False

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device, dtype)``, ``to(other)``: self when nothing changes and
        ``copy=False``, else a differentiable cast; a device this build lacks raises."""
        return _conversion.tensor_to(self, args, kwargs)

    def cpu(self) -> "Tensor":
        """Self: the data already lives on the CPU."""
        return self

    def type(self, dtype=None, non_blocking=False):
        """The type string (``'torch.FloatTensor'``) without argument, else a cast to ``dtype``."""
        return _conversion.tensor_type(self, dtype, non_blocking)

    def astype(self, dtype) -> "Tensor":
        """Cast to ``dtype`` (NumPy's name; anything ``np.dtype`` accepts)."""
        return _conversion.tensor_to(self, (np.dtype(dtype),), {})

    def half(self):
        """Cast to float16."""
        return self.to(np.float16)

    def float(self):
        """Cast to float32."""
        return self.to(np.float32)

    def double(self):
        """Cast to float64."""
        return self.to(np.float64)

    def long(self):
        """Cast to int64 (no gradient)."""
        return self.to(np.int64)

    def int(self):
        """Cast to int32 (no gradient)."""
        return self.to(np.int32)

    def bool(self):
        """Cast to bool (no gradient)."""
        return self.to(np.bool_)

    # -- in-place edits (bump the version counter) ------------------------------------------------
    # An in-place op whose operand requires grad, on a tensor that does not, is recorded as PyTorch
    # records it: the out-of-place op runs on a copy of the old value (so the saved value is not
    # the edited buffer), the result is written into the buffer (aliases see it, the version
    # counter moves) and the tensor takes the result's place in the graph (``_record_inplace``).
    def _check_inplace(self):
        if STATE.grad_enabled and self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation; wrap it in `with engine.no_grad():`")
        if STATE.grad_enabled and self.grad_fn is not None:
            raise RuntimeError(f"in-place operation on a tensor produced by {self.grad_fn.name()} "
                               f"is not supported; use the out-of-place op")

    def _check_castable(self, name, out_dt):
        """PyTorch's in-place rule: the op's result type ``out_dt`` must not be of a higher
        category (bool < integer < floating < complex) than self's dtype (no float into int)."""
        if dtypes._category(out_dt) > dtypes._category(self._data.dtype):
            raise RuntimeError(f"{name}: result type {out_dt} can't be cast to the desired output "
                               f"type {self._data.dtype}")

    def _must_record(self, *operands):
        """True when an in-place edit has to be recorded: grad mode is on, an operand requires
        grad (self itself does not: ``_check_inplace`` refuses those) and self's dtype can carry a
        gradient (copying a float into an integer tensor is not recorded, as in PyTorch)."""
        return (STATE.grad_enabled and any(isinstance(o, Variable) and o.requires_grad for o in operands)
                and dtypes.is_floating(self._data.dtype))

    def _inplace(self, fn, *args):
        self._check_inplace()
        fn(self._data, *args)
        self._vc[0] += 1
        return self

    def _record_inplace(self, name, compute):
        """Do ``self = compute(old)`` in place and record it: ``compute`` gets a graph-free copy of
        self's value and returns the out-of-place result (a differentiable op on it and the
        operands); that result is cast to self's dtype, written into self's buffer, and self
        becomes its graph output (``requires_grad``, ``grad_fn``)."""
        self._check_inplace()
        if self._data.base is not None:
            # a view: PyTorch would also rebase the history of the viewed tensor, which this
            # engine cannot reach (a Tensor does not know its base)
            raise RuntimeError(f"{name}: an in-place operation with an operand that requires grad "
                               f"on a tensor that is (or may be) a view of another tensor is not "
                               f"recorded by this engine; use the out-of-place op (or edit a "
                               f".clone())")
        res = compute(Tensor._wrap(self._data.copy()))
        if res._data.dtype != self._data.dtype:
            res = res.to(self._data.dtype)
        np.copyto(self._data, res._data, casting="unsafe")
        self._vc[0] += 1
        self.grad_fn, self._output_nr, self.requires_grad = res.grad_fn, res._output_nr, res.requires_grad
        return self

    def _arith_(self, name, ufunc, other, alpha=1):
        """``self = ufunc(self, alpha · other)`` in place, by PyTorch's rules: ``other`` broadcasts
        to self's shape, and the op's result type (``engine.result_type``; true division gives a
        floating one) must not be of a higher category than self's dtype (no float into int).
        Recorded when ``other`` requires grad (see ``_record_inplace``)."""
        o = _payload(other)
        out_dt = dtypes.result_type(self._data, o, alpha) if alpha != 1 else dtypes.result_type(self._data, o)
        if name == "div_" and out_dt.kind not in "fc":
            out_dt = dtypes.get_default_dtype()
        self._check_castable(name, out_dt)
        _check_broadcasts_to(name, "other", np.shape(o), self._data.shape)
        if self._must_record(other):
            operand = other * alpha if alpha != 1 else other
            return self._record_inplace(name, lambda old: _INPLACE_ARITH[name](old, operand))
        operand = o * alpha if alpha != 1 else o
        return self._inplace(lambda d: ufunc(d, operand, out=d, casting="unsafe"))

    def add_(self, other, alpha=1):
        """self += alpha · other (in place)."""
        return self._arith_("add_", np.add, other, alpha)

    def sub_(self, other, alpha=1):
        """self −= alpha · other (in place)."""
        return self._arith_("sub_", np.subtract, other, alpha)

    def mul_(self, other):
        """self *= other (in place)."""
        return self._arith_("mul_", np.multiply, other)

    def div_(self, other):
        """self /= other (in place; an integer tensor cannot hold the quotient, as in PyTorch)."""
        return self._arith_("div_", np.divide, other)

    def clamp_(self, min=None, max=None):  # noqa: A002
        """Clamp in place; ``min``/``max`` are numbers or tensors broadcasting to self (one may be
        None). A bound of a higher category than self's dtype (a float bound on an integer tensor)
        raises, as in PyTorch."""
        if min is None and max is None:
            raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None")
        lo, hi = _payload(min), _payload(max)
        for arg, bound in (("min", lo), ("max", hi)):
            if bound is not None:
                self._check_castable("clamp_", dtypes.result_type(self._data, bound))
            _check_broadcasts_to("clamp_", arg, np.shape(bound), self._data.shape)
        if self._must_record(min, max):
            return self._record_inplace("clamp_", lambda old: old.clamp(min, max))
        return self._inplace(lambda d: np.clip(d, lo, hi, out=d, casting="unsafe"))

    def fill_(self, value):
        """Set every element to ``value`` (a number or a 0-d tensor; in place)."""
        v = _payload(value)
        if np.ndim(v) != 0:
            raise RuntimeError(f"fill_ only supports a number or a 0-dim value tensor, got a value "
                               f"of shape {tuple(np.shape(v))}")
        if self._must_record(value):
            return self._record_inplace("fill_", lambda old: Copy.apply(value, old.shape, old.dtype))
        return self._inplace(lambda d: d.fill(v))

    def zero_(self):
        """Set every element to 0 (in place)."""
        return self._inplace(lambda d: d.fill(0))

    def copy_(self, src):
        """Copy ``src`` into self (broadcasting, any dtype cast, in place)."""
        s = _payload(src)
        _check_broadcasts_to("copy_", "src", np.shape(s), self._data.shape)
        if self._must_record(src):
            return self._record_inplace("copy_", lambda old: Copy.apply(src, old.shape, old.dtype))
        return self._inplace(lambda d: np.copyto(d, s, casting="unsafe"))

    def uniform_(self, a=0.0, b=1.0):
        """Fill with U(a, b) samples from the library's generator (in place; PyTorch's ``from``, ``to``)."""
        if not a <= b:
            raise RuntimeError(f"uniform_ expects from <= to, got from={a}, to={b}")
        return self._inplace(lambda d: d.__setitem__(..., generator().uniform(a, b, d.shape)))

    def normal_(self, mean=0.0, std=1.0):
        """Fill with N(mean, std²) samples from the library's generator (in place)."""
        if not std >= 0:
            raise RuntimeError(f"normal_ expects std >= 0, got std={std}")
        return self._inplace(lambda d: d.__setitem__(..., generator().normal(mean, std, d.shape)))

    def __setitem__(self, index, value):
        idx, v = payload_index(index), _payload(value)
        if self._must_record(value):
            self._record_inplace("__setitem__", lambda old: CopySlices.apply(old, value, idx))
            return
        self._inplace(lambda d: d.__setitem__(idx, v))

    # -- operators ----------------------------------------------------------------------------
    def __add__(self, other):
        return _small(Add, self, other, 2)

    def __radd__(self, other):
        return Add.apply(other, self)

    def __sub__(self, other):
        return _small(Sub, self, other, 2)

    def __rsub__(self, other):
        return Sub.apply(other, self)

    def __mul__(self, other):
        return _small(Mul, self, other, 2)

    def __rmul__(self, other):
        return Mul.apply(other, self)

    def __truediv__(self, other):
        return _small(Div, self, other, 2)

    def __rtruediv__(self, other):
        return Div.apply(other, self)

    def __pow__(self, other):
        return _small(Pow, self, other, 2)

    def __rpow__(self, other):
        return Pow.apply(other, self)

    def __matmul__(self, other):
        return _small(Matmul, self, other, 2)

    def __rmatmul__(self, other):
        return Matmul.apply(other, self)

    def __neg__(self):
        return _small(Neg, self, None, 1)

    def __abs__(self):
        return _small(Abs, self, None, 1)

    def _inplace_or_rebind(self, inplace, outofplace, other):
        """``x op= y``: in place unless the op must be recorded (grad mode on and x requires
        grad); a leaf that requires grad cannot be edited in place while recording (PyTorch)."""
        if STATE.grad_enabled and self.requires_grad:
            if self.grad_fn is None:
                self._check_inplace()
            return outofplace(self, other)
        return inplace(self, other)

    def __iadd__(self, other):
        return self._inplace_or_rebind(Tensor.add_, Tensor.__add__, other)

    def __isub__(self, other):
        return self._inplace_or_rebind(Tensor.sub_, Tensor.__sub__, other)

    def __imul__(self, other):
        return self._inplace_or_rebind(Tensor.mul_, Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._inplace_or_rebind(Tensor.div_, Tensor.__truediv__, other)

    # comparisons: bool tensors without gradient, computed in the promoted dtype (engine.ops.logic)
    def __lt__(self, other):
        return _logic.lt(self, other)

    def __le__(self, other):
        return _logic.le(self, other)

    def __gt__(self, other):
        return _logic.gt(self, other)

    def __ge__(self, other):
        return _logic.ge(self, other)

    def __eq__(self, other):
        return _logic.eq(self, other)

    def __ne__(self, other):
        return _logic.ne(self, other)

    def __invert__(self):
        return Tensor._wrap(~self._data)

    def __and__(self, other):
        return Tensor._wrap(self._data & _payload(other))

    def __or__(self, other):
        return Tensor._wrap(self._data | _payload(other))

    def eq(self, other):
        """Elementwise ==, as a bool tensor."""
        return self == other

    def __getitem__(self, index):
        return getitem(self, index)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(t)``, ``np.add(a, t)``, … on Tensors run the differentiable op."""
        if method != "__call__" or kwargs:
            return NotImplemented
        fn = _UFUNC_FUNCTIONS.get(ufunc)
        if fn is None:
            if ufunc in NONDIFF_UFUNCS:
                return Tensor._wrap(ufunc(*(_payload(i) for i in inputs)))
            return NotImplemented
        return fn(*inputs)


Tensor._value_cls = Tensor
_INPLACE_ARITH = {"add_": Tensor.__add__, "sub_": Tensor.__sub__, "mul_": Tensor.__mul__,
                  "div_": Tensor.__truediv__}
Tensor._mutable = True  # in-place edits possible: track versions of saved values


def _as_tensor(x):
    """``x`` itself when a Tensor, else a new Tensor of it (the functional forms' first argument)."""
    return x if isinstance(x, Variable) else Tensor(x)


# The op methods, one per row of the op table (x.exp(), x.sum(dim), x.view(shape), …).
for _row in TABLE:
    if _row.method:
        for _name in _row.names():
            setattr(Tensor, _name, _row.as_method())
for _name, _fn in PROPERTIES.items():
    setattr(Tensor, _name, property(_fn, doc=_fn.__doc__))
_UFUNC_FUNCTIONS = {ufunc: row.as_function(_as_tensor) for ufunc, row in UFUNCS.items()}
del _row, _name, _fn
