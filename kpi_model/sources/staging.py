"""A staging table from one of DuckDB's readers, and the size checks every file format passes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from kpi_model.archives import size_text
from kpi_model.identifiers import quote
from kpi_model.sources.errors import SourceError
from kpi_model.sources.limits import Limits

# Up to this size the type sniffer reads the whole file: DuckDB silently rounds "19.99" to 20
# when a column looked like whole numbers in the sample, and a full scan costs little here.
_FULL_SNIFF_BYTES = 64 * 1024**2


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


def _check_text_values(con: duckdb.DuckDBPyConnection, name: str, staging: str, limits: Limits) -> None:
    """Refuse a table holding a text value longer than ``limits.max_text_bytes`` (one scan of its text columns)."""
    described = con.execute(f"DESCRIBE {quote(staging)}").fetchall()
    length_of = {"VARCHAR": "strlen", "BLOB": "octet_length"}  # bytes, for text and for binary values
    texts = [(str(row[0]), length_of[str(row[1]).upper()]) for row in described if str(row[1]).upper() in length_of]
    for start in range(0, len(texts), 100):  # a query per 100 columns, as profiling does
        chunk = texts[start : start + 100]
        longest = con.execute(
            f"SELECT {', '.join(f'max({size}({quote(c)}))' for c, size in chunk)} FROM {quote(staging)}"
        ).fetchone()
        for (column, _), length in zip(chunk, longest or (), strict=False):
            if length is not None and length > limits.max_text_bytes:
                raise SourceError(
                    f"{name}: a value in column '{column}' is {size_text(length)} of text, more than the "
                    f"{size_text(limits.max_text_bytes)} one value may hold: leave long texts (documents, "
                    "logs) out of the export and load it again."
                )


def _create(con: duckdb.DuckDBPyConnection, staging: str, reader: str, path: Path, options: Mapping[str, Any]) -> None:
    named = "".join(f", {key} = ?" for key in options)
    con.execute(
        f"CREATE TABLE {quote(staging)} AS SELECT * FROM {reader}(?{named})",
        [str(path), *options.values()],
    )


def _create_typed(
    con: duckdb.DuckDBPyConnection, staging: str, reader: str, path: Path, options: Mapping[str, Any], size: int
) -> None:
    """Create the staging table; on a big file whose later rows break what the sample found (a value's type,
    or a first quoted separator after the sample, read as an extra field), retry with a full scan."""
    full = size <= _FULL_SNIFF_BYTES
    try:
        _create(con, staging, reader, path, {**options, "sample_size": -1 if full else 20480})
    except duckdb.Error as err:
        sample_broken = (
            isinstance(err, duckdb.ConversionException)
            or "transform error" in str(err)
            or (isinstance(err, duckdb.InvalidInputException) and "CSV Error" in str(err))
        )
        if full or not sample_broken:
            raise
        _create(con, staging, reader, path, {**options, "sample_size": -1})
