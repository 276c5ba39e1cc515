"""Which column of a spreadsheet's header row holds which KPI field.

Headers are matched to fields by their words (English, with some German, French and Spanish;
the words are in ``header_synonyms.yaml``), then checked against the column's contents where a
header is ambiguous ("Unit" of measure or organisational unit? "Goal" as a statement or a
number?). This sits between :mod:`~kpi_model.importers.tables` (file → grid of text) and
:mod:`~kpi_model.importers.spreadsheet` (rows → workspace).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from kpi_model import documents
from kpi_model.errors import KpiWizardError
from kpi_model.formula import FormulaError, check_aggregate
from kpi_model.importers.common import ImportFailed, norm, too_many_kpis
from kpi_model.importers.number_format import AmbiguousNumber
from kpi_model.importers.tables import Table, column_names, is_prose, iter_column, load_table
from kpi_model.importers.units import looks_like_unit_of_measure
from kpi_model.importers.values import (
    is_blank,
    read_amount,
    read_category,
    read_kind,
)
from kpi_model.models import MAX_KPIS
from kpi_model.validation import did_you_mean

FIELDS = (
    "name",
    "id",
    "description",
    "owner",
    "unit",
    "goal",
    "category",
    "kind",
    "formula",
    "source",
    "filter",
    "time_column",
    "unit_of_measure",
    "direction",
    "cadence",
    "baseline",
    "target",
    "due",
    "warning",
    "critical",
    "thresholds",
    "action",
    "review_date",
)

SYNONYMS_PACKAGE = "kpi_model.importers"
SYNONYMS_FILE = "header_synonyms.yaml"


class SynonymTableError(KpiWizardError):
    """The packaged header synonym table (header_synonyms.yaml) is broken; the message says where."""


def parse_synonyms(text: str, *, filename: str = SYNONYMS_FILE) -> dict[str, tuple[str, ...]]:
    """Header words per field, strongest first, from the YAML text of a synonym table."""
    data = documents.load_data_file(
        text, documents.Limits(what="a header synonym table"), filename=filename, error=SynonymTableError
    )
    if not isinstance(data, dict):
        raise SynonymTableError(f"{filename}: expected a mapping of field: [header words]")
    unknown = [str(k) for k in data if k not in FIELDS]
    missing = [f for f in FIELDS if f not in data]
    if unknown or missing:
        raise SynonymTableError(f"{filename}: unknown fields {unknown}, missing fields {missing}")
    for field_name, words in data.items():
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise SynonymTableError(f"{filename}: '{field_name}' must be a list of header words")
    return {f: tuple(words) for f, words in data.items()}


@cache
def load_synonyms() -> dict[str, tuple[str, ...]]:
    """The packaged table ``kpi_model/importers/header_synonyms.yaml``, read once."""
    text = resources.files(SYNONYMS_PACKAGE).joinpath(SYNONYMS_FILE).read_text(encoding="utf-8")
    return parse_synonyms(text)


@cache
def _normalised() -> dict[str, tuple[str, ...]]:
    """The synonyms normalised with `norm`, once: guess_mapping runs on every candidate header row of a sheet."""
    return {f: tuple(norm(s) for s in words) for f, words in load_synonyms().items()}


# Words too vague to match inside a longer header ("Current owner" is not a baseline);
# they match alone or with filler such as a year ("Actual 2025").
_WEAK = frozenset(
    {
        "kpi",
        "metric",
        "indicator",
        "measure",
        "name",
        "title",
        "nom",
        "id",
        "code",
        "ref",
        "goal",
        "ziel",
        "unit",
        "function",
        "area",
        "service",
        "type",
        "kind",
        "review",
        "system",
        "current",
        "actual",
        "ist",
        "soll",
        "meta",
        "where",
        "scope",
        "condition",
        "format",
        "red",
        "yellow",
        "amber",
        "green",
        "alert",
        "response",
        "sql",
        "expression",
        "due",
        "by",
        "threshold",
        "thresholds",
        "rag",
        "ampel",
        "schwellenwerte",
        "schwellwerte",
        "rot",
        "gelb",
        "grun",
    }
)
# The group word of a two-row header is filler too: "Thresholds Red" is red, "Schwellenwerte Gelb" amber.
_FILLER = re.compile(
    r"^(\d+|fy\d*|q[1-4]|h[12]|ytd|value|values|level|kpi|of|the|in|percent|eur|usd|s|wert|werte"
    r"|thresholds?|limits?|rag|ampel|schwellen|schwellenwerte?|schwellwerte?|grenzwerte?)$"
)
# In a header about a date ("Review date"), only date fields may match a word inside it.
_DATE_WORDS = frozenset({"date", "datum", "fecha", "when", "day"})
_DATE_FIELDS = frozenset({"due", "time_column", "review_date"})

_SAMPLE = 200  # cells looked at to judge what a column holds


def _match_score(header: str, synonym: str, rank: int, field_name: str) -> float:
    """How well a normalised header names a field through one synonym; 0 when it does not."""
    if header == synonym:
        return 1000 - rank
    header_words, words = header.split(), synonym.split()
    if not words or len(words) >= len(header_words):
        return 0
    if synonym in _WEAK:
        rest = [w for w in header_words if w not in words]
        return 400 - rank if all(_FILLER.match(w) for w in rest) and len(rest) < len(header_words) else 0
    if field_name not in _DATE_FIELDS and _DATE_WORDS & set(header_words):
        return 0
    for start in range(len(header_words) - len(words) + 1):
        if header_words[start : start + len(words)] == words:
            return 500 + 50 * len(words) + (20 if start == 0 else 0) - rank
    return 0


def guess_mapping(headers: Sequence[str], rows: Sequence[Sequence[str]] | None = None) -> dict[str, str]:
    """Which header holds which field: ``{'name': 'KPI', 'owner': 'Responsible', …}``.

    Headers are compared ignoring case, spaces, punctuation and accents; each header
    is used for at most one field, the best-matching field first. With ``rows`` (as
    :func:`read_table` gives them) the guesses are also checked against the cells, as the
    import does: a "Unit" column of %, EUR … is a unit of measure, a "Goal" of numbers a target.
    """
    mapping = _guess_headers(headers)
    if rows is None:
        return mapping
    width = len(headers)
    table = Table(list(headers), [(n, ([*r] + [""] * width)[:width]) for n, r in enumerate(rows, start=2)], "table")
    return _refine(table, mapping, set(), [])[0]


def _guess_headers(headers: Sequence[str], subheaders: Sequence[str] = ()) -> dict[str, str]:
    """The best field per header; ``subheaders`` are the lower labels of a two-row header.

    "Thresholds Red" names no field as a whole, but its lower label "Red" does (critical):
    a lower label counts when the joined header does not, just below an equal match.
    """
    synonyms = _normalised()
    scored: list[tuple[float, int, int, str, str]] = []
    for column, header in enumerate(headers):
        key = norm(header)
        if not key:
            continue
        lower = norm(subheaders[column]) if column < len(subheaders) else ""
        for order, field_name in enumerate(FIELDS):
            words = list(enumerate(synonyms[field_name]))
            best = max((_match_score(key, s, rank, field_name) for rank, s in words), default=0)
            if not best and lower:
                best = max((_match_score(lower, s, rank, field_name) - 1 for rank, s in words), default=0)
            if best > 0:
                scored.append((best, -order, -column, field_name, header))
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for _score, _order, _column, field_name, header in sorted(scored, reverse=True):
        if field_name not in mapping and header not in used:
            mapping[field_name] = header
            used.add(header)
    return {f: mapping[f] for f in FIELDS if f in mapping}


def _resolve_header(wanted: str, headers: Sequence[str]) -> str | None:
    if wanted in headers:
        return wanted
    key = norm(wanted)
    return next((h for h in headers if norm(h) == key), None)


def _apply_mapping(table: Table, mapping: Mapping[str, str | None] | None) -> tuple[dict[str, str], set[str]]:
    """Guesses overridden by the caller's mapping; returns the mapping and the fields the caller fixed."""
    guessed = _guess_headers(table.headers, table.subheaders)
    if not mapping:
        return guessed, set()
    unknown = [f for f in mapping if f not in FIELDS]
    if unknown:
        raise ImportFailed(
            f"the mapping names unknown field '{unknown[0]}'{did_you_mean(unknown[0], FIELDS)}; "
            f"fields: {', '.join(FIELDS)}"
        )
    result = dict(guessed)
    for field_name, wanted in mapping.items():
        if not wanted:  # an empty header means: do not import this field
            result.pop(field_name, None)
            continue
        header = _resolve_header(str(wanted), table.headers)
        if header is None:
            raise ImportFailed(
                f"the mapping puts '{field_name}' in column '{wanted}', but {table.where} has no such column"
                f"{did_you_mean(str(wanted), table.headers) or '.'} Its columns: {column_names(table.headers)}"
            )
        result = {f: h for f, h in result.items() if h != header}
        result[field_name] = header
    return {f: result[f] for f in FIELDS if f in result}, set(mapping)


def _mostly(cells: Iterable[str], test: Callable[[str], bool]) -> bool:
    """Whether at least half of a column's filled cells (the first few hundred) pass ``test``."""
    values = [c for c in cells if not is_blank(c)][:_SAMPLE]
    hits = sum(1 for c in values if test(c))
    return bool(values) and hits * 2 >= len(values)


def _is_number(text: str) -> bool:
    try:
        read_amount(text)
    except AmbiguousNumber:  # '1.850' is a number; only which one is open
        return True
    except ValueError:
        return False
    return True


_RANKS = frozenset(
    {"high", "medium", "med", "low", "h", "m", "l", "critical", "p1", "p2", "p3", "p4", "1", "2", "3", "4"}
)


def _is_rank(text: str) -> bool:
    return norm(text) in _RANKS


def _is_aggregate(text: str) -> bool:
    try:
        check_aggregate(text)
    except FormulaError:
        return False
    return True


def _is_word(reader: Callable[[str], object]) -> Callable[[str], bool]:
    """A test that a cell is a word ``reader`` understands."""

    def test(text: str) -> bool:
        try:
            reader(text)
        except ValueError:
            return False
        return True

    return test


def _refine(
    table: Table, mapping: dict[str, str], fixed: set[str], notes: list[str]
) -> tuple[dict[str, str], set[str]]:
    """Correct guesses whose column contents say otherwise; each move is reported.

    Returns the mapping and the headers dropped from it (already explained by a note).
    """
    dropped: set[str] = set()
    index = {h: i for i, h in enumerate(table.headers)}
    # (guessed field, better field, test of its cells, why, drop the guess when the better field is taken)
    moves = (
        ("unit", "unit_of_measure", looks_like_unit_of_measure, "holds units of measure (%, EUR, days …)", True),
        ("goal", "target", _is_number, "holds numbers", True),
        # "Priority" is a corporate priority in one register and High/Medium/Low in the next.
        ("goal", "goal", _is_rank, "holds ranks (high, medium, low), not goal statements", True),
        ("description", "formula", _is_aggregate, "holds SQL formulas", False),
        ("kind", "category", _is_word(read_category), "holds categories (financial, customer …)", False),
        ("category", "kind", _is_word(read_kind), "holds leading/lagging", False),
    )
    for guessed, better, test, why, useless in moves:
        header = mapping.get(guessed)
        if header is None or guessed in fixed or not _mostly(iter_column(table, index[header]), test):
            continue
        if better in mapping or better in fixed:
            if useless:  # "%" is no organisational unit and 0.42 no goal statement, whatever else the sheet has
                del mapping[guessed]
                dropped.add(header)
                notes.append(f"Column '{header}' {why}, so it was not read as {guessed}.")
            continue
        mapping = {f: h for f, h in mapping.items() if f != guessed} | {better: header}
        notes.append(f"Column '{header}' {why}, so it was read as {better} rather than {guessed}.")
        # The field given up may be named by another column ("Unit" was %, "Department" is the unit).
        free = [(h, (table.subheaders or ("",) * len(table.headers))[i]) for i, h in enumerate(table.headers)]
        free = [(h, sub) for h, sub in free if h not in mapping.values()]
        again = _guess_headers([h for h, _ in free], [sub for _, sub in free])
        mapping |= {f: h for f, h in again.items() if f not in mapping and f not in fixed}
    return {f: mapping[f] for f in FIELDS if f in mapping}, dropped


@dataclass(frozen=True)
class SheetRead:
    """A spreadsheet as the importer reads it: its sheets, the one read, and that sheet's table."""

    sheets: list[str]  # a workbook's sheet names; empty for CSV/TSV
    sheet: str | None  # the sheet read (the importer's pick when none was asked for)
    headers: list[str]
    rows: list[list[str]]
    header_row: int = 1  # the sheet row (1-based) of the header used; its upper row when the header has two


def is_header_row(cells: list[str]) -> bool:
    """Whether a row is a header: it names a KPI column, or maps several fields (3 or more); never a prose line."""
    if is_prose(cells):
        return False
    guessed = guess_mapping(cells)
    return "name" in guessed or len(guessed) >= 3


def fields_named(headers: Sequence[str]) -> int:
    """How many fields a header row names: of several sheets with KPI names, the register names most."""
    return len(guess_mapping(headers))


def read_sheet(
    path: Path, *, sheet: str | None = None, header_row: int | None = None, shown_as: str | None = None
) -> SheetRead:
    """The sheet of a CSV, TSV or XLSX file that :func:`~kpi_model.importers.spreadsheet.import_spreadsheet` reads.

    Without ``sheet``, of a workbook's sheets with a column of KPI names the one with the most
    KPI columns is read (a change log before the register is passed over), else its first sheet.
    The header row is found (:func:`is_header_row`), or is ``header_row`` (1-based sheet row) when given.
    ``shown_as`` is the file's name in messages (an upload's name as the visitor knows it).
    """
    table = load_table(
        Path(path),
        sheet=sheet,
        is_header=is_header_row,
        pick=True,
        rank=fields_named,
        header_row=header_row,
        shown_as=shown_as,
    )
    name_column = guess_mapping(table.headers).get("name")
    if name_column is not None:
        index = table.headers.index(name_column)
        named = sum(1 for _, row in table.rows if not is_blank(row[index]))
        if named > MAX_KPIS:  # refused here, before the mapping step, as the import would refuse it
            raise ImportFailed(too_many_kpis(table.where, named, "rows with a KPI name"))
    rows = [row for _, row in table.rows]
    return SheetRead(list(table.sheets), table.sheet, table.headers, rows, table.header_row)


def read_table(
    path: Path, *, sheet: str | None = None, header_row: int | None = None
) -> tuple[list[str], list[list[str]]]:
    """Headers and the non-blank rows (as text) of the sheet :func:`read_sheet` reads."""
    read = read_sheet(path, sheet=sheet, header_row=header_row)
    return read.headers, read.rows
