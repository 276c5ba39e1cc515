"""Changing a loaded column's type, after checking that every value converts."""

from __future__ import annotations

import difflib

import duckdb

from kpi_model.identifiers import quote
from kpi_model.sources.catalog import TableProfile, _columns, _first_row, _relation_kind, profile_table
from kpi_model.sources.dates import format_misses_sql, formats_reading_all
from kpi_model.sources.errors import SourceError, _reason
from kpi_model.sources.names import _literal

COLUMN_TYPES = ("DATE", "TIMESTAMP", "DOUBLE", "BIGINT", "VARCHAR", "BOOLEAN")


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
    col, tbl = quote(name), quote(table)
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
        row = _first_row(
            con, format_misses_sql(f"SELECT CAST({col} AS VARCHAR) AS v FROM {tbl} WHERE {col} IS NOT NULL")
        )
        fitting = [f for f in formats_reading_all(row) if f != date_format]
        if fitting:
            also = f" (they also read as '{fitting[1]}': check which is meant)" if len(fitting) > 1 else ""
            return f"They all read with date_format='{fitting[0]}'{also}."
        return "Fix or clear these values, or give the date_format they are written in (e.g. '%d/%m/%Y')."
    return "Fix or clear these values, or keep the column as VARCHAR."
