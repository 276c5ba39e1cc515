"""Import a KPI list kept in a spreadsheet: one KPI per row, fields in columns.

Columns are matched to fields by their headers (English, with some German, French and
Spanish), then checked against their contents where a header is ambiguous ("Unit" of
measure or organisational unit? "Goal" as a statement or a number?). Values are read
the way people write them (``30%``, ``Monthly``, ``Higher is better``); a value that
cannot be read is kept in the KPI's description and reported in a note, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpi_model.editing import kpi_id_from, slugify, unique_id
from kpi_model.formula import FormulaError, check_aggregate, check_derived, check_filter
from kpi_model.importers.common import ImportFailed, ImportResult, finish, norm
from kpi_model.importers.tables import Table, column_names, iter_column, load_table
from kpi_model.importers.values import (
    Amount,
    has_currency,
    is_blank,
    looks_like_unit_of_measure,
    read_amount,
    read_cadence,
    read_category,
    read_date,
    read_direction,
    read_kind,
    read_unit_of_measure,
)
from kpi_model.models import KPI_ID_PATTERN, Direction, UnitOfMeasure
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
    "action",
)

# Header words per field, strongest first. Normalised with `norm` before use.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "kpi name",
        "metric name",
        "indicator name",
        "measure name",
        "kpi title",
        "key performance indicator",
        "kpi",
        "metric",
        "indicator",
        "measure",
        "name",
        "title",
        "kennzahl",
        "bezeichnung",
        "indicateur",
        "nom de l indicateur",
        "nom",
        "indicador",
        "metrica",
        "nombre",
    ),
    "id": ("kpi id", "metric id", "indicator id", "kpi code", "kpi ref", "kpi no", "kpi nr", "id", "code", "ref"),
    "description": (
        "description",
        "definition",
        "kpi definition",
        "meaning",
        "what it measures",
        "explanation",
        "beschreibung",
        "definicion",
        "descripcion",
    ),
    "owner": (
        "kpi owner",
        "owner",
        "accountable",
        "responsible",
        "owned by",
        "person responsible",
        "responsible person",
        "verantwortlich",
        "verantwortlicher",
        "verantwortung",
        "responsable",
        "proprietaire",
        "dueno",
    ),
    "unit": (
        "business unit",
        "unit",
        "department",
        "dept",
        "team",
        "division",
        "org unit",
        "organisational unit",
        "organizational unit",
        "function",
        "area",
        "abteilung",
        "bereich",
        "departement",
        "service",
        "departamento",
        "equipo",
        "equipe",
    ),
    "goal": (
        "strategic goal",
        "strategic objective",
        "goal statement",
        "business goal",
        "goal",
        "objective",
        "okr objective",
        "strategisches ziel",
        "ziel",
        "objectif strategique",
        "objectif",
        "objetivo estrategico",
        "objetivo",
    ),
    "category": (
        "category",
        "perspective",
        "bsc perspective",
        "scorecard perspective",
        "kpi category",
        "family",
        "kategorie",
        "perspektive",
        "categorie",
        "categoria",
        "perspectiva",
    ),
    "kind": (
        "leading lagging",
        "lead lag",
        "leading or lagging",
        "lead or lag",
        "indicator type",
        "kpi type",
        "metric type",
        "type of indicator",
        "kind",
        "type",
        "indikatortyp",
        "type d indicateur",
        "tipo de indicador",
    ),
    "formula": (
        "formula",
        "calculation",
        "calculated",
        "how calculated",
        "computation",
        "sql",
        "expression",
        "formel",
        "berechnung",
        "formule",
        "calcul",
        "formula de calculo",
        "calculo",
    ),
    "source": (
        "data source",
        "source",
        "source system",
        "system",
        "datenquelle",
        "quelle",
        "source de donnees",
        "fuente de datos",
        "fuente",
    ),
    "filter": ("filter", "condition", "scope", "where", "filtre", "filtro"),
    "time_column": ("time column", "date column", "date field", "time field", "date dimension", "datumsspalte"),
    "unit_of_measure": (
        "unit of measure",
        "unit of measurement",
        "uom",
        "measure unit",
        "measurement unit",
        "value type",
        "format",
        "einheit",
        "masseinheit",
        "unite de mesure",
        "unite",
        "unidad de medida",
        "unidad",
    ),
    "direction": (
        "direction",
        "polarity",
        "better if",
        "better when",
        "good is",
        "desired direction",
        "desired trend",
        "higher or lower is better",
        "optimisation",
        "richtung",
        "polarite",
        "sentido",
    ),
    "cadence": (
        "frequency",
        "cadence",
        "freq",
        "reporting frequency",
        "review frequency",
        "measurement frequency",
        "review",
        "periodicity",
        "how often",
        "haufigkeit",
        "frequenz",
        "turnus",
        "rhythmus",
        "frequence",
        "periodicite",
        "frecuencia",
        "periodicidad",
    ),
    "baseline": (
        "baseline",
        "baseline value",
        "current",
        "current value",
        "actual",
        "actual value",
        "as is",
        "starting point",
        "istwert",
        "ist",
        "ausgangswert",
        "valeur actuelle",
        "actuel",
        "valor actual",
        "linea base",
    ),
    "target": (
        "target",
        "target value",
        "goal value",
        "target level",
        "zielwert",
        "soll",
        "sollwert",
        "valeur cible",
        "cible",
        "meta",
        "valor objetivo",
    ),
    "due": (
        "due",
        "due date",
        "deadline",
        "target date",
        "by when",
        "achieve by",
        "frist",
        "termin",
        "zieldatum",
        "echeance",
        "date cible",
        "fecha limite",
        "fecha objetivo",
    ),
    "warning": (
        "warning",
        "warning threshold",
        "warning level",
        "amber",
        "amber threshold",
        "yellow",
        "yellow threshold",
        "alert",
        "warnschwelle",
        "seuil d alerte",
        "alerta",
    ),
    "critical": (
        "critical",
        "critical threshold",
        "critical level",
        "red",
        "red threshold",
        "alarm",
        "kritisch",
        "seuil critique",
        "critico",
    ),
    "action": (
        "action",
        "actions",
        "action if off track",
        "corrective action",
        "countermeasure",
        "countermeasures",
        "response",
        "if off track",
        "what to do",
        "escalation",
        "massnahme",
        "massnahmen",
        "action corrective",
        "accion",
    ),
}
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
        "alert",
        "response",
        "sql",
        "expression",
        "due",
    }
)
_FILLER = re.compile(r"^(\d+|fy\d*|q[1-4]|h[12]|ytd|value|values|level|kpi|of|the|in|percent|eur|usd|s)$")
# In a header about a date ("Review date"), only date fields may match a word inside it.
_DATE_WORDS = frozenset({"date", "datum", "fecha", "when", "day"})
_DATE_FIELDS = frozenset({"due", "time_column"})


# Normalised once: guess_mapping runs on every candidate header row of a sheet.
_NORMALISED: dict[str, tuple[str, ...]] = {f: tuple(norm(s) for s in words) for f, words in _SYNONYMS.items()}
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


def _guess_headers(headers: Sequence[str]) -> dict[str, str]:
    scored: list[tuple[float, int, int, str, str]] = []
    for column, header in enumerate(headers):
        key = norm(header)
        if not key:
            continue
        for order, field_name in enumerate(FIELDS):
            best = max(
                (_match_score(key, s, rank, field_name) for rank, s in enumerate(_NORMALISED[field_name])),
                default=0,
            )
            if best:
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
    guessed = _guess_headers(table.headers)
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
    except ValueError:
        return False
    return True


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
        free = [h for h in table.headers if h not in mapping.values()]
        mapping |= {f: h for f, h in _guess_headers(free).items() if f not in mapping and f not in fixed}
    return {f: mapping[f] for f in FIELDS if f in mapping}, dropped


@dataclass
class _Row:
    """One KPI being assembled from a row, with what could not be mapped kept as text."""

    number: int
    label: str
    kpi: dict[str, Any] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # "Cadence as written: bi-weekly"
    percent: list[str] = field(default_factory=list)


class _SheetImport:
    """Turns table rows into units, goals, sources and KPIs, collecting notes."""

    def __init__(self, table: Table, mapping: dict[str, str]) -> None:
        self.table = table
        self.columns = {f: table.headers.index(h) for f, h in mapping.items()}
        self._notes: list[tuple[int, int, str]] = []  # (row, order, text): reported in row order
        self.units: dict[str, dict[str, Any]] = {}  # casefolded name → unit
        self.goals: dict[tuple[str, str], dict[str, Any]] = {}  # (unit id, casefolded statement) → goal
        self.goal_rows: dict[str, list[int]] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.kpis: list[dict[str, Any]] = []
        self.names: dict[str, int] = {}  # casefolded KPI name → first row
        self.rows: list[_Row] = []

    def cell(self, cells: list[str], field_name: str) -> str | None:
        index = self.columns.get(field_name)
        if index is None or is_blank(cells[index]):
            return None
        return cells[index].strip()

    def note(self, row: _Row, text: str) -> None:
        self.add_note(row.number, f"Row {row.number} ('{row.label}'): {text}")

    def add_note(self, number: int, text: str) -> None:
        self._notes.append((number, len(self._notes), text))

    @property
    def notes(self) -> list[str]:
        """The notes, in row order."""
        return [text for _, _, text in sorted(self._notes)]

    def run(self) -> None:
        for number, cells in self.table.rows:
            name = self.cell(cells, "name")
            if name is None:
                others = [c for c in cells if not is_blank(c)]
                if others:
                    self.add_note(
                        number, f"Row {number} has no KPI name (it holds '{others[0][:40]}'); it was skipped."
                    )
                continue
            row = _Row(number, name)
            self.rows.append(row)
            self.read_row(row, cells)
        self.link_formulas()
        for row in self.rows:
            self.finish_row(row)

    def read_row(self, row: _Row, cells: list[str]) -> None:
        kpi = row.kpi
        kpi["id"] = self.kpi_id(row, self.cell(cells, "id"))
        kpi["name"] = row.label
        for key in ("description", "owner", "action", "time_column"):
            value = self.cell(cells, key)
            if value is not None:
                kpi[key] = value
        self.place(row, self.cell(cells, "unit"), self.cell(cells, "goal"))
        readers = {
            "category": read_category,
            "kind": read_kind,
            "unit_of_measure": read_unit_of_measure,
            "direction": read_direction,
            "cadence": read_cadence,
        }
        for key, reader in readers.items():
            value = self.cell(cells, key)
            if value is None:
                continue
            try:
                kpi[key] = reader(value).value
            except ValueError as error:
                self.keep(row, key, value, str(error))
        source = self.cell(cells, "source")
        if source is not None:
            kpi["source"] = self.source(source)
        row_filter = self.cell(cells, "filter")
        if row_filter is not None:
            try:
                check_filter(row_filter)
                kpi["filter"] = row_filter
            except FormulaError as error:
                self.keep(row, "filter", row_filter, f"the filter is not a SQL condition ({error.problem})")
        formula = self.cell(cells, "formula")
        if formula is not None:
            try:
                check_aggregate(formula)
                kpi["expression"] = formula
            except FormulaError:
                kpi["_formula"] = formula  # maybe arithmetic over other KPIs: decided once all names are known
        self.read_numbers(row, cells)

    def kpi_id(self, row: _Row, given: str | None) -> str:
        taken = {k.kpi["id"] for k in self.rows if k is not row and "id" in k.kpi}
        if given is not None:
            base = given if re.match(KPI_ID_PATTERN, given) and len(given) <= 63 else kpi_id_from(given)
            if base != given:
                self.note(row, f"the id '{given}' is not a valid KPI id, so '{base}' was used.")
        else:
            base = kpi_id_from(row.label)
        first = self.names.setdefault(row.label.casefold(), row.number)
        chosen = unique_id(base, taken, separator="_")
        if first != row.number:
            self.note(row, f"row {first} has a KPI of the same name; this one was imported separately as '{chosen}'.")
        elif chosen != base:
            self.note(row, f"the id '{base}' is taken by another row, so this KPI got '{chosen}'.")
        return chosen

    def place(self, row: _Row, unit_name: str | None, statement: str | None) -> None:
        unit_id = self.unit(unit_name) if unit_name else None
        if statement is None:
            if unit_id is not None:
                self.note(row, f"unit '{unit_name}' but no goal, so the KPI is not attached to a goal.")
            return
        if unit_id is None:
            unit_id = self.unit("Unassigned")
        key = (unit_id, statement.casefold())
        if key not in self.goals:
            taken = [g["id"] for g in self.goals.values()]
            self.goals[key] = {"id": unique_id(slugify(statement), taken), "unit": unit_id, "statement": statement}
            self.goal_rows[self.goals[key]["id"]] = []
        goal = self.goals[key]
        row.kpi["goal"] = goal["id"]
        if unit_name is None:
            self.goal_rows[goal["id"]].append(row.number)

    def unit(self, name: str) -> str:
        key = name.casefold()
        if key not in self.units:
            taken = [u["id"] for u in self.units.values()]
            self.units[key] = {"id": unique_id(slugify(name), taken), "name": name}
        return str(self.units[key]["id"])

    def source(self, text: str) -> str:
        key = text.casefold()
        if key not in self.sources:
            base = slugify(text, separator="_")
            base = base if base[0].isalpha() else f"src_{base}"
            taken = [s["name"] for s in self.sources.values()]
            self.sources[key] = {"name": unique_id(base, taken, separator="_"), "system": text}
        return str(self.sources[key]["name"])

    def keep(self, row: _Row, key: str, text: str, why: str) -> None:
        label = key.replace("_", " ").capitalize()
        row.kept.append(f"{label} as written: {text}")
        self.note(row, f"{why}; it was kept in the description and {key} left empty.")

    def amount(self, row: _Row, key: str, text: str, money: bool) -> Amount | None:
        try:
            amount = read_amount(text, label=key, money=money)
        except ValueError as error:
            self.keep(row, key, text, str(error))
            return None
        if amount.percent:
            row.percent.append(f"{key} '{text}'")
        if amount.dropped:
            self.note(row, f"{key} '{text}' was read as a number; the word '{amount.dropped}' is not kept.")
        kpi = row.kpi
        if amount.currency and "unit_of_measure" not in kpi:
            kpi["unit_of_measure"] = UnitOfMeasure.CURRENCY.value
            self.note(row, f"{key} '{text}' is an amount of money, so unit_of_measure was set to currency.")
        return amount

    def read_numbers(self, row: _Row, cells: list[str]) -> None:
        kpi = row.kpi
        texts = [self.cell(cells, key) or "" for key in ("baseline", "target", "warning", "critical")]
        money = kpi.get("unit_of_measure") == UnitOfMeasure.CURRENCY.value or any(has_currency(t) for t in texts)
        text = self.cell(cells, "baseline")
        if text is not None and (amount := self.amount(row, "baseline", text, money)) is not None:
            if amount.value is None:
                self.keep(row, "baseline", text, f"the baseline '{text}' is a range, not one value")
            else:
                kpi["baseline"] = {"value": amount.value}
        target: dict[str, Any] = {}
        text = self.cell(cells, "target")
        if text is not None and (amount := self.amount(row, "target", text, money)) is not None:
            if amount.value is not None:
                target["value"] = amount.value
            else:
                target.update(low=amount.low, high=amount.high)
            implied = Direction.RANGE if amount.value is None else amount.better
            if implied is not None and "direction" not in kpi:
                kpi["direction"] = implied.value
                self.note(row, f"direction set to {implied.value} because the target reads '{text}'.")
        due = self.cell(cells, "due")
        if due is not None:
            try:
                day, how = read_date(due, label="due date")
                target["due"] = day.isoformat()
                if how:
                    self.note(row, f"due date: {how} ({day.isoformat()}).")
            except ValueError as error:
                self.keep(row, "due", due, str(error))
        if target:
            kpi["target"] = target
        thresholds = {}
        for key in ("warning", "critical"):
            text = self.cell(cells, key)
            if text is not None and (amount := self.amount(row, key, text, money)) is not None:
                if amount.value is None:
                    self.keep(row, key, text, f"the {key} threshold '{text}' is a range, not one value")
                else:
                    thresholds[key] = amount.value
        if thresholds:
            kpi["thresholds"] = thresholds

    def link_formulas(self) -> None:
        """A formula such as ``Revenue / Orders`` whose words are all KPIs of the sheet becomes a derived KPI."""
        lookup: dict[str, str | None] = {}
        for row in self.rows:
            for key in {norm(row.label).replace(" ", "_"), row.kpi["id"]}:
                # Two KPIs of one name make the name ambiguous: such a formula stays text.
                lookup[key] = row.kpi["id"] if lookup.get(key, row.kpi["id"]) == row.kpi["id"] else None
        for row in self.rows:
            formula = row.kpi.pop("_formula", None)
            if formula is None:
                continue
            derived = _as_derived(formula, lookup, row.kpi["id"])
            if derived is not None and "source" not in row.kpi:
                row.kpi["expression"] = derived
                self.note(row, f"the formula '{formula}' names other KPIs of the sheet; imported as '{derived}'.")
                continue
            row.kept.append(f"Formula as written: {formula}")
            self.note(
                row,
                f"the formula '{formula}' is not a SQL aggregate, so it was kept in the description "
                "and the KPI has no expression yet.",
            )

    def finish_row(self, row: _Row) -> None:
        kpi = row.kpi
        if row.percent:
            unit_note = ""
            if "unit_of_measure" not in kpi:
                kpi["unit_of_measure"] = UnitOfMeasure.PERCENT.value
                unit_note = " and unit_of_measure set to percent"
            self.note(
                row, f"{', '.join(row.percent)} read as fractions (a % sign means percent: 30% → 0.3){unit_note}."
            )
        if row.kept:
            kpi["description"] = "\n".join([*([kpi["description"]] if "description" in kpi else []), *row.kept])
        self.kpis.append(kpi)

    def document(self, name: str) -> dict[str, Any]:
        for goal_id, numbers in self.goal_rows.items():
            if numbers:
                goal = next(g for g in self.goals.values() if g["id"] == goal_id)
                rows = ", ".join(str(n) for n in numbers)
                self.add_note(
                    numbers[0],
                    f"Goal '{goal['statement']}' (row{'s' if len(numbers) > 1 else ''} {rows}) has no unit; "
                    f"it was put under the unit '{self.units['unassigned']['name']}'.",
                )
        return {
            "name": name,
            "description": f"Imported from {self.table.where}.",
            "units": list(self.units.values()),
            "goals": list(self.goals.values()),
            "sources": list(self.sources.values()),
            "kpis": self.kpis,
        }


def _as_derived(formula: str, lookup: Mapping[str, str | None], own_id: str) -> str | None:
    """``'Revenue / Orders'`` → ``revenue / orders`` when every name in it is another KPI of the sheet."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(formula, read="duckdb")
    except Exception:  # sqlglot raises several error types for text that is not SQL
        return None
    names = {c.name for c in tree.find_all(exp.Column)}
    found = {n: lookup.get(norm(n).replace(" ", "_")) for n in names}
    resolved = {n: v for n, v in found.items() if v is not None and v != own_id}
    if not names or len(resolved) != len(names):
        return None
    renamed = tree.transform(
        lambda node: exp.column(resolved[node.name]) if isinstance(node, exp.Column) else node
    ).sql(dialect="duckdb")
    try:
        check_derived(renamed, set(resolved.values()))
    except FormulaError:
        return None
    return renamed


def import_spreadsheet(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    name: str | None = None,
) -> ImportResult:
    """A workspace from a KPI list in a CSV, TSV or XLSX file, with notes on what was not mapped.

    ``mapping`` (field → header) overrides the guessed columns; an empty header leaves a
    field out. Each row with a name becomes a KPI; units, goals and sources come from
    their columns. Raises :class:`ImportFailed` when no column holds the KPI names.
    """
    path = Path(path)
    wanted_name = _resolve_name_header(mapping)

    def is_header(cells: list[str]) -> bool:
        if wanted_name is not None:
            return any(norm(c) == norm(wanted_name) for c in cells)
        return "name" in _guess_headers(cells)

    table = load_table(path, sheet=sheet, is_header=is_header, pick=True)
    notes: list[str] = []
    if sheet is None and not table.first_sheet:
        notes.append(f"Read sheet '{table.sheet}', the first one with a column of KPI names.")
    columns, fixed = _apply_mapping(table, mapping)
    if "name" not in columns:
        raise ImportFailed(
            f"no column of KPI names found in {table.where}; its columns: {column_names(table.headers)}. "
            "Say which column holds the names with a mapping file (--mapping map.yaml containing, e.g., "
            f'name: "{table.headers[0]}").'
        )
    columns, dropped = _refine(table, columns, fixed, notes)
    used = set(columns.values()) | dropped
    unused = [
        h for i, h in enumerate(table.headers) if h not in used and any(not is_blank(r[i]) for _, r in table.rows)
    ]
    if unused:
        notes.append(
            f"Column{'s' if len(unused) > 1 else ''} {column_names(unused)} matched no field and "
            f"{'were' if len(unused) > 1 else 'was'} not imported (map them with --mapping if they hold one)."
        )
    work = _SheetImport(table, columns)
    work.run()
    if not work.kpis:
        raise ImportFailed(
            f"{table.where} has a '{columns['name']}' column but no row with a KPI name in it; "
            "put the KPIs one per row below the header row"
        )
    workspace = finish(work.document(name or path.stem), table.where)
    return ImportResult(workspace, notes + work.notes)


def _resolve_name_header(mapping: Mapping[str, str] | None) -> str | None:
    value = (mapping or {}).get("name")
    return str(value) if value else None
