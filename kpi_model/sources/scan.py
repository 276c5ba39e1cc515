"""Files read in place: a view over DuckDB's CSV or Parquet reader instead of a copy in a table.

A query over such a view streams the file, so a file of any size computes within the engine's memory limit
(:mod:`kpi_model.engine`), and nothing is loaded before the first query. A CSV is read with the options a load
uses (:func:`.ingest.csv_dialect`) and the column types DuckDB's sniffer finds with the sample a load uses
(the whole file up to 64 MB, 20,480 rows beyond; up to 64 MB, a sample's types proven to be every row's by
:mod:`.sampled_types` stand for them, as DuckDB's sniffer is slow); the view fixes them (``auto_detect =
false``), so a query never sniffs again and every value is the one a load would give. When a big file's later
rows break the sampled types, :func:`sniff_every_row` makes the types from every row, as a load retries.

Checks that need no pass over the data are kept (file type, encoding, header width, declared dates, a Parquet
file's metadata); the bounds on a table's cells and text values (:class:`.limits.Limits`) are not: they bound
what a visitor may store in the app's database, and a scan stores nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from kpi_model.identifiers import quote
from kpi_model.sources.catalog import _first_row
from kpi_model.sources.dates import ambiguous_date_note, reads_both_ways
from kpi_model.sources.errors import SourceError, _reason
from kpi_model.sources.ingest import _HEAD_BYTES, CsvDialect, _checked_head, checked_file, csv_dialect
from kpi_model.sources.limits import DEFAULT_LIMITS, Limits
from kpi_model.sources.names import _check_table_name, _literal
from kpi_model.sources.sampled_types import sample_types_hold
from kpi_model.sources.staging import _FULL_SNIFF_BYTES, _check_width

SCANNED_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")
_SAMPLE_ROWS = 20480  # what a load sniffs beyond _FULL_SNIFF_BYTES (staging._create_typed)
_EMPTY = "(empty)"  # how sniff_csv shows an empty quote, escape or comment character


@dataclass(frozen=True)
class ScannedFile:
    """A file source read in place through the view ``name``.

    ``reader`` is the table function call the view selects from; ``every_row`` says whether its types
    were made from every row (Parquet: always); ``ambiguous_dates`` holds (column, format) of the date
    columns whose every value also reads with day and month swapped.
    """

    name: str
    path: Path
    reader: str
    every_row: bool
    version: str
    ambiguous_dates: tuple[tuple[str, str], ...] = ()
    dialect: CsvDialect | None = None  # None for Parquet

    def error(self, con: duckdb.DuckDBPyConnection, message: str) -> SourceError:
        """A failed read of the file in the user's terms, naming the source (the file may have gone since)."""
        if not self.path.is_file():
            return SourceError(
                f"Source '{self.name}': {self.path} is gone since it was opened (moved, renamed or deleted): "
                "put it back, or give its new path with --data."
            )
        if self.dialect is None:
            return SourceError(
                f"Source '{self.name}': {self.path.name} could not be read ({_reason(message, self.path)}); "
                "it may have been changed while it was read, or be damaged: export it again."
            )
        return SourceError(f"Source '{self.name}': {self.dialect.error(con, self.path, message)}")


def scannable(path: Path) -> bool:
    """Whether a file is read in place (CSV/TSV/TXT, Parquet) rather than loaded (JSON, XLSX)."""
    return path.suffix.lower() in SCANNED_SUFFIXES


def scan_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    date_format: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> ScannedFile:
    """Create the view ``name`` over a CSV/TSV/TXT or Parquet file (replacing a view of that name).

    Raises :class:`SourceError` when the file is missing, empty, of another type, not readable as
    such a file, or wider than ``limits`` allows; the message names the source.
    """
    _check_table_name(name)
    path = Path(path).resolve()
    try:
        size = checked_file(path)
        if not scannable(path):
            raise SourceError(f"{path.name} is not a CSV or Parquet file: it is loaded, not read in place.")
        if path.suffix.lower() == ".parquet":
            scanned = _scan_parquet(con, name, path, limits)
        else:
            scanned = _scan_csv(con, name, path, size, date_format, limits, every_row=size <= _FULL_SNIFF_BYTES)
    except SourceError as err:
        raise SourceError(f"Source '{name}': {err}") from err
    return scanned


def sniff_every_row(con: duckdb.DuckDBPyConnection, scanned: ScannedFile) -> ScannedFile:
    """The view again, its CSV types made from every row (a big file whose later rows break the sampled ones)."""
    if scanned.every_row or scanned.dialect is None:
        return scanned
    try:
        size = scanned.path.stat().st_size
        return _scan_csv(
            con,
            scanned.name,
            scanned.path,
            size,
            None,
            DEFAULT_LIMITS,
            every_row=True,
            dialect=scanned.dialect,
            sample_first=False,  # the sample is known not to hold
        )
    except SourceError as err:
        raise SourceError(f"Source '{scanned.name}': {err}") from err
    except OSError:
        raise scanned.error(con, "the file is gone") from None


def parquet_ranges(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Iterable[str], cast_to: str
) -> dict[str, tuple[Any, Any]]:
    """Lowest and highest value of columns of a Parquet file, from its row groups' statistics (no row is
    read), cast to ``cast_to`` (``HUGEINT``, ``TIMESTAMP``); keyed by lower-cased column name. A column
    left out had a row group with values but no statistics."""
    if cast_to not in ("HUGEINT", "TIMESTAMP"):
        raise ValueError(f"not a type to read statistics as: {cast_to!r}")
    wanted = [column.lower() for column in columns]
    rows = con.execute(
        f"""
        SELECT lower(path_in_schema), min(TRY_CAST(stats_min_value AS {cast_to})),
               max(TRY_CAST(stats_max_value AS {cast_to})),
               count(*) FILTER (WHERE (TRY_CAST(stats_min_value AS {cast_to}) IS NULL
                                       OR TRY_CAST(stats_max_value AS {cast_to}) IS NULL)
                                      AND coalesce(stats_null_count, 0) < row_group_num_rows)
          FROM parquet_metadata(?) WHERE list_contains(?, lower(path_in_schema)) GROUP BY ALL
        """,
        [str(path), wanted],
    ).fetchall()
    return {name: (low, high) for name, low, high, unknown in rows if not unknown and low is not None}


def estimated_csv_rows(path: Path) -> int | None:
    """About how many lines a text file has, from the length of the lines in its first 64 KB."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
        size = path.stat().st_size
    except OSError:
        return None
    lines = head.count(b"\n") or head.count(b"\r")
    return max(int(size * lines / len(head)), 1) if lines and head else None


def files_version(scans: Iterable[ScannedFile]) -> str:
    """One text that changes when any of the files changes (size or modification time)."""
    return hashlib.sha256("\n".join(sorted(f"{s.name}={s.version}" for s in scans)).encode()).hexdigest()[:16]


def ambiguous_scan_notes(scans: Mapping[str, ScannedFile]) -> list[str]:
    """One line per scanned source whose dates read both ways (see :func:`.dates.date_order_notes`)."""
    notes = []
    for name, scanned in scans.items():
        if scanned.ambiguous_dates:
            columns = [column for column, _ in scanned.ambiguous_dates]
            notes.append(ambiguous_date_note(name, columns, scanned.ambiguous_dates[0][1]))
    return notes


def _version(path: Path) -> str:
    stat = path.stat()
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _scan_parquet(con: duckdb.DuckDBPyConnection, name: str, path: Path, limits: Limits) -> ScannedFile:
    reader = f"read_parquet({_literal(str(path))})"
    try:
        # From the file's metadata: no row is read here.
        width = len(con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall())
        rows = _first_row(con, "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)])
    except duckdb.Error as err:
        raise SourceError(
            f"{path.name} is not a valid Parquet file ({_reason(str(err), path)}); "
            "it may be truncated or not Parquet at all: export it again."
        ) from None
    _check_width(path.name, width, limits)
    if not rows or not rows[0]:
        raise SourceError(f"{path.name} has no data rows (only a header, or nothing): export it again with the data.")
    _create_view(con, name, reader)
    return ScannedFile(name, path, reader, True, _version(path))


def _scan_csv(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    size: int,
    date_format: str | None,
    limits: Limits,
    *,
    every_row: bool,
    dialect: CsvDialect | None = None,
    sample_first: bool = True,
) -> ScannedFile:
    if dialect is None:
        head, utf16 = _checked_head(path, path.suffix.lower(), size)
        dialect = csv_dialect(con, path, path.suffix.lower(), head, utf16, date_format, limits)
    options = dialect.options
    try:
        sniffed = _sniff(con, path, options, _SAMPLE_ROWS if sample_first or not every_row else -1)
        fixed = _reader_options(sniffed, options)
        columns: list[dict[str, str]] = sniffed["Columns"]
        as_text = _csv_reader(path, fixed, [{"name": c["name"], "type": "VARCHAR"} for c in columns])
        if every_row and sample_first and not sample_types_hold(con, as_text, columns, fixed, _SAMPLE_ROWS):
            sniffed = _sniff(con, path, options, -1)
            fixed, columns = _reader_options(sniffed, options), sniffed["Columns"]
        reader = _csv_reader(path, fixed, columns)
        _create_view(con, name, reader)
        if size <= _HEAD_BYTES and _first_row(con, f"SELECT count(*) FROM {quote(name)}") == (0,):
            raise SourceError(
                f"{path.name} has no data rows (only a header, or nothing): export it again with the data."
            )
    except duckdb.Error as err:
        con.execute(f"DROP VIEW IF EXISTS {quote(name)}")
        raise dialect.error(con, path, str(err)) from None
    except SourceError:
        con.execute(f"DROP VIEW IF EXISTS {quote(name)}")
        raise
    ambiguous = _ambiguous_dates(con, name, columns, options, sniffed)
    return ScannedFile(name, path, reader, every_row, _version(path), ambiguous, dialect)


def _reader_options(sniffed: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``read_csv`` options fixing what the sniff found (the caller's ``options`` win)."""
    # No new_line: the reader finds line ends by itself, and DuckDB 2.0 reads no row at all from a
    # CRLF file given new_line = '\r\n' with strict_mode (tests/test_file_scan.py has such a file).
    fixed: dict[str, Any] = {
        "auto_detect": False,
        "quote": _character(sniffed["Quote"]),
        "escape": _character(sniffed["Escape"]),
        "comment": _character(sniffed["Comment"]),
        **options,
    }
    for option, found in (("dateformat", sniffed["DateFormat"]), ("timestampformat", sniffed["TimestampFormat"])):
        if option not in options and found:
            fixed[option] = found
    return fixed


def _sniff(con: duckdb.DuckDBPyConnection, path: Path, options: Mapping[str, Any], sample: int) -> dict[str, Any]:
    named = "".join(f", {key} = ?" for key in options)
    result = con.execute(f"SELECT * FROM sniff_csv(?{named}, sample_size = ?)", [str(path), *options.values(), sample])
    names = [d[0] for d in result.description or []]
    return dict(zip(names, result.fetchall()[0], strict=True))


def _character(sniffed: str | None) -> str:
    return "" if sniffed in (None, _EMPTY) else str(sniffed)


def _csv_reader(path: Path, options: Mapping[str, Any], columns: list[dict[str, str]]) -> str:
    """A ``read_csv`` call with every option written out (a view cannot hold query parameters)."""
    written = [_literal(str(path))]
    for key, value in options.items():
        if not re.fullmatch(r"[a-z_]+", key):
            raise ValueError(f"not a read_csv option: {key!r}")
        written.append(f"{key} = {_option(value)}")
    types = ", ".join(f"{_literal(c['name'])}: {_literal(c['type'])}" for c in columns)
    written.append(f"columns = {{{types}}}")
    return f"read_csv({', '.join(written)})"


def _option(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _literal(str(value))


def _create_view(con: duckdb.DuckDBPyConnection, name: str, reader: str) -> None:
    con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS SELECT * FROM {reader}")


def _ambiguous_dates(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: list[dict[str, str]],
    options: Mapping[str, Any],
    sniffed: Mapping[str, Any],
) -> tuple[tuple[str, str], ...]:
    """The date columns whose every value also reads with day and month swapped (01/02/2025), as a load
    marks them (:func:`.dates._note_ambiguous_dates`). Only a file whose date format reads both ways costs
    a pass over the file: ISO dates never do."""
    found: list[tuple[str, str]] = []
    for kind, option, sniffed_format in (
        ("DATE", "dateformat", sniffed["DateFormat"]),
        ("TIMESTAMP", "timestampformat", sniffed["TimestampFormat"]),
    ):
        names = [c["name"] for c in columns if c["type"] == kind]
        if not names or option in options or not sniffed_format or not reads_both_ways(sniffed_format):
            continue
        highest = _first_row(con, f"SELECT {', '.join(f'max(day({quote(n)}))' for n in names)} FROM {quote(name)}")
        if highest is None or any(day is not None and day > 12 for day in highest):
            continue  # a day past the 12th settles the order for the whole file
        found += [(column, sniffed_format) for column, day in zip(names, highest, strict=True) if day is not None]
    return tuple(found)
