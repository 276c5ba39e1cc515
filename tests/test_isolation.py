"""The job runner: whatever a child process does (crash, hang, fail, run out of memory), the parent survives
and says clearly what happened; and the database lock that queues threads and processes."""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest

from kpi_model import isolation
from kpi_model.engine import EnginePool
from kpi_model.isolation import JobFailed, JobTimeout, database_lock, report, run_job
from kpi_model.sources import SourceError

from .hostile_support import names_a_fix

FIX = "Export the file again and load that."


# ---------------------------------------------------------------------------- targets (run in the child)


def _add(a: int, b: int) -> int:
    return a + b


def _segfault() -> None:
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _kill_self(signal_number: int) -> None:
    os.kill(os.getpid(), signal_number)


def _hang(seconds: float) -> None:
    report(os.getpid())
    time.sleep(seconds)


def _busy_loop() -> None:
    report(os.getpid())
    while True:
        pass


def _source_error(path: str) -> None:
    raise SourceError(f"{path} has 3 problems: fix them and load it again.")


def _value_error() -> None:
    raise ValueError("something deep inside broke\nsecond line")


def _hoard_memory() -> int:
    hoard = bytearray(1024**3)  # over the 512 MB address space the test gives the job
    return len(hoard)


def _parts(count: int) -> str:
    for index in range(count):
        report(index)
    return "done"


def _unpicklable_result() -> object:
    return threading.Lock()


def _try_flock(folder: str) -> bool:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _fault(name: str) -> str:
    isolation.fault_point(name)
    return "survived"


# ---------------------------------------------------------------------------- helpers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _still_works() -> None:
    """The parent runs another job after the failure: the runner itself is intact."""
    assert run_job(_add, (2, 3), what="adding", fix=FIX, timeout_s=30) == 5


# ---------------------------------------------------------------------------- the runner


def test_a_normal_job_returns_its_result():
    assert run_job(_add, (40, 2), what="adding", fix=FIX, timeout_s=30) == 42


def test_a_segfault_ends_the_job_with_a_message_not_the_parent():
    with pytest.raises(JobFailed) as caught:
        run_job(_segfault, what="loading orders.csv", fix=FIX, timeout_s=30)
    message = str(caught.value)
    assert message.startswith("Loading orders.csv crashed the reader (signal SIGSEGV); nothing was changed.")
    assert names_a_fix(message) and FIX in message
    _still_works()


@pytest.mark.parametrize(
    ("signal_number", "expected"), [(signal.SIGABRT, "signal SIGABRT"), (signal.SIGKILL, "SIGKILL")]
)
def test_other_deaths_are_named(signal_number, expected):
    with pytest.raises(JobFailed, match=expected):
        run_job(_kill_self, (signal_number,), what="loading x.xlsx", fix=FIX, timeout_s=30)
    _still_works()


@pytest.mark.parametrize("target", [_hang, _busy_loop])
def test_a_job_past_its_time_limit_is_killed_and_reported(target):
    pids: list[int] = []
    started = time.monotonic()
    args = (600.0,) if target is _hang else ()
    with pytest.raises(JobTimeout) as caught:
        run_job(target, args, what="profiling 'orders'", fix=FIX, timeout_s=1.5, on_part=pids.append)
    elapsed = time.monotonic() - started
    assert elapsed < 10, "the parent stops waiting at the limit"
    assert str(caught.value).startswith(
        "Profiling 'orders' took longer than 1.5 s and was stopped; nothing was changed."
    )
    assert names_a_fix(str(caught.value))
    (pid,) = pids
    assert not _alive(pid), "the runaway child is gone"
    _still_works()


def test_a_source_error_in_the_child_is_raised_as_itself():
    with pytest.raises(SourceError, match=r"^orders\.csv has 3 problems: fix them and load it again\.$"):
        run_job(_source_error, ("orders.csv",), what="loading orders.csv", fix=FIX, timeout_s=30)
    _still_works()


def test_server_paths_in_a_childs_message_are_redacted():
    with pytest.raises(SourceError) as caught:
        run_job(
            _source_error,
            ("/srv/kpi/store/ws1/files/.upload-123.csv",),
            what="loading orders.csv",
            fix=FIX,
            timeout_s=30,
            redact={"/srv/kpi/store/ws1/files/.upload-123.csv": "orders.csv"},
        )
    assert str(caught.value) == "orders.csv has 3 problems: fix them and load it again."


def test_an_unexpected_exception_is_reported_in_one_line():
    with pytest.raises(JobFailed) as caught:
        run_job(_value_error, what="converting orders.day", fix=FIX, timeout_s=30)
    assert str(caught.value) == (
        f"Converting orders.day failed (ValueError: something deep inside broke); nothing was changed. {FIX}"
    )


def test_running_out_of_memory_ends_the_job_only():
    with pytest.raises(JobFailed, match="needed more memory than a job may use") as caught:
        run_job(_hoard_memory, what="loading big.xlsx", fix=FIX, timeout_s=30, address_space=512 * 1024**2)
    assert names_a_fix(str(caught.value))
    _still_works()


def test_parts_arrive_in_order_before_the_result():
    seen: list[int] = []
    assert run_job(_parts, (5,), what="counting", fix=FIX, timeout_s=30, on_part=seen.append) == "done"
    assert seen == [0, 1, 2, 3, 4]


def test_a_result_that_cannot_be_passed_back_is_an_error_not_a_hang():
    with pytest.raises(JobFailed, match="could not be passed back"):
        run_job(_unpicklable_result, what="returning", fix=FIX, timeout_s=30)


def test_fault_points_fire_only_when_named(monkeypatch):
    assert run_job(_fault, ("ingest:staged",), what="loading", fix=FIX, timeout_s=30) == "survived"
    monkeypatch.setenv("KPIW_FAULT", "ingest:staged")
    with pytest.raises(JobFailed, match="was killed"):
        run_job(_fault, ("ingest:staged",), what="loading", fix=FIX, timeout_s=30)
    monkeypatch.setenv("KPIW_FAULT", "ingest:staged:SIGSEGV")
    with pytest.raises(JobFailed, match="signal SIGSEGV"):
        run_job(_fault, ("ingest:staged",), what="loading", fix=FIX, timeout_s=30)
    isolation.fault_point("ingest:staged")  # outside a job it never fires: this process lives on


def test_jobs_run_side_by_side():
    results: list[int] = []

    def one(n: int) -> None:
        results.append(run_job(_add, (n, 0), what="adding", fix=FIX, timeout_s=60))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == list(range(8))


# ---------------------------------------------------------------------------- the database lock


def test_the_lock_is_reentrant_in_a_thread_and_excludes_other_threads(tmp_path):
    db = tmp_path / "data.duckdb"
    order: list[str] = []
    with database_lock(db):
        with database_lock(db):  # a nested take in the same thread does not deadlock
            order.append("outer")
        waiting = threading.Thread(target=_take_and_note, args=(db, order))
        waiting.start()
        time.sleep(0.3)
        assert order == ["outer"], "another thread waits while the lock is held"
    waiting.join(10)
    assert order == ["outer", "other"]


def _take_and_note(db: Path, order: list[str]) -> None:
    with database_lock(db):
        order.append("other")


def test_the_lock_excludes_other_processes(tmp_path):
    db = tmp_path / "data.duckdb"
    with database_lock(db):
        assert run_job(_try_flock, (str(tmp_path),), what="locking", fix=FIX, timeout_s=30) is False
    assert run_job(_try_flock, (str(tmp_path),), what="locking", fix=FIX, timeout_s=30) is True


def test_the_engine_pool_waits_for_a_write_in_progress(tmp_path):
    db = tmp_path / "data.duckdb"
    with duckdb.connect(str(db)) as connection:
        connection.execute("CREATE TABLE t AS SELECT 1 AS a")
    pool = EnginePool()
    opened: list[float] = []
    with database_lock(db):
        reader = threading.Thread(target=lambda: opened.append(time.monotonic()) if pool.get(db) else None)
        reader.start()
        time.sleep(0.5)
        assert opened == [], "no engine opens the file while its lock is held"
        released = time.monotonic()
    reader.join(10)
    assert opened and opened[0] >= released
    assert pool.get(db).query("SELECT a FROM t")[1] == [(1,)]


def _returns_seven() -> int:
    return 7


def test_a_job_does_not_run_the_parents_main_script(tmp_path, monkeypatch):
    # Streamlit puts the page script it runs into sys.modules["__main__"]; multiprocessing would run it
    # again in every child (in bare mode: slow, and the server log fills with warnings).
    import sys
    import types

    marker = tmp_path / "ran.txt"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page script ran in the job')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    assert run_job(_returns_seven, what="a test job", fix="-", timeout_s=60) == 7
    assert not marker.exists()
