"""The sandboxed DuckDB session that computes KPIs: :class:`Engine`.

Data is made ready first (by :mod:`kpi_model.sources`, on an ordinary connection): the CLI's CSV and
Parquet files as views that read them in place, other files loaded as tables. Then the session is
locked (:func:`~kpi_model.engine.settings.lock`): no file or network access but to the files it scans,
no extension installs, memory and thread limits (a scan larger than the memory spills to a temporary
folder of its own), and ``lock_configuration`` so a query cannot undo any of it. Every query runs with
a time limit and is interrupted when it passes it. User formulas only ever run here, and
only after :mod:`kpi_model.formula` has checked them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import weakref
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from kpi_model.engine.bitmaps import DistinctRanges, Ranges
from kpi_model.engine.coverage import coverage_of_groups, coverage_parts, source_coverage
from kpi_model.engine.series import Point, Series
from kpi_model.engine.settings import DEFAULT_THREADS, DEFAULT_TIMEOUT_S, lock
from kpi_model.engine.shared_scan import member_row, rows_read, shared_query
from kpi_model.errors import DUCKDB_SIGINT_MESSAGE, KpiWizardError
from kpi_model.formula import Compiler, FormulaError, SeriesRequest, quote
from kpi_model.models import Workspace
from kpi_model.periods import Coverage
from kpi_model.sources import (
    MEMORY_LIMIT_VARIABLE,
    ScannedFile,
    SourceError,
    TableProfile,
    WorkspaceScan,
    ambiguous_scan_notes,
    configured_memory_limit,
    date_order_notes,
    files_version,
    profile_table,
    sniff_every_row,
    unprofiled,
)
from kpi_model.sources.dates import format_misses_sql, formats_reading_all
from kpi_model.sources.profile_cache import cached_profiles, database_version

_CACHE_SIZE = 256


class _RunningQuery:
    """One query running on ``cursor`` in a daemon thread; ``done`` is set when it ends, either way."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, sql: str) -> None:
        self._cursor = cursor
        self.names: list[str] = []
        self.rows: list[tuple[Any, ...]] = []
        self.failure: BaseException | None = None
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(sql,), name="kpi-wizard-query", daemon=True).start()

    def _run(self, sql: str) -> None:
        try:
            result = self._cursor.execute(sql)
            self.names = [d[0] for d in result.description or []]
            self.rows = result.fetchall()
        except BaseException as failure:  # raised again by the waiting thread
            self.failure = failure
        finally:
            self.done.set()

    def stop(self) -> None:
        """Interrupt the query and wait until it has let go of the cursor."""
        while not self.done.is_set():
            self._cursor.interrupt()
            self.done.wait(0.02)


class QueryTimeout(KpiWizardError):
    """A query ran past the time limit and was interrupted."""


class Engine:
    """A locked DuckDB session plus the KPI compiler; results cached per definition and data version."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        data_version: str = "",
        locked: bool = False,
        memory_limit: str | None = None,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        memory_limit = configured_memory_limit(memory_limit)
        if not locked:
            lock(connection, memory_limit=memory_limit, threads=threads)
        self._connection = connection
        self.timeout_s = timeout_s
        self.data_version = data_version
        self.threads = threads
        self.memory_limit = memory_limit
        self.notes: list[str] = []  # what a user should know about the data loaded (CLI prints them)
        self.path: Path | None = None  # the database file, for an engine on a workspace's data
        self.scans: dict[str, ScannedFile] = {}  # file sources read in place, by source name
        self._spill: Path | None = None  # the temporary folder this engine's queries spill to, removed on close
        self._remove_spill: weakref.finalize | None = None
        self._cache: OrderedDict[str, Series] = OrderedDict()
        self._columns: dict[str, list[str]] | None = None
        self._distinct = DistinctRanges()
        self._coverage: dict[tuple[str, str], Coverage | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_workspace(
        cls,
        workspace: Workspace,
        base_dir: str | Path,
        overrides: Mapping[str, Path] | None = None,
        *,
        confine: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_limit: str | None = None,
        threads: int = DEFAULT_THREADS,
        sources: Collection[str] | None = None,
    ) -> Engine:
        """A session on the workspace's files (CLI and tests): CSV and Parquet read in place, others loaded.

        With ``sources``, only those sources are opened (see :func:`kpi_model.sources.sources_used`).

        Queries may read the scanned files and nothing else, within ``memory_limit`` (default: the
        ``KPI_WIZARD_MEMORY_LIMIT`` environment variable, else 2GB); what does not fit spills to a
        temporary folder of the engine's own, removed when it closes.
        """
        scan = WorkspaceScan(
            workspace, Path(base_dir), overrides, confine=confine, only=sources, memory_limit=memory_limit
        )
        return cls.from_scan(scan, timeout_s=timeout_s, threads=threads)

    @classmethod
    def from_scan(
        cls, scan: WorkspaceScan, *, timeout_s: float = DEFAULT_TIMEOUT_S, threads: int = DEFAULT_THREADS
    ) -> Engine:
        """:meth:`for_workspace` on a scan already started on its own connection (the CLI starts it before
        importing this module); the engine keeps to the scan's memory limit and takes over its spill folder."""
        memory_limit = scan.memory_limit
        connection, scans, profiles = scan.result()
        spill = scan.spill
        assert spill is not None, "an engine needs a scan on a connection of the scan's own"
        try:
            lock(
                connection,
                memory_limit=memory_limit,
                threads=threads,
                allowed_paths=[scanned.path for scanned in scans.values()],
                # No temp_directory: the scan's connection spills to its folder from the start, and DuckDB
                # refuses to switch it, even to the same folder, once a query has spilled.
            )
        except BaseException:
            connection.close()
            shutil.rmtree(spill, ignore_errors=True)
            raise
        loaded = json.dumps({name: p.rows for name, p in sorted(profiles.items())})
        version = hashlib.sha256(f"{loaded}\n{files_version(scans.values())}".encode()).hexdigest()[:16]
        engine = cls(
            connection,
            timeout_s=timeout_s,
            data_version=version,
            locked=True,
            memory_limit=memory_limit,
            threads=threads,
        )
        engine.scans = scans
        engine._spill = spill
        # Removed on close, or when the engine is dropped or the process ends without closing it.
        engine._remove_spill = weakref.finalize(engine, shutil.rmtree, spill, ignore_errors=True)
        engine.notes = date_order_notes(profiles) + ambiguous_scan_notes(scans)
        return engine

    @classmethod
    def open_database(cls, path: str | Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Engine:
        """A read-only, locked session on a workspace's DuckDB file (the app's uploaded data).

        DuckDB reads the tables from the file as queries need them, within the configured memory limit
        (``KPI_WIZARD_MEMORY_LIMIT``, else 2GB), and spills what does not fit beside the file
        (``data.duckdb.tmp``), so a table larger than the limit still computes.
        """
        file = Path(path)
        version = database_version(file)
        connection = duckdb.connect(str(file), read_only=True)
        engine = cls(connection, timeout_s=timeout_s, data_version=version)
        engine.path = file
        return engine

    def close(self) -> None:
        """Close the session (waits for a running query to finish or time out)."""
        with self._lock:
            self._connection.close()
        if self._remove_spill is not None:
            self._remove_spill()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def forget(self) -> None:
        """Drop cached results, column lists and data statistics: the next compute starts from scratch."""
        with self._lock:
            self._cache.clear()
            self._columns = None
            self._distinct.clear()
            self._coverage.clear()

    def columns(self) -> dict[str, list[str]]:
        """Column names of every table and view, by name."""
        if self._columns is None:
            rows = self._run(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            )[1]
            found: dict[str, list[str]] = {}
            for table, column in rows:
                found.setdefault(table, []).append(column)
            self._columns = found
        return self._columns

    def compiler(self, workspace: Workspace) -> Compiler:
        """A compiler that checks formulas against the loaded tables' columns."""
        return Compiler(workspace, self.columns())

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one query in the locked session (column names, rows), interrupted at the time limit."""
        return self._run(sql)

    @contextmanager
    def held_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The session's connection, no other query running meanwhile: for reads without a time limit (metadata)."""
        with self._lock:
            yield self._connection

    def _run(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._lock:
            try:
                return self._execute(sql)
            except duckdb.Error as error:
                if not self.scans or isinstance(error, duckdb.InterruptException):
                    raise
                failure = error
            if self._sniff_every_row(sql, failure):
                try:
                    return self._execute(sql)
                except duckdb.Error as error:  # a line broken whatever the types: said as below
                    if isinstance(error, duckdb.InterruptException):
                        raise
                    failure = error
            problem = self._scan_problem(sql, failure)
            if problem is None:
                raise failure
            raise problem

    def _execute(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` in a thread of its own while this one waits, so that both the time limit and Ctrl-C
        stop it by interrupting the cursor: DuckDB's own check for Ctrl-C misses some (measured: 4 of 10
        runs of a long query went on after it)."""
        cursor = self._connection.cursor()
        query = _RunningQuery(cursor, sql)
        try:
            if not query.done.wait(self.timeout_s):
                raise QueryTimeout(
                    f"the query ran longer than {self.timeout_s:g} s and was stopped; "
                    "narrow the date range or simplify the formula"
                )
        finally:  # on the time limit and on Ctrl-C alike: the query lets go of the cursor before it closes
            query.stop()
            cursor.close()
        if query.failure is not None:
            if isinstance(query.failure, RuntimeError) and str(query.failure) == DUCKDB_SIGINT_MESSAGE:
                raise KeyboardInterrupt from None
            raise query.failure
        return query.names, query.rows

    def _scans_in(self, sql: str) -> list[ScannedFile]:
        """The scanned files a query names (through a view: all of them, as the query may read any)."""
        named = [scanned for name, scanned in self.scans.items() if quote(name) in sql]
        return named or list(self.scans.values())

    def _sniff_every_row(self, sql: str, error: duckdb.Error) -> bool:
        """After a CSV line that does not fit what the sample found: the types, quote and escape made from
        every row, as a load would.

        A big CSV's dialect and types come from a sample (:mod:`kpi_model.sources.scan`): a later value
        may not fit its column's type (a conversion error), or a later quoted comma may split a line when
        the sample had no quotes (a wrong field count). Returns whether a view was made again, so that the
        query is worth running again. Cached column lists are dropped.
        """
        if not isinstance(error, (duckdb.ConversionException, duckdb.InvalidInputException)):
            return False
        if "CSV Error" not in str(error):
            return False
        sampled = [scanned for scanned in self._scans_in(sql) if not scanned.every_row]
        for scanned in sampled:
            self.scans[scanned.name] = sniff_every_row(self._connection, scanned)
        if sampled:
            self._columns = None
        return bool(sampled)

    def _scan_problem(self, sql: str, error: duckdb.Error) -> KpiWizardError | None:
        """A failed read of a scanned file, said in the user's terms (a file gone since, a broken line)."""
        message = str(error)
        for scanned in self.scans.values():
            if not scanned.path.is_file():
                return scanned.error(self._connection, message)
        if "CSV Error" in message or isinstance(error, duckdb.IOException):
            found = self._scans_in(sql)
            return found[0].error(self._connection, message) if len(found) == 1 else None
        return None

    def compute(self, workspace: Workspace, kpi_id: str, request: SeriesRequest | None = None) -> Series:
        """A KPI per period. Raises :class:`FormulaError` when it cannot be computed, saying why."""
        request = request or SeriesRequest()
        compiler = self.compiler(workspace)
        kpi_ids = compiler.dependencies(kpi_id)
        key = self._cache_key(workspace, kpi_ids, request)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ranges = self._distinct.for_kpis(self, workspace, kpi_ids, request)
        chosen = Compiler(workspace, self.columns(), distinct_ranges=ranges) if ranges else compiler
        sql = chosen.select(kpi_id, request).sql(dialect="duckdb")
        try:
            try:
                names, rows = self._run(sql)
            except duckdb.Error:
                if not ranges:
                    raise
                # The ranges come from statistics read earlier (or a CSV's first rows); should the data
                # disagree, count the usual way, now and from now on.
                self._distinct.forget(ranges)
                sql = compiler.select(kpi_id, request).sql(dialect="duckdb")
                names, rows = self._run(sql)
        except duckdb.Error as error:
            raise self.failure(kpi_id, error, workspace) from None
        points = [Point.from_row(dict(zip(names, row, strict=True)), kpi_id) for row in rows]
        series = Series(kpi_id, request, points, sql, self._kpi_coverage(workspace, kpi_ids, request))
        self._remember(key, series)
        return series

    def failure(self, kpi_id: str, error: duckdb.Error, workspace: Workspace | None = None) -> FormulaError:
        """Why DuckDB did not run a KPI's query, in the user's terms (``compute``, ``sql --run``); with the
        workspace, a time column that holds text is named, with the date format its values read in."""
        if isinstance(error, duckdb.OutOfMemoryException):
            return FormulaError(
                f"KPI '{kpi_id}' needs more memory than {MEMORY_LIMIT_VARIABLE} ({self.memory_limit}) allows, even "
                "spilling to disk: reading a file and grouping its rows take some of it whatever the periods",
                f"set {MEMORY_LIMIT_VARIABLE} higher (1GB suits most files; below about 100MB a CSV of a few "
                "million rows does not compute)",
            )
        text_dates = self._text_time_column(workspace, kpi_id) if workspace is not None else None
        if text_dates is not None:
            return text_dates
        return FormulaError(
            f"KPI '{kpi_id}' did not compute: {first_line(error)}",
            "check that the columns have the types the formula expects (the Data page fixes a column's type; "
            "for a file the CLI reads, set the source's date_format for dates written as text)",
        )

    def _text_time_column(self, workspace: Workspace, kpi_id: str) -> FormulaError | None:
        """The problem when a KPI (or an input of a derived one) has a time column of text, not dates."""
        for name in self.compiler(workspace).dependencies(kpi_id):
            kpi = workspace.kpi(name)
            if kpi is None or not kpi.source or not kpi.time_column:
                continue
            column, table = quote(kpi.time_column), quote(kpi.source)
            try:
                typed = self.query(f"SELECT typeof({column}) FROM {table} WHERE {column} IS NOT NULL LIMIT 1")[1]
                if typed != [("VARCHAR",)]:
                    continue
                values = f"SELECT {column} AS v FROM {table} WHERE {column} IS NOT NULL LIMIT 10000"
                formats = formats_reading_all(self.query(format_misses_sql(values))[1][0])
            except (duckdb.Error, KpiWizardError):
                continue
            where = f"the time column '{kpi.time_column}' of source '{kpi.source}'"
            fix = (
                f"its values read as dates with date_format '{formats[0]}'"
                + (f" (or '{formats[1]}': check which is meant)" if len(formats) > 1 else "")
                + ": set that as the source's date_format (the workspace file, or the Data page's type fix)"
                if formats
                else "give the source the date_format its dates are written in (e.g. '%d/%m/%Y %H:%M'), or fix "
                "the column's type on the Data page"
            )
            return FormulaError(f"KPI '{kpi_id}' did not compute: {where} holds text, not dates", fix)
        return None

    def compute_many(
        self, workspace: Workspace, kpi_ids: Collection[str] | None = None, request: SeriesRequest | None = None
    ) -> dict[str, Series | KpiWizardError]:
        """Every computable KPI (or the ones named); a KPI that fails gives its error, not a crash.

        KPIs that read the same rows (same source, time column, filter, grain, breakdown and dates) are
        computed in one query, one scan of their source (:meth:`compute_together`).
        """
        request = request or SeriesRequest()
        wanted = [kpi.id for kpi in workspace.kpis if kpi_ids is None or kpi.id in kpi_ids]
        try:
            self.compute_together(workspace, wanted, request)
        except KpiWizardError:
            pass  # the data cannot be read (a file gone, say): compute() says so for each KPI
        results: dict[str, Series | KpiWizardError] = {}
        for kpi_id in wanted:
            try:
                results[kpi_id] = self.compute(workspace, kpi_id, request)
            except KpiWizardError as error:
                results[kpi_id] = error
        return results

    def compute_together(
        self, workspace: Workspace, kpi_ids: Collection[str], request: SeriesRequest, *, retry: bool = True
    ) -> int:
        """Compute into the cache, one query per group of KPIs that read the same rows; returns the queries run.

        A source-based KPI's query is one GROUP BY over its source (:meth:`Compiler.base_select`): KPIs
        whose queries differ only in their aggregates share the scan, each with its own columns: on a file
        read in place, one pass over the file instead of one per KPI (docs/benchmarks.md). A group whose
        query fails is left to :meth:`compute`, which says which KPI failed and why; derived KPIs, and KPIs
        alone in their group, are left to it too. A group whose bitmap ranges the data disagrees with runs
        again (once, with ``retry``) without them.
        """
        compiler = self.compiler(workspace)
        groups: dict[str, list[tuple[str, str, exp.Select, Ranges]]] = {}
        for kpi_id in kpi_ids:
            try:
                needed = compiler.dependencies(kpi_id)
                kpi = workspace.kpi(kpi_id)
                if len(needed) != 1 or kpi is None or compiler.is_derived(kpi):
                    continue
                key = self._cache_key(workspace, needed, request)
                if key in self._cache:
                    continue
                ranges = self._distinct.for_kpis(self, workspace, needed, request)
                chosen = Compiler(workspace, self.columns(), distinct_ranges=ranges) if ranges else compiler
                select = chosen.base_select(kpi, request)
            except KpiWizardError:
                continue  # compute() reports it
            groups.setdefault(rows_read(select), []).append((kpi_id, key, select, ranges))
        queries, again = 0, False
        for members in groups.values():
            if len(members) < 2:
                continue
            queries += 1
            if not self._compute_group(workspace, [m[:3] for m in members], request) and any(m[3] for m in members):
                for member in members:
                    self._distinct.forget(member[3])
                again = True
        if again and retry:
            queries += self.compute_together(workspace, kpi_ids, request, retry=False)
        return queries

    def _compute_group(
        self, workspace: Workspace, members: list[tuple[str, str, exp.Select]], request: SeriesRequest
    ) -> bool:
        first_kpi = workspace.kpi(members[0][0])
        assert first_kpi is not None and first_kpi.source and first_kpi.time_column
        source, time_column = first_kpi.source, first_kpi.time_column
        # The source's coverage rides along when these rows are all of its rows: no second scan for it.
        with_coverage = (
            not first_kpi.filter
            and request.start is None
            and request.end is None
            and (source, time_column) not in self._coverage
        )
        extra = (
            [sqlglot.parse_one(part, read="duckdb") for part in coverage_parts(time_column)] if with_coverage else []
        )
        sql = shared_query([select for _, _, select in members], extra, by=bool(request.by))
        try:
            names, rows = self._run(sql)
        except (duckdb.Error, KpiWizardError):
            return False
        records = [dict(zip(names, row, strict=True)) for row in rows]
        if with_coverage:
            self._coverage[(source, time_column)] = coverage_of_groups(records)
        for i, (kpi_id, key, select) in enumerate(members):
            points = [Point.from_row(member_row(record, i), kpi_id) for record in records]
            kpi_sql = select.order_by("period", copy=False).sql(dialect="duckdb")  # what it runs alone (SQL panels)
            series = Series(kpi_id, request, points, kpi_sql, self._kpi_coverage(workspace, [kpi_id], request))
            self._remember(key, series)
        return True

    def _remember(self, key: str, series: Series) -> None:
        self._cache[key] = series
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    def coverage(self, workspace: Workspace, kpi_id: str, request: SeriesRequest | None = None) -> Coverage | None:
        """The days a KPI's data covers (a derived KPI: what all its inputs cover), within ``request``'s dates."""
        return self._kpi_coverage(workspace, self.compiler(workspace).dependencies(kpi_id), request or SeriesRequest())

    def _kpi_coverage(self, workspace: Workspace, kpi_ids: list[str], request: SeriesRequest) -> Coverage | None:
        found: Coverage | None = None
        for kpi_id in kpi_ids:
            kpi = workspace.kpi(kpi_id)
            if kpi is None or not kpi.source or not kpi.time_column:
                continue  # a derived KPI: its inputs are in kpi_ids too
            key = (kpi.source, kpi.time_column)
            if key not in self._coverage:  # once per data version: an engine lives as long as its data (EnginePool)
                self._coverage[key] = source_coverage(self.query, *key)
            own = self._coverage[key]
            if own is None:
                return None  # one input's coverage unknown: the calendar alone decides
            found = own if found is None else found.overlap(own)
            if found is None:
                return None
        return found.within(request.start, request.end) if found is not None else None

    def _cache_key(self, workspace: Workspace, kpi_ids: list[str], request: SeriesRequest) -> str:
        definitions = [workspace.kpi(i).model_dump(mode="json") for i in kpi_ids]  # type: ignore[union-attr]
        sources = sorted({d.get("source") or "" for d in definitions})
        views = [s.model_dump(mode="json") for s in workspace.sources if s.name in sources]
        payload = json.dumps([definitions, views, request.__dict__, self.data_version], default=str, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def profile(self, table: str) -> TableProfile:
        """Rows, types, nulls, distinct counts and ranges of a loaded table or view.

        On a workspace's database the profile its data folder keeps for this version of the data is
        used (see :mod:`kpi_model.datastore`: made in an isolated job); otherwise it is made here, under
        the query time limit. A table that cannot be profiled gives a profile whose ``error`` says why.
        """
        if table not in self.columns():
            raise KpiWizardError(f"no table '{table}' is loaded")
        if self.path is not None:
            cached = cached_profiles(self.path, self.data_version)
            if cached is not None and table in cached:
                return cached[table]
        with self._lock:
            cursor = self._connection.cursor()
            try:
                return profile_table(cursor, table, timeout_s=self.timeout_s)
            except SourceError as error:
                return unprofiled(table, str(error))
            finally:
                cursor.close()

    def preview_table(self, table: str, limit: int = 20) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The first rows of a table, for the Data page."""
        if table not in self.columns():
            raise KpiWizardError(f"no table '{table}' is loaded")
        try:
            return self._run(f"SELECT * FROM {quote(table)} LIMIT {int(limit)}")
        except duckdb.Error as error:
            raise KpiWizardError(
                f"'{table}' cannot be read ({first_line(error)}): drop it, or load its file again "
                "(for a view: fix its SQL)"
            ) from None


def first_line(error: Exception) -> str:
    """The first line of an error's message (its type when it has none), at most 300 characters."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]
