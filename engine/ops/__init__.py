"""The built-in ops, and ``TABLE``: the one list from which the functional form (``engine.exp``),
the Tensor method (``x.exp()``), the ``engine`` export and the NumPy-ufunc mapping
(``np.exp(t)``) of every op are made.

How to register an op
---------------------
1. Write it in a module of this package: an elementwise op is a ``UnaryOp``/``BinaryOp``
   subclass (see ``elementwise.py``: the forward payload function and the local derivative;
   broadcasting and its reversal are the base class's), any other op a ``Function`` subclass with
   ``raw = True`` plus, when it takes arguments besides tensors, a functional form
   ``def name(input, ...)`` that checks them and calls ``Cls.apply``. An op that is a composition
   of existing ops needs no class at all: its functional form is the expression.
   The docstring states the forward and the gradient (``out = …;  da = …``).
2. Add one row to ``TABLE`` below: ``Op("name", ClassOrFunction)``, with ``ufunc=np.name`` when a
   NumPy ufunc should dispatch to it, ``method=False`` / ``function=False`` for a function-only /
   method-only op, ``aliases=("other_name",)`` for extra names.
3. Add one row to the op tests (``tests/test_engine_ops.py``): reference and gradient check.

Nothing else: ``engine.tensor`` turns each row into a Tensor method, ``engine.functional`` into
an exported function (which also accepts array-likes for the first argument), the ufunc table
comes from the ``ufunc`` column. A row's ``impl`` receives a Tensor (or Scalar) as first argument.

This package imports nothing above ``engine.function`` (no Tensor): the import chain is
grad_mode → node → _backward → variable → function → ops → tensor → functional.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..function import apply_small
from ..variable import Variable
from .arithmetic import Add, Div, Mul, Neg, Pow, Sub
from .cast import Cast
from .elementwise import BinaryOp, UnaryOp
from .indexing import GetItem, IndexAdd, getitem, payload_index
from .join import Cat, Stack, cat, stack
from .matmul import Matmul
from .pad import Pad, pad
from .reduction import AMax, LogSumExp, MaxDim, Mean, Std, Sum, Var
from .reduction_forms import (MaxResult, amax, amin, argmax, argmin, logsumexp, max, mean, min, std,
                              sum, var)
from .selection import Clamp, Maximum, Minimum, Where, clamp, where, where_method
from .shape import (Expand, Permute, Reshape, T, expand, expand_as, flatten, mT, numel, permute, reshape,
                    squeeze, transpose, unsqueeze, view_as)
from .softmax import LogSoftmax, Softmax, log_softmax, softmax
from .erf import Erf
from .unary import Abs, Cos, Exp, Log, Log1p, Relu, Sigmoid, Sin, Sqrt, Tanh
from . import unary_math as um
from . import binary_math as bm
from . import gather, linalg, logic, rounding, scan, sorting, surface_methods as adapted, tiling


@dataclass(frozen=True)
class Op:
    """One row of ``TABLE``: ``impl`` is a Function class of one or two tensor arguments (applied
    directly) or a functional form ``impl(input, ...)``; ``method`` may be a callable to use as
    the Tensor method instead of ``impl``; ``convert`` says which argument of the functional form
    becomes a Tensor when it is not one: ``"input"`` (the first) or ``"sequence"`` (each element
    of the first)."""

    name: str
    impl: object
    method: object = True
    function: bool = True
    ufunc: object = None
    aliases: tuple = ()
    convert: str = "input"

    def names(self):
        """The row's name and aliases."""
        return (self.name,) + self.aliases

    def arity(self):
        """1 or 2 for a Function class applied directly, None for a functional form."""
        return getattr(self.impl, "arity", None) if isinstance(self.impl, type) else None

    def as_method(self):
        """The Tensor method: the unrolled ``apply_small`` for one- and two-argument classes."""
        if callable(self.method):
            return self.method
        impl, n = self.impl, self.arity()
        if n == 1:
            def method(self):
                return apply_small(impl, self, None, 1)
        elif n == 2:
            def method(self, other):
                return apply_small(impl, self, other, 2)
        else:
            return impl
        method.__name__ = method.__qualname__ = self.name
        method.__doc__ = impl.__doc__
        return method

    def as_function(self, to_tensor):
        """The public function; ``to_tensor`` makes a Tensor of a non-Tensor first argument."""
        impl, n = self.impl, self.arity()
        convert_each = self.convert == "sequence"
        if n == 1:
            def function(input):
                return apply_small(impl, to_tensor(input), None, 1)
        elif n == 2:
            def function(input, other):
                if isinstance(input, Variable):
                    return apply_small(impl, input, other, 2)
                if isinstance(other, Variable):  # a number stays a (weakly typed) number
                    return impl.apply(input, other)
                return apply_small(impl, to_tensor(input), other, 2)
        elif convert_each:
            def function(tensors, *args, **kwargs):
                return impl([to_tensor(t) for t in tensors], *args, **kwargs)
        else:
            def function(input, *args, **kwargs):
                return impl(to_tensor(input), *args, **kwargs)
        function.__name__ = function.__qualname__ = self.name
        function.__doc__ = impl.__doc__
        if n is None:
            function.__wrapped__ = impl  # inspect.signature shows impl's arguments
        return function


TABLE = (
    # arithmetic (the operators + - * / ** @ call the same classes)
    Op("add", Add, ufunc=np.add),
    Op("sub", Sub, ufunc=np.subtract, aliases=("subtract",)),
    Op("mul", Mul, ufunc=np.multiply, aliases=("multiply",)),
    Op("div", Div, ufunc=np.true_divide, aliases=("divide", "true_divide")),
    Op("pow", Pow, ufunc=np.power),
    Op("neg", Neg, ufunc=np.negative, aliases=("negative",)),
    Op("matmul", Matmul, ufunc=np.matmul),
    # elementwise functions of one tensor
    Op("abs", Abs, ufunc=np.absolute, aliases=("absolute",)),
    Op("exp", Exp, ufunc=np.exp),
    Op("log", Log, ufunc=np.log),
    Op("log1p", Log1p, ufunc=np.log1p),
    Op("sqrt", Sqrt, ufunc=np.sqrt),
    Op("sin", Sin, ufunc=np.sin),
    Op("cos", Cos, ufunc=np.cos),
    Op("tanh", Tanh, ufunc=np.tanh),
    Op("sigmoid", Sigmoid),
    Op("relu", Relu),
    Op("erf", Erf),
    Op("rsqrt", um.Rsqrt),
    Op("square", um.Square, ufunc=np.square),
    Op("reciprocal", um.Reciprocal, ufunc=np.reciprocal),
    Op("log2", um.Log2, ufunc=np.log2),
    Op("log10", um.Log10, ufunc=np.log10),
    Op("expm1", um.Expm1, ufunc=np.expm1),
    Op("exp2", um.Exp2, ufunc=np.exp2),
    Op("tan", um.Tan, ufunc=np.tan),
    Op("sinh", um.Sinh, ufunc=np.sinh),
    Op("cosh", um.Cosh, ufunc=np.cosh),
    Op("asin", um.Asin, ufunc=np.arcsin, aliases=("arcsin",)),
    Op("acos", um.Acos, ufunc=np.arccos, aliases=("arccos",)),
    Op("atan", um.Atan, ufunc=np.arctan, aliases=("arctan",)),
    Op("asinh", um.Asinh, ufunc=np.arcsinh, aliases=("arcsinh",)),
    Op("acosh", um.Acosh, ufunc=np.arccosh, aliases=("arccosh",)),
    Op("atanh", um.Atanh, ufunc=np.arctanh, aliases=("arctanh",)),
    Op("frac", um.Frac),
    Op("deg2rad", um.Deg2rad, ufunc=np.deg2rad),
    Op("rad2deg", um.Rad2deg, ufunc=np.rad2deg),
    Op("sinc", um.Sinc),
    Op("atan2", bm.Atan2, ufunc=np.arctan2, aliases=("arctan2",)),
    Op("hypot", bm.Hypot, ufunc=np.hypot),
    Op("fmod", bm.Fmod, ufunc=np.fmod),
    Op("remainder", bm.Remainder, ufunc=np.remainder),
    Op("lerp", bm.lerp),
    # picking between values
    Op("clamp", clamp, aliases=("clip",)),
    Op("maximum", Maximum, ufunc=np.maximum),
    Op("minimum", Minimum, ufunc=np.minimum),
    Op("where", where, method=where_method),
    # reductions
    Op("sum", sum),
    Op("mean", mean),
    Op("var", var),
    Op("std", std),
    Op("max", max),
    Op("min", min),
    Op("amax", amax),
    Op("amin", amin),
    Op("argmax", argmax),
    Op("argmin", argmin),
    Op("logsumexp", logsumexp),
    Op("softmax", softmax),
    Op("log_softmax", log_softmax),
    # shapes
    Op("reshape", reshape),
    Op("view", reshape, function=False),
    Op("view_as", view_as, function=False),
    Op("flatten", flatten),
    Op("squeeze", squeeze),
    Op("unsqueeze", unsqueeze),
    Op("permute", permute),
    Op("transpose", transpose, aliases=("swapaxes",)),
    Op("expand", expand),
    Op("expand_as", expand_as, function=False),
    Op("numel", numel, method=False),
    # joining and padding (functions only)
    Op("cat", cat, method=False, aliases=("concatenate", "concat"), convert="sequence"),
    Op("stack", stack, method=False, convert="sequence"),
    Op("pad", pad, method=False),
    # linear algebra
    Op("mm", linalg.mm),
    Op("bmm", linalg.bmm),
    Op("mv", linalg.mv),
    Op("dot", linalg.dot),
    Op("t", linalg.t),
    Op("addmm", linalg.addmm, method=adapted.addmm_method),
    Op("norm", linalg.norm),
    # splitting, tiling, flipping
    Op("chunk", tiling.chunk),
    Op("split", tiling.split),
    Op("unbind", tiling.unbind),
    Op("repeat", tiling.repeat, function=False),
    Op("flip", tiling.flip, method=adapted.flip_method),
    # sorting, scans
    Op("sort", sorting.sort),
    Op("argsort", sorting.argsort),
    Op("topk", sorting.topk),
    Op("cumsum", scan.cumsum),
    Op("prod", scan.prod),
    # comparisons and truth (bool results, no gradient); Tensor.eq is the == operator
    Op("eq", logic.eq, method=False),
    Op("ne", logic.ne),
    Op("gt", logic.gt),
    Op("lt", logic.lt),
    Op("ge", logic.ge),
    Op("le", logic.le),
    Op("any", logic.any),
    Op("all", logic.all),
    # gathering and scattering
    Op("gather", gather.gather),
    Op("scatter_add", gather.scatter_add),
    Op("index_select", gather.index_select),
    Op("masked_fill", gather.masked_fill),
    Op("masked_fill_", adapted.masked_fill_, function=False),
    # rounding and tests
    Op("floor", rounding.floor),
    Op("ceil", rounding.ceil),
    Op("round", rounding.round),
    Op("trunc", rounding.trunc, aliases=("fix",)),
    Op("sign", rounding.sign, aliases=("sgn",)),
    Op("isnan", rounding.isnan),
    Op("isinf", rounding.isinf),
    Op("isfinite", rounding.isfinite),
    Op("nan_to_num", rounding.nan_to_num),
    # conversions and Python protocols (methods only)
    Op("type_as", adapted.type_as, function=False),
    Op("reshape_as", adapted.reshape_as, function=False),
    Op("__format__", adapted.format_method, function=False),
    Op("__index__", adapted.index_method, function=False),
)

PROPERTIES = {"T": T, "mT": mT}  # Tensor properties, not methods: ``x.T``

# NumPy ufuncs that have a differentiable op; and those that return a result without gradient
UFUNCS = {row.ufunc: row for row in TABLE if row.ufunc is not None}
NONDIFF_UFUNCS = frozenset({
    np.sign, np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.logical_and, np.logical_or, np.logical_not, np.floor,
    np.ceil, np.round, np.rint})
