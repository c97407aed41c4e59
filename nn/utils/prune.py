"""Pruning with PyTorch's API (``torch.nn.utils.prune``), plus ``sparsity(model)``.

Pruning parameter ``name`` of a module moves it to ``name + "_orig"`` (still a Parameter), adds
a buffer ``name + "_mask"`` (1 keep, 0 pruned), and registers a forward pre-hook that sets
``module.<name> = <name>_orig * <name>_mask`` before every forward: the mask stays applied while
training, and the gradient reaching ``<name>_orig`` is zero where the mask is zero. Pruning the
same parameter again computes the new mask on the entries (or, for structured methods, the
channels) that are still unpruned and multiplies it in. ``remove`` makes it permanent."""
from __future__ import annotations

import numbers

import numpy as np

from engine import Tensor
from engine.random import generator

from ..parameter import Parameter

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned", "sparsity"]


def _validate_amount(amount):
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or amount < 0:
        raise ValueError(f"amount={amount!r} should either be a float in the range [0, 1] or a non-negative integer")
    if not isinstance(amount, numbers.Integral) and amount > 1:
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _n_to_prune(amount, size):
    """PyTorch's count: an int amount as is, a fraction rounded (round half to even)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")
        return int(amount)
    return int(round(amount * size))


class BasePruningMethod:
    """A pruning method: ``compute_mask(t, default_mask)`` gives the new 0/1 mask; calling the
    object as a forward pre-hook re-applies the mask."""

    PRUNING_TYPE = "unstructured"
    _tensor_name = None

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t, default_mask):
        raise NotImplementedError

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask`` as a Tensor in the graph (gradients flow to ``_orig``)."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return orig * mask

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``; returns the method."""
        method = cls(*args, **kwargs)
        method._tensor_name = name
        old = _pruning_hook(module, name)
        if old is None:
            orig = module._parameters.get(name)
            if orig is None:
                raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be a registered "
                                 f"parameter to be pruned")
            default_mask = np.ones(orig.shape, dtype=np.asarray(orig).dtype)
        else:
            orig = getattr(module, name + "_orig")
            default_mask = np.array(np.asarray(getattr(module, name + "_mask")))
        scores = np.asarray(orig if importance_scores is None else importance_scores)
        if scores.shape != tuple(orig.shape):
            raise ValueError(f"importance_scores should have the same shape as parameter {name} {tuple(orig.shape)}, "
                             f"got {scores.shape}")
        if old is None:
            mask = method.compute_mask(scores, default_mask)
        else:
            container = PruningContainer(old, method)
            mask = container.compute_mask(scores, default_mask)
            method = container
            method._tensor_name = name
            _remove_hook(module, old)
        mask = np.asarray(mask, dtype=default_mask.dtype)
        if old is None:
            del module._parameters[name]
            module.register_parameter(name + "_orig", orig)
            module.register_buffer(name + "_mask", Tensor(mask))
        else:
            getattr(module, name + "_mask").numpy()[...] = mask
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask this method computes (``t`` unchanged by it)."""
        a = np.asarray(t)
        scores = a if importance_scores is None else np.asarray(importance_scores)
        dm = np.ones_like(a) if default_mask is None else np.asarray(default_mask)
        return Tensor(a * self.compute_mask(scores, dm))

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` becomes a Parameter equal to orig·mask."""
        name = self._tensor_name
        weight = np.array(np.asarray(self.apply_mask(module)))
        if hasattr(module, name) and name in module.__dict__:
            object.__delattr__(module, name)
        orig = module._parameters.pop(name + "_orig")
        del module._buffers[name + "_mask"]
        param = Parameter(Tensor(weight), requires_grad=orig.requires_grad)
        module.register_parameter(name, param)


class PruningContainer(BasePruningMethod):
    """Successive pruning of one parameter: each new method acts on what is still unpruned."""

    def __init__(self, *methods):
        self._pruning_methods = ()
        for m in methods:
            self.add_pruning_method(m)

    def add_pruning_method(self, method):
        if isinstance(method, PruningContainer):
            for m in method._pruning_methods:
                self.add_pruning_method(m)
            return
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method).__name__} is not a BasePruningMethod subclass")
        self._tensor_name = self._tensor_name or method._tensor_name
        self._pruning_methods += (method,)

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        mask = np.array(default_mask)
        if method.PRUNING_TYPE == "unstructured":
            keep = default_mask == 1
            mask[keep] = method.compute_mask(t[keep], np.ones(int(keep.sum()), dtype=default_mask.dtype))
        elif method.PRUNING_TYPE == "structured":
            dim = method.dim % t.ndim
            other = tuple(d for d in range(t.ndim) if d != dim)
            alive = default_mask.sum(axis=other) != 0
            sl = [slice(None)] * t.ndim
            sl[dim] = alive
            sub_t, sub_m = t[tuple(sl)], default_mask[tuple(sl)]
            mask[tuple(sl)] = method.compute_mask(sub_t, sub_m)
        else:
            mask = method.compute_mask(t, default_mask)
        return mask * default_mask


class Identity(BasePruningMethod):
    """Keeps everything (a mask of ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return np.array(default_mask)


class _UnstructuredByScore(BasePruningMethod):
    """Zeroes the ``amount`` (count, or fraction of the entries) entries of smallest
    ``_scores(t)`` (ties: the first in flat order)."""

    def __init__(self, amount):
        _validate_amount(amount)
        self.amount = amount

    def _scores(self, t):
        raise NotImplementedError

    def compute_mask(self, t, default_mask):
        k = _n_to_prune(self.amount, t.size)
        mask = np.array(default_mask)
        if k:
            idx = np.argsort(self._scores(t), kind="stable")[:k]
            mask.reshape(-1)[idx] = 0
        return mask


class RandomUnstructured(_UnstructuredByScore):
    """Zeroes ``amount`` (count, or fraction of the entries) chosen uniformly at random."""

    def _scores(self, t):
        return generator().random(t.size)


class L1Unstructured(_UnstructuredByScore):
    """Zeroes the ``amount`` entries of smallest absolute value."""

    def _scores(self, t):
        return np.abs(np.asarray(t)).reshape(-1)


def _channel_mask(t, dim, keep_channels, default_mask):
    shape = [1] * t.ndim
    shape[dim] = t.shape[dim]
    return np.asarray(default_mask) * keep_channels.reshape(shape).astype(np.asarray(default_mask).dtype)


class RandomStructured(BasePruningMethod):
    """Zeroes ``amount`` whole channels along ``dim`` chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        _check_structured(t)
        dim = _check_dim(self.dim, t.ndim)
        n = t.shape[dim]
        k = _n_to_prune(self.amount, n)
        keep = np.ones(n, bool)
        keep[np.argsort(generator().random(n), kind="stable")[:k]] = False
        return _channel_mask(t, dim, keep, default_mask)


def _check_structured(t):
    if np.ndim(t) <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {tuple(np.shape(t))} with {np.ndim(t)} dims")


def _check_dim(dim, ndim):
    if not -ndim <= dim < ndim:
        raise IndexError(f"dim={dim} is out of range for a parameter with {ndim} dimensions")
    return dim % ndim


def _norm(t, n, axes):
    a = np.abs(np.asarray(t, dtype=np.float64))
    if n in ("fro", 2):
        return np.sqrt((a ** 2).sum(axis=axes))
    if n == np.inf:
        return a.max(axis=axes)
    if n == -np.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(np.float64)
    return (a ** n).sum(axis=axes) ** (1.0 / n)


class LnStructured(BasePruningMethod):
    """Zeroes the ``amount`` channels along ``dim`` of smallest L``n`` norm (the norm over all
    other dimensions; ``n`` an int, float, ``inf``, ``-inf`` or ``'fro'``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount(amount)
        if not (isinstance(n, numbers.Real) or n == "fro"):
            raise ValueError(f"n must be a number, inf, -inf or 'fro', got {n!r}")
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        _check_structured(t)
        dim = _check_dim(self.dim, t.ndim)
        norms = _norm(t, self.n, tuple(d for d in range(t.ndim) if d != dim))
        k = _n_to_prune(self.amount, t.shape[dim])
        keep = np.ones(t.shape[dim], bool)
        keep[np.argsort(norms, kind="stable")[:k]] = False
        return _channel_mask(t, dim, keep, default_mask)


class CustomFromMask(BasePruningMethod):
    """Applies a given mask."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = np.asarray(mask)

    def compute_mask(self, t, default_mask):
        if self.mask.shape != np.shape(default_mask):
            raise ValueError(f"mask of shape {self.mask.shape} does not match the parameter's {np.shape(default_mask)}")
        return np.asarray(default_mask) * self.mask.astype(np.asarray(default_mask).dtype)


def _pruning_hook(module, name):
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return hook
    return None


def _remove_hook(module, hook):
    for k, h in list(module._forward_pre_hooks.items()):
        if h is hook:
            del module._forward_pre_hooks[k]


def identity(module, name):
    """A mask of ones on ``module.<name>`` (the reparametrization without pruning)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries of ``module.<name>``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` with smallest |w| (or smallest
    ``importance_scores``)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` with smallest L``n`` norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune all ``(module, name)`` pairs together: ``pruning_method`` (a class, e.g.
    ``L1Unstructured``) computes one mask over all their (still unpruned) entries, so
    ``amount`` is shared globally."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("global_unstructured: parameters must be a non-empty iterable of (module, name) pairs")
    importance_scores = importance_scores or {}
    scores, masks = [], []
    for module, name in parameters:
        hook = _pruning_hook(module, name)
        t = getattr(module, name + "_orig") if hook is not None else getattr(module, name)
        s = importance_scores.get((module, name), t)
        scores.append(np.asarray(s).reshape(-1))
        masks.append(np.asarray(getattr(module, name + "_mask")).reshape(-1) if hook is not None
                     else np.ones(int(np.prod(t.shape)), np.asarray(t).dtype))
    flat_t, flat_m = np.concatenate(scores), np.concatenate(masks)
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"global_unstructured needs an unstructured pruning method, got PRUNING_TYPE="
                        f"{method.PRUNING_TYPE!r}")
    keep = flat_m == 1
    new = np.array(flat_m)
    new[keep] = method.compute_mask(flat_t[keep], np.ones(int(keep.sum()), flat_m.dtype))
    start = 0
    for (module, name), m in zip(parameters, masks):
        shape = tuple(getattr(module, name).shape)
        piece = new[start:start + m.size].reshape(shape)
        start += m.size
        custom_from_mask(module, name, piece)


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent and drop ``_orig``, ``_mask`` and the hook."""
    hook = _pruning_hook(module, name)
    if hook is None:
        raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned before pruning "
                         f"can be removed")
    hook.remove(module)
    _remove_hook(module, hook)
    return module


def is_pruned(module) -> bool:
    """True when ``module`` or any submodule has a pruning hook."""
    return any(isinstance(h, BasePruningMethod) for m in module.modules() for h in m._forward_pre_hooks.values())


def sparsity(model) -> float:
    """Fraction of zero entries over all effective parameters of ``model`` (a pruned parameter
    counts as ``orig · mask``; the ``_orig`` copies are not counted twice)."""
    zeros = total = 0
    for m in model.modules():
        pruned = {h._tensor_name: h for h in m._forward_pre_hooks.values() if isinstance(h, BasePruningMethod)}
        for pname, p in m._parameters.items():
            if p is None:
                continue
            if pname.endswith("_orig") and pname[:-5] in pruned:
                a = np.asarray(p) * np.asarray(getattr(m, pname[:-5] + "_mask"))
            else:
                a = np.asarray(p)
            zeros += int(a.size - np.count_nonzero(a))
            total += int(a.size)
    return zeros / total if total else 0.0
