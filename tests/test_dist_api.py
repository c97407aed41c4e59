"""engine.distributed without a process group: importing the library imports no MPI, a missing
mpi4py is reported with the install command, and calls before init_process_group or with
arguments this backend cannot honour raise clear errors (no MPI is started here)."""
import datetime
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
import engine.distributed as dist
import nn

ROOT = Path(__file__).resolve().parents[1]


def _run(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_importing_the_library_does_not_import_mpi():
    proc = _run("import sys, engine, nn, optim, engine.distributed, nn.parallel\n"
                "assert 'mpi4py' not in sys.modules, 'mpi4py imported'\n"
                "assert engine.distributed.is_initialized() is False\n")
    assert proc.returncode == 0, proc.stderr


def test_without_mpi4py_the_error_says_how_to_install_it():
    proc = _run("import sys; sys.modules['mpi4py'] = None\n"
                "import engine.distributed as dist\n"
                "assert dist.is_available() is False\n"
                "dist.init_process_group('mpi')\n")
    assert proc.returncode != 0
    assert "RuntimeError" in proc.stderr
    assert "pip install 'gradbricks[mpi]'" in proc.stderr and "pip install mpi4py mpich" in proc.stderr


@pytest.mark.parametrize("call", [
    lambda: dist.get_rank(), lambda: dist.get_world_size(), lambda: dist.barrier(),
    lambda: dist.all_reduce(np.ones(2)), lambda: dist.broadcast(np.ones(2), 0),
    lambda: dist.all_gather([np.ones(2)], np.ones(2)), lambda: dist.destroy_process_group(),
    lambda: nn.parallel.DistributedDataParallel(nn.Linear(2, 2)),
])
def test_calls_before_init_process_group_say_so(call):
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        call()


@pytest.mark.parametrize("kwargs, match", [
    ({"backend": "nccl"}, "only the 'mpi' backend"),
    ({"backend": "gloo"}, "only the 'mpi' backend"),
    ({"timeout": 0}, "timeout must be a positive"),
    ({"timeout": "30"}, "timeout must be a positive"),
    ({"init_method": "tcp://10.0.0.1:23456"}, "init_method"),
])
def test_arguments_this_backend_cannot_honour_are_rejected_before_starting_mpi(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized() and "mpi4py.MPI" not in sys.modules


def test_reduce_ops_and_group_names():
    assert {op.name for op in dist.ReduceOp} >= {"SUM", "AVG", "MAX", "MIN", "PRODUCT"}
    assert engine.distributed is dist
    with pytest.raises(ValueError, match="only the default group"):
        dist.get_rank(group="other")
    assert isinstance(dist.is_mpi_available(), bool)
    assert dist.process_group._seconds(datetime.timedelta(minutes=1)) == 60.0
