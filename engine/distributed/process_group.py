"""The default process group: MPI's ``COMM_WORLD``, its rank and size, the collective timeout,
and the fault policy (an uncaught exception on one rank aborts the whole job)."""
from __future__ import annotations

import datetime
import importlib.util
import os
import sys
import time
import traceback

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default_pg_timeout
INSTALL_HINT = ("engine.distributed needs mpi4py and an MPI library: "
                "pip install 'gradbricks[mpi]'  (or: pip install mpi4py mpich)")


class ProcessGroupTimeout(RuntimeError):
    """A collective did not complete within the process group's timeout."""


class _World:
    """What ``init_process_group`` set up (None before / after destroy)."""

    def __init__(self, mpi, comm, timeout):
        self.MPI, self.comm, self.timeout = mpi, comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.prev_excepthook = None


_WORLD = None


class GroupMember:
    """``GroupMember.WORLD``: the default group (the only group this backend has)."""

    WORLD = "WORLD"


def _import_mpi():
    """``mpi4py.MPI`` (initialises MPI on first import), or a RuntimeError with the install hint."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"{INSTALL_HINT} ({e})") from None
    return MPI


def is_available() -> bool:
    """True when distributed training can run here (mpi4py is installed); imports nothing."""
    return is_mpi_available()


def is_mpi_available() -> bool:
    """True when mpi4py is installed (checked without importing it)."""
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):
        return False


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _WORLD is not None


def _seconds(timeout, name="timeout"):
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"{name} must be a positive datetime.timedelta or number of seconds, "
                         f"got {timeout!r}")
    return float(timeout)


def _env_int(*names):
    """The first of the environment variables mpiexec sets (MPICH/Hydra, Open MPI, Slurm)."""
    for n in names:
        v = os.environ.get(n)
        if v is not None and v.strip().lstrip("-").isdigit():
            return int(v)
    return None


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group: every process started by ``mpiexec -n N`` becomes one
    rank of ``MPI.COMM_WORLD`` (rank and size come from MPI, i.e. from the environment mpiexec
    sets; a plain ``python train.py`` is a group of one). ``world_size``/``rank`` may be given
    and must then agree with MPI's. ``timeout`` (a ``timedelta`` or seconds, default 30 min)
    bounds every blocking collective: a rank that never arrives is reported, not waited for.
    From here on an uncaught exception on any rank prints that rank's traceback and aborts the
    whole job (``MPI.COMM_WORLD.Abort(1)``): no rank hangs waiting for a dead peer."""
    global _WORLD
    if _WORLD is not None:
        raise RuntimeError("trying to initialize the default process group twice "
                           "(call destroy_process_group() first)")
    if backend is None:
        backend = "mpi"
    if str(backend).lower() != "mpi":
        raise ValueError(f"backend={backend!r} is not available in this build: only the 'mpi' "
                         f"backend exists (launch with `mpiexec -n N python script.py`)")
    if init_method not in (None, "env://") and not str(init_method).startswith(("env://", "mpi://")):
        raise ValueError(f"init_method={init_method!r}: the mpi backend takes its ranks from "
                         f"mpiexec; use init_method=None or 'env://'")
    if store is not None:
        raise ValueError("store= is not used by the mpi backend (ranks come from mpiexec)")
    seconds = _seconds(timeout)
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD
    world = _World(MPI, comm, seconds)
    for name, given, actual in (("world_size", world_size, world.size), ("rank", rank, world.rank)):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given} but MPI says {name} is {actual} "
                             f"(the mpi backend takes both from mpiexec; pass -1 or leave them out)")
    env_size = _env_int("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "WORLD_SIZE")
    if env_size is not None and env_size != world.size:
        raise RuntimeError(f"mpiexec started {env_size} processes but MPI_COMM_WORLD has "
                           f"{world.size}: mpi4py is linked against a different MPI than the "
                           f"mpiexec that launched it (use the mpiexec from the same environment)")
    world.prev_excepthook = sys.excepthook
    sys.excepthook = _abort_on_uncaught
    _WORLD = world


ABORT_GRACE_SECONDS = 0.5


def _abort_on_uncaught(exc_type, exc, tb):
    """sys.excepthook while a group exists: print this rank's traceback (each line prefixed
    with the rank), then abort every rank of the job with exit status 1."""
    world = _WORLD
    rank = world.rank if world is not None else "?"
    try:
        text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
        sys.stderr.write(f"[rank {rank}] uncaught exception; aborting all ranks\n" +
                         "".join(f"[rank {rank}] {line}\n" for line in text.split("\n")))
        sys.stderr.flush()
        sys.stdout.flush()
    finally:
        if world is not None and world.size > 1:
            # mpiexec forwards a rank's output through a pipe to its launcher and kills every
            # rank on Abort; without a pause the traceback just written is lost about half the
            # time (measured: 3 of 6 runs of a stalled DDP job printed nothing)
            time.sleep(ABORT_GRACE_SECONDS)
            world.comm.Abort(1)


def _world(name="this call"):
    if _WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         f"call init_process_group() before {name}.")
    return _WORLD


def _check_group(group):
    if group is not None and group != GroupMember.WORLD:
        raise ValueError(f"group={group!r}: only the default group (None) exists in this backend")


def destroy_process_group(group=None):
    """Leave the default group (MPI itself stays initialised until the process exits, so a new
    ``init_process_group`` works); restores the previous ``sys.excepthook``."""
    global _WORLD
    _check_group(group)
    world = _world("destroy_process_group()")
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = world.prev_excepthook
    _WORLD = None


def get_backend(group=None) -> str:
    """``"mpi"``."""
    _check_group(group)
    _world("get_backend()")
    return "mpi"


def get_rank(group=None) -> int:
    """This process's rank in ``[0, world_size)``."""
    _check_group(group)
    return _world("get_rank()").rank


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    _check_group(group)
    return _world("get_world_size()").size
