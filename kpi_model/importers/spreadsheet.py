"""Import a KPI list kept in a spreadsheet: one KPI per row, fields in columns.

Columns are matched to fields by :mod:`~kpi_model.importers.headers` (their headers, checked
against their contents). Values are read the way people write them (``30%``, ``Monthly``,
``Higher is better``); a value that cannot be read is kept in the KPI's description and
reported in a note, never guessed. A number that reads two ways (``1.850``) with nothing in
its column or file to decide is also a :class:`~kpi_model.importers.common.NumberQuestion`,
answered by importing again with ``decimal_separator`` (:mod:`~kpi_model.importers.amounts`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kpi_model.editing import kpi_id_from, slugify, unique_id
from kpi_model.formula import FormulaError, check_aggregate, check_filter
from kpi_model.importers.amounts import NUMBER_FIELDS, NumberCells, Row, RowNumbers, year_of_targets
from kpi_model.importers.blocks import Blocks
from kpi_model.importers.common import ImportFailed, ImportResult, clip, finish, norm, too_many_kpis
from kpi_model.importers.dates import read_date
from kpi_model.importers.definitions import as_derived, looks_like_sql
from kpi_model.importers.headers import _apply_mapping, _refine, fields_named, is_header_row
from kpi_model.importers.layout import footer_rows, is_note_line, is_total
from kpi_model.importers.number_format import Separator
from kpi_model.importers.percent_points import PercentRows
from kpi_model.importers.sheet_notes import SheetNotes
from kpi_model.importers.tables import Table, column_names, load_table
from kpi_model.importers.units import read_unit_of_measure
from kpi_model.importers.values import (
    is_blank,
    is_not_finite,
    read_cadence,
    read_category,
    read_direction,
    read_kind,
)
from kpi_model.models import KPI_ID_PATTERN, MAX_KPIS, Direction, UnitOfMeasure


class _SheetImport(RowNumbers, SheetNotes, Blocks):
    """Turns table rows into units, goals, sources and KPIs, collecting notes."""

    def __init__(self, table: Table, mapping: dict[str, str], decimal_separator: Separator | None = None) -> None:
        SheetNotes.__init__(self)
        self.table = table
        self.blank_rows: set[int] = set()  # KPI rows with nothing but a name
        self.columns = {f: table.headers.index(h) for f, h in mapping.items()}
        self.numbers = NumberCells(table, self.columns, decimal_separator)
        self.due_year = year_of_targets(table, self.columns)
        self.due_rows: list[int] = []
        self.direction_rows: dict[tuple[Direction, str], list[int]] = {}
        self.rag_by_header = False
        self.percent_rows = PercentRows()
        self._notes: list[tuple[int, int, str]] = []  # (row, order, text): reported in row order
        self.units: dict[str, dict[str, Any]] = {}  # casefolded name → unit
        self.goals: dict[tuple[str, str], dict[str, Any]] = {}  # (unit id, casefolded statement) → goal
        self.goal_rows: dict[str, list[int]] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.kpis: list[dict[str, Any]] = []
        self.names: dict[str, int] = {}  # casefolded KPI name → first row
        self.taken: set[str] = set()  # the KPI ids given so far
        self.rows: list[Row] = []

    def cell(self, cells: list[str], field_name: str) -> str | None:
        index = self.columns.get(field_name)
        if index is None:
            return None
        if field_name in NUMBER_FIELDS and is_not_finite(cells[index]):
            return cells[index].strip()  # not a placeholder in a number column: read, and kept as not finite
        if is_blank(cells[index]):
            return None
        return cells[index].strip()

    def note(self, row: Row, text: str) -> None:
        self.add_note(row.number, f"Row {row.number} ('{row.label}'): {text}")

    def add_note(self, number: int, text: str) -> None:
        self._notes.append((number, len(self._notes), text))

    @property
    def notes(self) -> list[str]:
        """The notes, in row order."""
        return [text for _, _, text in sorted(self._notes)]

    def run(self) -> None:
        carried: dict[str, str] = {}
        filled: dict[str, list[int]] = {key: [] for key in self.group_columns()}
        footer = footer_rows(self.table.rows, lambda cells: self.cell(cells, "name"))
        for number, raw in self.table.rows:
            if number in footer:
                text = self.cell(raw, "name") or ""
                self.add_note(number, f"Row {number} ('{clip(text)}') {footer[number]}; it was skipped.")
                continue
            named = self.cell(raw, "name")
            others = [c for i, c in enumerate(raw) if i != self.columns["name"]]
            if named is not None and is_note_line(named, others):
                self.note_lines.append((number, named))
                continue
            cells = self.fill_down(number, raw, carried, filled)
            name = self.cell(cells, "name")
            if name is None:
                others = [c for c in cells if not is_blank(c)]
                if others and is_total(others[0]):
                    self.add_note(
                        number, f"Row {number} ('{clip(others[0])}') is a total line, not a KPI; it was skipped."
                    )
                elif len(others) == 1 and is_note_line(others[0], []):
                    self.note_lines.append((number, others[0]))
                elif others:
                    self.add_note(
                        number, f"Row {number} has no KPI name (it holds '{clip(others[0])}'); it was skipped."
                    )
                continue
            row = Row(number, name)
            self.rows.append(row)
            self.record_placeholders(number, raw, self.columns)
            if all(not c.strip() for c in others):
                self.blank_rows.add(number)
            self.read_row(row, cells)
        self.note_filled(filled)
        self.note_sheet()
        self.link_formulas()
        for row in self.rows:
            self.finish_row(row)
        self.note_numbers()

    def read_row(self, row: Row, cells: list[str]) -> None:
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
        if "unit_of_measure" in kpi and (
            kept := self.record_unit_of_measure(row.number, self.cell(cells, "unit_of_measure"))
        ):
            row.kept.append(kept)
        reviewed = self.cell(cells, "review_date")
        if reviewed is not None:
            try:
                kpi["review_date"] = read_date(reviewed, label="review date")[0].isoformat()
            except ValueError as error:
                self.keep(row, "review_date", reviewed, str(error))
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

    def kpi_id(self, row: Row, given: str | None) -> str:
        if given is not None:
            base = given if re.match(KPI_ID_PATTERN, given) and len(given) <= 63 else kpi_id_from(given)
            if base != given:
                self.note(row, f"the id '{given}' is not a valid KPI id, so '{base}' was used.")
        else:
            base = kpi_id_from(row.label)
        first = self.names.setdefault(row.label.casefold(), row.number)
        chosen = unique_id(base, self.taken, separator="_")
        self.taken.add(chosen)
        if first != row.number:
            blank = (
                " Its other cells are blank, so it may be a leftover copy; the audit reports duplicate KPIs."
                if row.number in self.blank_rows
                else ""
            )
            self.note(
                row, f"row {first} has a KPI of the same name; this one was imported separately as '{chosen}'.{blank}"
            )
        elif chosen != base:
            self.note(row, f"the id '{base}' is taken by another row, so this KPI got '{chosen}'.")
        return chosen

    def place(self, row: Row, unit_name: str | None, statement: str | None) -> None:
        unit_id = self.unit(unit_name) if unit_name else None
        if statement is None:
            if unit_id is not None:  # the department the sheet states is kept, on the KPI itself
                row.kpi["unit"] = unit_id
                self.unit_only.setdefault(unit_name or "", []).append(row.number)
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

    def keep(self, row: Row, key: str, text: str, why: str) -> None:
        label = key.replace("_", " ").capitalize()
        row.kept.append(f"{label} as written: {text}")
        self.note(row, f"{why}; it was kept in the description and {key} left empty.")

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
            derived = as_derived(formula, lookup, row.kpi["id"])
            if derived is not None and "source" not in row.kpi:
                row.kpi["expression"] = derived
                self.note(row, f"the formula '{formula}' names other KPIs of the sheet; imported as '{derived}'.")
                continue
            if looks_like_sql(formula):
                row.kept.append(f"Formula as written: {formula}")
                self.note(
                    row,
                    f"the formula '{formula}' is not a SQL aggregate, so it was kept in the description "
                    "and the KPI has no expression yet.",
                )
                continue
            row.definition = formula
            self.note(
                row,
                f"the formula '{formula}' is a definition in words, not a formula over columns, so it was kept "
                "as the KPI's description and the KPI has no expression yet.",
            )

    def finish_row(self, row: Row) -> None:
        kpi = row.kpi
        if row.percent:
            unit_note = ""
            if "unit_of_measure" not in kpi:
                kpi["unit_of_measure"] = UnitOfMeasure.PERCENT.value
                unit_note = " and unit_of_measure set to percent"
            self.note(
                row, f"{', '.join(row.percent)} read as fractions (a % sign means percent: 30% → 0.3){unit_note}."
            )
        if row.definition is not None:
            described = kpi.get("description")
            if described is None:
                kpi["description"] = row.definition
            elif norm(row.definition) not in norm(described):
                header = self.table.headers[self.columns["formula"]]
                kpi["description"] = f"{described}\n{header}: {row.definition}"
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


def import_spreadsheet(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    name: str | None = None,
    decimal_separator: Separator | None = None,
    header_row: int | None = None,
    shown_as: str | None = None,
) -> ImportResult:
    """A workspace from a KPI list in a CSV, TSV or XLSX file, with notes on what was not mapped.

    ``mapping`` (field → header) overrides the guessed columns; an empty header leaves a
    field out. Each row with a name becomes a KPI; units, goals and sources come from
    their columns. Raises :class:`ImportFailed` when no column holds the KPI names.

    A number such as ``1.850`` is read by the evidence of its column and file (``12,5``
    elsewhere means a decimal comma); where nothing decides, it is left out and listed in
    :attr:`ImportResult.questions`. ``decimal_separator`` (``","`` or ``"."``), the user's
    answer, reads those numbers on the next import.

    The header row is the first row that names a KPI column or several fields (a title or a note
    line above it is passed over); ``header_row``, the 1-based row number in the sheet, sets it.

    ``shown_as`` is the file's name as its owner knows it (an upload is saved under a name of the
    server's): messages, the workspace's name and its description use it instead of ``path``'s.
    """
    path = Path(path)
    wanted_name = _resolve_name_header(mapping)

    def is_header(cells: list[str]) -> bool:
        if wanted_name is not None:
            return any(norm(c) == norm(wanted_name) for c in cells)
        return is_header_row(cells)

    table = load_table(
        path,
        sheet=sheet,
        is_header=is_header,
        pick=True,
        rank=fields_named,
        header_row=header_row,
        shown_as=shown_as,
    )
    notes: list[str] = []
    if sheet is None and table.others:
        notes.append(
            f"Read sheet '{table.sheet}': of the sheets with a column of KPI names "
            f"({column_names([table.sheet or '', *table.others])}), it has the most KPI columns; "
            "give the sheet to read another."
        )
    elif sheet is None and not table.first_sheet:
        notes.append(f"Read sheet '{table.sheet}', the first one with a column of KPI names.")
    columns, fixed = _apply_mapping(table, mapping)
    if "name" not in columns:
        raise ImportFailed(
            f"no column of KPI names found in {table.where}; its columns (header row {table.header_row}): "
            f"{column_names(table.headers)}. Choose the column that holds the KPI names (in the app: the "
            "'KPI name' field of the mapping, or on the command line: --mapping map.yaml with "
            f'name: "{table.headers[0]}").'
        )
    named = sum(1 for _, r in table.rows if not is_blank(r[table.headers.index(columns["name"])]))
    if named > MAX_KPIS:
        raise ImportFailed(too_many_kpis(table.where, named, "rows with a KPI name"))
    columns, dropped = _refine(table, columns, fixed, notes)
    used = set(columns.values()) | dropped
    unused = [
        h for i, h in enumerate(table.headers) if h not in used and any(not is_blank(r[i]) for _, r in table.rows)
    ]
    if unused:
        notes.append(
            f"Column{'s' if len(unused) > 1 else ''} {column_names(unused)} matched no field and "
            f"{'were' if len(unused) > 1 else 'was'} not imported (if they hold a field, choose it in the mapping: "
            "in the app, or with --mapping on the command line)."
        )
    work = _SheetImport(table, columns, decimal_separator)
    work.run()
    if not work.kpis:
        raise ImportFailed(
            f"{table.where} has a '{columns['name']}' column but no row with a KPI name in it; "
            "put the KPIs one per row below the header row"
        )
    if table.cleaned:
        rows = ", ".join(str(n) for n in table.cleaned[:10]) + (" …" if len(table.cleaned) > 10 else "")
        notes.append(
            f"Control characters, text-direction overrides or zero-width characters were removed from "
            f"row{'s' if len(table.cleaned) > 1 else ''} {rows}: they do not show, or show text in another "
            "order than it is stored."
        )
    workspace = finish(work.document(name or Path(shown_as or path.name).stem), table.where)
    return ImportResult(workspace, notes + work.notes, work.numbers.questions)


def _resolve_name_header(mapping: Mapping[str, str] | None) -> str | None:
    value = (mapping or {}).get("name")
    return str(value) if value else None
