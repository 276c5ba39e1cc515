"""A workspace's sources: their paths resolved (and confined), files loaded as tables, SQL sources as views.

Reading files needs DuckDB only; SQL views need sqlglot and the formula checks, imported where views are
made, so that :class:`WorkspaceScan` can read a workspace's files while a command loads the compiler.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Collection, Mapping
from pathlib import Path

import duckdb

from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from kpi_model.sources.catalog import TableProfile
from kpi_model.sources.errors import SourceError
from kpi_model.sources.ingest import ingest_file
from kpi_model.sources.limits import DEFAULT_LIMITS, Limits, configured_memory_limit
from kpi_model.sources.scan import ScannedFile, scan_file, scannable


def resolve_source_path(base_dir: Path, relative: str, *, confine: bool = True) -> Path:
    """The file a source's ``path`` names, resolved against ``base_dir``.

    With ``confine`` (the app), absolute paths, ``..`` escapes and symlinks leading out of
    ``base_dir`` are refused; without it (the local CLI) any path is allowed. A path the file
    system refuses (too long, say) is a :class:`SourceError` too, never an ``OSError``.
    """
    shown = relative if len(relative) <= 80 else f"{relative[:60]}…"  # the user's text only, never a server path
    if not relative.strip() or "\x00" in relative:
        raise SourceError(f"'{shown}' is not a file path: give the data file's path, e.g. data/orders.csv.")
    try:
        base = Path(base_dir).resolve()
        given = Path(relative)
        if not confine:
            resolved = (base / given.expanduser()).resolve()
        else:
            # The app shows these messages to its users, so they name no server path.
            outside = (
                "is outside the workspace folder; put the file in the folder that holds the workspace file and "
                "give its path relative to it (e.g. data/orders.csv), or use the CLI's --data"
            )
            if given.is_absolute():
                raise SourceError(f"'{shown}' is an absolute path and {outside}.")
            if not Path(os.path.normpath(base / given)).is_relative_to(base):
                raise SourceError(f"'{shown}' climbs out with '..' and {outside}.")
            resolved = (base / given).resolve()
            if not resolved.is_relative_to(base):
                raise SourceError(f"'{shown}' is a link to a file which {outside}.")
        try:
            resolved.stat()  # the file system's verdict now, while the message can still leave out server paths
        except (FileNotFoundError, NotADirectoryError):
            pass  # a missing file is the caller's to report
    except RuntimeError:  # Path.resolve's word for a symlink loop on Python 3.11 (newer ones: OSError ELOOP)
        raise SourceError(_link_loop(shown)) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SourceError(_link_loop(shown)) from None
        reason = error.strerror or "the file system refused it"
        raise SourceError(
            f"'{shown}' cannot be used as a file path ({reason.lower()}): give a short path to a readable data "
            "file inside the workspace folder, e.g. data/orders.csv."
        ) from None
    return resolved


def _link_loop(shown: str) -> str:
    return (
        f"'{shown}' is, or goes through, a link that leads back to itself, so it cannot be followed: "
        "point the link at the data file, or give the file's own path (e.g. data/orders.csv)."
    )


def plan_workspace_sources(
    workspace: Workspace,
    base_dir: Path,
    overrides: Mapping[str, Path] | None = None,
    *,
    confine: bool = True,
    only: Collection[str] | None = None,
) -> tuple[list[tuple[str, Path, str | None]], list[tuple[str, str]]]:
    """What loading a workspace's sources takes: (name, file, date format) of each file source and
    (name, SQL) of each view, views after the views they select from. Paths are resolved (and, with
    ``confine``, kept inside ``base_dir``) here, so a bad path is refused before anything is read.
    With ``only``, the other sources are left out (an override must still name a source)."""
    files, views = _planned_sources(workspace, base_dir, overrides, confine=confine, only=only)
    return files, _in_view_order(views)


def _planned_sources(
    workspace: Workspace,
    base_dir: Path,
    overrides: Mapping[str, Path] | None,
    *,
    confine: bool,
    only: Collection[str] | None,
) -> tuple[list[tuple[str, Path, str | None]], dict[str, str]]:
    overrides = dict(overrides or {})
    known = [s.name for s in workspace.sources]
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise SourceError(
            f"No source named {', '.join(repr(u) for u in unknown)} in the workspace; "
            f"its sources are: {', '.join(known) or 'none'}."
        )
    files: list[tuple[str, Path, str | None]] = []
    views: dict[str, str] = {}
    for source in workspace.sources:
        if only is not None and source.name not in only:
            continue
        if source.name in overrides:
            path = Path(overrides[source.name])
        elif source.path:
            try:
                path = resolve_source_path(base_dir, source.path, confine=confine)
            except SourceError as err:
                raise SourceError(f"Source '{source.name}': {err}") from err
        else:
            if source.sql:
                views[source.name] = source.sql
            continue
        files.append((source.name, path, source.date_format))
    return files, views


def _in_view_order(views: Mapping[str, str]) -> list[tuple[str, str]]:
    if not views:
        return []
    from kpi_model.sources.views import _view_order

    return [(name, views[name]) for name in _view_order(views)]


def load_workspace_sources(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    base_dir: Path,
    overrides: Mapping[str, Path] | None = None,
    *,
    confine: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, TableProfile]:
    """Load every file source as a table and create every SQL source as a view; return their profiles.

    ``overrides`` maps a source name to a file to load instead (the CLI's ``--data`` or an
    upload); it is the caller's path, so it is not confined. Sources naming only a ``system``
    have no data yet and are skipped.
    """
    files, views = plan_workspace_sources(workspace, base_dir, overrides, confine=confine)
    profiles: dict[str, TableProfile] = {}
    for name, path, date_format in files:
        profiles[name] = load_file_source(con, name, path, date_format, limits)
    for name, sql in views:
        profiles[name] = create_view_source(con, name, sql, set(profiles), limits)
    return profiles


_STOP_POLL_S = 0.02
_STOP_WAIT_S = 10.0


class WorkspaceScan:
    """Like :func:`load_workspace_sources`, but CSV and Parquet files are read in place (:mod:`.scan`), in a
    thread of their own, on a connection of the scan's own unless one is given.

    :meth:`result` gives the scanned files and the profiles of what was loaded (JSON and XLSX files, which
    have no reader to scan with). SQL sources become views checked and bound but not run: their trial run
    (:func:`.views.try_view`) would read every file they select from, and the engine's time limit stops a
    view that runs away when it is used.

    Reading files is DuckDB's work, done without Python's lock: a command starts the scan, imports the
    formula compiler (sqlglot, about a tenth of a second) meanwhile, and :meth:`result` waits for the files,
    then defines the SQL views (which need that compiler) in the caller's thread. Paths are resolved and
    checked before the thread starts, so a bad path is refused at once; a failure in the thread is raised
    by :meth:`result`, which then closes a connection the scan opened.

    A connection of the scan's own keeps to ``memory_limit`` (default: ``KPI_WIZARD_MEMORY_LIMIT``) from its
    first statement and spills to ``spill``, a temporary folder of its own: loading a big JSON file must
    neither exceed the limit nor spill into the working directory (DuckDB's default ``.tmp``). On success
    the folder is the caller's to remove (the engine does); on failure the scan removes it.
    """

    def __init__(
        self,
        workspace: Workspace,
        base_dir: Path,
        overrides: Mapping[str, Path] | None = None,
        *,
        connection: duckdb.DuckDBPyConnection | None = None,
        confine: bool = True,
        limits: Limits = DEFAULT_LIMITS,
        only: Collection[str] | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self._files, self._views = _planned_sources(workspace, base_dir, overrides, confine=confine, only=only)
        self._limits = limits
        self._owns_connection = connection is None
        self._connection = connection
        self.memory_limit = configured_memory_limit(memory_limit)  # refused here, before any file is read
        self.spill = Path(tempfile.mkdtemp(prefix="kpi-wizard-spill-")) if connection is None else None
        self._scans: dict[str, ScannedFile] = {}
        self._profiles: dict[str, TableProfile] = {}
        self._failure: BaseException | None = None
        self._cancelled = threading.Event()
        # Waited for instead of Thread.join: after a join that Ctrl-C interrupted, Python 3.11 can report the
        # thread as ended while it still runs (and closing its connection then aborts the process).
        self._done = threading.Event()
        # A daemon: an interrupted command must not wait at exit for a file it no longer wants.
        threading.Thread(target=self._read_files, name="kpi-wizard-scan", daemon=True).start()

    def _read_files(self) -> None:
        try:
            if self._connection is None:
                settings: dict[str, str | bool | int | float | list[str]] = {
                    "memory_limit": self.memory_limit,
                    "temp_directory": str(self.spill),
                }
                self._connection = duckdb.connect(config=settings)
            for name, path, date_format in self._files:
                if self._cancelled.is_set():
                    raise KeyboardInterrupt
                try:
                    if scannable(path):
                        self._scans[name] = scan_file(self._connection, name, path, date_format, limits=self._limits)
                    else:
                        self._profiles[name] = load_file_source(self._connection, name, path, date_format, self._limits)
                except OSError as error:  # the file went (or changed) between its checks and its reading
                    raise SourceError(
                        f"Source '{name}': {path.name} could not be read ({error.strerror or error}): check that "
                        "it is still there and readable (was it moved or replaced meanwhile?), then run again."
                    ) from None
        except BaseException as failure:  # raised again by result(), in the caller's thread
            self._failure = failure
        finally:
            self._done.set()

    def result(self) -> tuple[duckdb.DuckDBPyConnection, dict[str, ScannedFile], dict[str, TableProfile]]:
        """The connection with every file read and every SQL view defined, the scanned files and the loaded
        files' profiles; waits for the files. Raises what reading them raised (:class:`SourceError`)."""
        try:
            self._done.wait()
            if self._failure is not None:
                raise self._failure
            assert self._connection is not None
            if self._views:
                available = set(self._scans) | set(self._profiles)
                _define_views(self._connection, _in_view_order(self._views), available, self._limits.view_timeout_s)
        except BaseException:
            self.close()
            raise
        return self._connection, self._scans, self._profiles

    def close(self) -> None:
        """Give up on the scan: stop the thread's reading, and close the connection if the scan opened it.

        The thread must not be left inside DuckDB: a process that exits (after Ctrl-C, say) while a daemon
        thread runs a query aborts in DuckDB's C++ instead of exiting. So every query the thread starts is
        interrupted until it ends; Python work between queries (an Excel sheet being read) gets
        ``_STOP_WAIT_S`` before the thread is left to end with the process.
        """
        self._cancelled.set()
        waited = 0.0
        while not self._done.is_set() and waited < _STOP_WAIT_S:
            if self._connection is not None:
                self._connection.interrupt()
            self._done.wait(_STOP_POLL_S)
            waited += _STOP_POLL_S
        if self._owns_connection and self._connection is not None and self._done.is_set():
            self._connection.close()
        if self.spill is not None and self._done.is_set():
            shutil.rmtree(self.spill, ignore_errors=True)


def _define_views(
    con: duckdb.DuckDBPyConnection, views: list[tuple[str, str]], available: set[str], timeout_s: float
) -> None:
    """Define the views in order, all of them within ``timeout_s`` (one deadline: each level of views built
    on views can double the time to bind the next)."""
    from kpi_model.sources.views import define_view

    deadline = time.monotonic() + timeout_s
    for name, sql in views:
        try:
            define_view(con, name, sql, tables=available, timeout_s=deadline - time.monotonic())
        except KpiWizardError as err:
            raise SourceError(f"Source '{name}' (a SQL view): {err}") from err
        available.add(name)


def load_file_source(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, date_format: str | None, limits: Limits = DEFAULT_LIMITS
) -> TableProfile:
    """One file source of a workspace as a table (errors name the source)."""
    try:
        return ingest_file(con, path, name, date_format=date_format, limits=limits)
    except SourceError as err:
        raise SourceError(f"Source '{name}': {err}") from err


def create_view_source(
    con: duckdb.DuckDBPyConnection, name: str, sql: str, available: set[str], limits: Limits = DEFAULT_LIMITS
) -> TableProfile:
    """One SQL source of a workspace as a view over ``available`` tables (errors name the source)."""
    from kpi_model.sources.views import create_view

    try:
        return create_view(con, name, sql, tables=available, timeout_s=limits.view_timeout_s)
    except KpiWizardError as err:
        raise SourceError(f"Source '{name}' (a SQL view): {err}") from err


def sources_used(workspace: Workspace, kpi_ids: Collection[str]) -> set[str]:
    """The sources the named KPIs read: their own, those of the KPIs a derived one combines, and every
    table their SQL views select from (a name that is not a source of the workspace is left out)."""
    from kpi_model.formula import fold_name, referenced_names, view_tables

    kpis = {kpi.id: kpi for kpi in workspace.kpis}
    by_name = {source.name: source for source in workspace.sources}
    folded = {fold_name(name): name for name in by_name}  # a view names its tables as DuckDB compares them
    used: set[str] = set()
    pending, seen = list(kpi_ids), set()
    while pending:
        kpi = kpis.get(pending.pop())
        if kpi is None or kpi.id in seen:
            continue
        seen.add(kpi.id)
        if kpi.source:
            used.add(kpi.source)
        elif kpi.expression:
            pending += [name for name in referenced_names(kpi.expression) if name in kpis]
    tables = [name for name in used if name in by_name]
    while tables:
        sql = by_name[tables.pop()].sql
        for table in view_tables(sql) if sql else ():
            name = folded.get(fold_name(table))
            if name is not None and name not in used:
                used.add(name)
                tables.append(name)
    return {name for name in used if name in by_name}
