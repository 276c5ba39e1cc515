"""What a database holds: its tables and views, their columns and profiles, and dropping them.

A profile reads a table's columns in chunks, never all in one query, under a time limit (:func:`time_limit`).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from kpi_model.identifiers import quote
from kpi_model.sources.errors import ProfileTimeout, SourceError, UnreadableRelation, _reason
from kpi_model.sources.limits import PROFILE_CHUNK_COLUMNS, PROFILE_TIMEOUT_S
from kpi_model.sources.names import STAGING_PREFIX, _check_table_name

# Up to this many rows, and values (rows x columns), a profile counts distinct values exactly; above either,
# DuckDB's estimate (HyperLogLog, a few percent off: 8,091 for 8,000 ids) is used and shown as "about".
# Exact counts of 10M rows x 20 columns took 52 s on 2 cores (1 GB memory limit), the estimate 1.4 s: the
# value bound keeps an exact profile well inside its time limit (PROFILE_TIMEOUT_S). Each exact count also
# costs about as much as 10,000 values on its own (3,000 columns of one row took 7 s).
EXACT_DISTINCT_ROWS = 10_000_000
EXACT_DISTINCT_VALUES = 100_000_000
_EXACT_COLUMN_COST = 10_000
_MINMAX_TYPE = re.compile(r"^(DATE|TIMESTAMP.*|U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|REAL|DOUBLE|DECIMAL.*)$")
# Column comment on a table whose dates read both ways; the format they were read with follows it.
_AMBIGUOUS_NOTE = "kpi-wizard: dates that also read with day and month swapped, read as "
# How to fix a view that does not run (here when it is profiled, in views.py when it is defined).
_VIEW_FIX = "fix the SQL: it may select only from the loaded tables (no files, no URLs)"


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
    # False when the distinct counts are estimates (over EXACT_DISTINCT_ROWS rows or EXACT_DISTINCT_VALUES values).
    distinct_exact: bool = field(default=True, kw_only=True)

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
    def from_dict(cls, data: Mapping[str, Any], *, view: bool = False) -> TableProfile:
        """The profile :meth:`to_dict` wrote.

        A profile written before ``distinct_exact`` existed was exact only for a table (not a ``view``)
        of at most a million rows and one chunk of columns.
        """
        columns = [ColumnProfile(**column) for column in data["columns"]]
        rows = int(data["rows"])
        exact = data.get("distinct_exact")
        if exact is None:
            exact = not view and rows <= 1_000_000 and len(columns) <= PROFILE_CHUNK_COLUMNS
        return cls(str(data["name"]), rows, columns, error=data.get("error"), distinct_exact=bool(exact))


def unprofiled(table: str, problem: str) -> TableProfile:
    """The profile of a table that is loaded but could not be profiled: ``problem`` says why and what to do."""
    return TableProfile(table, 0, [], error=problem)


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


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a table or view (nothing happens if there is none of that name)."""
    _check_table_name(name)
    kind = _relation_kind(con, name)
    if kind:
        con.execute(f"DROP {kind} IF EXISTS {quote(name)}")


def drop_staging(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop staging tables a crashed load left behind; return their names."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND starts_with(table_name, ?)",
        [STAGING_PREFIX],
    ).fetchall()
    for (name,) in rows:
        con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    return [row[0] for row in rows]


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
    the whole profile is interrupted after that many seconds (:class:`ProfileTimeout`). Distinct counts
    are exact up to :data:`EXACT_DISTINCT_ROWS` rows and :data:`EXACT_DISTINCT_VALUES` values, estimated
    above (``distinct_exact`` says which).
    """
    described = _columns_and_comments(con, table)
    return _profile(con, table, quote(table), described, timeout_s=timeout_s, chunk=chunk)


def profile_select(
    con: duckdb.DuckDBPyConnection,
    name: str,
    select: str,
    *,
    timeout_s: float | None = None,
    chunk: int = PROFILE_CHUNK_COLUMNS,
) -> TableProfile:
    """The profile a view ``name`` defined by ``select`` (already checked) would have, without creating it."""
    frm = f"({select}) AS {quote(name)}"
    try:
        described = [(row[0], row[1], None) for row in con.execute(f"DESCRIBE SELECT * FROM {frm}").fetchall()]
    except duckdb.Error as err:
        raise SourceError(f"the view '{name}' does not run: {_reason(str(err))}; {_VIEW_FIX}") from None
    return _profile(con, name, frm, described, timeout_s=timeout_s, chunk=chunk)


def _profile(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frm: str,
    described: Sequence[tuple[str, str, str | None]],
    *,
    timeout_s: float | None,
    chunk: int,
) -> TableProfile:
    values: list[Any] = []
    with time_limit(con, timeout_s, f"profiling '{table}'"):
        counted = _aggregate_row(con, table, f"SELECT count(*) FROM {frm}")
        rows = int(counted[0])
        exact = rows <= EXACT_DISTINCT_ROWS and exact_distinct_cost(rows, len(described)) <= _exact_values(timeout_s)
        for start in range(0, len(described), max(chunk, 1)):
            parts = []
            for name, data_type, _ in described[start : start + max(chunk, 1)]:
                col = quote(name)
                parts.append(f"count({col})")
                parts.append(f"count(DISTINCT {col})" if exact else f"approx_count_distinct({col})")
                if _MINMAX_TYPE.match(data_type):
                    parts.append(f"CAST(min({col}) AS VARCHAR)")
                    parts.append(f"CAST(max({col}) AS VARCHAR)")
            values.extend(_aggregate_row(con, table, f"SELECT {', '.join(parts)} FROM {frm}"))
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
    return TableProfile(table, rows, profiles, distinct_exact=exact)


def exact_distinct_cost(rows: int, columns: int) -> int:
    """What counting every column's distinct values exactly costs, in values read (see EXACT_DISTINCT_VALUES)."""
    return columns * (rows + _EXACT_COLUMN_COST)


def _exact_values(timeout_s: float | None) -> float:
    """How many values a profile with this time limit counts exactly: fewer under a shorter limit than a
    table's (a new view has 20 s, and is refused when its profile runs longer)."""
    if timeout_s is None:
        return EXACT_DISTINCT_VALUES
    return EXACT_DISTINCT_VALUES * min(1.0, timeout_s / PROFILE_TIMEOUT_S)


def _aggregate_row(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> tuple[Any, ...]:
    """The one row of an aggregate over ``table``; an interruption or running out of memory passes through."""
    try:
        row = _first_row(con, sql)
    except (duckdb.InterruptException, duckdb.OutOfMemoryException):
        raise
    except duckdb.Error as err:
        raise UnreadableRelation(table, _reason(str(err))) from None
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return row


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
