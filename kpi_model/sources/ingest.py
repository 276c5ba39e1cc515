"""Loading one file into a table: checks, a staging table per format, then one swap into place.

CSV/TSV/TXT, Parquet and JSON are read by DuckDB itself (here, with their errors explained); XLSX is
streamed with openpyxl (:mod:`kpi_model.sources.excel`). Every load goes into a staging table first and
replaces the target in one transaction, so a bad file never damages what was loaded before.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import uuid
from pathlib import Path
from typing import Any

import duckdb

from kpi_model.archives import size_text
from kpi_model.identifiers import quote
from kpi_model.sources.catalog import TableProfile, _columns, _first_row, _relation_kind, profile_table
from kpi_model.sources.dates import _date_options, _note_ambiguous_dates
from kpi_model.sources.errors import SourceError, _reason
from kpi_model.sources.excel import _stage_xlsx
from kpi_model.sources.limits import DEFAULT_LIMITS, DEFAULT_MAX_BYTES, Limits
from kpi_model.sources.names import STAGING_PREFIX, _check_table_name
from kpi_model.sources.staging import _check_cells, _check_text_values, _check_width, _create, _create_typed

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".json", ".ndjson", ".jsonl", ".xlsx")
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
_HEAD_BYTES = 64 * 1024
_GLOB_CHARACTERS = "*?["  # DuckDB's readers expand them in any path they are given
_MAX_HEADER_BYTES = 16 * 1024**2  # a header of MAX_COLUMNS names of 16 KB each still fits
_LINE = re.compile(r"Line: (\d+)")


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
    size = checked_file(path)
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
        row = _first_row(con, f"SELECT count(*) FROM {quote(staging)}")
        if row is None or row[0] == 0:
            where = f" (sheet '{sheet}')" if sheet else ""
            raise SourceError(
                f"{path.name}{where} has no data rows (only a header, or nothing): export it again with the data."
            )
        width = len(_columns(con, staging))
        _check_width(path.name, width, limits)
        _check_cells(path.name, int(row[0]), width, limits)
        _check_text_values(con, path.name, staging, limits)
        # Profiled before it replaces anything: the swap below is the load's last step, so a load that
        # fails or is stopped before it has changed nothing.
        profile = profile_table(con, staging, timeout_s=limits.profile_timeout_s)
        from kpi_model.isolation import fault_point  # multiprocessing: not for the CLI's start-up (sources.scan)

        fault_point("ingest:staged")
        _replace(con, staging, table)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote(staging)}")
    return dataclasses.replace(profile, name=table)


def checked_file(path: Path) -> int:
    """The size of a data file of a supported type; a :class:`SourceError` when it is not one, is missing or empty."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = (
            " Open it in Excel and save it as .xlsx (or as CSV UTF-8)." if suffix in (".xls", ".xlsm", ".ods") else ""
        )
        raise SourceError(
            f"{path.name}: '{suffix or 'no extension'}' files are not supported; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}.{hint}"
        )
    pattern = sorted(set(str(path)) & set(_GLOB_CHARACTERS))
    if pattern:
        raise SourceError(
            f"{path.name}: the path holds {' '.join(repr(c) for c in pattern)}, which DuckDB reads as a pattern of "
            "file names (it could read another file): rename the file or its folder without * ? [ ]."
        )
    if not path.is_file():
        if path.is_dir():
            what = "is a folder, not a file"
        elif path.exists():  # a FIFO, a device or a socket: reading it could block or never end
            what = "is not a regular file (a pipe, a device or a socket)"
        else:
            what = "was not found"
        raise SourceError(f"{path} {what}: check the path (it is read relative to the workspace folder).")
    size = path.stat().st_size
    if size == 0:
        raise SourceError(f"{path.name} is empty (0 bytes): export the data again, with a header row and data rows.")
    return size


def _replace(con: duckdb.DuckDBPyConnection, staging: str, table: str) -> None:
    """Swap the staging table in under ``table``'s name, in one transaction."""
    kind = _relation_kind(con, table)
    con.execute("BEGIN TRANSACTION")
    try:
        if kind:
            con.execute(f"DROP {kind} {quote(table)}")
        con.execute(f"ALTER TABLE {quote(staging)} RENAME TO {quote(table)}")
        con.execute("COMMIT")
    except duckdb.Error as err:
        con.execute("ROLLBACK")
        raise SourceError(f"Could not replace table '{table}': {_reason(str(err))}. It is unchanged.") from err


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
    head, utf16 = _checked_head(path, suffix, size)
    if suffix in JSON_SUFFIXES:
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
                con.execute(f"ALTER TABLE {quote(staging)} ALTER {quote(name)} SET DATA TYPE VARCHAR")
        return
    dialect = csv_dialect(con, path, suffix, head, utf16, date_format, limits)
    try:
        _create_typed(con, staging, "read_csv", path, dialect.options, size)
    except duckdb.Error as err:
        raise dialect.error(con, path, str(err)) from None
    _note_ambiguous_dates(con, staging, path, dialect.options)


def _checked_head(path: Path, suffix: str, size: int) -> tuple[bytes, bool]:
    """The first bytes of a text file, refused when they show it is not UTF-8 text (or UTF-16 LE, which
    DuckDB reads), and whether it is UTF-16."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    is_json = suffix in JSON_SUFFIXES
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
    return head, utf16


@dataclasses.dataclass(frozen=True)
class CsvDialect:
    """How a CSV is read: ``read_csv`` options fixed from its first line (delimiter, header, decimal comma,
    declared dates), the header line and the encoding. A load and a scan read the file with the same ones."""

    options: dict[str, Any]
    header: str
    delim: str
    encoding: str

    def error(self, con: duckdb.DuckDBPyConnection, path: Path, message: str) -> SourceError:
        """DuckDB's error on reading the file, said in the user's terms."""
        return _csv_error(con, path, message, self.header, self.delim, self.encoding)


def csv_dialect(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    suffix: str,
    head: bytes,
    utf16: bool,
    date_format: str | None,
    limits: Limits,
) -> CsvDialect:
    """The ``read_csv`` options for a CSV/TSV/TXT file whose first bytes are ``head``."""
    encoding = "utf-16" if utf16 else "utf-8"
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    header = (text.splitlines() or [""])[0]
    if len(head) == _HEAD_BYTES and b"\n" not in head and b"\r" not in head:
        header = _long_first_line(path, encoding)  # wider than the head: its width must count every field
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
    return CsvDialect(options, header, delim, encoding)


def _long_first_line(path: Path, encoding: str) -> str:
    """The first line of a file whose first ``_HEAD_BYTES`` hold no line end, read up to ``_MAX_HEADER_BYTES``."""
    with path.open("rb") as handle:
        line = handle.readline(_MAX_HEADER_BYTES + 1)
    if len(line) > _MAX_HEADER_BYTES:
        raise SourceError(
            f"{path.name}'s first line is longer than {_MAX_HEADER_BYTES // 2**20} MB, so it is not a header "
            "row: export the file again with one line per row and a header of column names."
        )
    return line.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")


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
