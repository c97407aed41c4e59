"""``save_checkpoint`` / ``load_checkpoint``: the whole training state in one file.

The file is an ``engine.save`` checkpoint (an ``.npz`` of arrays plus a JSON manifest, written to a
temp file and renamed; read with ``allow_pickle=False`` — loading never executes code) holding the
model's and optimizer's and scheduler's state dicts, the epoch, every random state that training
consumes (the library's generator, NumPy's and Python's global ones, and any ``engine.Generator``
given as ``generators=``, e.g. a DataLoader's) and the user's ``**extra``, plus a SHA-256 digest of
all of it: a file whose contents were altered raises ``ValueError`` on load."""
from __future__ import annotations

import copy
import hashlib
import random

import numpy as np

import engine
from engine import random as engine_random

FORMAT = "gradbricks-training-checkpoint"
VERSION = 1


def _canonical(obj, h):
    """Feed a deterministic encoding of ``obj`` into hash ``h`` (arrays by dtype, shape, bytes)."""
    if isinstance(obj, engine.Tensor) or isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(np.asarray(obj))
        h.update(f"A{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for k in sorted(obj, key=lambda k: (type(k).__name__, str(k))):
            h.update(f"K{type(k).__name__}:{k}".encode())
            _canonical(obj[k], h)
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}".encode())
        for v in obj:
            _canonical(v, h)
    elif isinstance(obj, (bool, np.bool_)):
        h.update(f"B{bool(obj)}".encode())
    elif isinstance(obj, (int, np.integer)):
        h.update(f"I{int(obj)}".encode())
    elif isinstance(obj, (float, np.floating)):
        h.update(f"F{float(obj)!r}".encode())
    else:
        h.update(f"S{obj!r}".encode())


def _digest(state) -> str:
    h = hashlib.sha256()
    _canonical(state, h)
    return h.hexdigest()


def rng_state(generators=()):
    """Every random state training consumes, in a form ``engine.save`` can store."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"engine": engine_random.get_rng_state(),
            "numpy": [kind, np.asarray(keys), int(pos), int(has_gauss), float(gauss)],
            "python": [int(version), np.asarray(internal, dtype=np.int64),
                       None if gauss_next is None else float(gauss_next)],
            "generators": [np.asarray(g.get_state()) for g in generators]}


def set_rng_state(state, generators=()):
    """Restore what ``rng_state`` captured."""
    engine_random.set_rng_state(np.asarray(state["engine"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(gauss)))
    version, internal, gauss_next = state["python"]
    random.setstate((int(version), tuple(int(v) for v in np.asarray(internal)), gauss_next))
    saved = state.get("generators", [])
    if not generators:
        return
    if len(saved) != len(generators):
        raise ValueError(f"load_checkpoint: the checkpoint holds {len(saved)} generator states but "
                         f"{len(generators)} generators were given")
    for g, s in zip(generators, saved):
        g.set_state(np.asarray(s))


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=None, *, generators=(), **extra):
    """Write model, optimizer, scheduler, ``epoch``, RNG states and ``**extra`` (Tensors, arrays,
    numbers, strings, dicts/lists of them) to ``path`` atomically."""
    write_state(path, training_state(model, optimizer, scheduler, epoch, generators, extra))


def training_state(model, optimizer=None, scheduler=None, epoch=None, generators=(), extra=None) -> dict:
    """What ``save_checkpoint`` writes (without the digest), taken now."""
    return {"format": FORMAT, "version": VERSION,
            "model": model.state_dict(),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "epoch": None if epoch is None else int(epoch),
            "rng": rng_state(generators),
            "extra": dict(extra or {})}


def write_state(path, state) -> None:
    """Write a ``training_state`` dict with its SHA-256 digest to ``path`` atomically."""
    state = {k: v for k, v in state.items() if k != "digest"}
    state["digest"] = _digest(state)
    engine.save(state, path)


def _snapshot(obj):
    """A deep copy of a state dict with arrays (and Tensors' arrays) copied."""
    if isinstance(obj, (engine.Tensor, np.ndarray)):
        return np.array(np.asarray(obj))
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_snapshot(v) for v in obj)
    return copy.deepcopy(obj)


def read_checkpoint(path) -> dict:
    """The checked contents of a checkpoint file (format, version, digest); changes nothing."""
    state = engine.load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {path} is not a training checkpoint written by save_checkpoint "
                         f"(no '{FORMAT}' format entry); a plain state_dict loads with "
                         f"model.load_state_dict(engine.load(path))")
    if state.get("version") != VERSION:
        raise ValueError(f"load_checkpoint: {path} has training-checkpoint version {state.get('version')}, "
                         f"this library reads version {VERSION}")
    missing = [k for k in ("model", "optimizer", "scheduler", "epoch", "rng", "extra", "digest") if k not in state]
    if missing:
        raise ValueError(f"load_checkpoint: {path} is incomplete: missing entries {missing}")
    digest = state.pop("digest")
    if _digest(state) != digest:
        raise ValueError(f"load_checkpoint: {path} was altered or is corrupt: its contents do not match "
                         f"the SHA-256 digest stored when it was written")
    return state


def load_checkpoint(path, model, optimizer=None, scheduler=None, *, generators=()) -> dict:
    """Restore what ``save_checkpoint`` wrote into ``model`` (and ``optimizer``, ``scheduler``,
    ``generators``) and the random states; returns ``{"epoch": epoch, **extra}``.
    All-or-nothing: when any part fails to load, everything is put back as it was and the error
    is raised."""
    state = read_checkpoint(path)
    if optimizer is not None and state["optimizer"] is None:
        raise ValueError(f"load_checkpoint: {path} holds no optimizer state, but an optimizer was given")
    if scheduler is not None and state["scheduler"] is None:
        raise ValueError(f"load_checkpoint: {path} holds no scheduler state, but a scheduler was given")
    before = (_snapshot(model.state_dict()),
              None if optimizer is None else _snapshot(optimizer.state_dict()),
              None if scheduler is None else _snapshot(scheduler.state_dict()),
              rng_state(generators))
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(_plain(state["scheduler"]))
        set_rng_state(state["rng"], generators)
    except Exception:
        model.load_state_dict({k: engine.Tensor(v) for k, v in before[0].items()})
        if optimizer is not None:
            optimizer.load_state_dict(before[1])
        if scheduler is not None:
            scheduler.load_state_dict(before[2])
        set_rng_state(before[3], generators)
        raise
    return {"epoch": state["epoch"], **state["extra"]}


def _plain(obj):
    """Scheduler state holds numbers and lists; 0-d/1-d Tensors from the file become Python values."""
    if isinstance(obj, engine.Tensor):
        return np.asarray(obj).tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj

