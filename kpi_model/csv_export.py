"""CSV that a spreadsheet opens as data: no cell of it runs as a formula (CSV / formula injection).

Every CSV the app or the CLI hands to a person goes through here: the Preview page's values, the
audit findings and ``kpi-wizard compute``. Workspace text (KPI names, findings quoting them,
breakdown values from uploaded data) can start with ``=``; Excel, LibreOffice and Google Sheets
would run ``=HYPERLINK(…)`` or ``=cmd|' /C calc'!A0`` on opening the file.

The rule, after OWASP's "CSV Injection" guidance: a **text** cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return (also after leading spaces, which some importers trim)
gets a single quote in front, so the spreadsheet shows it as text. Numbers stay numbers: a
``-5`` stored as a number is written as ``-5``.

A text cell that *is* a plain decimal number (``-5``, ``+1.5``, ``-2e3``: a sign, digits, one
point, an exponent, nothing else) is left alone too. A spreadsheet reads it as that number, which
can compute nothing, and a category column of numbers ("-5" as a temperature band, an account
delta) would otherwise show a stray quote in every negative row. Anything beyond such a number
(``-5+3``, ``-1)*cmd``, ``+A1``) is neutralised.

Files that only DuckDB reads back (``sources``' Excel-to-CSV staging) must keep their data exact
and do not use this module.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

# First characters a spreadsheet reads as the start of a formula (OWASP: = + - @ TAB CR).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NOT_TEXT_KINDS = set("biufcmM")  # numpy dtype kinds: bool, integers, floats, complex, timedelta, datetime
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet cannot run: text that starts a formula gets a leading ``'``.

    Non-text values (numbers, dates, None, booleans) are returned unchanged.
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_STARTS) or value.lstrip(" \u00a0").startswith(FORMULA_STARTS):
        if _PLAIN_NUMBER.fullmatch(value.strip()):
            return value
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Each cell of ``row`` through :func:`safe_cell`."""
    return [safe_cell(cell) for cell in row]


class SafeWriter:
    """``csv.writer`` whose every row goes through :func:`safe_row` (header included)."""

    def __init__(self, stream: Any, **options: Any) -> None:
        options.setdefault("lineterminator", "\n")
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row, neutralised."""
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write several rows, neutralised."""
        for row in rows:
            self.writerow(row)


def writer(stream: Any, **options: Any) -> SafeWriter:
    """A CSV writer on ``stream`` (``lineterminator`` defaults to ``\\n``) that neutralises formulas."""
    return SafeWriter(stream, **options)


def rows_to_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """Header and rows as CSV text, every cell neutralised."""
    out = io.StringIO()
    safe = writer(out)
    safe.writerow(header)
    safe.writerows(rows)
    return out.getvalue()


def frame_to_csv(frame: Any) -> str:
    """A pandas DataFrame as CSV text (no index), its text cells and column names neutralised.

    Numeric, boolean and date columns are written as pandas writes them; only text (object/string)
    columns change. (Duck-typed on ``dtype.kind``, so the library does not import pandas.)
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype.kind not in _NOT_TEXT_KINDS:
            safe[column] = safe[column].map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    return str(safe.to_csv(index=False, lineterminator="\n"))
