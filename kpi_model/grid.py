"""The grid of KPIs: the common fields of many KPIs edited as one table and saved as one version.

:func:`grid_rows` turns KPIs into rows of cells as a person reads and types them (``95%`` for a
percent KPI, a partner by its name); :func:`apply_grid` reads the rows back, cell by cell, with the
card's readers and messages, and returns the new workspace, or raises :class:`GridError` naming
every cell that cannot be used (KPI, column, problem, fix) and changing nothing.
:func:`grid_problems` names those cells without raising and :func:`row_problems` words them per row,
as the grid shows them beside the cells. :func:`with_suggestions` fills a row's empty cells from
:mod:`kpi_model.suggestions`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpi_model import editing
from kpi_model.errors import Problem, WorkspaceError
from kpi_model.importers.common import strip_controls
from kpi_model.importers.units import read_unit_of_measure
from kpi_model.models import Cadence, Direction, Kpi, UnitOfMeasure, Workspace
from kpi_model.typed_values import EXAMPLES, percent_typo, read_day, read_value, shown_value
from kpi_model.validation import did_you_mean, parse_part

# Column key → the label people see; the labels are the KPI card's, so a message reads the same in both.
COLUMNS: dict[str, str] = {
    "owner": "Owner",
    "unit_of_measure": "Unit of measure",
    "cadence": "Review cadence",
    "direction": "Better when",
    "baseline": "Baseline value",
    "baseline_period": "Baseline period",
    "target": "Target value",
    "target_due": "Target due",
    "warning": "Warning at",
    "critical": "Critical at",
    "action": "Action when off track",
    # Here, not beside Owner: the columns people paste into by position keep their places.
    "owner_email": "Owner's e-mail",
    "review_date": "Last reviewed",
    "pairs_with": "Partner",
}
NUMBER_COLUMNS = ("baseline", "target", "warning", "critical")
DATE_COLUMNS = ("target_due", "review_date")
CHOICES: dict[str, list[str]] = {
    "unit_of_measure": [u.value for u in UnitOfMeasure],
    "cadence": [c.value for c in Cadence],
    "direction": [d.value for d in Direction],
}
_DATE_FIX = "write the date as YYYY-MM-DD, e.g. 2027-06-30"
# Longer than any owner, e-mail or action a person writes; a 2 MB paste is refused rather than saved.
MAX_CELL = 2_000
_FIXES: dict[str, str] = {
    **{column: f"type one number, {EXAMPLES}" for column in NUMBER_COLUMNS},
    **{column: f"pick one of: {', '.join(choices)}" for column, choices in CHOICES.items()},
    **dict.fromkeys(DATE_COLUMNS, _DATE_FIX),
    "baseline_period": "write 2026-12 (month), 2026-Q4, 2026-W07, 2026 or a date",
    "pairs_with": "pick the partner KPI by its name from the list, or leave it empty",
    "owner": "write a person or a role",
    "owner_email": "write it as name@example.com, or leave it empty",
    "action": "write what is done when the KPI is off track",
}
# Where a validation problem of a KPI lands in the grid: the model's path → the column.
_COLUMN_OF_PATH = {
    "baseline.value": "baseline",
    "baseline.period": "baseline_period",
    "target.value": "target",
    "target.due": "target_due",
    "thresholds.warning": "warning",
    "thresholds.critical": "critical",
    "thresholds": "warning",
}
# A message that says the problem and then the fix: split where the fix starts (an imperative or a hint).
_FIX_START = re.compile(
    r"^(?P<problem>.+?)(?:; |: | — |\. )"
    r"(?P<fix>(?:type|write|give|pick|use|set|choose|swap|clear|did you mean|remove|leave|add|edit|shorten)\b.*)$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class CellProblem:
    """One cell of the grid that cannot be saved: which KPI, which column, the problem and the fix."""

    kpi_id: str
    kpi_name: str
    column: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.kpi_name} — {self.column}: {self.message}; {self.fix}"


class GridError(WorkspaceError):
    """Cells of the grid that cannot be saved; nothing was changed. ``cells`` names each one."""

    def __init__(self, cells: list[CellProblem]) -> None:
        self.cells = cells
        super().__init__([Problem(f"{c.kpi_name} — {c.column}", f"{c.message}; {c.fix}") for c in cells])


def partner_labels(workspace: Workspace) -> dict[str, str]:
    """Each KPI's id → the name the Partner column shows; the id is added where two KPIs share a name."""
    names = [k.name.casefold() for k in workspace.kpis]
    return {k.id: f"{k.name} ({k.id})" if names.count(k.name.casefold()) > 1 else k.name for k in workspace.kpis}


def cell(column: str, value: Any, unit: UnitOfMeasure | str | None, labels: Mapping[str, str]) -> Any:
    """A stored value as its grid cell: numbers as typed back (``11.2%``), a partner by name, dates as dates."""
    if value is None:
        return None
    if column in NUMBER_COLUMNS:
        return shown_value(value, unit)
    if column == "pairs_with":
        return labels.get(value, value)
    if column in DATE_COLUMNS:
        return value.isoformat()  # typed and pasted dates arrive as text, read by read_day, never guessed
    return value.value if hasattr(value, "value") else str(value)


def _stored(kpi: Kpi) -> dict[str, Any]:
    baseline, target, thresholds = kpi.baseline, kpi.target, kpi.thresholds
    return {
        "owner": kpi.owner,
        "owner_email": kpi.owner_email,
        "unit_of_measure": kpi.unit_of_measure,
        "cadence": kpi.cadence,
        "direction": kpi.direction,
        "baseline": baseline.value if baseline else None,
        "baseline_period": baseline.period if baseline else None,
        "target": target.value if target else None,
        "target_due": target.due if target else None,
        "warning": thresholds.warning if thresholds else None,
        "critical": thresholds.critical if thresholds else None,
        "action": kpi.action,
        "review_date": kpi.review_date,
        "pairs_with": kpi.pairs_with,
    }


def grid_rows(workspace: Workspace, kpis: Iterable[Kpi]) -> list[dict[str, Any]]:
    """One row per KPI: ``kpi`` (its id), ``name``, ``goal`` (statement) and a cell per column of :data:`COLUMNS`."""
    labels = partner_labels(workspace)
    rows = []
    for kpi in kpis:
        goal = workspace.goal(kpi.goal) if kpi.goal else None
        stored = _stored(kpi)
        row: dict[str, Any] = {"kpi": kpi.id, "name": kpi.name, "goal": goal.statement if goal else None}
        row.update({column: cell(column, stored[column], kpi.unit_of_measure, labels) for column in COLUMNS})
        rows.append(row)
    return rows


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str | None:
    """A text cell: blank → None, anything else as its text without control, bidi and zero-width characters
    (as the register import reads names) and with spacing collapsed (a paste brings tabs)."""
    return None if _blank(value) else " ".join(strip_controls(str(value)).split()) or None


def _split(message: str, column: str) -> tuple[str, str]:
    """``(problem, fix)`` from a message that states both; the column's usual fix when it states none."""
    match = _FIX_START.match(message)
    if match:
        fix = match.group("fix")
        return match.group("problem"), fix[:1].lower() + fix[1:]
    return message, _FIXES.get(column, "correct the value")


def _partner(text: str, workspace: Workspace, labels: Mapping[str, str]) -> str:
    """The id of the KPI a Partner cell names (shown label, id or name); ``ValueError`` when none or several."""
    by_label = {label.casefold(): kpi_id for kpi_id, label in labels.items()}
    if text.casefold() in by_label:
        return by_label[text.casefold()]
    if workspace.kpi(text) is not None:
        return text
    named = [k.id for k in workspace.kpis if k.name.casefold() == text.casefold()]
    if len(named) == 1:
        return named[0]
    hint = did_you_mean(text, list(labels.values()))
    raise ValueError(f"no KPI is named '{text}'{hint}")


class _RowReader:
    """Reads one row into a KPI, collecting a problem per cell that cannot be used."""

    def __init__(self, workspace: Workspace, kpi: Kpi, labels: Mapping[str, str]) -> None:
        self.workspace, self.kpi, self.labels = workspace, kpi, labels
        self.problems: list[CellProblem] = []

    def problem(self, column: str, message: str) -> None:
        text, fix = _split(message, column)
        self.problems.append(CellProblem(self.kpi.id, self.kpi.name, COLUMNS.get(column, "KPI"), text, fix))

    def text(self, row: Mapping[str, Any], column: str) -> str | None:
        """A text cell as :func:`_text` reads it; a cell longer than :data:`MAX_CELL` is a problem (None)."""
        text = _text(row[column])
        if text is not None and len(text) > MAX_CELL:
            self.problem(
                column,
                f"{len(text):,} characters, more than the {MAX_CELL:,} a cell may hold; "
                f"shorten it to at most {MAX_CELL:,} characters (a long text belongs in the KPI's description)",
            )
            return None
        return text

    def choice(self, row: Mapping[str, Any], column: str) -> str | None:
        """One of the column's :data:`CHOICES` (a pasted 'Monthly' is monthly); else a problem naming them."""
        text = self.text(row, column)
        if text is None or text.lower() in CHOICES[column]:
            return text.lower() if text else None
        choices = ", ".join(CHOICES[column])
        meant = None
        if column == "unit_of_measure":
            try:
                meant = read_unit_of_measure(text).value  # 'hours' is a duration, 'EUR' a currency
            except ValueError:
                meant = None
        hint = f" — did you mean '{meant}'?" if meant else did_you_mean(text, CHOICES[column])
        self.problem(column, f"'{text}' is not one of the choices{hint.rstrip('?')}; pick one of: {choices}")
        return None

    def day(self, row: Mapping[str, Any], column: str) -> dt.date | None:
        """A date cell: a date as it is (a datetime's day), text read by :func:`read_day`, never guessed."""
        value = row[column]
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return read_day(self.text(row, column), COLUMNS[column])
        except ValueError as error:
            self.problem(column, str(error))
            return None

    def number(self, row: Mapping[str, Any], column: str, stored: Any, unit: Any) -> float | None:
        text = _text(row[column])
        if text == _text(shown_value(stored, self.kpi.unit_of_measure)):
            return stored  # left as shown: the stored number exactly, not its 12-digit text read back
        try:
            value = read_value(text, COLUMNS[column], unit)
        except ValueError as error:
            self.problem(column, str(error))
            return stored
        if text is not None and (
            typo := percent_typo(text, value, unit, shown_value(stored, self.kpi.unit_of_measure))
        ):
            self.problem(column, typo)
        return value

    def read(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The KPI's fields with the row's cells in place (cells the row lacks keep the stored value)."""
        stored = _stored(self.kpi)
        values = dict(stored)
        for column in ("owner", "owner_email", "action"):
            if column in row:
                values[column] = self.text(row, column)
        for column in CHOICES:
            if column in row:
                values[column] = self.choice(row, column)
        unit = values["unit_of_measure"] if values["unit_of_measure"] in CHOICES["unit_of_measure"] else None
        for column in NUMBER_COLUMNS:
            if column in row:
                values[column] = self.number(row, column, stored[column], unit)
        for column in DATE_COLUMNS:
            if column in row:
                values[column] = self.day(row, column)
        if "baseline_period" in row:
            values["baseline_period"] = self.text(row, "baseline_period")
        if "pairs_with" in row:
            partner = self.text(row, "pairs_with")
            try:
                values["pairs_with"] = _partner(partner, self.workspace, self.labels) if partner else None
            except ValueError as error:
                self.problem("pairs_with", str(error))
        flagged = {problem.column for problem in self.problems}
        for column in COLUMNS:  # a cell that cannot be used keeps its stored value while the rest is checked
            if COLUMNS[column] in flagged:
                values[column] = stored[column]
        if values["baseline"] is None and values["baseline_period"] and not self.problems:
            self.problems.append(
                CellProblem(
                    self.kpi.id,
                    self.kpi.name,
                    COLUMNS["baseline"],
                    "a baseline period without its value",
                    "give the baseline's value too (or clear its period)",
                )
            )
        return values

    def kpi_data(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The KPI as a mapping for the model, the grid's fields replaced (a range's low and high kept)."""
        target = self.kpi.target
        low, high = (target.low, target.high) if target else (None, None)
        has_target = any(v is not None for v in (values["target"], values["target_due"], low, high))
        has_thresholds = values["warning"] is not None or values["critical"] is not None
        data = self.kpi.model_dump()
        data.update(
            owner=values["owner"],
            owner_email=values["owner_email"],
            unit_of_measure=values["unit_of_measure"],
            cadence=values["cadence"],
            direction=values["direction"],
            baseline={"value": values["baseline"], "period": values["baseline_period"]}
            if values["baseline"] is not None
            else None,
            target={"value": values["target"], "low": low, "high": high, "due": values["target_due"]}
            if has_target
            else None,
            thresholds={"warning": values["warning"], "critical": values["critical"]} if has_thresholds else None,
            action=values["action"],
            review_date=values["review_date"],
            pairs_with=values["pairs_with"],
        )
        return data


def _column_of(path: str) -> str:
    """The grid column a problem's path (``kpis[3].target.due``) is about."""
    field = re.sub(r"^kpis\[\d+\]\.?", "", path)
    return _COLUMN_OF_PATH.get(field, field if field in COLUMNS else "kpi")


def apply_grid(workspace: Workspace, rows: Sequence[Mapping[str, Any]]) -> Workspace:
    """The workspace with every row's cells saved into its KPI, checked as a whole; the input is not changed.

    Each row names its KPI by id under ``kpi``; a column the row lacks keeps the stored value. Raises
    :class:`GridError` listing every cell that cannot be used, in row order; then nothing is changed.
    """
    labels = partner_labels(workspace)
    position = {k.id: i for i, k in enumerate(workspace.kpis)}
    kpis = list(workspace.kpis)
    problems: list[CellProblem] = []
    for row in rows:
        kpi_id = str(row.get("kpi") or "")
        if kpi_id not in position:
            problems.append(
                CellProblem(kpi_id, kpi_id, "KPI", f"no KPI '{kpi_id}' in this workspace", "reload the page")
            )
            continue
        index = position[kpi_id]
        reader = _RowReader(workspace, workspace.kpis[index], labels)
        values = reader.read(row)
        flagged = {problem.column for problem in reader.problems}
        try:  # the other cells are checked too, so one look names every bad cell of the row
            kpis[index] = parse_part(Kpi, reader.kpi_data(values), ("kpis", index))
        except WorkspaceError as error:
            for found in error.problems:
                if COLUMNS.get(_column_of(found.path), "KPI") not in flagged:
                    reader.problem(_column_of(found.path), found.message)
        problems += reader.problems
    if problems:
        raise GridError(problems)
    try:
        return editing.replace_kpis(workspace, kpis)
    except WorkspaceError as error:  # references: a partner that pairs with itself, say
        for found in error.problems:
            index_match = re.match(r"^kpis\[(\d+)\]", found.path)
            kpi = kpis[int(index_match.group(1))] if index_match else None
            column = _column_of(found.path)
            text, fix = _split(found.message, column)
            where = (kpi.id, kpi.name) if kpi else ("", "The workspace")
            problems.append(CellProblem(*where, COLUMNS.get(column, "KPI"), text, fix))
        raise GridError(problems) from None


def grid_problems(workspace: Workspace, rows: Sequence[Mapping[str, Any]]) -> list[CellProblem]:
    """Every cell of ``rows`` that :func:`apply_grid` would refuse; [] when the grid can be saved."""
    try:
        apply_grid(workspace, rows)
    except GridError as error:
        return error.cells
    return []


def row_problems(cells: Iterable[CellProblem]) -> dict[str, str]:
    """KPI id → its row's problems in one line (``Target value: 'lots' is not a number. Fix: …``)."""
    found: dict[str, list[str]] = {}
    for problem in cells:
        text = f"{problem.column}: {problem.message.rstrip('.')}. Fix: {problem.fix}"
        found.setdefault(problem.kpi_id, []).append(text)
    return {kpi_id: " · ".join(texts) for kpi_id, texts in found.items()}


def with_suggestions(row: Mapping[str, Any], suggested: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """``row`` with each empty cell that ``suggested`` (column → stored value) has a value for filled in.

    A cell already filled is never overwritten: a suggestion is a default, not a correction. Numbers
    are written in the row's unit of measure (after a suggested unit is filled in).
    """
    filled = dict(row)
    for column in ("unit_of_measure", *[c for c in COLUMNS if c != "unit_of_measure"]):
        if column in suggested and _blank(filled.get(column)):
            unit = filled.get("unit_of_measure")
            unit = unit if unit in CHOICES["unit_of_measure"] else None
            filled[column] = cell(column, suggested[column], unit, labels)
    return filled
