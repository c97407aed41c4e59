"""``Optimizer``: parameter groups, state, ``step``/``zero_grad``/``state_dict`` (PyTorch semantics).

Parameters are engine Tensors (anything with an ndarray ``._data`` and a ``.grad``); updates write
into ``p._data`` in place.  Subclasses implement ``_step_group(gi, group)``: either collect the
parameters that have a gradient and run one fused kernel per dtype (``_buckets``, ``_arrays``,
engine/kernels/optim_updates), or loop over ``_numpy_steps`` in plain NumPy.
"""
from __future__ import annotations

import copy
from collections.abc import MutableMapping

import numpy as np


class _RequiredParameter:
    """Singleton marking a hyper-parameter without a default (e.g. ``lr`` of a bare Optimizer)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class ParamState(MutableMapping):
    """``optimizer.state``: a dict keyed by parameter *identity* (``state[p]`` creates ``{}``)."""

    def __init__(self):
        self._d = {}

    def __getitem__(self, p):
        entry = self._d.get(id(p))
        if entry is None:
            entry = self._d[id(p)] = (p, {})
        return entry[1]

    def __setitem__(self, p, value):
        self._d[id(p)] = (p, value)

    def __delitem__(self, p):
        del self._d[id(p)]

    def __contains__(self, p):
        return id(p) in self._d

    def __iter__(self):
        return (p for p, _ in self._d.values())

    def __len__(self):
        return len(self._d)


def _typename(x):
    return type(x).__module__ + "." + type(x).__qualname__


def _is_tensor(x):
    return isinstance(getattr(x, "_data", None), np.ndarray) and hasattr(x, "grad")


def _to_array(value):
    """A loaded state value as ndarray (Tensors are unwrapped) or None when not array-like."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(getattr(value, "_data", None), np.ndarray):
        return value._data
    return None


class Optimizer:
    """Base class.  ``params``: an iterable of Tensors, or of dicts (parameter groups) each with
    ``"params"`` and optional per-group hyper-parameters overriding ``defaults``."""

    backend = "numba"   # "numpy" runs the reference twins instead of the fused kernels

    def __init__(self, params, defaults):
        if not isinstance(defaults, dict):
            raise TypeError(f"optimizer defaults must be a dict, got {type(defaults).__name__}")
        self.defaults = defaults
        if _is_tensor(params):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = ParamState()
        self.param_groups = []
        self._plans = {}
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- groups ------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group (dict with ``"params"``); missing hyper-parameters take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if _is_tensor(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        for p in params:
            if not _is_tensor(p):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(p))
            if not getattr(p, "is_leaf", True):
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self._validate_group(group)
        self.param_groups.append(group)

    def _validate_group(self, group):
        """Subclasses raise ValueError for invalid hyper-parameters (PyTorch's messages)."""

    # -- step ----------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset gradients: ``p.grad = None`` (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad._data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a ``.grad``.  ``closure`` (optional)
        re-evaluates the model and returns the loss, which ``step`` returns."""
        loss = None
        if closure is not None:
            loss = self._call_closure(closure)
        self._check_states()
        for gi, group in enumerate(self.param_groups):
            self._step_group(gi, group)
        return loss

    @staticmethod
    def _call_closure(closure):
        try:
            from engine import enable_grad
        except ImportError:          # engine without grad-mode switches: just call it
            return closure()
        with enable_grad():
            return closure()

    def _step_group(self, gi, group):
        raise NotImplementedError

    def _with_grad(self, group):
        """``(param, grad ndarray)`` for the group's parameters that have a gradient."""
        out = []
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            g = g._data if not isinstance(g, np.ndarray) else g
            if g.shape != p._data.shape:      # the .grad setter checks; its payload may be replaced
                raise RuntimeError(f"gradient of shape {tuple(g.shape)} does not match parameter "
                                   f"of shape {tuple(p._data.shape)}")
            out.append((p, g))
        return out

    def _buckets(self, gi, pairs):
        """Split ``pairs`` by dtype: yields (params, grads, plan cache) per dtype.

        Parameters whose ``._data`` is not a writeable C-contiguous array are updated through a
        contiguous copy that is written back afterwards."""
        by_dtype = {}
        for p, g in pairs:
            by_dtype.setdefault(p._data.dtype, []).append((p, g))
        for dt, items in by_dtype.items():
            params = [p for p, _ in items]
            grads = [g for _, g in items]
            yield params, grads, self._plans.setdefault((gi, dt.str), {})

    def _check_states(self):
        """Validate every parameter with a gradient, and its state, before any parameter changes:
        its array must be writeable (updates are in place) and its state must fit it."""
        for gi, group in enumerate(self.param_groups):
            for k, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if not p._data.flags.writeable:
                    raise RuntimeError(f"{type(self).__name__}: parameter {k} in param group {gi} is read-only "
                                       "(its ndarray has writeable=False) and cannot be updated in place; "
                                       "give the Tensor a writeable copy")
                if p in self.state:
                    self._check_state(gi, k, p)

    def _check_state(self, gi, k, p):
        """Raise before any kernel runs when ``p``'s state cannot be updated in place: every
        array-valued entry must be a writeable C-contiguous ndarray of the parameter's shape and
        dtype (the fused kernels address it by raw pointer, so a smaller array would be overrun).
        ``None`` entries (an uninitialised buffer) and the scalar entries are left alone."""
        a = p._data
        bad = []
        for name, v in self.state[p].items():
            if v is None or name in self._scalar_state:
                continue
            if not isinstance(v, np.ndarray):
                bad.append(f"{name!r} is a {_typename(v)}, not an ndarray")
            elif v.shape != a.shape:
                bad.append(f"{name!r} has shape {tuple(v.shape)}, the parameter {tuple(a.shape)}")
            elif v.dtype != a.dtype:
                bad.append(f"{name!r} has dtype {v.dtype}, the parameter {a.dtype}")
            elif not (v.flags.c_contiguous and v.flags.writeable):
                bad.append(f"{name!r} is not a writeable C-contiguous array")
        if bad:
            raise RuntimeError(f"{type(self).__name__}: state of parameter {k} in param group {gi} "
                               f"does not match the parameter: " + "; ".join(bad) +
                               " (was the parameter's data replaced after a step? "
                               "reset its state with `del optimizer.state[p]`)")

    def _lazy_state(self, p, like, slots, **scalars):
        """``p``'s state, created on its first step: the ``scalars`` (e.g. ``step=0.0``), then one
        C-contiguous zero array shaped like ``like`` per name in ``slots`` (PyTorch's key order)."""
        st = self.state[p]
        if slots[0] not in st:
            st.update(scalars)
            for name in slots:
                st[name] = np.zeros_like(like, order="C")
        return st

    def _numpy_steps(self, group, slots, decoupled=False):
        """The loop of an optimizer written in plain NumPy, one parameter at a time: yields
        ``(w, g, state)`` for each parameter of ``group`` that has a gradient, where ``w`` is its
        array (update it in place), ``state`` its state (created by :meth:`_lazy_state` with
        ``step=0.0``; ``step`` already counts this step) and ``g`` the gradient after ``maximize``
        and weight decay λ: coupled, g ← g + λw; ``decoupled``, w ← w·(1 − ηλ) instead."""
        lr, wd = group["lr"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            w = p.numpy()
            st = self._lazy_state(p, w, slots, step=0.0)
            st["step"] += 1
            if decoupled and wd != 0:
                w *= 1 - lr * wd
            g = _decayed_grad(w, p.grad.numpy(), 0 if decoupled else wd, group["maximize"])
            yield w, g, st

    @staticmethod
    def _arrays(params):
        """Contiguous working arrays for params plus a write-back function."""
        arrays, back = [], []
        for p in params:
            a = p._data
            if not a.flags.c_contiguous:        # writeable: checked by _check_states
                a = np.ascontiguousarray(a).copy()
                back.append((p, a))
            arrays.append(a)

        def write_back():
            for p, a in back:
                p._data[...] = a
        return arrays, write_back

    # -- state dict --------------------------------------------------------------------------
    def state_dict(self):
        """``{"state": {index: {name: ndarray | number}}, "param_groups": [{..., "params": [index]}]}``
        (PyTorch's layout; parameters are numbered in group order).  Arrays are the live state
        arrays, not copies: deep-copy before continuing to train if you keep it in memory."""
        index, groups, k = {}, [], 0
        for group in self.param_groups:
            packed = {key: (list(v) if isinstance(v, tuple) else v)
                      for key, v in group.items() if key != "params"}
            packed["params"] = list(range(k, k + len(group["params"])))
            for p in group["params"]:
                index[id(p)] = k
                k += 1
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and state (arrays are copied and cast to the param dtype).
        Accepts Tensors or ndarrays for array values and int or str state keys.

        All or nothing: the whole dict is validated and converted first; on any problem a
        ValueError/TypeError names every offending entry and the optimizer is unchanged."""
        from collections.abc import Mapping

        if not isinstance(state_dict, Mapping) or "state" not in state_dict or "param_groups" not in state_dict:
            raise TypeError("optimizer state_dict must be a dict with 'state' and 'param_groups'")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple)) for g in saved_groups):
            raise TypeError("optimizer state_dict['param_groups'] must be a list of dicts with a 'params' list")
        if not isinstance(saved_state, Mapping):
            raise TypeError("optimizer state_dict['state'] must be a dict")
        if len(self.param_groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group "
                             "that doesn't match the size of optimizer's group")
        errors, id_map = [], {}
        for g, s in zip(self.param_groups, saved_groups):
            for saved_idx, p in zip(s["params"], g["params"]):
                try:
                    id_map[int(saved_idx)] = p
                except (TypeError, ValueError):
                    errors.append(f"param_groups: parameter index {saved_idx!r} is not an integer")
        new_state = ParamState()
        for key, st in saved_state.items():
            try:
                p = id_map.get(int(key))
            except (TypeError, ValueError):
                errors.append(f"state key {key!r} is not a parameter index")
                continue
            if p is None:
                continue
            if not isinstance(st, Mapping):
                errors.append(f"state[{key!r}] is a {type(st).__name__}, not a dict")
                continue
            entry = {}
            for name, v in st.items():
                try:
                    entry[name] = self._load_value(p, name, v)
                except (TypeError, ValueError) as e:
                    errors.append(f"state[{key!r}][{name!r}]: {e}")
            new_state[p] = entry
        new_groups = []
        for gi, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            try:
                ng = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            except Exception as e:  # noqa: BLE001 - an uncopyable value is reported by name
                errors.append(f"param_groups[{gi}]: {e}")
                continue
            if isinstance(ng.get("betas"), list):
                ng["betas"] = tuple(ng["betas"])
            ng["params"] = g["params"]
            new_groups.append(ng)
        if errors:
            raise ValueError("optimizer state_dict not loaded (nothing changed):\n\t" + "\n\t".join(errors))
        self.state = new_state
        self.param_groups = new_groups
        self._plans = {}

    _scalar_state = ("step", "mu_product")

    def _load_value(self, p, name, v):
        """One state value converted for ``p``: scalars as floats, arrays copied in p's dtype and
        shape (ValueError/TypeError when that is impossible), anything else deep-copied."""
        arr = _to_array(v)
        if arr is None and isinstance(v, (list, int, float, np.number)) and not isinstance(v, bool):
            arr = np.asarray(v)       # JSON round trips turn arrays into (nested) lists or numbers
        if arr is None:
            if name in self._scalar_state or isinstance(v, str):
                raise TypeError(f"expected a number or an array, got {type(v).__name__}")
            return copy.deepcopy(v)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"expected a real numeric array, got dtype {arr.dtype}")
        if name in self._scalar_state:
            if arr.size != 1:
                raise ValueError(f"expected a single number, got shape {tuple(arr.shape)}")
            return float(arr.item())
        shape = p._data.shape
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"shape {tuple(arr.shape)} does not fit the parameter's shape {tuple(shape)}")
        return np.array(arr, dtype=p._data.dtype, order="C", copy=True).reshape(shape)


def _check_betas(betas):
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check(value, name, lower=0.0):
    if not value >= lower:
        raise ValueError(f"Invalid {name}: {value}")


def _decayed_grad(param, grad, weight_decay, maximize):
    """The gradient every update rule starts from: g = −grad if ``maximize`` else grad, then
    g ← g + λ·param when λ = ``weight_decay`` ≠ 0 (coupled L2 weight decay). A new array when
    either applies, else ``grad`` itself."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    return g
