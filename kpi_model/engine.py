"""The sandboxed DuckDB session that computes KPIs.

Data is made ready first (by :mod:`kpi_model.sources`, on an ordinary connection): the CLI's CSV and
Parquet files as views that read them in place, other files loaded as tables. Then the session is
locked: no file or network access but to the files it scans, no extension installs, memory and
thread limits (a scan larger than the memory spills to a temporary folder of its own), and
``lock_configuration`` so a query cannot undo any of it. Every query runs with
a time limit and is interrupted when it passes it. User formulas only ever run here, and
only after :mod:`kpi_model.formula` has checked them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from kpi_model.errors import KpiWizardError
from kpi_model.formula import (
    Compiler,
    FormulaError,
    Grain,
    SeriesRequest,
    check_aggregate,
    distinct_count_columns,
    quote,
)
from kpi_model.models import Workspace
from kpi_model.periods import WORKING_DAY_MIN_ROWS, Coverage, is_complete
from kpi_model.sources import (
    MEMORY_LIMIT_VARIABLE,
    ScannedFile,
    SourceError,
    TableProfile,
    ambiguous_scan_notes,
    checked_memory_limit,
    configured_memory_limit,
    date_order_notes,
    estimated_csv_rows,
    files_version,
    parquet_ranges,
    profile_table,
    scan_workspace_sources,
    sniff_every_row,
    unprofiled,
)
from kpi_model.sources.profile_cache import cached_profiles, database_version

DEFAULT_THREADS = 2
DEFAULT_TIMEOUT_S = 30.0
_CACHE_SIZE = 256

# count(DISTINCT) of an integer column as bitmaps (formula.bitmap_distinct_counts): worth it while the
# bitmaps stay small beside the data. On 10M rows a month's 500k-wide bitmaps ran 6x faster than the hash
# table, 5M-wide ones 2x, 50M-wide ones no faster; and every thread holds its own copy of each group's bitmap.
BITMAP_BYTES_PER_ROW = 8
BITMAP_MEMORY_BYTES = 256 * 2**20
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})
Ranges = Mapping[str, Mapping[str, tuple[int, int]]]  # source → integer column → its lowest and highest value
_DAYS_IN: dict[Grain, int] = {"day": 1, "week": 7, "month": 28, "quarter": 90, "year": 365}
# Distinct counts over a CSV read in place: the range guessed from this many first rows, the bitmaps sized
# for ten years of periods (see Engine._csv_bitmap_range).
_CSV_RANGE_SAMPLE_ROWS = 20480
_CSV_BITMAP_PERIODS: dict[Grain, int] = {"month": 120, "quarter": 40, "year": 10}


class QueryTimeout(KpiWizardError):
    """A query ran past the time limit and was interrupted."""


@dataclass(frozen=True)
class Point:
    """One period of a KPI series (``dimension`` set when broken down by a column)."""

    period: dt.date
    value: float | None
    rows: int | None
    numerator: float | None = None
    denominator: float | None = None
    dimension: str | None = None


@dataclass(frozen=True)
class Series:
    """A KPI computed per period, with the SQL that produced it and the days its data covers.

    ``coverage`` (first and last day of the data, see :class:`~kpi_model.periods.Coverage`) decides
    with the calendar which periods are complete: :meth:`is_complete`, and
    :func:`kpi_model.periods.complete_points` for the points a fit or a status may use.
    """

    kpi_id: str
    request: SeriesRequest
    points: list[Point] = field(default_factory=list)
    sql: str = ""
    coverage: Coverage | None = None

    def is_complete(self, point: Point, today: dt.date | None = None) -> bool:
        """Whether ``point``'s period is complete (:func:`kpi_model.periods.is_complete`)."""
        return is_complete(point.period, self.request.grain, today, self.coverage)

    def as_records(self, today: dt.date | None = None) -> list[dict[str, Any]]:
        """Plain dicts, period as an ISO date, ``complete`` per period (what the CLI prints and the pages tabulate)."""
        today = today or dt.date.today()
        records = []
        for point in self.points:
            record: dict[str, Any] = {
                "period": point.period.isoformat(),
                "value": point.value,
                "rows": point.rows,
                "complete": self.is_complete(point, today),
            }
            if point.dimension is not None or self.request.by:
                record["dimension"] = point.dimension
            if point.denominator is not None or point.numerator is not None:
                record["numerator"] = point.numerator
                record["denominator"] = point.denominator
            records.append(record)
        return records


def lock(
    connection: duckdb.DuckDBPyConnection,
    *,
    memory_limit: str | None = None,
    threads: int = DEFAULT_THREADS,
    allowed_paths: Collection[str | Path] = (),
    allowed_directories: Collection[str | Path] = (),
    temp_directory: str | Path | None = None,
) -> None:
    """Lock a connection down: after this, queries cannot touch files, the network or settings.

    ``allowed_paths`` (files) and ``allowed_directories`` stay readable: an ingest job's connection
    may read the one file it loads (and its own scratch folder), the CLI's engine the files it scans,
    nothing else. ``temp_directory`` is where a query spills what does not fit in ``memory_limit``.
    """
    limit = checked_memory_limit(memory_limit) if memory_limit else configured_memory_limit()
    statements = [f"SET memory_limit = '{limit}'", f"SET threads = {int(threads)}"]
    if temp_directory is not None:
        statements.append(f"SET temp_directory = {_string(temp_directory)}")
    if allowed_paths:
        statements.append(f"SET allowed_paths = [{', '.join(_string(p) for p in allowed_paths)}]")
    if allowed_directories:
        statements.append(f"SET allowed_directories = [{', '.join(_string(d) for d in allowed_directories)}]")
    statements += [
        # A long query would otherwise draw a progress bar into the CLI's output (CSV or JSON on stdout).
        "SET enable_progress_bar = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        # A second wall besides external access: DuckDB's Python client would otherwise read a pandas
        # DataFrame in the calling code whose variable name matches a table the SQL names.
        "SET python_enable_replacements = false",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]
    for statement in statements:
        connection.execute(statement)


def _string(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def bitmap_fits(rows: int, low: int, high: int, groups: int, threads: int) -> bool:
    """Whether per-group bitmaps of the values ``low..high`` beat a hash table on ``rows`` rows and fit in memory."""
    bitmap_bytes = groups * ((high - low + 1 + 7) // 8)
    return bitmap_bytes <= BITMAP_BYTES_PER_ROW * rows and bitmap_bytes * (threads + 1) <= BITMAP_MEMORY_BYTES


def estimated_periods(first: Any, last: Any, grain: Grain) -> int | None:
    """At most how many periods of ``grain`` the dates ``first..last`` span; None when they are not dates."""
    if not isinstance(first, dt.date) or not isinstance(last, dt.date):
        return None
    first = first.date() if isinstance(first, dt.datetime) else first
    last = last.date() if isinstance(last, dt.datetime) else last
    return (last - first).days // _DAYS_IN[grain] + 2


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _to_float(value: Any) -> float | None:
    return None if value is None else float(value)


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
        memory_limit = checked_memory_limit(memory_limit) if memory_limit else configured_memory_limit()
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
        self._integer_columns: dict[str, set[str]] | None = None
        self._bitmap_ranges: dict[tuple[str, str, str, Grain, str | None], tuple[int, int] | None] = {}
        self._coverage: dict[tuple[str, str], Coverage | None] = {}
        self._plain_counts: set[tuple[str, str]] = set()  # (source, column) whose data disagreed with its range
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
    ) -> Engine:
        """A session on the workspace's files (CLI and tests): CSV and Parquet read in place, others loaded.

        Queries may read the scanned files and nothing else, within ``memory_limit`` (default: the
        ``KPI_WIZARD_MEMORY_LIMIT`` environment variable, else 2GB); what does not fit spills to a
        temporary folder of the engine's own, removed when it closes.
        """
        # A bad value is refused before any file is read.
        memory_limit = checked_memory_limit(memory_limit) if memory_limit else configured_memory_limit()
        connection = duckdb.connect()
        spill = Path(tempfile.mkdtemp(prefix="kpi-wizard-spill-"))
        try:
            scans, profiles = scan_workspace_sources(connection, workspace, Path(base_dir), overrides, confine=confine)
            lock(
                connection,
                memory_limit=memory_limit,
                threads=threads,
                allowed_paths=[scanned.path for scanned in scans.values()],
                temp_directory=spill,
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
            self._integer_columns = None
            self._bitmap_ranges.clear()
            self._plain_counts.clear()
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

    def _run(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._lock:
            try:
                return self._execute(sql)
            except duckdb.Error as error:
                if not self.scans or isinstance(error, duckdb.InterruptException):
                    raise
                if self._sniff_every_row(sql, error):
                    return self._execute(sql)
                problem = self._scan_problem(sql, error)
                if problem is None:
                    raise
            raise problem

    def _execute(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._connection.cursor()
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        timer.start()
        try:
            result = cursor.execute(sql)
            names = [d[0] for d in result.description or []]
            return names, result.fetchall()
        except duckdb.InterruptException:
            raise QueryTimeout(
                f"the query ran longer than {self.timeout_s:g} s and was stopped; "
                "narrow the date range or simplify the formula"
            ) from None
        finally:
            timer.cancel()
            cursor.close()

    def _scans_in(self, sql: str) -> list[ScannedFile]:
        """The scanned files a query names (through a view: all of them, as the query may read any)."""
        named = [scanned for name, scanned in self.scans.items() if quote(name) in sql]
        return named or list(self.scans.values())

    def _sniff_every_row(self, sql: str, error: duckdb.Error) -> bool:
        """After a CSV value that does not fit its sampled type: the types made from every row, as a load would.

        A big CSV's types come from a sample (:mod:`kpi_model.sources.scan`); returns whether a view
        was made again, so that the query is worth running again. Cached column lists are dropped.
        """
        if not isinstance(error, duckdb.ConversionException) or "CSV Error" not in str(error):
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
        ranges = self._distinct_ranges(workspace, kpi_ids, request)
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
                self._forget_ranges(ranges)
                sql = compiler.select(kpi_id, request).sql(dialect="duckdb")
                names, rows = self._run(sql)
        except duckdb.OutOfMemoryException:
            raise FormulaError(
                f"KPI '{kpi_id}' needs more memory than the engine's limit ({self.memory_limit}) even when spilling",
                f"set {MEMORY_LIMIT_VARIABLE} higher (e.g. 4GB), or compute fewer periods or without a breakdown",
            ) from None
        except duckdb.Error as error:
            raise FormulaError(
                f"KPI '{kpi_id}' did not compute: {_first_line(error)}",
                "check that the columns have the types the formula expects (fix types on the Data page)",
            ) from None
        points = [self._point(dict(zip(names, row, strict=True))) for row in rows]
        series = Series(kpi_id, request, points, sql, self._kpi_coverage(workspace, kpi_ids, request))
        self._remember(key, series)
        return series

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
                ranges = self._distinct_ranges(workspace, needed, request)
                chosen = Compiler(workspace, self.columns(), distinct_ranges=ranges) if ranges else compiler
                select = chosen.base_select(kpi, request)
            except KpiWizardError:
                continue  # compute() reports it
            rows_read = select.copy()  # the query without its select list: source, filter, grouping
            rows_read.set("expressions", [])
            groups.setdefault(rows_read.sql(dialect="duckdb"), []).append((kpi_id, key, select, ranges))
        queries, again = 0, False
        for members in groups.values():
            if len(members) < 2:
                continue
            queries += 1
            if not self._compute_group(workspace, [m[:3] for m in members], request) and any(m[3] for m in members):
                for member in members:
                    self._forget_ranges(member[3])
                again = True
        if again and retry:
            queries += self.compute_together(workspace, kpi_ids, request, retry=False)
        return queries

    def _forget_ranges(self, ranges: Ranges) -> None:
        """Count these columns' distinct values the usual way from now on (the data disagreed with the range)."""
        self._plain_counts.update((source, column.lower()) for source, columns in ranges.items() for column in columns)

    def _compute_group(
        self, workspace: Workspace, members: list[tuple[str, str, exp.Select]], request: SeriesRequest
    ) -> bool:
        first_kpi = workspace.kpi(members[0][0])
        assert first_kpi is not None and first_kpi.source and first_kpi.time_column
        source, time_column = first_kpi.source, first_kpi.time_column
        shared = members[0][2].copy()
        keys = [e for e in shared.expressions if e.alias in ("period", "dimension")]
        measures = [
            exp.alias_(e.this.copy(), f"{e.alias}_{i}")
            for i, (_, _, select) in enumerate(members)
            for e in select.expressions
            if e.alias in ("value", "numerator", "denominator")
        ]
        row_count = next(e for e in shared.expressions if e.alias == "row_count")
        # The source's coverage rides along when these rows are all of its rows: no second scan for it.
        with_coverage = (
            not first_kpi.filter
            and request.start is None
            and request.end is None
            and (source, time_column) not in self._coverage
        )
        extra = (
            [sqlglot.parse_one(part, read="duckdb") for part in _coverage_parts(time_column)] if with_coverage else []
        )
        shared.set("expressions", [*keys, *measures, row_count, *extra])
        order = ["period", "dimension"] if request.by else ["period"]
        sql = shared.order_by(*order).sql(dialect="duckdb")
        try:
            names, rows = self._run(sql)
        except (duckdb.Error, KpiWizardError):
            return False
        records = [dict(zip(names, row, strict=True)) for row in rows]
        if with_coverage:
            self._coverage[(source, time_column)] = _coverage_of_groups(records)
        for i, (kpi_id, key, select) in enumerate(members):
            own = {f"{part}_{i}": part for part in ("value", "numerator", "denominator")}
            points = [self._point({own.get(k, k): v for k, v in record.items()}) for record in records]
            kpi_sql = select.order_by("period").sql(dialect="duckdb")  # what this KPI alone runs (SQL panels)
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
            if key not in self._coverage:
                self._coverage[key] = self._source_coverage(*key)
            own = self._coverage[key]
            if own is None:
                return None  # one input's coverage unknown: the calendar alone decides
            found = own if found is None else found.overlap(own)
            if found is None:
                return None
        return found.within(request.start, request.end) if found is not None else None

    def _source_coverage(self, source: str, time_column: str) -> Coverage | None:
        """First and last day of a source's time column, and whether it has rows on weekends; once per data version.

        The engine lives as long as its data version (see :class:`EnginePool`), so this runs once per
        source and time column for each version of the data (or not at all, when a group of KPIs
        computed together already read it: :meth:`compute_together`).
        """
        first, last, weekend = _coverage_parts(time_column)
        day = f"CAST({quote(time_column)} AS DATE)"
        try:
            rows = self._run(
                f"SELECT {first}, {last}, count(*), {weekend} FROM {quote(source)} WHERE {day} IS NOT NULL"
            )[1]
        except (duckdb.Error, KpiWizardError):
            return None
        return _coverage_from(*(rows[0] if rows else (None, None, 0, 0)))

    def _distinct_ranges(
        self, workspace: Workspace, kpi_ids: list[str], request: SeriesRequest
    ) -> dict[str, dict[str, tuple[int, int]]]:
        """Source → column → value range of the distinct counts these KPIs may compute as bitmaps."""
        ranges: dict[str, dict[str, tuple[int, int]]] = {}
        for kpi_id in kpi_ids:
            kpi = workspace.kpi(kpi_id)
            if kpi is None or not kpi.source or not kpi.expression or not kpi.time_column:
                continue
            try:
                counted = distinct_count_columns(check_aggregate(kpi.expression).tree)
            except FormulaError:
                continue
            for column in counted:
                if (kpi.source, column.lower()) in self._plain_counts:
                    continue
                key = (kpi.source, column, kpi.time_column, request.grain, request.by)
                if key not in self._bitmap_ranges:
                    self._bitmap_ranges[key] = self._bitmap_range(*key)
                if (found := self._bitmap_ranges[key]) is not None:
                    ranges.setdefault(kpi.source, {})[column] = found
        return ranges

    def _bitmap_range(
        self, source: str, column: str, time_column: str, grain: Grain, by: str | None
    ) -> tuple[int, int] | None:
        """The value range of an integer column of a table when its bitmaps pay off (see :func:`bitmap_fits`)."""
        scanned = self.scans.get(source)
        if scanned is not None and scanned.dialect is None:
            return self._parquet_bitmap_range(scanned, column, time_column, grain, by)
        if scanned is not None:
            return self._csv_bitmap_range(scanned, column, grain, by)
        if self._integer_columns is None:
            # Views are left out: their min and max would cost a full run of the view.
            rows = self._run(
                "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            )[1]
            self._integer_columns = {}
            for table, name, data_type in rows:
                if str(data_type).upper() in INTEGER_TYPES:
                    self._integer_columns.setdefault(table.lower(), set()).add(name.lower())
        if column not in self._integer_columns.get(source.lower(), set()):
            return None
        values = f"approx_count_distinct({quote(by)})" if by else "1"
        try:
            stats = self._run(
                f"SELECT count(*), min({quote(column)}), max({quote(column)}), min({quote(time_column)}), "
                f"max({quote(time_column)}), {values} FROM {quote(source)}"
            )[1][0]
        except (duckdb.Error, KpiWizardError):
            return None
        rows, low, high, first, last, dimension_values = stats
        if not rows or low is None:
            return None
        periods = estimated_periods(first, last, grain) or rows
        groups = min(rows, periods * max(int(dimension_values or 1), 1))
        return (int(low), int(high)) if bitmap_fits(rows, int(low), int(high), groups, self.threads) else None

    def _parquet_bitmap_range(
        self, scanned: ScannedFile, column: str, time_column: str, grain: Grain, by: str | None
    ) -> tuple[int, int] | None:
        """:meth:`_bitmap_range` for a Parquet file read in place: the ranges come from its metadata, free.

        Not with a breakdown: counting its values would read the file once more.
        """
        if by:
            return None
        typed = self._run(f"DESCRIBE SELECT {quote(column)}, {quote(time_column)} FROM {quote(scanned.name)}")[1]
        if str(typed[0][1]).upper() not in INTEGER_TYPES:
            return None
        try:
            with self._lock:
                values = parquet_ranges(self._connection, scanned.path, [column], "HUGEINT")
                days = parquet_ranges(self._connection, scanned.path, [time_column], "TIMESTAMP")
                rows = self._connection.execute(
                    "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(scanned.path)]
                ).fetchall()[0][0]
        except duckdb.Error:
            return None
        if column.lower() not in values or not rows:
            return None
        low, high = (int(v) for v in values[column.lower()])
        first, last = days.get(time_column.lower(), (None, None))
        periods = estimated_periods(first, last, grain) or int(rows)
        groups = min(int(rows), periods)
        return (low, high) if bitmap_fits(int(rows), low, high, groups, self.threads) else None

    def _csv_bitmap_range(
        self, scanned: ScannedFile, column: str, grain: Grain, by: str | None
    ) -> tuple[int, int] | None:
        """:meth:`_bitmap_range` for a CSV read in place: a guess from its first rows, widened.

        A CSV has no statistics, and reading it for a min and max would cost a pass as long as the KPI's.
        So the range is the first rows' range, widened (down to 0 for ids that are never negative, up by
        twice its width): random ids (500k customers) fall inside it. A value outside it stops the bitmap
        query early and the plain count runs (:meth:`compute`), exact either way. Monthly and coarser
        grains only, sized for ten years of periods, since the first rows cannot tell how many there are.
        """
        if by or grain not in _CSV_BITMAP_PERIODS:
            return None
        typed = self._run(f"DESCRIBE SELECT {quote(column)} FROM {quote(scanned.name)}")[1]
        if str(typed[0][1]).upper() not in INTEGER_TYPES:
            return None
        sample = f"(SELECT {quote(column)} AS v FROM {quote(scanned.name)} LIMIT {_CSV_RANGE_SAMPLE_ROWS})"
        low, high = self._run(f"SELECT min(v), max(v) FROM {sample}")[1][0]
        rows = estimated_csv_rows(scanned.path)
        if low is None or rows is None:
            return None
        width = int(high) - int(low) + 1
        low, high = (max(int(low) - width, 0) if low >= 0 else int(low) - width), int(high) + 2 * width
        groups = min(rows, _CSV_BITMAP_PERIODS[grain])
        return (low, high) if bitmap_fits(rows, low, high, groups, self.threads) else None

    def _cache_key(self, workspace: Workspace, kpi_ids: list[str], request: SeriesRequest) -> str:
        definitions = [workspace.kpi(i).model_dump(mode="json") for i in kpi_ids]  # type: ignore[union-attr]
        sources = sorted({d.get("source") or "" for d in definitions})
        views = [s.model_dump(mode="json") for s in workspace.sources if s.name in sources]
        payload = json.dumps([definitions, views, request.__dict__, self.data_version], default=str, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    @staticmethod
    def _point(row: dict[str, Any]) -> Point:
        period = row["period"]
        if isinstance(period, dt.datetime):
            period = period.date()
        return Point(
            period=period,
            value=_to_float(row.get("value")),
            rows=None if row.get("row_count") is None else int(row["row_count"]),
            numerator=_to_float(row.get("numerator")),
            denominator=_to_float(row.get("denominator")),
            dimension=row.get("dimension"),
        )

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
                f"'{table}' cannot be read ({_first_line(error)}): drop it, or load its file again "
                "(for a view: fix its SQL)"
            ) from None


class EnginePool:
    """One locked, read-only engine per workspace database file, shared by the sessions of a server.

    Queries take their own cursor, so sessions do not share a connection. Before a file is
    written (an upload), :meth:`release` closes its engine; the next :meth:`get` opens a new one
    on the new data, so cached results never outlive the data they came from.
    """

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> Engine:
        """The engine for a database file, opened (or reopened after a change) as needed.

        Opening takes the file's :func:`~kpi_model.isolation.database_lock`, so it waits for a write
        in progress (in this process or another) instead of opening the file halfway through it.
        """
        from kpi_model.isolation import database_lock  # multiprocessing: not for the CLI's start-up

        file = Path(path).resolve()
        with self._lock:
            engine = self._engines.get(str(file))
            if engine is not None and engine.data_version == database_version(file):
                return engine
        with database_lock(file), self._lock:  # always the file's lock first, then the pool's
            version = database_version(file)
            engine = self._engines.get(str(file))
            if engine is not None and engine.data_version == version:
                return engine
            if engine is not None:
                engine.close()
            engine = Engine.open_database(file, timeout_s=self.timeout_s)
            self._engines[str(file)] = engine
            return engine

    def release(self, path: str | Path) -> None:
        """Close the engine of a database file so that the file can be written."""
        with self._lock:
            engine = self._engines.pop(str(Path(path).resolve()), None)
        if engine is not None:
            engine.close()


def _coverage_parts(time_column: str) -> tuple[str, str, str]:
    """Aggregates over rows whose time column is set: first day, last day that has come, rows on weekends."""
    day = f"CAST({quote(time_column)} AS DATE)"
    # A date typed in the future (2027 for 2026) would stretch the data over months it never saw:
    # the data is as of its last day that has already come.
    today = f"DATE '{dt.date.today().isoformat()}'"
    return (
        f"min({day}) AS coverage_first",
        f"max({day}) FILTER (WHERE {day} <= {today}) AS coverage_last",
        f"count(*) FILTER (WHERE isodow({day}) >= 6) AS coverage_weekend_rows",
    )


def _coverage_from(first: Any, last: Any, rows: int, weekend_rows: int) -> Coverage | None:
    if not isinstance(first, dt.date) or not isinstance(last, dt.date) or _day(first) > _day(last):
        return None
    return Coverage(_day(first), _day(last), working_days=rows >= WORKING_DAY_MIN_ROWS and not weekend_rows)


def _coverage_of_groups(records: list[dict[str, Any]]) -> Coverage | None:
    """The coverage of a source from its per-period (and per-dimension) coverage aggregates."""
    firsts = [r["coverage_first"] for r in records if r["coverage_first"] is not None]
    lasts = [r["coverage_last"] for r in records if r["coverage_last"] is not None]
    if not firsts or not lasts:
        return None
    rows = sum(int(r["row_count"]) for r in records)
    weekend_rows = sum(int(r["coverage_weekend_rows"]) for r in records)
    return _coverage_from(min(firsts), max(lasts), rows, weekend_rows)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]
