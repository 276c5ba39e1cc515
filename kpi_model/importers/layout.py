"""Where the parts of a register sheet are: a two-row header above the KPIs, total and note lines below.

People lay registers out for reading: a merged "Thresholds" over "Red | Amber", a "Total" line,
"Notes: …" under the list. :mod:`~kpi_model.importers.tables` uses these to find the header and
:mod:`~kpi_model.importers.spreadsheet` to skip lines that are not KPIs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kpi_model.importers.common import norm
from kpi_model.importers.values import is_blank

# A sub-header is a short label ("Red", "By", "FY2027"), not a number or a sentence.
_LABEL = re.compile(r"^(?:[^\W\d_][^\n]{0,29}|fy ?\d{2,4})$", re.I)


def _is_label(text: str) -> bool:
    return bool(_LABEL.match(text.strip())) and len(text.split()) <= 4


def _spans(top: list[str], bottom: list[str]) -> list[tuple[int, int]]:
    """Group cells of ``top`` written once over several columns (a merged cell, or a cell then blanks).

    A group reaches over the following columns whose top cell is blank and whose bottom cell is not;
    in a CSV a group cannot be told from a header written in the lower row just after it.
    """
    spans = []
    for start, text in enumerate(top):
        if not text.strip() or start >= len(bottom) or not bottom[start].strip():
            continue  # a group names its first column too ("Thresholds" over "Red"); "KPI" over nothing is no group
        end = start + 1
        while end < len(bottom) and not (top[end] if end < len(top) else "").strip() and bottom[end].strip():
            end += 1
        if end - start > 1:
            spans.append((start, end))
    return spans


def _joined(top: list[str], bottom: list[str], bottom_is_header: bool) -> tuple[list[str], list[str]] | None:
    """Headers of two rows joined ("Thresholds Red"), and the lower labels; None if they are not a two-row header.

    Unless the lower row is the header row found, every label of it must sit under a group of
    the upper row, so that a KPI row (a name under "KPI", numbers under "Target") is never taken
    for a sub-header.
    """
    width = max(len(top), len(bottom))
    top, bottom = top + [""] * (width - len(top)), bottom + [""] * (width - len(bottom))
    filled = [k for k, c in enumerate(bottom) if c.strip()]
    spans = _spans(top, bottom)
    grouped = {k: start for start, end in spans for k in range(start, end)}
    if not filled or not grouped or not all(_is_label(bottom[k]) for k in filled if k in grouped):
        return None
    # A label under a blank cell outside any group is a header written in the lower row ("#", "Comment").
    loose = {k for k in filled if k not in grouped and not top[k].strip()}
    if not bottom_is_header and not all(k in grouped or (k in loose and _is_label(bottom[k])) for k in filled):
        return None
    sole = [b if k in loose else t for k, (t, b) in enumerate(zip(top, bottom, strict=True))]
    sole = bottom if bottom_is_header else sole  # the header of a column outside the groups
    joined = [f"{top[grouped[k]].strip()} {bottom[k].strip()}" if k in grouped else sole[k] for k in range(width)]
    return joined, [bottom[k].strip() if k in grouped else "" for k in range(width)]


def two_row_header(
    rows: list[list[str]], header_at: int, is_header: Callable[[list[str]], bool] = lambda _: False
) -> tuple[list[str], list[str], int, int]:
    """The header cells, the sub-header labels ([] for one row), the first header row and the first body row.

    A merged "Thresholds" over "Red | Amber" is read as "Thresholds Red", "Thresholds Amber",
    whether the group row is the one found as header (the sub-header row below it) or the row
    above it (a title row, one cell in the first column, is not a group row).
    """
    below = rows[header_at + 1] if header_at + 1 < len(rows) else []
    found = _joined(rows[header_at], below, bottom_is_header=False)
    # Joined, the header must still name the KPI column: "KPI Revenue" would mean a KPI row was taken.
    if found is not None and (is_header(found[0]) or not is_header(rows[header_at])):
        return found[0], found[1], header_at, header_at + 2
    above = rows[header_at - 1] if header_at > 0 else []
    cells = [i for i, c in enumerate(above) if c.strip()]
    if cells and cells != [0] and all(_is_label(above[i]) for i in cells):
        found = _joined(above, rows[header_at], bottom_is_header=True)
        if found is not None:
            return found[0], found[1], header_at - 1, header_at + 1
    return rows[header_at], [], header_at, header_at + 1


_TOTALS = frozenset({"total", "totals", "grand total", "sum", "summe", "gesamt", "gesamtsumme", "insgesamt"})
_NOTE_START = re.compile(
    r"^\s*(?:[*†¹]|(?:notes?|hinweise?|anmerkung(?:en)?|source|quelle|legend|legende|stand|as of)\b)", re.I
)


def _is_note(cells: list[str]) -> bool:
    """A line of text below a register: "Notes: figures in EUR", "* preliminary", or one long sentence."""
    filled = [c.strip() for c in cells if not is_blank(c)]
    if len(filled) != 1:
        return False
    text = filled[0]
    # A sentence ("Targets were agreed in March.") rather than a long KPI name, which has no full stop.
    return bool(_NOTE_START.match(text)) or (len(text.split()) >= 6 and text.endswith("."))


_COUNTED = frozenset({"kpis", "kpi", "kennzahlen", "indicators", "metrics", "items", "rows", "eintrage", "zeilen"})


def is_total(text: str) -> bool:
    """Whether a cell labels a total line: "Total", "Summe:", "Total: 27 KPIs", "Gesamt (28)"; not "Total revenue"."""
    words = norm(text).split()
    if not words or words[0] not in _TOTALS:
        return False
    rest = words[1:]
    return not rest or all(w.isdigit() or w in _COUNTED for w in rest) or text.split()[0].endswith(":")


def footer_rows(body: list[tuple[int, list[str]]], name: Callable[[list[str]], str | None]) -> dict[int, str]:
    """Rows that are a register's total line or notes below the list, not KPIs: row number → why.

    ``body`` is the numbered rows below the header; ``name`` gives a row's KPI name (None when it has none).
    """
    skipped: dict[int, str] = {}
    rows = [(n, cells) for n, cells in body if name(cells) is not None]
    for number, cells in rows:
        if is_total(name(cells) or ""):
            skipped[number] = "is a total line, not a KPI"
    # Below the last blank row: lines of one cell in words ("Notes: …", "* preliminary") are notes.
    gaps = [i for i in range(1, len(rows)) if rows[i][0] > rows[i - 1][0] + 1]
    if gaps:
        tail = rows[gaps[-1] :]
        if all(_is_note(cells) for _, cells in tail):
            skipped |= {n: "is a note below the list, not a KPI" for n, _ in tail}
    return skipped


_NOTE_LABEL = re.compile(
    r"^\s*(?:notes?|nb|n\.\s?b\.|hinweise?|anmerkung(?:en)?|remarks?|comments?|todo|to do)\s*:", re.I
)


def is_note_line(name: str, others: list[str]) -> bool:
    """Whether a row inside the list is a note, not a KPI: its name cell reads "NOTE: …", "Hinweis: …",
    "TODO: …", or is a sentence ending in ':' ("Ideas not agreed yet:"), and every other cell is blank.
    """
    if any(not is_blank(c) for c in others):
        return False
    text = name.strip()
    return bool(_NOTE_LABEL.match(text)) or (text.endswith(":") and len(text.split()) >= 3)
