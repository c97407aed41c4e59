"""engine.distributed in one process, against a fake MPI: the argument checks and their messages,
the group's life cycle, the excepthook that aborts the job, the in-place bookkeeping of the
collectives (version counters, non-contiguous buffers, async Work handles) and the back-off and
timeout of the polling loop, written so that mutation testing of engine/distributed/*.py can
judge them without mpiexec (tests/distributed/ runs the same code over real MPI).

The fake comm plays rank ``rank`` of ``size``: every other rank's contribution to the next
collective is taken from ``comm.peer`` (a queue, one entry per collective), and a request
completes after ``polls`` calls of ``Request.Testall``. No real MPI is started here."""
import datetime
import gc
import re
import sys
import traceback
import weakref

import numpy as np
import pytest

import engine
import engine.distributed as dist
from engine.distributed import collectives as col
from engine.distributed import process_group as pg


class FakeRequest:
    def __init__(self, action, polls):
        self.action, self.left, self.done = action, polls, False


class FakeMPI:
    IN_PLACE = object()
    SUM, PROD, MIN, MAX = np.add, np.multiply, np.minimum, np.maximum
    BAND, BOR, BXOR = np.bitwise_and, np.bitwise_or, np.bitwise_xor
    COMM_WORLD = None

    class Request:
        @staticmethod
        def Testall(requests):
            for r in requests:
                if r.left > 0:
                    r.left -= 1
                if r.left <= 0 and not r.done:
                    r.action()
                    r.done = True
            return all(r.done for r in requests)


class FakeComm:
    def __init__(self, rank=0, size=1, polls=1):
        self.rank, self.size, self.polls = rank, size, polls
        self.peer, self.aborted, self.calls = [], [], []

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size

    def _everyone(self, own):
        """Every rank's array, in rank order (this rank's is ``own``)."""
        others = [np.asarray(self.peer.pop(0)) for _ in range(self.size - 1)]
        return others[:self.rank] + [own.copy()] + others[self.rank:]

    def _req(self, action):
        return FakeRequest(action, self.polls)

    def Iallreduce(self, inplace, buf, op):
        # mpi4py reads a None send buffer as MPI.IN_PLACE (tests/distributed checks the sums)
        assert inplace in (FakeMPI.IN_PLACE, None) and isinstance(buf, np.ndarray) and callable(op)
        assert buf.flags.c_contiguous
        self.calls.append("allreduce")

        def act():
            parts = self._everyone(buf)
            out = parts[0]
            for p in parts[1:]:
                out = op(out, p)
            buf[...] = out
        return self._req(act)

    def Ibcast(self, buf, root):
        assert isinstance(buf, np.ndarray) and buf.flags.c_contiguous
        assert type(root) is int and 0 <= root < self.size
        self.calls.append(f"bcast {root}")

        def act():
            parts = self._everyone(buf)
            buf[...] = parts[root]
        return self._req(act)

    def Iallgather(self, send, recv):
        assert isinstance(send, np.ndarray) and isinstance(recv, np.ndarray)
        assert recv.shape == (self.size,) + send.shape and recv.dtype == send.dtype
        self.calls.append("allgather")
        send_ref = weakref.ref(send)    # MPI holds a raw pointer, not a reference

        def act():
            send = send_ref()
            assert send is not None, "the send buffer was freed before the collective completed"
            for r, part in enumerate(self._everyone(send)):
                recv[r] = part
        return self._req(act)

    def Ibarrier(self):
        self.calls.append("barrier")
        return self._req(lambda: None)

    def Abort(self, code):
        self.aborted.append(code)


class FakeClock:
    """Stands in for the ``time`` module of collectives: every ``monotonic()`` advances 1 ms,
    ``sleep`` records its argument and advances by it."""

    def __init__(self):
        self.now, self.naps, self.nap_times = 1000.0, [], []

    def monotonic(self):
        self.now += 1e-3
        return self.now

    def sleep(self, s):
        self.naps.append(s)
        self.nap_times.append(self.now)
        self.now += s


@pytest.fixture
def clean(monkeypatch):
    """No group before or after; sys.excepthook restored."""
    monkeypatch.setattr(pg, "_WORLD", None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    yield monkeypatch


def make_world(monkeypatch, rank=0, size=1, timeout=60.0, polls=1):
    comm = FakeComm(rank, size, polls)
    world = pg._World(FakeMPI, comm, timeout)
    monkeypatch.setattr(pg, "_WORLD", world)
    return world, comm


@pytest.fixture
def world1(clean):
    return make_world(clean)


@pytest.fixture
def world2(clean):
    return make_world(clean, rank=0, size=2)


# ---------------------------------------------------------------- process group

def test_world_records_rank_size_and_no_previous_hook():
    w = pg._World(FakeMPI, FakeComm(1, 3), 7.0)
    assert (w.MPI, w.rank, w.size, w.timeout, w.prev_excepthook) == (FakeMPI, 1, 3, 7.0, None)


def test_import_mpi_without_mpi4py_names_the_install_command(clean):
    clean.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(RuntimeError, match=re.escape(pg.INSTALL_HINT)):
        pg._import_mpi()


def test_is_mpi_available_checks_the_mpi4py_spec(clean):
    if pg.importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed")
    assert dist.is_mpi_available() is True and dist.is_available() is True
    seen = []
    clean.setattr(pg.importlib.util, "find_spec", lambda name: seen.append(name))
    assert dist.is_mpi_available() is False and seen == ["mpi4py"]

    def broken(name):
        raise ValueError("mpi4py.__spec__ is None")
    clean.setattr(pg.importlib.util, "find_spec", broken)
    assert dist.is_mpi_available() is False


def test_seconds_accepts_any_positive_number():
    assert pg._seconds(0.5) == 0.5 and pg._seconds(datetime.timedelta(milliseconds=250)) == 0.25
    assert pg._seconds(None) == 1800.0


@pytest.mark.parametrize("value, expect", [("3", 3), (" 4 ", 4), ("-2", -2), ("x", None),
                                           ("X5", None), ("", None)])
def test_env_int_reads_the_first_integer_variable(clean, value, expect):
    clean.delenv("GB_TEST_A", raising=False)
    clean.setenv("GB_TEST_B", value)
    assert pg._env_int("GB_TEST_A", "GB_TEST_B") == expect
    clean.setenv("GB_TEST_A", "7")
    assert pg._env_int("GB_TEST_A", "GB_TEST_B") == 7


def _fake_init(monkeypatch, size=1):
    FakeMPI.COMM_WORLD = FakeComm(0, size)
    monkeypatch.setattr(pg, "_import_mpi", lambda: FakeMPI)
    for n in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "WORLD_SIZE"):
        monkeypatch.delenv(n, raising=False)


def test_init_and_destroy_install_and_restore_the_excepthook(clean):
    _fake_init(clean)
    before = sys.excepthook
    dist.init_process_group(init_method="mpi://", timeout=5)
    assert sys.excepthook is pg._abort_on_uncaught
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    assert pg._WORLD.timeout == 5.0 and pg._WORLD.comm is FakeMPI.COMM_WORLD
    dist.destroy_process_group()
    assert sys.excepthook is before and not dist.is_initialized()
    dist.init_process_group(backend=None, init_method="env://localhost:1")
    assert dist.get_backend() == "mpi"
    dist.destroy_process_group()
    dist.init_process_group(init_method="env://")
    dist.destroy_process_group()


def test_init_twice_says_destroy_first(clean):
    _fake_init(clean)
    dist.init_process_group()
    with pytest.raises(RuntimeError) as e:
        dist.init_process_group()
    assert str(e.value) == ("trying to initialize the default process group twice "
                            "(call destroy_process_group() first)")


def test_init_rejects_a_store_and_a_wrong_world_size_with_their_messages(clean):
    _fake_init(clean)
    with pytest.raises(ValueError) as e:
        dist.init_process_group(store=object())
    assert str(e.value) == "store= is not used by the mpi backend (ranks come from mpiexec)"
    with pytest.raises(ValueError, match=r"^init_process_group: world_size=5 but MPI says "
                                         r"world_size is 1 \(the mpi backend"):
        dist.init_process_group(world_size=5)
    with pytest.raises(ValueError, match=r"^init_process_group: rank=3 but MPI says rank is 0 "):
        dist.init_process_group(rank=3)
    dist.init_process_group(world_size=None, rank=None)
    assert pg._WORLD.MPI is FakeMPI
    assert dist.get_world_size() == 1


@pytest.mark.parametrize("var", ["PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "WORLD_SIZE"])
def test_init_detects_an_mpiexec_of_another_mpi(clean, var):
    _fake_init(clean)
    clean.setenv(var, "2")
    with pytest.raises(RuntimeError, match=r"^mpiexec started 2 processes but MPI_COMM_WORLD "
                                           r"has 1: mpi4py is linked against a different MPI"):
        dist.init_process_group()
    assert not dist.is_initialized()
    clean.setenv(var, "1")
    dist.init_process_group()
    assert dist.is_initialized()


def test_destroy_leaves_a_foreign_excepthook_alone(clean):
    _fake_init(clean)
    dist.init_process_group()

    def mine(*a):
        pass
    sys.excepthook = mine
    dist.destroy_process_group()
    assert sys.excepthook is mine


@pytest.mark.parametrize("name, call", [
    ("destroy_process_group()", dist.destroy_process_group), ("get_backend()", dist.get_backend),
    ("get_rank()", dist.get_rank), ("get_world_size()", dist.get_world_size),
    ("barrier()", dist.barrier), ("all_reduce()", lambda: dist.all_reduce(np.ones(1))),
    ("broadcast()", lambda: dist.broadcast(np.ones(1), 0)),
    ("all_gather()", lambda: dist.all_gather([np.ones(1)], np.ones(1))),
    ("all_gather_object()", lambda: dist.all_gather_object([None], 1)),
    ("broadcast_object_list()", lambda: dist.broadcast_object_list([1])),
    ("this call", pg._world),
])
def test_calls_before_init_name_themselves(clean, name, call):
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value) == ("Default process group has not been initialized, please make sure to "
                            f"call init_process_group() before {name}.")


@pytest.mark.parametrize("call", [
    lambda: dist.destroy_process_group(group="g"), lambda: dist.get_backend(group="g"),
    lambda: dist.get_world_size(group="g"), lambda: dist.barrier(group="g"),
    lambda: dist.all_reduce(np.ones(1), group="g"), lambda: dist.broadcast(np.ones(1), 0, group="g"),
    lambda: dist.all_gather([np.ones(1)], np.ones(1), group="g"),
    lambda: dist.all_gather_object([None], 1, group="g"),
    lambda: dist.broadcast_object_list([1], group="g"),
])
def test_every_call_checks_its_group(world1, call):
    with pytest.raises(ValueError, match="only the default group"):
        call()
    assert dist.get_rank(group=dist.GroupMember.WORLD) == 0


# ---------------------------------------------------------------- abort on uncaught

def _raised(message):
    try:
        raise ValueError(message)
    except ValueError as e:
        return type(e), e, e.__traceback__


def _expected(rank, exc_type, exc, tb):
    text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
    return (f"[rank {rank}] uncaught exception; aborting all ranks\n" +
            "".join(f"[rank {rank}] {line}\n" for line in text.split("\n")))


@pytest.mark.parametrize("message", ["boom in a line X", "boom with a trailing space "])
@pytest.mark.parametrize("size, aborts", [(1, []), (2, [1]), (3, [1])])
def test_abort_on_uncaught_prefixes_every_line_and_aborts_a_real_group(clean, capsys, size, aborts,
                                                                       message):
    world, comm = make_world(clean, rank=size - 1, size=size)
    naps = []
    clean.setattr(pg.time, "sleep", naps.append)
    exc_info = _raised(message)
    pg._abort_on_uncaught(*exc_info)
    err = capsys.readouterr().err
    assert err == _expected(size - 1, *exc_info)
    assert "[rank %d] ValueError: %s\n" % (size - 1, message) in err
    assert "[rank %d] Traceback (most recent call last):\n" % (size - 1) in err
    assert comm.aborted == aborts and naps == [pg.ABORT_GRACE_SECONDS] * len(aborts)


def test_abort_on_uncaught_without_a_group_just_prints(clean, capsys):
    exc_info = _raised("no group")
    pg._abort_on_uncaught(*exc_info)
    assert capsys.readouterr().err == _expected("?", *exc_info)


# ---------------------------------------------------------------- collectives

def test_collectives_return_none_unless_async(world1):
    world, comm = world1
    a = np.arange(3.0)
    assert dist.all_reduce(a) is None and dist.broadcast(a, 0) is None
    assert dist.all_gather([np.zeros(3)], a) is None and dist.barrier() is None
    assert comm.calls == ["allreduce", "bcast 0", "allgather", "barrier"]


def test_all_reduce_checks_op_payload_and_dtype_with_messages(world1):
    with pytest.raises(TypeError, match=r"^all_reduce: op must be a ReduceOp, got 'sum'$"):
        dist.all_reduce(np.ones(2), op="sum")
    with pytest.raises(TypeError, match=r"^all_reduce: tensor must be a Tensor or an ndarray, got str$"):
        dist.all_reduce("abc")
    with pytest.raises(TypeError, match=r"^all_reduce: ReduceOp.AVG needs a floating tensor, got dtype int64$"):
        dist.all_reduce(np.ones(2, dtype=np.int64), op=dist.ReduceOp.AVG)
    for op in ("BAND", "BOR", "BXOR"):
        with pytest.raises(TypeError, match=rf"^all_reduce: {op} needs an integer or bool tensor, got dtype float64$"):
            dist.all_reduce(np.ones(2), op=getattr(dist.ReduceOp, op))
    with pytest.raises(ValueError, match=r"^collectives write in place: the array is read-only$"):
        ro = np.ones(2)
        ro.flags.writeable = False
        dist.all_reduce(ro)


def test_all_reduce_bitwise_and_average_over_two_ranks(world2):
    world, comm = world2
    a = np.array([0b1100, 0b1010], dtype=np.int64)
    comm.peer = [np.array([0b1010, 0b0110])]
    dist.all_reduce(a, op=dist.ReduceOp.BAND)
    assert a.tolist() == [0b1000, 0b0010]
    b = np.array([True, False])
    comm.peer = [np.array([True, True])]
    dist.all_reduce(b, op=dist.ReduceOp.BXOR)
    assert b.tolist() == [False, True]
    f = np.array([1.0, 3.0])
    comm.peer = [np.array([3.0, 5.0])]
    dist.all_reduce(f, op=dist.ReduceOp.AVG)
    assert f.tolist() == [2.0, 4.0]


def test_collectives_bump_the_version_of_the_tensors_they_write(world2):
    world, comm = world2
    t = engine.tensor(np.array([1.0, 2.0]))
    t.add_(1.0)
    v = t._vc[0]
    assert v >= 1
    comm.peer = [np.zeros(2)]
    dist.all_reduce(t)
    assert t._vc[0] == v + 1
    comm.peer = [np.array([7.0, 8.0])]
    dist.broadcast(t, 1)                # received: bumped
    assert t._vc[0] == v + 2 and t.numpy().tolist() == [7.0, 8.0]
    comm.peer = [np.array([9.0, 9.0])]
    dist.broadcast(t, 0)                # sent: unchanged, not bumped
    assert t._vc[0] == v + 2 and t.numpy().tolist() == [7.0, 8.0]
    outs = [engine.zeros(2, dtype=np.float64), engine.zeros(2, dtype=np.float64)]
    outs[1].add_(1.0)
    comm.peer = [np.array([5.0, 6.0])]
    dist.all_gather(outs, t)
    assert [o._vc[0] for o in outs] == [1, 2]
    assert [o.numpy().tolist() for o in outs] == [[7.0, 8.0], [5.0, 6.0]]


def test_broadcast_checks_src_and_writes_non_contiguous_views(world2):
    world, comm = world2
    for bad in (True, 2, -1, "0", 1.0):
        with pytest.raises(ValueError, match=re.escape(f"broadcast: src must be a rank in [0, 2), got {bad!r}")):
            dist.broadcast(np.ones(2), bad)
    with pytest.raises(TypeError, match=r"^broadcast: tensor must be a Tensor or an ndarray, got list$"):
        dist.broadcast([1.0], 0)
    big = np.zeros((2, 4))
    view = big[:, ::2]
    comm.peer = [np.array([[1.0, 2.0], [3.0, 4.0]])]
    dist.broadcast(view, np.int64(1))
    assert big.tolist() == [[1.0, 0, 2.0, 0], [3.0, 0, 4.0, 0]]
    comm.peer = [np.zeros((2, 2))]
    dist.broadcast(view, 0)
    assert big.tolist() == [[1.0, 0, 2.0, 0], [3.0, 0, 4.0, 0]]


def test_all_reduce_writes_back_into_a_non_contiguous_view(world2):
    world, comm = world2
    big = np.ones((2, 4))
    comm.peer = [np.full((2, 2), 2.0)]
    dist.all_reduce(big[:, 1::2], op=dist.ReduceOp.SUM)
    assert big.tolist() == [[1.0, 3.0, 1.0, 3.0]] * 2


def test_all_gather_checks_the_list_with_messages(world2):
    with pytest.raises(ValueError, match=r"^all_gather: tensor_list has 1 entries but the world size is 2$"):
        dist.all_gather([np.zeros(2)], np.ones(2))
    with pytest.raises(ValueError, match=re.escape(
            "all_gather: tensor_list[1] has shape (3,) and dtype float64; the input tensor has shape "
            "(2,) and dtype float64")):
        dist.all_gather([np.zeros(2), np.zeros(3)], np.ones(2))
    with pytest.raises(ValueError, match=re.escape("tensor_list[0] has shape (2,) and dtype float32")):
        dist.all_gather([np.zeros(2, np.float32), np.zeros(2)], np.ones(2))
    with pytest.raises(TypeError, match=re.escape("all_gather: tensor_list[1] must be a Tensor or an ndarray, got int")):
        dist.all_gather([np.zeros(2), 5], np.ones(2))
    with pytest.raises(TypeError, match=r"^all_gather: tensor must be a Tensor or an ndarray, got NoneType$"):
        dist.all_gather([np.zeros(2), np.zeros(2)], None)


def test_object_collectives_over_two_ranks_of_different_lengths(world2):
    world, comm = world2
    mine, theirs = {"rank": 0}, {"rank": 1, "text": "a longer payload"}
    a, b = (np.frombuffer(__import__("json").dumps(o).encode(), np.uint8) for o in (mine, theirs))
    longest = max(a.size, b.size)
    comm.peer = [np.array([b.size]), np.concatenate([b, np.zeros(longest - b.size, np.uint8)])]
    got = [None, None]
    dist.all_gather_object(got, mine)
    assert got == [mine, theirs] and comm.peer == []
    with pytest.raises(ValueError, match=r"^all_gather_object: object_list has 3 entries but the world size is 2$"):
        dist.all_gather_object([None] * 3, 1)
    # broadcast_object_list: src defaults to 0 (this rank: its list is kept and sent)
    lst = [1, "x"]
    comm.peer = [np.array([999]), np.zeros(999, np.uint8)]
    dist.broadcast_object_list(lst)
    assert lst == [1, "x"]
    sent = np.frombuffer(b'[2, "from rank 1"]', np.uint8)
    comm.peer = [np.array([sent.size]), sent]
    lst = [None, None]
    dist.broadcast_object_list(lst, src=1)
    assert lst == [2, "from rank 1"]
    comm.peer = [np.array([sent.size]), sent]
    with pytest.raises(ValueError, match=r"^broadcast_object_list: rank 1 sent 2 objects, this rank has a list of 3$"):
        dist.broadcast_object_list([None] * 3, src=1)


def test_async_work_waits_once_and_reports_success(clean):
    world, comm = make_world(clean, size=2, polls=3)
    t = engine.tensor(np.array([2.0, 4.0]))
    comm.peer = [np.array([4.0, 8.0])]
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert isinstance(work, dist.Work) and work.is_success() is False
    assert work.is_completed() is False
    assert work.wait() is True and work.is_success() is True and work.is_completed() is True
    assert work.wait() is True and work.wait(timeout=1) is True     # finishes only once
    assert t.numpy().tolist() == [3.0, 6.0] and t._vc[0] == 1
    b = dist.barrier(async_op=True)
    assert b.wait(timeout=datetime.timedelta(seconds=1)) is True and b.is_success() is True
    # is_completed() alone drives a request to completion (3 polls here); wait() then finishes
    comm.peer = [np.array([1.0, 1.0])]
    work = dist.all_reduce(t, async_op=True)
    assert [work.is_completed() for _ in range(4)] == [False, False, True, True]
    assert t._vc[0] == 1 and work.is_success() is False
    assert work.wait() is True and t._vc[0] == 2 and t.numpy().tolist() == [4.0, 7.0]


def _stuck(monkeypatch, timeout):
    """A world whose requests never complete, and a fake clock for the polling loop."""
    world, comm = make_world(monkeypatch, size=2, timeout=timeout, polls=10 ** 9)
    clock = FakeClock()
    monkeypatch.setattr(col, "time", clock)
    return world, comm, clock


def test_poll_spins_then_backs_off_doubling_up_to_a_millisecond(clean):
    world, comm, clock = _stuck(clean, 0.2)
    start = clock.now
    with pytest.raises(dist.ProcessGroupTimeout):
        dist.barrier()
    naps = clock.naps
    assert naps[:6] == [2e-5, 4e-5, 8e-5, 1.6e-4, 3.2e-4, 6.4e-4]
    assert set(naps[6:]) == {1e-3} and len(naps) > 10
    # no nap during the first SPIN_SECONDS of the wait (each fake monotonic() is 1 ms)
    assert col.SPIN_SECONDS < clock.nap_times[0] - start < col.SPIN_SECONDS + 0.005
    assert clock.now - start > 0.2


@pytest.mark.parametrize("call, what", [
    (lambda: dist.barrier(), "barrier()"),
    (lambda: dist.all_reduce(np.ones((2, 1), np.float32)), "all_reduce(op=SUM, shape=(2, 1), dtype=float32)"),
    (lambda: dist.broadcast(np.ones(3), 1), "broadcast(src=1, shape=(3,), dtype=float64)"),
    (lambda: dist.all_gather([np.ones(2)] * 2, np.ones(2)), "all_gather(shape=(2,), dtype=float64)"),
])
def test_a_stuck_collective_times_out_naming_itself(clean, call, what):
    world, comm, clock = _stuck(clean, 1.5)
    with pytest.raises(dist.ProcessGroupTimeout) as e:
        call()
    assert str(e.value) == (f"[rank 0] {what} did not complete within 1.5 s "
                            "(init_process_group(timeout=...)): at least one of the 2 ranks did not "
                            "reach this collective (it is stuck, dead, or running different code)")
    assert 1000.0 + 1.5 < clock.now < 1000.0 + 1.6


@pytest.mark.parametrize("given, limit", [(None, 4.0), (2, 2.0), (datetime.timedelta(seconds=3), 3.0)])
def test_wait_timeout_overrides_the_group_timeout(clean, given, limit):
    world, comm, clock = _stuck(clean, 4.0)
    work = dist.barrier(async_op=True)
    start = clock.now
    with pytest.raises(dist.ProcessGroupTimeout, match="within 4 s"):
        work.wait(given)
    assert limit < clock.now - start < limit + 0.1
    assert work.is_success() is False and work.is_completed() is False


def test_async_all_gather_keeps_its_send_copy_alive_until_wait(world2):
    world, comm = world2
    comm.polls = 2
    src = np.arange(6.0).reshape(2, 3)[:, ::2]          # not contiguous: sent through a copy
    outs = [np.zeros((2, 2)), np.zeros((2, 2))]
    comm.peer = [np.full((2, 2), 9.0)]
    work = dist.all_gather(outs, src, async_op=True)
    gc.collect()
    assert work.wait() is True
    assert outs[0].tolist() == [[0.0, 2.0], [3.0, 5.0]] and outs[1].tolist() == [[9.0, 9.0]] * 2
