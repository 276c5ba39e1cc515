"""File ingestion into DuckDB: load CSV/TSV/Parquet/JSON/XLSX as tables, profile them, fix column types.

Ingestion runs on a connection the caller passes in; no user formula ever runs here. In the
app that connection lives in a child process (:mod:`kpi_model.isolation`) and is locked like the
engine, except that it may read the one file being loaded. Every load goes into a staging table
first and replaces the target in one transaction, so a bad file never damages what was loaded
before. What a file may hold is bounded by :class:`Limits` (columns, values, unpacked size),
checked before the table is created; profiling and views run under a time limit.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import difflib
import graphlib
import os
import re
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from kpi_model import formula
from kpi_model.archives import ZipLimits, check_xlsx_archive, size_text
from kpi_model.errors import KpiWizardError
from kpi_model.models import SOURCE_NAME_PATTERN, Workspace


class SourceError(KpiWizardError):
    """A data file or source that cannot be loaded; the message names the problem and the fix."""


class ProfileTimeout(SourceError):
    """Profiling a table or view ran past its time limit and was interrupted."""


# ---------------------------------------------------------------------------- limits (docs/security.md)

# Columns per table: the profile, the Data page and every KPI's column checks grow with them, and a
# KPI needs a handful. Refused before the table is created.
MAX_COLUMNS = 1_000
# Values (rows x columns) per table: bounds the work of profiling and the size of the database.
MAX_CELLS = 1_000_000_000
# An .xlsx is a zip of XML: checked from its central directory before openpyxl opens it. The sizes
# there bound what Python's zipfile unpacks (it stops at the declared size and checks the CRC).
XLSX_MAX_UNPACKED_BYTES = 1024**3
XLSX_MAX_RATIO = 100  # unpacked : packed, per member; real sheets pack 5-20 : 1, zip bombs 1000 : 1
XLSX_MAX_MEMBERS = 10_000
# A Parquet file's metadata (sizes after decompression, rows, columns) is checked before it is read.
PARQUET_MAX_UNPACKED_BYTES = 8 * 1024**3
# Profiling reads this many columns per query: one query over thousands of aggregates made DuckDB
# crash (3,000 columns) or take 72 s and 1.7 GB (1,000 columns); in chunks 1,000 columns take ~1 s.
PROFILE_CHUNK_COLUMNS = 100
PROFILE_TIMEOUT_S = 60.0  # one table's profile
VIEW_TIMEOUT_S = 20.0  # a new view's first run (its profile); a view slower than this is not kept
JOB_TIMEOUT_S = 600.0  # one isolated job: loading a file (a 2 GB CSV loads in about a minute here)
JOB_MEMORY_LIMIT = "2GB"  # DuckDB's memory_limit in a job
JOB_THREADS = 2


@dataclass(frozen=True)
class Limits:
    """The bounds on a visitor's data; the defaults are the module constants above."""

    max_columns: int = MAX_COLUMNS
    max_cells: int = MAX_CELLS
    xlsx_max_unpacked_bytes: int = XLSX_MAX_UNPACKED_BYTES
    xlsx_max_ratio: float = XLSX_MAX_RATIO
    xlsx_max_members: int = XLSX_MAX_MEMBERS
    parquet_max_unpacked_bytes: int = PARQUET_MAX_UNPACKED_BYTES
    profile_timeout_s: float = PROFILE_TIMEOUT_S
    view_timeout_s: float = VIEW_TIMEOUT_S
    job_timeout_s: float = JOB_TIMEOUT_S
    memory_limit: str = JOB_MEMORY_LIMIT
    threads: int = JOB_THREADS


DEFAULT_LIMITS = Limits()

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".json", ".ndjson", ".jsonl", ".xlsx")
DEFAULT_MAX_BYTES = 2 * 1024**3
COLUMN_TYPES = ("DATE", "TIMESTAMP", "DOUBLE", "BIGINT", "VARCHAR", "BOOLEAN")
STAGING_PREFIX = "_kpiw_staging_"

_IDENTIFIER = re.compile(SOURCE_NAME_PATTERN)
_HEAD_BYTES = 64 * 1024
# Up to this size the type sniffer reads the whole file: DuckDB silently rounds "19.99" to 20
# when a column looked like whole numbers in the sample, and a full scan costs little here.
_FULL_SNIFF_BYTES = 64 * 1024**2
_EXACT_DISTINCT_ROWS = 1_000_000
_XLSX_CHECK_EVERY = 10_000
_MAX_NAME = 63
_MINMAX_TYPE = re.compile(r"^(DATE|TIMESTAMP.*|U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|REAL|DOUBLE|DECIMAL.*)$")
_LINE = re.compile(r"Line: (\d+)")
# Column comment on a table whose dates read both ways; the format they were read with follows it.
_AMBIGUOUS_NOTE = "kpi-wizard: dates that also read with day and month swapped, read as "
_TIME_CODES = re.compile(r"%[HIMSpfzZTXcr]")
_COMMON_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M",
)


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a loaded table: DuckDB type, share of NULLs, distinct values, range."""

    name: str
    type: str
    null_share: float
    distinct: int
    min: str | None
    max: str | None
    # The format text dates were read with when every one of them also reads with day and month swapped
    # (03/04/2025): the file alone cannot say which was meant. None once settled, or when unambiguous.
    ambiguous_date_format: str | None = None


@dataclass(frozen=True)
class TableProfile:
    """A loaded table (or view): its row count and a profile of every column.

    ``error`` is set (rows 0, no columns) for a table that is loaded but could not be profiled: it
    says why and what to do (drop it, or load the file again).
    """

    name: str
    rows: int
    columns: list[ColumnProfile]
    error: str | None = field(default=None, kw_only=True)

    def column(self, name: str) -> ColumnProfile | None:
        """The column with this name (case-insensitive, like DuckDB), if any."""
        wanted = name.lower()
        return next((c for c in self.columns if c.name.lower() == wanted), None)

    @property
    def column_names(self) -> list[str]:
        """Column names in table order."""
        return [c.name for c in self.columns]

    @property
    def ambiguous_dates(self) -> list[ColumnProfile]:
        """Date columns that read both day-first and month-first (see :func:`settle_date_order`)."""
        return [c for c in self.columns if c.ambiguous_date_format]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the profile cache beside a workspace's database)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableProfile:
        """The profile :meth:`to_dict` wrote."""
        columns = [ColumnProfile(**column) for column in data["columns"]]
        return cls(str(data["name"]), int(data["rows"]), columns, error=data.get("error"))


# ---------------------------------------------------------------------------- names and SQL text


def _ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A single-quoted SQL string literal (for statements that take no parameters, like ALTER)."""
    return "'" + text.replace("'", "''") + "'"


def _check_table_name(table: str) -> None:
    if not _IDENTIFIER.match(table):
        raise SourceError(
            f"'{table}' cannot be a table name: use letters, digits and underscores, "
            "starting with a letter or underscore (e.g. 'orders_2025')"
        )


@cache
def _reserved_words() -> frozenset[str]:
    # A table called "order" would need quoting in every formula; ask DuckDB which words those are.
    with duckdb.connect() as con:
        rows = con.execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    return frozenset(row[0].lower() for row in rows)


def table_name_for(filename: str, taken: Iterable[str] = ()) -> str:
    """A safe, lower-case table name for an uploaded file name ('Orders 2025 (v2).csv' -> 'orders_2025_v2').

    Names in ``taken`` are avoided (case-insensitively, as in DuckDB) by adding ``_2``, ``_3`` …
    The result is an identifier only; it is never used as a path.
    """
    base = re.split(r"[\\/]", filename)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_stem.lower()).strip("_") or "data"
    if name[0].isdigit() or name in _reserved_words():
        name = f"t_{name}"
    name = name[:_MAX_NAME].rstrip("_")
    used = {t.lower() for t in taken}
    candidate, n = name, 1
    while candidate in used:
        n += 1
        suffix = f"_{n}"
        candidate = name[: _MAX_NAME - len(suffix)] + suffix
    return candidate


def _reason(message: str, path: Path | None = None) -> str:
    """DuckDB's first line without its "Invalid Input Error:" prefix (and without server paths)."""
    line = (message.strip().splitlines() or [""])[0]
    line = re.sub(r"^[A-Za-z ]*Error: ", "", line).strip().rstrip(".")
    return line.replace(str(path), path.name) if path else line


# ---------------------------------------------------------------------------- catalog helpers


def _first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of a query, fetched to the end.

    After a bare ``fetchone()`` DuckDB 2.0 refuses the caller's next ``con.sql()``
    ("connection has an unfinished result"), so nothing here leaves a result open.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _relation_kind(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """'TABLE', 'VIEW' or None for a name in the current schema (case-insensitive, like DuckDB)."""
    row = _first_row(
        con,
        """
        SELECT 'TABLE' FROM duckdb_tables()
         WHERE database_name = current_database() AND schema_name = current_schema() AND lower(table_name) = lower(?)
        UNION ALL
        SELECT 'VIEW' FROM duckdb_views()
         WHERE database_name = current_database() AND schema_name = current_schema() AND lower(view_name) = lower(?)
           AND NOT internal
        """,
        [name, name],
    )
    return row[0] if row else None


def list_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and views of the current schema, sorted, without ingestion's staging tables."""
    rows = con.execute(
        """
        SELECT table_name FROM duckdb_tables()
         WHERE database_name = current_database() AND schema_name = current_schema()
           AND NOT internal AND NOT starts_with(table_name, ?)
        UNION ALL
        SELECT view_name FROM duckdb_views()
         WHERE database_name = current_database() AND schema_name = current_schema() AND NOT internal
        ORDER BY 1
        """,
        [STAGING_PREFIX],
    ).fetchall()
    return [row[0] for row in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column, in order; a clear error if there is no such table."""
    return [(name, data_type) for name, data_type, _ in _columns_and_comments(con, table)]


def _columns_and_comments(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, str | None]]:
    rows = con.execute(
        """
        SELECT column_name, data_type, column_comment FROM information_schema.columns
         WHERE table_catalog = current_database() AND table_schema = current_schema() AND lower(table_name) = lower(?)
         ORDER BY ordinal_position
        """,
        [table],
    ).fetchall()
    if not rows:
        known = ", ".join(list_tables(con)) or "none yet"
        raise SourceError(f"There is no table '{table}'; loaded tables: {known}. Load the file first.")
    return [(name, data_type, comment) for name, data_type, comment in rows]


# ---------------------------------------------------------------------------- profiling


def profile_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    timeout_s: float | None = None,
    chunk: int = PROFILE_CHUNK_COLUMNS,
) -> TableProfile:
    """Rows, and per column type, null share, distinct count and (dates, numbers) min/max.

    Columns are read ``chunk`` at a time (one scan each), never all in one query; with ``timeout_s``
    the whole profile is interrupted after that many seconds (:class:`ProfileTimeout`).
    """
    described = _columns_and_comments(con, table)
    estimate = _first_row(
        con,
        """
        SELECT estimated_size FROM duckdb_tables()
         WHERE database_name = current_database() AND schema_name = current_schema() AND lower(table_name) = lower(?)
        """,
        [table],
    )
    # Exact distinct counts cost a hash table per column; fine for small tables, too slow for 10M rows, and
    # many in one query cost more than their sum (100 take 0.2 s on one row, 3,000 in chunks of 100 took 7 s).
    # Views (no size estimate) and tables wider than one chunk get the approximate (HyperLogLog) count.
    exact = estimate is not None and estimate[0] <= _EXACT_DISTINCT_ROWS and len(described) <= chunk
    return _profile(con, table, _ident(table), described, exact=exact, timeout_s=timeout_s, chunk=chunk)


def profile_select(
    con: duckdb.DuckDBPyConnection,
    name: str,
    select: str,
    *,
    timeout_s: float | None = None,
    chunk: int = PROFILE_CHUNK_COLUMNS,
) -> TableProfile:
    """The profile a view ``name`` defined by ``select`` (already checked) would have, without creating it."""
    frm = f"({select}) AS {_ident(name)}"
    try:
        described = [(row[0], row[1], None) for row in con.execute(f"DESCRIBE SELECT * FROM {frm}").fetchall()]
    except duckdb.Error as err:
        raise SourceError(f"the view '{name}' does not run: {_reason(str(err))}; {_VIEW_FIX}") from None
    return _profile(con, name, frm, described, exact=False, timeout_s=timeout_s, chunk=chunk)


def _profile(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frm: str,
    described: Sequence[tuple[str, str, str | None]],
    *,
    exact: bool,
    timeout_s: float | None,
    chunk: int,
) -> TableProfile:
    rows = 0
    values: list[Any] = []
    with time_limit(con, timeout_s, f"profiling '{table}'"):
        for start in range(0, len(described), max(chunk, 1)):
            parts = ["count(*)"] if start == 0 else []
            for name, data_type, _ in described[start : start + max(chunk, 1)]:
                col = _ident(name)
                parts.append(f"count({col})")
                parts.append(f"count(DISTINCT {col})" if exact else f"approx_count_distinct({col})")
                if _MINMAX_TYPE.match(data_type):
                    parts.append(f"CAST(min({col}) AS VARCHAR)")
                    parts.append(f"CAST(max({col}) AS VARCHAR)")
            try:
                row = _first_row(con, f"SELECT {', '.join(parts)} FROM {frm}")
            except (duckdb.InterruptException, duckdb.OutOfMemoryException):
                raise
            except duckdb.Error as err:
                raise SourceError(
                    f"'{table}' cannot be read ({_reason(str(err))}): drop it, or load its file again "
                    "(for a view: fix its SQL)."
                ) from None
            assert row is not None  # an aggregate without GROUP BY always returns one row
            if start == 0:
                rows = int(row[0])
                row = row[1:]
            values.extend(row)
    found = iter(values)
    profiles = []
    for name, data_type, comment in described:
        non_null, distinct = next(found), next(found)
        low, high = (next(found), next(found)) if _MINMAX_TYPE.match(data_type) else (None, None)
        null_share = (rows - non_null) / rows if rows else 0.0
        ambiguous = None
        if comment and comment.startswith(_AMBIGUOUS_NOTE) and data_type in ("DATE", "TIMESTAMP"):
            ambiguous = comment.removeprefix(_AMBIGUOUS_NOTE)
        profiles.append(ColumnProfile(name, data_type, null_share, int(distinct), low, high, ambiguous))
    return TableProfile(table, rows, profiles)


@contextlib.contextmanager
def time_limit(con: duckdb.DuckDBPyConnection, timeout_s: float | None, what: str) -> Iterator[None]:
    """Interrupt the connection's queries after ``timeout_s`` seconds (:class:`ProfileTimeout`, naming
    ``what``); running out of DuckDB's memory limit becomes a :class:`SourceError` too."""
    timer = threading.Timer(timeout_s, con.interrupt) if timeout_s else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    except duckdb.InterruptException:
        raise ProfileTimeout(f"{what} ran longer than {timeout_s:g} s and was stopped") from None
    except duckdb.OutOfMemoryException:
        raise SourceError(
            f"{what} needed more memory than the limit allows and was stopped: drop the table, or load a smaller "
            "extract (fewer columns or a shorter period)"
        ) from None
    finally:
        if timer is not None:
            timer.cancel()


def unprofiled(table: str, problem: str) -> TableProfile:
    """The profile of a table that is loaded but could not be profiled: ``problem`` says why and what to do."""
    return TableProfile(table, 0, [], error=problem)


# ---------------------------------------------------------------------------- ingestion


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    sheet: str | None = None,
    date_format: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> TableProfile:
    """Load one file into ``table`` (replacing it atomically) and return the table's profile.

    CSV/TSV/TXT, Parquet and JSON are read by DuckDB itself; XLSX is streamed with openpyxl.
    ``date_format`` (strptime codes) is how a CSV's or sheet's text dates are written; without it
    they are detected, and dates that read both day-first and month-first are marked (see
    :attr:`ColumnProfile.ambiguous_date_format`).
    On any error a :class:`SourceError` says what is wrong and how to fix it, and existing
    tables — including an earlier ``table`` — are left as they were. A file over ``limits``
    (columns, values, unpacked size) is refused before its table is created.
    """
    _check_table_name(table)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = (
            " Open it in Excel and save it as .xlsx (or as CSV UTF-8)." if suffix in (".xls", ".xlsm", ".ods") else ""
        )
        raise SourceError(
            f"{path.name}: '{suffix or 'no extension'}' files are not supported; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}.{hint}"
        )
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "was not found"
        raise SourceError(f"{path} {what}: check the path (it is read relative to the workspace folder).")
    size = path.stat().st_size
    if size == 0:
        raise SourceError(f"{path.name} is empty (0 bytes): export the data again, with a header row and data rows.")
    if size > max_bytes:
        raise SourceError(
            f"{path.name} is {size_text(size)}, over the {size_text(max_bytes)} limit: "
            "load a smaller extract (fewer columns or a shorter period), or convert it to Parquet."
        )
    if sheet is not None and suffix != ".xlsx":
        raise SourceError(
            f"{path.name}: a sheet name only applies to .xlsx workbooks; leave it out for {suffix} files."
        )

    staging = STAGING_PREFIX + uuid.uuid4().hex[:12]
    try:
        if suffix == ".xlsx":
            _stage_xlsx(con, path, staging, sheet, max_bytes, date_format, limits)
        elif suffix == ".parquet":
            _stage_parquet(con, path, staging, limits)
        else:
            _stage_text(con, path, staging, suffix, size, date_format, limits)
        row = _first_row(con, f"SELECT count(*) FROM {_ident(staging)}")
        if row is None or row[0] == 0:
            where = f" (sheet '{sheet}')" if sheet else ""
            raise SourceError(
                f"{path.name}{where} has no data rows (only a header, or nothing): export it again with the data."
            )
        width = len(_columns(con, staging))
        _check_width(path.name, width, limits)
        _check_cells(path.name, int(row[0]), width, limits)
        # Profiled before it replaces anything: the swap below is the load's last step, so a load that
        # fails or is stopped before it has changed nothing.
        profile = profile_table(con, staging, timeout_s=limits.profile_timeout_s)
        from kpi_model.isolation import fault_point  # isolation imports this module

        fault_point("ingest:staged")
        _replace(con, staging, table)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_ident(staging)}")
    return dataclasses.replace(profile, name=table)


def _check_width(name: str, columns: int, limits: Limits) -> None:
    if columns > limits.max_columns:
        raise SourceError(
            f"{name} has {columns:,} columns, more than the {limits.max_columns:,} a table may have: "
            "keep the columns KPIs need (delete the others before you export) and load it again."
        )


def _check_cells(name: str, rows: int, columns: int, limits: Limits) -> None:
    if rows * columns > limits.max_cells:
        raise SourceError(
            f"{name} holds {rows:,} rows x {columns:,} columns = {rows * columns:,} values, more than the "
            f"{limits.max_cells:,} a table may hold: keep the columns KPIs need and a shorter period, "
            "then load it again."
        )


def _replace(con: duckdb.DuckDBPyConnection, staging: str, table: str) -> None:
    """Swap the staging table in under ``table``'s name, in one transaction."""
    kind = _relation_kind(con, table)
    con.execute("BEGIN TRANSACTION")
    try:
        if kind:
            con.execute(f"DROP {kind} {_ident(table)}")
        con.execute(f"ALTER TABLE {_ident(staging)} RENAME TO {_ident(table)}")
        con.execute("COMMIT")
    except duckdb.Error as err:
        con.execute("ROLLBACK")
        raise SourceError(f"Could not replace table '{table}': {_reason(str(err))}. It is unchanged.") from err


def _create(con: duckdb.DuckDBPyConnection, staging: str, reader: str, path: Path, options: Mapping[str, Any]) -> None:
    named = "".join(f", {key} = ?" for key in options)
    con.execute(
        f"CREATE TABLE {_ident(staging)} AS SELECT * FROM {reader}(?{named})",
        [str(path), *options.values()],
    )


def _create_typed(
    con: duckdb.DuckDBPyConnection, staging: str, reader: str, path: Path, options: Mapping[str, Any], size: int
) -> None:
    """Create the staging table; on a big file whose later rows break the sampled types, retry with a full scan."""
    full = size <= _FULL_SNIFF_BYTES
    try:
        _create(con, staging, reader, path, {**options, "sample_size": -1 if full else 20480})
    except duckdb.Error as err:
        if full or not (isinstance(err, duckdb.ConversionException) or "transform error" in str(err)):
            raise
        _create(con, staging, reader, path, {**options, "sample_size": -1})


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, staging: str, limits: Limits) -> None:
    try:
        _check_parquet(con, path, limits)
        _create(con, staging, "read_parquet", path, {})
    except duckdb.Error as err:
        raise SourceError(
            f"{path.name} is not a valid Parquet file ({_reason(str(err), path)}); "
            "it may be truncated or not Parquet at all: export it again."
        ) from None


def _check_parquet(con: duckdb.DuckDBPyConnection, path: Path, limits: Limits) -> None:
    """Columns, rows and unpacked size from the file's metadata, before any data is read."""
    width = len(con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall())
    _check_width(path.name, width, limits)
    rows = _first_row(con, "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)])
    _check_cells(path.name, int(rows[0] or 0) if rows else 0, width, limits)
    unpacked = _first_row(con, "SELECT sum(total_uncompressed_size) FROM parquet_metadata(?)", [str(path)])
    size = int(unpacked[0] or 0) if unpacked else 0
    if size > limits.parquet_max_unpacked_bytes:
        raise SourceError(
            f"{path.name} unpacks to {size_text(size)}, over the {size_text(limits.parquet_max_unpacked_bytes)} "
            "limit: export a smaller extract (the columns KPIs need, a shorter period)."
        )


def _stage_text(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    staging: str,
    suffix: str,
    size: int,
    date_format: str | None,
    limits: Limits,
) -> None:
    """CSV/TSV/TXT and JSON: check the first bytes, then let DuckDB read the file."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    is_json = suffix in (".json", ".ndjson", ".jsonl")
    if head.startswith(b"\xfe\xff") or (is_json and head.startswith(b"\xff\xfe")):
        raise SourceError(f"{path.name} is UTF-16 text: save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again.")
    utf16 = head.startswith(b"\xff\xfe")  # little-endian UTF-16 with BOM: Excel's "Unicode text"; DuckDB reads it
    if not utf16 and b"\x00" in head:
        raise SourceError(
            f"{path.name} contains binary data (NUL bytes), so it is not a {suffix} text file: "
            "check that you picked the right file, or export it again as CSV UTF-8."
        )
    if not utf16 and size <= len(head) and not head.strip():
        raise SourceError(f"{path.name} holds only blank lines: export the data again, with a header row.")
    if is_json:
        json_options = {"format": "newline_delimited"} if suffix != ".json" else {}
        try:
            named = "".join(f", {key} = ?" for key in json_options)
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_json_auto(?{named})", [str(path), *json_options.values()]
            ).fetchall()
            _check_width(path.name, len(described), limits)
            _create_typed(con, staging, "read_json_auto", path, json_options, size)
        except duckdb.Error as err:
            raise _json_error(path, str(err)) from None
        # A key that is null in every record gets DuckDB's type "NULL", which nothing downstream expects.
        for name, data_type in _columns(con, staging):
            if data_type == '"NULL"':
                con.execute(f"ALTER TABLE {_ident(staging)} ALTER {_ident(name)} SET DATA TYPE VARCHAR")
        return
    encoding = "utf-16" if utf16 else "utf-8"
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    header = (text.splitlines() or [""])[0]
    delim = "\t" if suffix == ".tsv" else _guess_delimiter(header)
    _check_width(path.name, len(next(csv.reader([header], delimiter=delim), [])), limits)
    # Header and delimiter are fixed, so DuckDB's sniffer cannot "explain away" ragged rows by
    # choosing another delimiter or skipping leading lines (it does both on its own).
    options: dict[str, Any] = {
        "delim": delim,
        "header": True,
        "skip": 0,
        "strict_mode": True,
        "ignore_errors": False,
        "null_padding": False,
        "encoding": encoding,
    }
    # Semicolon-separated files often come from locales that write decimals as 1,5: if a field in
    # the first lines is such a number, read numbers that way (DuckDB would otherwise keep them as text).
    if delim == ";" and re.search(r'(?:^|;)"?-?\d+,\d+"?(?=;|$)', text, re.MULTILINE):
        options["decimal_separator"] = ","
    options.update(_date_options(con, path, options, date_format))
    try:
        _create_typed(con, staging, "read_csv", path, options, size)
    except duckdb.Error as err:
        raise _csv_error(con, path, str(err), header, delim, encoding) from None
    _note_ambiguous_dates(con, staging, path, options)


def _date_options(
    con: duckdb.DuckDBPyConnection, path: Path, options: Mapping[str, Any], date_format: str | None
) -> dict[str, str]:
    """read_csv options for a declared date format. A format without time codes also settles the
    day/month order of date-times the sniffer would read both ways."""
    if not date_format:
        return {}
    if _TIME_CODES.search(date_format):
        return {"timestampformat": date_format, "dateformat": date_format.split(" ")[0]}
    found = _sniffed_formats(con, path, options)[1]
    if found and _reads_both_ways(found) and _reads_both_ways(date_format):
        if is_day_first(date_format) != is_day_first(found):
            found = day_month_swapped(found)
        return {"dateformat": date_format, "timestampformat": found}
    return {"dateformat": date_format}


def _sniffed_formats(
    con: duckdb.DuckDBPyConnection, path: Path, options: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """The date and date-time formats DuckDB's sniffer finds in a CSV (None where it finds none)."""
    sniff_options = {k: v for k, v in options.items() if k not in ("dateformat", "timestampformat")}
    named = "".join(f", {key} = ?" for key in sniff_options)
    try:
        found = _first_row(
            con, f"SELECT DateFormat, TimestampFormat FROM sniff_csv(?{named})", [str(path), *sniff_options.values()]
        )
    except duckdb.Error:
        return None, None
    return (found[0], found[1]) if found else (None, None)


def is_day_first(date_format: str) -> bool:
    """Whether a format with both a day and a month code writes the day first (``%d/%m/%Y``)."""
    return date_format.index("%d") < date_format.index("%m")


def day_month_swapped(date_format: str) -> str:
    """``date_format`` with its day and month codes swapped: ``%d/%m/%Y`` ↔ ``%m/%d/%Y``."""
    return date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _reads_both_ways(date_format: str) -> bool:
    # Year-first formats are ISO-like: nobody writes 2025-13-01 for 1 December.
    return "%d" in date_format and "%m" in date_format and not date_format.startswith(("%Y", "%y"))


def _note_ambiguous_dates(con: duckdb.DuckDBPyConnection, staging: str, path: Path, options: Mapping[str, Any]) -> None:
    """Mark the date columns whose every value also reads with day and month swapped (01/02/2025 is
    1 February or 2 January): DuckDB picks day-first then, and only the user knows which is meant."""
    columns = _columns(con, staging)
    if not any(data_type in ("DATE", "TIMESTAMP") for _, data_type in columns):
        return
    formats = _sniffed_formats(con, path, options)
    for kind, option, found in (("DATE", "dateformat", formats[0]), ("TIMESTAMP", "timestampformat", formats[1])):
        names = [name for name, data_type in columns if data_type == kind]
        if not names or option in options or not found or not _reads_both_ways(found):
            continue
        highest = _first_row(con, f"SELECT {', '.join(f'max(day({_ident(n)}))' for n in names)} FROM {_ident(staging)}")
        if highest is None or any(day is not None and day > 12 for day in highest):
            continue  # a day past the 12th settles the order for the whole file
        for name, day in zip(names, highest, strict=True):
            if day is not None:
                con.execute(
                    f"COMMENT ON COLUMN {_ident(staging)}.{_ident(name)} IS {_literal(_AMBIGUOUS_NOTE + found)}"
                )


def date_order_notes(profiles: Mapping[str, TableProfile]) -> list[str]:
    """One line per loaded source whose dates read both ways: what was assumed and how to say otherwise."""
    notes = []
    for name, profile in profiles.items():
        ambiguous = profile.ambiguous_dates
        read_as = ambiguous[0].ambiguous_date_format if ambiguous else None
        if read_as is None:
            continue
        columns = ", ".join(c.name for c in ambiguous)
        notes.append(
            f"source '{name}': every date in {columns} reads both day-first and month-first; they were read as "
            f"{read_as}. If the file is written {day_month_swapped(read_as)}, set date_format: "
            f"'{day_month_swapped(read_as)}' on the source (or date_format: '{read_as}' to confirm)."
        )
    return notes


def settle_date_order(
    con: duckdb.DuckDBPyConnection, table: str, date_format: str, *, timeout_s: float | None = None
) -> TableProfile:
    """Say which order a table's ambiguous dates are in: ``date_format`` is either the format they were read
    with (they stay) or that format with day and month swapped (every one of them is swapped). Either way
    they are no longer marked ambiguous. Returns the new profile."""
    ambiguous = profile_table(con, table).ambiguous_dates
    if not ambiguous:
        raise SourceError(f"The dates in '{table}' read only one way: there is no order to settle.")
    read_as = ambiguous[0].ambiguous_date_format
    assert read_as is not None
    if date_format not in (read_as, day_month_swapped(read_as)):
        raise SourceError(
            f"'{date_format}' is not an order for these dates: pick '{read_as}' (as read) "
            f"or '{day_month_swapped(read_as)}' (day and month swapped)."
        )
    tbl = _ident(table)
    con.execute("BEGIN TRANSACTION")
    try:
        for column in ambiguous:
            col = _ident(column.name)
            if date_format != read_as:
                swapped = f"make_date(year({col}), day({col}), month({col}))"
                if column.type == "TIMESTAMP":
                    swapped = f"CAST({swapped} AS TIMESTAMP) + ({col} - date_trunc('day', {col}))"
                con.execute(f"UPDATE {tbl} SET {col} = {swapped} WHERE {col} IS NOT NULL")
            con.execute(f"COMMENT ON COLUMN {tbl}.{col} IS NULL")
        profile = profile_table(con, table, timeout_s=timeout_s)  # before COMMIT: the commit is the last step
        con.execute("COMMIT")
    except duckdb.Error as err:
        con.execute("ROLLBACK")
        raise SourceError(
            f"The dates in '{table}' could not be swapped ({_reason(str(err))}). Nothing was changed."
        ) from None
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return profile


def _guess_delimiter(header: str) -> str:
    """The most frequent of , ; TAB | in the header line (outside quotes); ',' when none occurs."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_error(
    con: duckdb.DuckDBPyConnection, path: Path, message: str, header: str, delim: str, encoding: str
) -> SourceError:
    known = _known_csv_problem(path, message, delim)
    if known:
        return known
    if "sniffing" in message:
        # The sniffer only says it failed; a plain read with fixed columns finds the offending line.
        width = len(next(csv.reader([header], delimiter=delim)))
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        try:
            con.execute(
                f"SELECT count(*) FROM read_csv(?, auto_detect = false, columns = {columns}, delim = ?, quote = '\"', "
                "escape = '\"', header = true, skip = 0, strict_mode = true, encoding = ?)",
                [str(path), delim, encoding],
            )
        except duckdb.Error as err:
            known = _known_csv_problem(path, str(err), delim)
            if known:
                return known
    shown = "TAB" if delim == "\t" else f"'{delim}'"
    return SourceError(
        f"{path.name} could not be read as a table of values separated by {shown} ({_reason(message, path)}): "
        "check that it is a CSV export with one header row and the same number of fields on every line."
    )


def _known_csv_problem(path: Path, message: str, delim: str) -> SourceError | None:
    line = _LINE.search(message)
    at_line = f" on line {line.group(1)}" if line else ""
    if "utf-8" in message.lower() and ("invalid unicode" in message.lower() or "not utf-8" in message.lower()):
        return SourceError(
            f"{path.name} is not UTF-8 text (first bad byte{at_line}): it was probably saved as Latin-1/Windows-1252. "
            "Save it as 'CSV UTF-8' in Excel, or convert it, e.g. `iconv -f WINDOWS-1252 -t UTF-8`."
        )
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if fields:
        expected, found = fields.groups()
        shown = "TAB" if delim == "\t" else f"'{delim}'"
        return SourceError(
            f"{path.name}{at_line} has {found} fields but the header has {expected} (separated by {shown}): "
            "fix that row (a missing or extra separator, or an unquoted separator inside a value); "
            "no rows were loaded."
        )
    return None


def _json_error(path: Path, message: str) -> SourceError:
    if "invalid UTF-8" in message:
        return SourceError(f"{path.name} is not UTF-8 text: save the JSON as UTF-8 and upload it again.")
    detail = re.search(r"at byte (\d+) in (record/value|line) (\d+): (.*)$", _reason(message))
    # DuckDB 2.0 numbers the line (NDJSON) or record (array element) one past the bad one: a bad
    # line 2 is "line 3". Its byte is the character within that line or record. Tests pin this down.
    where = "line" if detail and detail[2] == "line" else "record"
    reason = f"{where} {int(detail[3]) - 1}, character {detail[1]}: {detail[4]}" if detail else _reason(message, path)
    expected = "one JSON object per line" if path.suffix.lower() != ".json" else "a JSON array of objects"
    return SourceError(f"{path.name} is not valid JSON ({reason}): fix the file so it holds {expected}.")


# ---------------------------------------------------------------------------- Excel


def _stage_xlsx(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    staging: str,
    sheet: str | None,
    max_bytes: int,
    date_format: str | None,
    limits: Limits,
) -> None:
    """Stream one sheet row by row into a temporary CSV, then let DuckDB read that with type detection."""
    from openpyxl import load_workbook  # imported here: openpyxl is slow to import and only Excel needs it

    _check_xlsx_archive(path, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds (BadZipFile, KeyError …) for a broken file
        raise SourceError(
            f"{path.name} is not a readable .xlsx workbook ({type(err).__name__}: {err}); "
            "open it in Excel and save it again as 'Excel Workbook (.xlsx)'."
        ) from None
    try:
        names = [ws.title for ws in workbook.worksheets]
        if not names:
            raise SourceError(f"{path.name} has no worksheets: add a sheet with a header row and data.")
        if sheet is not None and sheet not in names:
            raise SourceError(
                f"{path.name} has no sheet named '{sheet}'; its sheets are: {', '.join(repr(n) for n in names)}."
            )
        worksheet = workbook.worksheets[names.index(sheet) if sheet is not None else 0]
        # Some writers record a wrong used range; without this, read-only mode would cut rows off.
        worksheet.reset_dimensions()
        with tempfile.TemporaryDirectory(prefix="kpiw-xlsx-") as tmp:
            csv_path = Path(tmp) / "sheet.csv"
            with csv_path.open("w", newline="", encoding="utf-8") as out:
                date_columns = _write_sheet_csv(
                    worksheet.iter_rows(min_row=1, values_only=True),
                    out,
                    f"{path.name} (sheet '{worksheet.title}')",
                    max_bytes,
                    limits.max_columns,
                )
            if date_columns is None:
                raise SourceError(
                    f"{path.name}: sheet '{worksheet.title}' is empty: put a header row and data on it, "
                    f"or pick another sheet ({', '.join(repr(n) for n in names)})."
                )
            options = {"delim": ",", "quote": '"', "escape": '"', "header": True, "skip": 0, "strict_mode": True}
            options.update(_date_options(con, csv_path, options, date_format))
            try:
                _create_typed(con, staging, "read_csv", csv_path, options, csv_path.stat().st_size)
            except duckdb.Error as err:
                raise SourceError(f"{path.name}: the sheet could not be loaded ({_reason(str(err))}).") from None
            _note_ambiguous_dates(con, staging, csv_path, options)
    finally:
        workbook.close()
    # Excel stores dates as date-times; a column whose times are all midnight is a DATE column.
    for index, (name, data_type) in enumerate(_columns(con, staging)):
        if index in date_columns and data_type == "TIMESTAMP":
            con.execute(f"ALTER TABLE {_ident(staging)} ALTER {_ident(name)} SET DATA TYPE DATE")


def _check_xlsx_archive(path: Path, limits: Limits) -> None:
    """Refuse a workbook whose zip would unpack to too much (a zip bomb), before any of it is unpacked."""
    zip_limits = ZipLimits(limits.xlsx_max_unpacked_bytes, limits.xlsx_max_ratio, limits.xlsx_max_members)
    check_xlsx_archive(path, zip_limits, SourceError)


def _write_sheet_csv(
    rows: Iterable[tuple[Any, ...]], out: Any, where: str, max_bytes: int, max_columns: int = MAX_COLUMNS
) -> set[int] | None:
    """Write header + data rows as CSV; return indexes of date-only columns, or None for an empty sheet."""
    writer = csv.writer(out)
    width = 0
    datetimes: set[int] = set()
    timed: set[int] = set()
    for number, row in enumerate(rows, start=1):
        if all(cell is None or cell == "" for cell in row):
            continue  # blank rows carry no data (Excel keeps formatted empty rows around)
        if not width:
            header = list(row)
            while header and header[-1] in (None, ""):
                header.pop()
            width = len(header)
            if width > max_columns:
                raise SourceError(
                    f"{where} has {width:,} columns, more than the {max_columns:,} a table may have: "
                    "keep the columns KPIs need (delete the others) and load it again."
                )
            writer.writerow(["" if cell is None else str(cell).strip() for cell in header])
            continue
        extra = next((i for i in range(width, len(row)) if row[i] not in (None, "")), None)
        if extra is not None:
            raise SourceError(
                f"{where}: row {number} has a value in column {_excel_column(extra)}, which has no header: "
                "add a header for that column or delete the stray value."
            )
        values = []
        for index in range(width):
            cell = row[index] if index < len(row) else None
            if isinstance(cell, dt.datetime):
                datetimes.add(index)
                if cell.time() != dt.time(0):
                    timed.add(index)
            values.append(_cell_text(cell))
        writer.writerow(values)
        if number % _XLSX_CHECK_EVERY == 0 and out.tell() > max_bytes:
            raise SourceError(f"{where} unpacks to more than the {size_text(max_bytes)} limit: load a smaller extract.")
    return datetimes - timed if width else None


def _cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):  # before int: bool is an int subclass
        return "true" if cell else "false"
    if isinstance(cell, dt.datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    if isinstance(cell, float):
        return repr(cell)
    return str(cell)


def _excel_column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# ---------------------------------------------------------------------------- type fixes


def set_column_type(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    new_type: str,
    *,
    date_format: str | None = None,
    timeout_s: float | None = None,
) -> TableProfile:
    """Change one column's type after checking every value converts; return the new profile.

    ``date_format`` (strptime codes, e.g. ``'%d/%m/%Y'``) reads text as DATE/TIMESTAMP. If any
    non-NULL value would not convert, nothing changes and the error quotes examples.
    """
    wanted = new_type.strip().upper()
    if wanted not in COLUMN_TYPES:
        raise SourceError(f"'{new_type}' is not a type you can pick; use one of {', '.join(COLUMN_TYPES)}.")
    if date_format is not None and wanted not in ("DATE", "TIMESTAMP"):
        raise SourceError(f"A date format only applies to DATE or TIMESTAMP, not {wanted}: leave it out.")
    kind = _relation_kind(con, table)
    if kind == "VIEW":
        raise SourceError(f"'{table}' is a view defined by SQL: change the type in its SQL with CAST(… AS {wanted}).")
    columns = _columns(con, table)
    name = next((n for n, _ in columns if n.lower() == column.lower()), None)
    if name is None:
        close = difflib.get_close_matches(column, [n for n, _ in columns], n=1)
        hint = f" — did you mean '{close[0]}'?" if close else f"; its columns are: {', '.join(n for n, _ in columns)}"
        raise SourceError(f"Table '{table}' has no column '{column}'{hint}")
    col, tbl = _ident(name), _ident(table)
    if date_format is not None:
        parsed = f"strptime(CAST({col} AS VARCHAR), {_literal(date_format)})"
        strict = f"CAST({parsed} AS DATE)" if wanted == "DATE" else parsed
        tried = f"CAST(try_{parsed} AS DATE)" if wanted == "DATE" else f"try_{parsed}"
    else:
        strict, tried = f"CAST({col} AS {wanted})", f"TRY_CAST({col} AS {wanted})"
    bad = f"{col} IS NOT NULL AND ({tried} IS NULL"
    # DuckDB rounds 19.99 to 20 when casting to BIGINT; losing decimals counts as a failed conversion.
    bad += f" OR TRY_CAST({col} AS DOUBLE) <> {tried})" if wanted == "BIGINT" else ")"
    con.execute("BEGIN TRANSACTION")
    try:
        try:
            counts = _first_row(con, f"SELECT count(*) FILTER (WHERE {bad}), count({col}) FROM {tbl}")
        except duckdb.Error as err:
            problem = (
                f"'{date_format}' is not a usable date format; use strptime codes such as %d/%m/%Y or %Y-%m-%d %H:%M"
                if date_format
                else f"{table}.{name} cannot be converted to {wanted}"
            )
            raise SourceError(f"{problem} ({_reason(str(err))}). Nothing was changed.") from None
        assert counts is not None  # an aggregate without GROUP BY always returns one row
        failed, total = counts
        if failed:
            examples = [
                row[0]
                for row in con.execute(
                    f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM {tbl} WHERE {bad} ORDER BY 1 LIMIT 3"
                ).fetchall()
            ]
            fmt = f" with format '{date_format}'" if date_format else ""
            raise SourceError(
                f"{failed} of {total} values in {table}.{name} cannot be read as {wanted}{fmt}, e.g. "
                f"{', '.join(repr(e) for e in examples)}. {_conversion_hint(con, tbl, col, wanted, date_format)} "
                "Nothing was changed."
            )
        con.execute(f"ALTER TABLE {tbl} ALTER {col} SET DATA TYPE {wanted} USING {strict}")
        profile = profile_table(con, table, timeout_s=timeout_s)  # before COMMIT: the commit is the last step
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return profile


def _conversion_hint(con: duckdb.DuckDBPyConnection, tbl: str, col: str, wanted: str, date_format: str | None) -> str:
    """Suggest a date format under which every value reads, checked in one scan; else say what to fix."""
    if wanted in ("DATE", "TIMESTAMP"):
        checks = ", ".join(f"count(*) FILTER (WHERE try_strptime(v, {_literal(f)}) IS NULL)" for f in _COMMON_FORMATS)
        row = _first_row(
            con, f"SELECT {checks} FROM (SELECT CAST({col} AS VARCHAR) AS v FROM {tbl} WHERE {col} IS NOT NULL)"
        )
        fitting = [f for f, misses in zip(_COMMON_FORMATS, row or (), strict=True) if misses == 0 and f != date_format]
        if fitting:
            also = f" (they also read as '{fitting[1]}': check which is meant)" if len(fitting) > 1 else ""
            return f"They all read with date_format='{fitting[0]}'{also}."
        return "Fix or clear these values, or give the date_format they are written in (e.g. '%d/%m/%Y')."
    return "Fix or clear these values, or keep the column as VARCHAR."


# ---------------------------------------------------------------------------- workspace sources


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
    except OSError as error:
        reason = error.strerror or "the file system refused it"
        raise SourceError(
            f"'{shown}' cannot be used as a file path ({reason.lower()}): give a short path to a readable data "
            "file inside the workspace folder, e.g. data/orders.csv."
        ) from None
    return resolved


def plan_workspace_sources(
    workspace: Workspace,
    base_dir: Path,
    overrides: Mapping[str, Path] | None = None,
    *,
    confine: bool = True,
) -> tuple[list[tuple[str, Path, str | None]], list[tuple[str, str]]]:
    """What loading a workspace's sources takes: (name, file, date format) of each file source and
    (name, SQL) of each view, views after the views they select from. Paths are resolved (and, with
    ``confine``, kept inside ``base_dir``) here, so a bad path is refused before anything is read."""
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
    return files, [(name, views[name]) for name in _view_order(views)]


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
    try:
        return create_view(con, name, sql, tables=available, timeout_s=limits.view_timeout_s)
    except KpiWizardError as err:
        raise SourceError(f"Source '{name}' (a SQL view): {err}") from err


_VIEW_FIX = "fix the SQL: it may select only from the loaded tables (no files, no URLs)"


def create_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    *,
    tables: set[str] | None = None,
    timeout_s: float | None = VIEW_TIMEOUT_S,
) -> TableProfile:
    """Create (or replace) a SELECT-only view over ``tables`` (default: every loaded table) and profile it.

    The view is kept only if it runs (its profile finishes) within ``timeout_s``: see :func:`try_view`
    and :func:`define_view`, which the app runs as two jobs.
    """
    profile, _ = try_view(con, name, sql, tables=tables, timeout_s=timeout_s)
    define_view(con, name, sql, tables=tables)
    return profile


def try_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    *,
    tables: set[str] | None = None,
    timeout_s: float | None = VIEW_TIMEOUT_S,
) -> tuple[TableProfile, str]:
    """Check a view's SQL with :func:`formula.validate_view` and run it once (its profile) within
    ``timeout_s``, changing nothing; return the profile and the checked SQL. A view that runs away (a
    recursion without end, a cross join of big tables) is refused here, on a read-only connection."""
    _check_table_name(name)
    if _relation_kind(con, name) == "TABLE":
        raise SourceError(
            f"'{name}' is a loaded table, so a view cannot take its name: pick another name, or drop the table first."
        )
    known = set(list_tables(con)) if tables is None else set(tables)
    checked = formula.validate_view(sql, known - {name})
    try:
        profile = profile_select(con, name, checked, timeout_s=timeout_s)
    except ProfileTimeout:
        raise SourceError(
            f"the view '{name}' ran longer than {timeout_s:g} s and was not kept: narrow it (filter the rows, "
            "join on key columns, give a recursion an end) or simplify it, then try again"
        ) from None
    except SourceError as error:
        text = str(error)
        if not text.startswith(f"the view '{name}' does not run"):
            text = f"the view '{name}' does not run and was not kept: {text}"
        raise SourceError(text) from None
    return profile, checked


def define_view(con: duckdb.DuckDBPyConnection, name: str, sql: str, *, tables: set[str] | None = None) -> None:
    """Create (or replace) the view, after checking its SQL again; it is not run here (see :func:`try_view`)."""
    _check_table_name(name)
    known = set(list_tables(con)) if tables is None else set(tables)
    checked = formula.validate_view(sql, known - {name})
    try:
        con.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS {checked}")
    except duckdb.Error as error:
        raise SourceError(f"the view '{name}' does not run: {_reason(str(error))}; {_VIEW_FIX}") from None


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a table or view (nothing happens if there is none of that name)."""
    _check_table_name(name)
    kind = _relation_kind(con, name)
    if kind:
        con.execute(f"DROP {kind} IF EXISTS {_ident(name)}")


def drop_staging(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop staging tables a crashed load left behind; return their names."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND starts_with(table_name, ?)",
        [STAGING_PREFIX],
    ).fetchall()
    for (name,) in rows:
        con.execute(f"DROP TABLE IF EXISTS {_ident(name)}")
    return [row[0] for row in rows]


def _view_order(views: Mapping[str, str]) -> list[str]:
    """View names ordered so that a view comes after the views it selects from."""
    graph: dict[str, set[str]] = {}
    for name, sql in views.items():
        try:
            tree = sqlglot.parse_one(sql, read="duckdb")
        except (SqlglotError, RecursionError):
            graph[name] = set()  # validate_view reports the syntax error (or the nesting) with its position
            continue
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        used = {t.name.lower() for t in tree.find_all(exp.Table)} - ctes
        graph[name] = {v for v in views if v.lower() in used and v != name}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        cycle = " -> ".join(err.args[1])
        raise SourceError(f"SQL sources select from each other in a circle ({cycle}): break the loop.") from None
