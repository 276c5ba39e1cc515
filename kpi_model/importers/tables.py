"""Read a KPI list from a CSV, TSV or XLSX file into headers and rows of text.

The header row is found even below a title block; blank rows are dropped but every row
keeps its number in the sheet, so that notes can point at it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kpi_model.archives import ZipLimits, check_xlsx_archive
from kpi_model.importers.common import CONTROLS, ImportFailed, strip_controls, too_many_kpis
from kpi_model.importers.layout import two_row_header
from kpi_model.models import MAX_KPIS

SPREADSHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 200
MAX_FIELD_BYTES = 128 * 1024  # one CSV cell: Python's csv module refuses longer fields (its field_size_limit)
# A KPI register is a few sheets of text: 20 MB packed is generous, and so is 200 MB of XML unpacked.
WORKBOOK_LIMITS = ZipLimits(max_unpacked_bytes=200 * 1024**2, max_ratio=100, max_members=1_000)
_HEADER_SEARCH_ROWS = 30
_SPARE_ROWS = 200  # rows past the KPI cap read before refusing: totals, notes and footers that are no KPI
_CSV_DELIMITERS = (",", ";", "\t", "|")
_UNSUPPORTED = {
    ".xls": "the old Excel format (.xls) cannot be read; save it as .xlsx or CSV and import that",
    ".ods": "OpenDocument spreadsheets cannot be read; save it as .xlsx or CSV and import that",
    ".numbers": "Numbers files cannot be read; export it as .xlsx or CSV and import that",
}


@dataclass(frozen=True)
class Table:
    """Headers and the non-blank rows below them, each with its row number in the sheet."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    where: str  # "kpis.xlsx, sheet 'KPIs'": how messages name the table
    sheet: str | None = None
    first_sheet: bool = True  # False when a workbook's first sheet was passed over
    # (row number, column index) of workbook cells stored as numbers: read as stored, never by locale.
    typed: frozenset[tuple[int, int]] = frozenset()
    percent: frozenset[tuple[int, int]] = frozenset()  # of those, the cells formatted as a percentage
    title: tuple[str, ...] = ()  # the text of the rows above the header ("KPI register FY2027")
    delimiter: str | None = None  # a CSV's delimiter: ';' is how German and French Excel export
    # Per column, the lower label of a two-row header ("Red" under "Thresholds"), else "".
    subheaders: tuple[str, ...] = ()
    others: tuple[str, ...] = ()  # other sheets that also had a column of KPI names
    sheets: tuple[str, ...] = ()  # every sheet of the workbook, in order; empty for CSV and TSV
    header_row: int = 1  # the sheet row (1-based) of the header; of its upper row when the header has two
    cleaned: tuple[int, ...] = ()  # sheet rows whose control or invisible characters were removed


def _clean(rows: list[list[str]]) -> tuple[list[list[str]], tuple[int, ...]]:
    """The rows with :func:`strip_controls` applied to every cell, and the (1-based) rows that changed."""
    changed: list[int] = []
    for number, row in enumerate(rows, start=1):
        if any(CONTROLS.search(cell) for cell in row):
            row[:] = [strip_controls(cell) for cell in row]
            changed.append(number)
    return rows, tuple(changed)


def cell_text(value: Any) -> str:
    """A cell as text: ``100.0`` → ``100``, a midnight datetime → ``2027-06-30``, None → ``''``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.15g}"  # 0.30000000000000004 → 0.3, 100.0 → 100
    return " ".join(str(value).split()) if "\n" in str(value) else str(value).strip()


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _check_file(path: Path, shown: str) -> str:
    """The file's lower-case suffix, after refusing what cannot be read with a message that says why."""
    if not path.exists():
        raise ImportFailed(f"no such file: {path}")
    if path.is_dir():
        raise ImportFailed(f"{path} is a folder; give a spreadsheet file (CSV, TSV or XLSX)")
    if not path.is_file():
        raise ImportFailed(f"{shown} is not a regular file (a device, a pipe or a socket); give a spreadsheet file")
    suffix = path.suffix.lower()
    if suffix in _UNSUPPORTED:
        raise ImportFailed(f"{shown}: {_UNSUPPORTED[suffix]}")
    if suffix not in SPREADSHEET_SUFFIXES:
        raise ImportFailed(
            f"cannot import '{shown}': give a spreadsheet (.csv, .tsv, .xlsx), "
            "a dbt semantic-layer YAML file or folder (.yml/.yaml), or a KPI Wizard workspace"
        )
    if path.stat().st_size > MAX_BYTES:
        raise ImportFailed(
            f"{shown} is larger than {MAX_BYTES // 1024 // 1024} MB: that is data, not a KPI list; "
            "load data on the Data page and import only the list of KPIs"
        )
    return suffix


def _decode(raw: bytes) -> str:
    # Excel on Windows saves "CSV" in the ANSI code page; UTF-8 is tried first because it fails loudly.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _sniff_delimiter(sample: list[str]) -> str:
    """The delimiter that splits most of the first lines into the same number of cells: ';' in German exports.

    Consistency counts before width: in ``Kennzahl;Schwellen`` over ``Quote;4,5 / 6,0`` the comma
    splits one line into three, but only the semicolon splits every line alike.
    """

    def score(delimiter: str) -> tuple[int, int, bool]:
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delimiter) if len(r) > 1]
        except csv.Error:  # a cell past the field limit: reported, with its row, when the file is read
            return 0, 0, delimiter == ","
        if not widths:
            return 0, 0, delimiter == ","
        common = Counter(widths).most_common(1)[0][0]
        return widths.count(common), common, delimiter == ","

    return max(_CSV_DELIMITERS, key=score)


def _csv_rows(path: Path, suffix: str, shown: str) -> tuple[list[list[str]], str]:
    text = _decode(path.read_bytes())
    if "\x00" in text:
        raise ImportFailed(f"{shown} is not a text file; export the sheet as CSV or XLSX")
    if suffix == ".tsv":
        delimiter = "\t"
    else:
        delimiter = _sniff_delimiter(text.splitlines()[:20])
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append([cell_text(cell) for cell in row])
        return rows, delimiter
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise ImportFailed(
                f"{shown}: row {len(rows) + 1} has a cell longer than {MAX_FIELD_BYTES // 1024} KB, the longest a "
                f'CSV cell may be; shorten the text in row {len(rows) + 1} (or check for a quote " that is never '
                "closed) and import it again"
            ) from None
        raise ImportFailed(f"{shown} is not a readable CSV file: {error}") from None


def _xml_refused(shown: str, error: Exception) -> ImportFailed | None:
    """The message for a workbook whose XML declares entities (an "entity bomb" looks so), else None."""
    text = str(error).lower()
    if "entit" in text or "amplification" in text:
        return ImportFailed(
            f"{shown} uses XML entities, which KPI Wizard does not read (a workbook Excel saves has none): "
            "open it in Excel and save it again as 'Excel Workbook (.xlsx)', then import that"
        )
    return None


def _open_workbook(path: Path, shown: str) -> Any:
    import zipfile
    from xml.etree.ElementTree import ParseError

    import openpyxl  # lazily: the CLI should not pay for it unless a workbook is read
    from openpyxl.utils.exceptions import InvalidFileException

    check_xlsx_archive(path, WORKBOOK_LIMITS, ImportFailed, name=shown)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, ParseError) as error:
        if (refused := _xml_refused(shown, error)) is not None:
            raise refused from None
        raise ImportFailed(f"{shown} is not a readable XLSX workbook ({error}); save it again from Excel") from None


def _sheet_rows(worksheet: Any) -> tuple[list[list[str]], set[tuple[int, int]], set[tuple[int, int]]]:
    """The cells as text, the (row number, column) of those stored as numbers, and of those formatted as percent."""
    if worksheet.max_row is None:  # a writer that left out the sheet's dimension
        worksheet.reset_dimensions()
    rows = []
    typed: set[tuple[int, int]] = set()
    percent: set[tuple[int, int]] = set()
    for number, cells in enumerate(worksheet.iter_rows(), start=1):
        values = [cell.value for cell in cells[:MAX_COLUMNS]]
        rows.append([cell_text(value) for value in values])
        for index, (cell, value) in enumerate(zip(cells, values, strict=False)):
            if isinstance(value, int | float) and not isinstance(value, bool):
                typed.add((number, index))
                if "%" in (getattr(cell, "number_format", None) or ""):  # 0.95 shown as 95 %
                    percent.add((number, index))
        if len(rows) > MAX_ROWS + _HEADER_SEARCH_ROWS:
            break
    return rows, typed, percent


def _read_sheet_rows(worksheet: Any, shown: str) -> tuple[list[list[str]], set[tuple[int, int]], set[tuple[int, int]]]:
    from xml.etree.ElementTree import ParseError

    try:
        return _sheet_rows(worksheet)
    # openpyxl parses a read-only sheet's XML as it goes; IndexError: a cell names a shared string that is not there
    except (ParseError, ValueError, IndexError) as error:
        if (refused := _xml_refused(shown, error)) is not None:
            raise refused from None
        raise ImportFailed(f"{shown} is not a readable XLSX workbook ({error}); save it again from Excel") from None


def is_prose(row: list[str], words: int = 6) -> bool:
    """A line of text above a table, not a header: one or two cells, one a phrase ("DRAFT - from the offsite, …").

    ``words`` is how long a phrase is: 6 to pass over a line that has field words in it, fewer when
    no row of the sheet names a field and the first row of labels is wanted.
    """
    cells = [c for c in row if c.strip()]
    return len(cells) <= 2 and any(len(c.split()) >= words for c in cells)


def _header_index(rows: list[list[str]], is_header: Callable[[list[str]], bool]) -> int | None:
    """The header row: the first that ``is_header`` accepts, else the first with two or more cells, not prose."""
    filled = [i for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]) if any(row)]
    if not filled:
        return None
    for index in filled[:10]:
        if is_header(rows[index]):
            return index
    # A title block ("KPI register 2027", "DRAFT - from the offsite, ask Jen") is text; headers are several labels.
    several = [i for i in filled if sum(bool(c) for c in rows[i]) >= 2]
    return next((i for i in several if not is_prose(rows[i], words=4)), several[0] if several else filled[0])


def _chosen_header(rows: list[list[str]], where: str, header_row: int) -> int:
    """The index of the header row the user chose (1-based ``header_row``); raises when that row cannot be it."""
    index = header_row - 1
    if index < 0 or index >= len(rows):
        raise ImportFailed(
            f"{where} has no row {header_row} (it has {len(rows)}); choose the row that holds the column headers"
        )
    if not any(c.strip() for c in rows[index]):
        raise ImportFailed(f"row {header_row} of {where} is blank; choose the row that holds the column headers")
    return index


def _table(
    rows: list[list[str]],
    where: str,
    sheet: str | None,
    is_header: Callable[[list[str]], bool],
    first_sheet: bool = True,
    chosen: int | None = None,
    **extra: Any,
) -> Table:
    rows, cleaned = _clean(rows)
    header_at = _header_index(rows, is_header) if chosen is None else _chosen_header(rows, where, chosen)
    if header_at is None:
        raise ImportFailed(f"{where} is empty: put the KPIs one per row below a header row")
    header_row, subheaders, first_at, body_at = two_row_header(rows, header_at, is_header)
    if chosen is not None and first_at < header_at:  # the row chosen is the header's top: nothing above joins it
        header_row, subheaders, first_at, body_at = rows[header_at], [], header_at, header_at + 1
    header_at = first_at
    title = tuple(" ".join(c for c in row if c) for row in rows[:header_at] if any(row))
    body = [(number, row) for number, row in enumerate(rows[body_at:], start=body_at + 1) if any(row)]
    if len(body) > MAX_ROWS:
        raise ImportFailed(
            f"{where} has more than {MAX_ROWS:,} rows: that is data, not a KPI list; "
            "load data on the Data page and import only the list of KPIs"
        )
    if len(body) > MAX_KPIS + _SPARE_ROWS:
        raise ImportFailed(too_many_kpis(where, len(body), "rows"))
    filled = max((i + 1 for i, c in enumerate(header_row) if c), default=0)
    width = max([filled] + [max((i + 1 for i, c in enumerate(r) if c), default=0) for _, r in body])
    if width > MAX_COLUMNS:
        raise ImportFailed(
            f"{where} has {width:,} columns, more than the {MAX_COLUMNS} a KPI register may have: "
            "keep the columns that describe the KPIs (name, owner, target, …), delete the others and import it again"
        )
    width = max(width, min(len(header_row), MAX_COLUMNS))
    raw_headers = header_row[:width] + [""] * (width - len(header_row))
    headers: list[str] = []
    seen: set[str] = set()
    counters: dict[str, int] = {}  # header → the next number to try for its copies
    for index, raw in enumerate(raw_headers):
        header = " ".join(raw.split()) or f"Column {_column_letter(index)}"
        base = header
        number = counters.get(base, 2)
        while header in seen:  # two "Target" columns stay apart: "Target (2)"
            header = f"{base} ({number})"
            number += 1
        counters[base] = number
        seen.add(header)
        headers.append(header)
    padded = [(number, (row + [""] * width)[:width]) for number, row in body]
    subs = tuple((subheaders + [""] * width)[:width]) if subheaders else ()
    return Table(
        headers,
        padded,
        where,
        sheet,
        first_sheet,
        title=title,
        subheaders=subs,
        header_row=header_at + 1,
        cleaned=cleaned,
        **extra,
    )


def _never(_: list[str]) -> bool:
    return False


def load_table(
    path: Path,
    *,
    sheet: str | None = None,
    is_header: Callable[[list[str]], bool] = _never,
    pick: bool = False,
    rank: Callable[[list[str]], int] | None = None,
    header_row: int | None = None,
    shown_as: str | None = None,
) -> Table:
    """Read a spreadsheet into a :class:`Table`; raises :class:`ImportFailed` saying what to do.

    With ``pick`` and no ``sheet``, a workbook's first sheet whose header row ``is_header``
    accepts is read (a cover sheet before the KPI list is common); else its first sheet. With
    ``rank`` too, of the sheets accepted the one whose headers rank highest is read (a change
    log with a "KPI" column before the register), and the others are named in ``Table.others``.

    ``header_row`` (the 1-based row number in the sheet) says which row holds the column headers,
    instead of finding it; with ``pick`` and no ``sheet``, sheets without such a row are passed over.
    ``shown_as`` is the file's name in messages (the visitor's name for an uploaded file), else its own.
    """
    shown = shown_as or path.name
    suffix = _check_file(path, shown)
    if suffix not in (".xlsx", ".xlsm"):
        if sheet:
            raise ImportFailed(f"{shown} is a {suffix[1:].upper()} file and has no sheets; leave out the sheet")
        rows, delimiter = _csv_rows(path, suffix, shown)
        return _table(rows, shown, None, is_header, chosen=header_row, delimiter=delimiter)
    workbook = _open_workbook(path, shown)
    try:
        names = list(workbook.sheetnames)
        if sheet is not None:
            if sheet not in names:
                raise ImportFailed(f"{shown} has no sheet '{sheet}'; its sheets: {', '.join(repr(n) for n in names)}")
            chosen = [sheet]
        else:
            chosen = names if pick else names[:1]
        first: Table | None = None
        accepted: list[Table] = []
        for name in chosen:
            where = f"{shown}, sheet '{name}'"
            rows, typed, percent = _read_sheet_rows(workbook[name], shown)
            if not any(any(row) for row in rows):
                continue
            try:
                table = _table(
                    rows,
                    where,
                    name,
                    is_header,
                    name == names[0],
                    header_row,
                    typed=frozenset(typed),
                    percent=frozenset(percent),
                )
            except ImportFailed:
                if sheet is not None or header_row is None:
                    raise
                continue  # a sheet too short for the header row chosen: not the one meant
            table = replace(table, sheets=tuple(names))
            if first is None:
                first = table
            if not pick or (is_header(table.headers) and rank is None):
                return table
            if is_header(table.headers):
                accepted.append(table)
        if accepted and rank is not None:
            best = max(accepted, key=lambda t: rank(t.headers))  # max keeps the first of equals
            return replace(best, others=tuple(t.sheet or "" for t in accepted if t is not best))
        if first is None:
            empty = f"sheet '{sheet}' of {shown}" if sheet else shown
            raise ImportFailed(f"{empty} is empty: put the KPIs one per row below a header row")
        return first
    finally:
        workbook.close()


def iter_column(table: Table, index: int) -> Iterator[str]:
    """The non-blank cells of one column."""
    for _, row in table.rows:
        if row[index].strip():
            yield row[index]


def column_names(headers: Sequence[str]) -> str:
    """Headers quoted and joined, for messages."""
    return ", ".join(f"'{h}'" for h in headers)
