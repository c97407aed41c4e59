"""``Module``: the base of every layer and model, with PyTorch's API — registration of
parameters, buffers and submodules by attribute assignment, ``parameters``/``named_parameters``,
``children``/``modules``, ``train``/``eval``, ``zero_grad``, ``state_dict``/``load_state_dict``
(strict key and shape checks), ``register_buffer``, ``apply``, forward hooks, and
``regularization_loss`` (the sum of the keras-style penalties of the ``nn.regularizers.Regularized``
modules inside; the penalties themselves live in that mixin, not here)."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from engine import Tensor
from engine.conversion import parse_to

from .parameter import Parameter
from .regularizers import Regularized

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _Handle:
    """Returned by ``register_forward_hook``; ``.remove()`` unregisters it."""

    def __init__(self, store, key):
        self._store, self._key = store, key

    def remove(self):
        self._store.pop(self._key, None)


class Module:
    """Base class: subclass it, assign Parameters / Modules / buffers in ``__init__`` and define
    ``forward``; call the module to run forward (with hooks)."""

    _hook_counter = 0

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    # -- registration -------------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("cannot assign to a Module before Module.__init__() is called")
        kind = _store_for(value, d, name)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != kind:
                d[store].pop(name, None)
        if kind is None:
            object.__setattr__(self, name, value)
            return
        d.pop(name, None)
        d[kind][name] = value

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[store]:
                del self.__dict__[store][name]
                self.__dict__["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def _check_new_name(self, name, store):
        """PyTorch's rule: a name already used by another registry or a plain attribute cannot
        be re-registered (it would be shadowed or stored twice)."""
        d = self.__dict__
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{store[1:-1]} name must be a non-empty string without '.', got {name!r}")
        if name in d or any(name in d[s] for s in ("_parameters", "_buffers", "_modules") if s != store):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter '{name}' "
                            f"(nn.Parameter or None required)")
        self._check_new_name(name, "_parameters")
        self.__dict__["_parameters"][name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-learnable tensor (e.g. running statistics) saved in the state_dict
        unless ``persistent=False``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._check_new_name(name, "_buffers")
        self.__dict__["_buffers"][name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register a submodule under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name(str(name), "_modules")
        self.__dict__["_modules"][str(name)] = module

    register_module = add_module

    def get_submodule(self, target: str):
        """The submodule at dotted path ``target`` (``"features.0"``)."""
        mod = self
        for part in filter(None, target.split(".")):
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' (path '{target}')")
            mod = mod._modules[part]
        return mod

    # -- calling ------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of this module; every subclass defines it."""
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; returns a handle."""
        Module._hook_counter += 1
        self._forward_hooks[Module._hook_counter] = hook
        return _Handle(self._forward_hooks, Module._hook_counter)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before every forward; returns a handle."""
        Module._hook_counter += 1
        self._forward_pre_hooks[Module._hook_counter] = hook
        return _Handle(self._forward_pre_hooks, Module._hook_counter)

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for self and every descendant, each once (every path
        to a shared module with ``remove_duplicate=False``)."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{k}" if name else k, m) for k, m in mod._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        """Self and every descendant module."""
        return (m for _, m in self.named_modules())

    def named_children(self):
        """Yield ``(name, module)`` for the direct submodules."""
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self):
        """The direct submodules."""
        return (m for _, m in self.named_children())

    def _named(self, store, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, mod in mods:
            for k, v in getattr(mod, store).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    def named_parameters(self, prefix="", recurse=True):
        """Yield ``(dotted_name, Parameter)``; shared parameters appear once."""
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        """Every learnable Parameter (what an optimizer takes)."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        """Yield ``(dotted_name, buffer)``."""
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        """Every buffer tensor."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and grads ------------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on self and descendants."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self):
        """Set evaluation mode (dropout off, running statistics)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking of every parameter on or off."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # -- device and dtype (in place on parameters and buffers; returns self) -------------------------
    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``: casts floating
        parameters (and their grads) and buffers in place to ``dtype``; the only device is the CPU
        (another raises RuntimeError); integer buffers keep their dtype. Returns self."""
        req = parse_to(args, kwargs, "Module.to")
        if req.dtype is not None and req.dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={req.dtype}")
        return self._cast_floating(req.dtype) if req.dtype is not None else self

    def cpu(self):
        """Self (everything already lives on the CPU)."""
        return self

    def float(self):
        """Cast floating parameters and buffers to float32 in place; returns self."""
        return self._cast_floating(np.dtype(np.float32))

    def double(self):
        """Cast floating parameters and buffers to float64 in place; returns self."""
        return self._cast_floating(np.dtype(np.float64))

    def half(self):
        """Cast floating parameters and buffers to float16 in place; returns self."""
        return self._cast_floating(np.dtype(np.float16))

    def _cast_floating(self, dtype):
        for t in list(self.parameters()) + list(self.buffers()):
            if t is None or t.dtype.kind != "f" or t.dtype == dtype:
                continue
            t._data = t._data.astype(dtype)
            t._vc[0] += 1
            if t.grad is not None:
                t.grad = Tensor(t.grad.numpy().astype(dtype))
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the ``.grad`` of every parameter (to None by default, as PyTorch)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self, prefix="", keep_vars=False):
        """An ordered dict ``dotted_name -> Tensor`` of parameters and persistent buffers
        (detached views of the live data unless ``keep_vars``)."""
        out = OrderedDict()
        # every path to a shared submodule gets its own keys, as in PyTorch
        for mname, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            for k, p in mod._parameters.items():
                if p is not None:
                    out[f"{mname}.{k}" if mname else k] = p if keep_vars else p.detach()
            for k, b in mod._buffers.items():
                if b is not None and k not in mod._non_persistent:
                    out[f"{mname}.{k}" if mname else k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy ``state_dict`` into the parameters and buffers (in place), all or nothing: every
        entry is checked first (shape; a real or bool numeric array, castable to the target's
        dtype; with ``strict`` the keys must match exactly) and on any problem a RuntimeError names
        every offending key and nothing is changed."""
        from collections.abc import Mapping

        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, staged = [], []
        for k, target in own.items():
            if k not in state_dict:
                continue
            arr, problem = _loadable(state_dict[k], target)
            if problem:
                errors.append(problem.format(key=k))
            else:
                staged.append((target, arr))
        if strict and (missing or unexpected):
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for target, arr in staged:          # every value validated and converted: cannot fail now
            target.numpy()[...] = arr
            target._vc[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # -- regularization (keras-style; see nn.regularizers.Regularized) ----------------------------
    def regularization_loss(self):
        """Σ of the ``regularization_terms()`` of every ``Regularized`` module among self and its
        descendants (a 0-d Tensor; 0 when there are none)."""
        total = None
        for m in self.modules():
            if not isinstance(m, Regularized):
                continue
            for t in m.regularization_terms():
                total = t if total is None else total + t
        return total if total is not None else Tensor(np.zeros((), dtype=np.float32))

    # -- printing -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside ``Name(...)``; layers override it with their arguments."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, mod in self._modules.items():
            body = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if not self._modules and len(lines) == 1:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)


def _store_for(value, d, name):
    """Which registry an attribute assignment goes to (or None for a plain attribute)."""
    if isinstance(value, Parameter):
        return "_parameters"
    if isinstance(value, Module):
        return "_modules"
    if name in d["_parameters"]:
        if value is None:
            return "_parameters"
        raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                        f"(nn.Parameter or None expected)")
    if name in d["_buffers"]:
        if value is None or isinstance(value, Tensor):
            return "_buffers"
        raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' "
                        f"(Tensor or None expected)")
    if name in d["_modules"]:
        if value is None:
            return "_modules"
        raise TypeError(f"cannot assign {type(value).__name__} as child module '{name}' "
                        f"(nn.Module or None expected)")
    return None


def _loadable(src, target):
    """``(array in target's dtype, None)`` or ``(None, problem)`` for one state_dict entry; the
    problem is a message with a ``{key}`` placeholder."""
    raw = src.numpy() if isinstance(src, Tensor) else src
    try:
        arr = np.asarray(raw)
    except Exception as e:  # noqa: BLE001 - any conversion failure is reported with the key
        return None, f"cannot convert {{key}} (a {type(src).__name__}) to an array: {e}"
    tdt = target.numpy().dtype
    if arr.dtype.kind not in "biuf":
        return None, f"dtype mismatch for {{key}}: a {type(src).__name__} of dtype {arr.dtype} where a {tdt} array belongs"
    if arr.shape != tuple(target.shape):
        return None, (f"size mismatch for {{key}}: copying a param with shape {tuple(arr.shape)} from "
                      f"checkpoint, the shape in current model is {tuple(target.shape)}.")
    if tdt.kind in "biu" and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            return None, f"dtype mismatch for {{key}}: non-integer {arr.dtype} values where a {tdt} array belongs"
    return arr.astype(tdt, copy=False), None
