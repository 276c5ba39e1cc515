"""The days a source's data covers: first day, last day that has come, and whether it has weekend rows.

Read once per source and time column for each version of the data (:meth:`Engine.coverage
<kpi_model.engine.Engine.coverage>` caches it), or for free when a shared scan already reads every row
of the source (:meth:`Engine.compute_together <kpi_model.engine.Engine.compute_together>`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import duckdb

from kpi_model.errors import KpiWizardError
from kpi_model.formula import quote
from kpi_model.periods import WORKING_DAY_MIN_ROWS, Coverage

Query = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]


def coverage_parts(time_column: str) -> tuple[str, str, str]:
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


def source_coverage(query: Query, source: str, time_column: str) -> Coverage | None:
    """The coverage of a source's time column, read with ``query``; None when it cannot be read."""
    first, last, weekend = coverage_parts(time_column)
    day = f"CAST({quote(time_column)} AS DATE)"
    try:
        rows = query(f"SELECT {first}, {last}, count(*), {weekend} FROM {quote(source)} WHERE {day} IS NOT NULL")[1]
    except (duckdb.Error, KpiWizardError):
        return None
    return coverage_from(*(rows[0] if rows else (None, None, 0, 0)))


def coverage_from(first: Any, last: Any, rows: int, weekend_rows: int) -> Coverage | None:
    """A coverage from the aggregates of :func:`coverage_parts` and the row count; None without dates."""
    if not isinstance(first, dt.date) or not isinstance(last, dt.date) or _day(first) > _day(last):
        return None
    return Coverage(_day(first), _day(last), working_days=rows >= WORKING_DAY_MIN_ROWS and not weekend_rows)


def coverage_of_groups(records: list[dict[str, Any]]) -> Coverage | None:
    """The coverage of a source from its per-period (and per-dimension) coverage aggregates."""
    firsts = [r["coverage_first"] for r in records if r["coverage_first"] is not None]
    lasts = [r["coverage_last"] for r in records if r["coverage_last"] is not None]
    if not firsts or not lasts:
        return None
    rows = sum(int(r["row_count"]) for r in records)
    weekend_rows = sum(int(r["coverage_weekend_rows"]) for r in records)
    return coverage_from(min(firsts), max(lasts), rows, weekend_rows)


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
