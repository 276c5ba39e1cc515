"""Sizing distinct counts as bitmaps: which integer columns' ``count(DISTINCT)`` pay off as bitmaps, and their range.

The compiler rewrites a distinct count into bitmaps when given a column's value range
(:func:`kpi_model.formula.bitmap_distinct_counts`); this module decides when to give it one. A range
comes from a table's min and max, a Parquet file's metadata, or a CSV's first rows, widened; should
the data disagree with it, the engine counts that column the usual way from then on (:meth:`DistinctRanges.forget`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import duckdb

from kpi_model.errors import KpiWizardError
from kpi_model.formula import FormulaError, Grain, SeriesRequest, check_aggregate, distinct_count_columns, quote
from kpi_model.models import Workspace
from kpi_model.sources import ScannedFile, estimated_csv_rows, parquet_ranges

if TYPE_CHECKING:
    from kpi_model.engine.session import Engine

# count(DISTINCT) of an integer column as bitmaps (formula.bitmap_distinct_counts): worth it while the
# bitmaps stay small beside the data. On 10M rows a month's 500k-wide bitmaps ran 6x faster than the hash
# table, 5M-wide ones 2x, 50M-wide ones no faster; and every thread holds its own copy of each group's bitmap.
BITMAP_BYTES_PER_ROW = 8
BITMAP_MEMORY_BYTES = 256 * 2**20
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})
Ranges = Mapping[str, Mapping[str, tuple[int, int]]]  # source → integer column → its lowest and highest value
_DAYS_IN: dict[Grain, int] = {"day": 1, "week": 7, "month": 28, "quarter": 90, "year": 365}
# Distinct counts over a CSV read in place: the range guessed from this many first rows, the bitmaps sized
# for ten years of periods (see DistinctRanges._csv_range).
_CSV_RANGE_SAMPLE_ROWS = 20480
_CSV_BITMAP_PERIODS: dict[Grain, int] = {"month": 120, "quarter": 40, "year": 10}

RangeKey = tuple[str, str, str, Grain, str | None]  # source, column, time column, grain, breakdown


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


class DistinctRanges:
    """An engine's bitmap ranges for distinct counts, sized once per column, grain and breakdown and data version.

    The engine is passed to each call rather than kept, so that an engine dropped unclosed is freed at once.
    """

    def __init__(self) -> None:
        self.sized: dict[RangeKey, tuple[int, int] | None] = {}
        self._integer_columns: dict[str, set[str]] | None = None
        self._plain_counts: set[tuple[str, str]] = set()  # (source, column) whose data disagreed with its range

    def clear(self) -> None:
        """Forget every range and column type: the data may have changed."""
        self.sized.clear()
        self._integer_columns = None
        self._plain_counts.clear()

    def forget(self, ranges: Ranges) -> None:
        """Count these columns' distinct values the usual way from now on (the data disagreed with the range)."""
        self._plain_counts.update((source, column.lower()) for source, columns in ranges.items() for column in columns)

    def for_kpis(
        self, engine: Engine, workspace: Workspace, kpi_ids: list[str], request: SeriesRequest
    ) -> dict[str, dict[str, tuple[int, int]]]:
        """Source → column → value range of the distinct counts these KPIs may compute as bitmaps on ``engine``."""
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
                if key not in self.sized:
                    self.sized[key] = self._range(engine, *key)
                if (found := self.sized[key]) is not None:
                    ranges.setdefault(kpi.source, {})[column] = found
        return ranges

    def _range(
        self, engine: Engine, source: str, column: str, time_column: str, grain: Grain, by: str | None
    ) -> tuple[int, int] | None:
        """The value range of an integer column of a table when its bitmaps pay off (see :func:`bitmap_fits`)."""
        scanned = engine.scans.get(source)
        if scanned is not None and scanned.dialect is None:
            return self._parquet_range(engine, scanned, column, time_column, grain, by)
        if scanned is not None:
            return self._csv_range(engine, scanned, column, grain, by)
        if column not in self._integer_columns_of(engine, source):
            return None
        values = f"approx_count_distinct({quote(by)})" if by else "1"
        try:
            stats = engine.query(
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
        return (int(low), int(high)) if bitmap_fits(rows, int(low), int(high), groups, engine.threads) else None

    def _integer_columns_of(self, engine: Engine, table: str) -> set[str]:
        """The lower-cased integer columns of a table (views are left out: their min and max would cost a run)."""
        if self._integer_columns is None:
            rows = engine.query(
                "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            )[1]
            self._integer_columns = {}
            for name, column, data_type in rows:
                if str(data_type).upper() in INTEGER_TYPES:
                    self._integer_columns.setdefault(name.lower(), set()).add(column.lower())
        return self._integer_columns.get(table.lower(), set())

    def _is_integer(self, engine: Engine, scanned: ScannedFile, *columns: str) -> bool:
        """Whether the first of ``columns`` of a file read in place has an integer type."""
        typed = engine.query(f"DESCRIBE SELECT {', '.join(map(quote, columns))} FROM {quote(scanned.name)}")[1]
        return str(typed[0][1]).upper() in INTEGER_TYPES

    def _parquet_range(
        self, engine: Engine, scanned: ScannedFile, column: str, time_column: str, grain: Grain, by: str | None
    ) -> tuple[int, int] | None:
        """:meth:`_range` for a Parquet file read in place: the ranges come from its metadata, free.

        Not with a breakdown: counting its values would read the file once more.
        """
        if by or not self._is_integer(engine, scanned, column, time_column):
            return None
        try:
            with engine.held_connection() as connection:
                values = parquet_ranges(connection, scanned.path, [column], "HUGEINT")
                days = parquet_ranges(connection, scanned.path, [time_column], "TIMESTAMP")
                rows = connection.execute(
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
        return (low, high) if bitmap_fits(int(rows), low, high, groups, engine.threads) else None

    def _csv_range(
        self, engine: Engine, scanned: ScannedFile, column: str, grain: Grain, by: str | None
    ) -> tuple[int, int] | None:
        """:meth:`_range` for a CSV read in place: a guess from its first rows, widened.

        A CSV has no statistics, and reading it for a min and max would cost a pass as long as the KPI's.
        So the range is the first rows' range, widened (down to 0 for ids that are never negative, up by
        twice its width): random ids (500k customers) fall inside it. A value outside it stops the bitmap
        query early and the plain count runs (:meth:`Engine.compute <kpi_model.engine.Engine.compute>`),
        exact either way. Monthly and coarser grains only, sized for ten years of periods, since the first
        rows cannot tell how many there are.
        """
        if by or grain not in _CSV_BITMAP_PERIODS or not self._is_integer(engine, scanned, column):
            return None
        sample = f"(SELECT {quote(column)} AS v FROM {quote(scanned.name)} LIMIT {_CSV_RANGE_SAMPLE_ROWS})"
        low, high = engine.query(f"SELECT min(v), max(v) FROM {sample}")[1][0]
        rows = estimated_csv_rows(scanned.path)
        if low is None or rows is None:
            return None
        width = int(high) - int(low) + 1
        low, high = (max(int(low) - width, 0) if low >= 0 else int(low) - width), int(high) + 2 * width
        groups = min(rows, _CSV_BITMAP_PERIODS[grain])
        return (low, high) if bitmap_fits(rows, low, high, groups, engine.threads) else None
