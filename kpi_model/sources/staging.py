"""A staging table from one of DuckDB's readers, and the size checks every file format passes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from kpi_model.formula import quote
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


def _create(con: duckdb.DuckDBPyConnection, staging: str, reader: str, path: Path, options: Mapping[str, Any]) -> None:
    named = "".join(f", {key} = ?" for key in options)
    con.execute(
        f"CREATE TABLE {quote(staging)} AS SELECT * FROM {reader}(?{named})",
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
