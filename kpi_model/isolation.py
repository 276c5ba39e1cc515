"""Jobs in a child process, and the lock that queues everyone who opens a workspace's database.

Reading a visitor's file runs native code (DuckDB's readers, openpyxl's XML parser, zip
decompression) on bytes the visitor chose. :func:`run_job` runs such work in a child process,
so a segfault, a runaway or a memory blow-up ends that job with a :class:`JobFailed` that says
what happened and what to do, and the server carries on. The parent waits at most
``timeout_s`` and then kills the child; the child caps its own address space.

Children come from a *forkserver*: a clean, single-threaded process started once (with a fresh
interpreter, so forking it is safe, unlike forking the multi-threaded Streamlit server) that has
already imported DuckDB, openpyxl and this library. Measured on the 2-core dev machine (median of 20
jobs): with the forkserver a job that returns at once costs ~9 ms and one that opens a workspace's
database, checkpoints and closes it ~46 ms (the forkserver itself starts once, on the first job,
in ~0.4 s); with ``spawn`` the same jobs cost ~295 ms and ~360 ms (a new interpreter importing
DuckDB and the library every time). Loading even a small file costs more than the forkserver's
overhead, so every parse or profile of a visitor's data runs here. Children never import the
parent's main module (see :func:`_without_main_module`): a job runs library functions only.

:func:`database_lock` is one lock per database file: a reentrant thread lock (the app's sessions
are threads) plus an ``flock`` on the file's folder (so other processes, e.g. the CLI, queue too).
Writers hold it for a whole job; :class:`~kpi_model.engine.EnginePool` holds it while it opens a
read-only engine, so nobody opens the file halfway through a write.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import multiprocessing
import multiprocessing.spawn
import os
import pickle
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kpi_model.errors import KpiWizardError, SourceError

START_METHOD = "forkserver"
# Imported once by the forkserver, so that a job starts without importing them.
PRELOAD = ("duckdb", "kpi_model.datastore", "openpyxl")
# A job's address space (virtual memory): DuckDB keeps to its own memory_limit, this stops Python-side
# blow-ups (a parser building a huge structure) with a MemoryError instead of taking the machine's memory.
JOB_ADDRESS_SPACE_BYTES = 6 * 1024**3
# How long a finished job may take to exit (close its files) before it is killed.
_EXIT_GRACE_S = 10.0
# Environment variables a job inherits from the caller at the moment it starts (the forkserver's own
# environment is the one it started with). KPIW_FAULT names a fault point for tests (see fault_point).
_PASSED_ENV = ("KPIW_FAULT",)


class _Job:
    """Inside a job's child process: the pipe to the parent (None in any other process)."""

    channel: Connection | None = None


class JobFailed(SourceError):
    """A job's child process crashed, ran out of memory or failed unexpectedly; nothing it did was kept."""


class JobTimeout(JobFailed):
    """A job ran past its time limit and was stopped."""


# ---------------------------------------------------------------------------- the job runner


@functools.cache
def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(list(PRELOAD))  # type: ignore[attr-defined]
    return context


_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_main_module() -> Iterator[None]:
    """While a job starts: tell the child not to run the parent's main module again.

    multiprocessing makes every child import the parent's ``__main__`` (so that functions defined there
    can be unpickled). In the Streamlit server ``__main__`` is whichever page script ran last, so each
    job ran a whole page in bare mode, slowly and filling the server log with warnings. Job targets are
    module-level functions of this library and need no main module; the start-up data sent to the
    child is filtered for the length of one ``start()``, under a lock.
    """
    original = multiprocessing.spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _START_LOCK:
        multiprocessing.spawn.get_preparation_data = without_main
        try:
            yield
        finally:
            multiprocessing.spawn.get_preparation_data = original


def run_job(
    target: Callable[..., Any],
    args: tuple[Any, ...] = (),
    *,
    what: str,
    fix: str,
    timeout_s: float,
    after: str = "nothing was changed",
    on_part: Callable[[Any], None] | None = None,
    redact: Mapping[str, str] | None = None,
    address_space: int | None = JOB_ADDRESS_SPACE_BYTES,
) -> Any:
    """Run ``target(*args)`` in a child process and return its result.

    ``target`` must be a module-level function (it is imported by name in the child), its
    arguments and result plain data. A :class:`KpiWizardError` it raises is raised here as it was;
    values it passes to :func:`report` go to ``on_part`` as they come. A crash, a kill, running out
    of memory or passing ``timeout_s`` raises :class:`JobFailed` (:class:`JobTimeout`) with a
    message built from ``what`` ("loading orders.csv"), ``after`` (what became of the data) and
    ``fix``. ``redact`` maps text (server paths) to what users may see instead.
    """
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    process = context.Process(  # type: ignore[attr-defined]
        target=_child_main, args=(sender, target, args, env, address_space), daemon=True, name=f"kpiw-job {what}"
    )
    with _without_main_module():
        process.start()
    sender.close()
    outcome: tuple[str, Any] | None = None
    exitcode: int | None = None
    deadline = time.monotonic() + timeout_s
    try:
        while outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                process.kill()
                raise JobTimeout(
                    _redacted(
                        f"{_capital(what)} took longer than {timeout_s:g} s and was stopped; {after}. {fix}", redact
                    )
                )
            if not receiver.poll(min(remaining, 0.25)):
                continue
            try:
                kind, payload = receiver.recv()
            except EOFError:  # the child is gone without a word: it crashed or was killed
                break
            if kind == "part":
                if on_part is not None:
                    on_part(payload)
            else:
                outcome = (kind, payload)
        process.join(_EXIT_GRACE_S)
    finally:
        if process.is_alive():
            process.kill()
            process.join(_EXIT_GRACE_S)
        exitcode = process.exitcode
        receiver.close()
        with contextlib.suppress(ValueError):
            process.close()
    if outcome is None:
        raise JobFailed(_redacted(_death(what, exitcode, after, fix), redact))
    kind, payload = outcome
    if kind == "ok":
        return payload
    if kind == "error":
        error = pickle.loads(payload)
        text = _redacted(str(error), redact)
        if text != str(error):
            raise SourceError(text) from None
        raise error
    if kind == "memory":
        raise JobFailed(
            _redacted(f"{_capital(what)} needed more memory than a job may use and was stopped; {after}. {fix}", redact)
        )
    raise JobFailed(_redacted(f"{_capital(what)} failed ({payload}); {after}. {fix}", redact))


def _death(what: str, exitcode: int | None, after: str, fix: str) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        cause = f"crashed the reader (signal {name})"
        if name == "SIGKILL":
            cause = "was killed (signal SIGKILL, e.g. the server ran short of memory)"
    else:
        cause = f"stopped unexpectedly (exit code {exitcode})"
    return f"{_capital(what)} {cause}; {after}. {fix}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _redacted(text: str, redact: Mapping[str, str] | None) -> str:
    for secret, shown in sorted((redact or {}).items(), key=lambda item: -len(item[0])):
        if secret:
            text = text.replace(secret, shown)
    return text


def _child_main(
    channel: Connection,
    target: Callable[..., Any],
    args: tuple[Any, ...],
    env: Mapping[str, str],
    address_space: int | None,
) -> None:
    _Job.channel = channel
    for name in _PASSED_ENV:  # as the caller has them now, not as when the forkserver started
        if name in env:
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    try:
        result = target(*args)
        message: tuple[str, Any] = ("ok", result)
    except KpiWizardError as error:
        message = ("error", _pickled_error(error))
    except MemoryError:
        message = ("memory", None)
    except BaseException as error:  # reported to the parent; the child ends either way
        if "out of memory" in str(error).lower():
            message = ("memory", None)
        else:
            first = (str(error).strip().splitlines() or [""])[0][:300]
            message = ("failed", f"{type(error).__name__}: {first}" if first else type(error).__name__)
    try:
        channel.send(message)
    except Exception as error:  # a result that does not pickle
        channel.send(("failed", f"the result could not be passed back ({type(error).__name__})"))
    finally:
        channel.close()


def _pickled_error(error: KpiWizardError) -> bytes:
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
        return data
    except Exception:  # an exception type whose arguments do not round-trip
        return pickle.dumps(SourceError(str(error)))


def report(value: Any) -> None:
    """From inside a job: pass ``value`` to the parent's ``on_part`` now (outside a job: nothing)."""
    if _Job.channel is not None:
        _Job.channel.send(("part", value))


def in_job() -> bool:
    """Whether this code runs inside a job's child process."""
    return _Job.channel is not None


def fault_point(name: str) -> None:
    """A place where tests make a job die abruptly: ``KPIW_FAULT=<name>`` kills it there (SIGKILL), and
    ``KPIW_FAULT=<name>:SIGSEGV`` crashes it with that signal. Only ever inside a job."""
    wanted, signal_name = os.environ.get("KPIW_FAULT", ""), "SIGKILL"
    if wanted.rpartition(":")[2].startswith("SIG"):
        wanted, _, signal_name = wanted.rpartition(":")
    if _Job.channel is not None and wanted == name:
        os.kill(os.getpid(), getattr(signal, signal_name, signal.SIGKILL))


# ---------------------------------------------------------------------------- the database lock


class _DatabaseLock:
    """Reentrant within a thread; across processes an exclusive ``flock`` on the database's folder."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                self._fd = _flock(self._path.parent)
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                os.close(self._fd)  # closing the descriptor drops the flock
                self._fd = None
        finally:
            self._thread_lock.release()


def _flock(folder: Path) -> int | None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:  # no folder, no database: nothing another process could be writing
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


_LOCKS: dict[str, _DatabaseLock] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def database_lock(path: str | Path) -> Iterator[None]:
    """Hold the lock of one database file (see the module docstring); reentrant within a thread."""
    file = Path(path).resolve()
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(str(file), _DatabaseLock(file))
    lock.acquire()
    try:
        yield
    finally:
        lock.release()
