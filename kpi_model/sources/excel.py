"""Excel workbooks: one sheet streamed row by row with openpyxl into a CSV that DuckDB reads back."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import duckdb

from kpi_model.archives import ZipLimits, check_xlsx_archive, size_text
from kpi_model.identifiers import quote
from kpi_model.sources.catalog import _columns
from kpi_model.sources.dates import _date_options, _note_ambiguous_dates
from kpi_model.sources.errors import SourceError, _reason
from kpi_model.sources.limits import MAX_COLUMNS, Limits
from kpi_model.sources.staging import _create_typed

_XLSX_CHECK_EVERY = 10_000


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
                try:
                    date_columns = _write_sheet_csv(
                        worksheet.iter_rows(min_row=1, values_only=True),
                        out,
                        f"{path.name} (sheet '{worksheet.title}')",
                        max_bytes,
                        limits.max_columns,
                    )
                # Read-only openpyxl parses the sheet's XML as the rows are read: a parse error, or a cell
                # whose value does not fit its type ('abc' in a number cell, a shared string that is not there).
                except (ParseError, ValueError, IndexError, KeyError) as err:
                    reason = str(err) if isinstance(err, ParseError) else f"{type(err).__name__}: {err}"
                    raise SourceError(
                        f"{path.name}: the workbook's sheet XML is damaged ({reason}); open it in Excel and save it "
                        "again as 'Excel Workbook (.xlsx)', or export the sheet as CSV UTF-8 and load that."
                    ) from None
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
            con.execute(f"ALTER TABLE {quote(staging)} ALTER {quote(name)} SET DATA TYPE DATE")


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
