"""Dates written as text: a declared date format as reader options, and dates that read both day-first and
month-first (03/04/2025), which a load marks and the user settles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from kpi_model.identifiers import quote
from kpi_model.sources.catalog import _AMBIGUOUS_NOTE, TableProfile, _columns, _first_row, profile_table
from kpi_model.sources.errors import SourceError, _reason
from kpi_model.sources.names import _literal

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


def format_misses_sql(values: str) -> str:
    """A query counting, for each common date format in turn, the values it does not read (``values`` is a
    query selecting them, as text, in a column ``v``); :func:`formats_reading_all` reads its row."""
    checks = ", ".join(f"count(*) FILTER (WHERE try_strptime(v, {_literal(f)}) IS NULL)" for f in _COMMON_FORMATS)
    return f"SELECT {checks} FROM ({values})"


def formats_reading_all(misses: Sequence[int] | None) -> list[str]:
    """The common date formats that read every value, from a row of :func:`format_misses_sql`."""
    return [f for f, missed in zip(_COMMON_FORMATS, misses or (), strict=True) if missed == 0]


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
    if found and reads_both_ways(found) and reads_both_ways(date_format):
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


def reads_both_ways(date_format: str) -> bool:
    """Whether dates in this format can be misread with day and month swapped (``%d/%m/%Y``, not ``%Y-%m-%d``)."""
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
        if not names or option in options or not found or not reads_both_ways(found):
            continue
        highest = _first_row(con, f"SELECT {', '.join(f'max(day({quote(n)}))' for n in names)} FROM {quote(staging)}")
        if highest is None or any(day is not None and day > 12 for day in highest):
            continue  # a day past the 12th settles the order for the whole file
        for name, day in zip(names, highest, strict=True):
            if day is not None:
                con.execute(f"COMMENT ON COLUMN {quote(staging)}.{quote(name)} IS {_literal(_AMBIGUOUS_NOTE + found)}")


def date_order_notes(profiles: Mapping[str, TableProfile]) -> list[str]:
    """One line per loaded source whose dates read both ways: what was assumed and how to say otherwise."""
    notes = []
    for name, profile in profiles.items():
        ambiguous = profile.ambiguous_dates
        read_as = ambiguous[0].ambiguous_date_format if ambiguous else None
        if read_as is None:
            continue
        notes.append(ambiguous_date_note(name, [c.name for c in ambiguous], read_as))
    return notes


def ambiguous_date_note(source: str, columns: list[str], read_as: str) -> str:
    """What was assumed about a source's dates that read both ways, and how to say otherwise."""
    return (
        f"source '{source}': every date in {', '.join(columns)} reads both day-first and month-first; they were "
        f"read as {read_as}. If the file is written {day_month_swapped(read_as)}, set date_format: "
        f"'{day_month_swapped(read_as)}' on the source (or date_format: '{read_as}' to confirm)."
    )


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
    tbl = quote(table)
    con.execute("BEGIN TRANSACTION")
    try:
        for column in ambiguous:
            col = quote(column.name)
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
