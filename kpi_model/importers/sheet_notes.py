"""Notes a sheet import gathers across rows, so that one fact is one note: the rows of a unit without
goals, the note lines inside the list, the cells holding a placeholder, money counted in thousands.
"""

from __future__ import annotations

from kpi_model.importers.common import clip
from kpi_model.importers.units import money_scale
from kpi_model.importers.values import NUMBER_FIELDS, is_blank, is_not_finite


def _rows(numbers: list[int]) -> str:
    return f"row{'s' if len(numbers) > 1 else ''} {', '.join(str(n) for n in numbers)}"


class SheetNotes:
    """Facts about several rows, each said once; mixed into the sheet import, which provides ``add_note``."""

    def __init__(self) -> None:
        self.unit_only: dict[str, list[int]] = {}  # unit name → rows of its KPIs without a goal
        self.note_lines: list[tuple[int, str]] = []  # (row, text) of note lines inside the list
        self.placeholders: list[tuple[int, str, str]] = []  # (row, field, cell) of "TBD", "n/a", "-"
        self.money_scaled: dict[tuple[str, str], list[int]] = {}  # (unit as written, scale) → rows

    def add_note(self, number: int, text: str) -> None:
        raise NotImplementedError

    def record_placeholders(self, number: int, cells: list[str], columns: dict[str, int]) -> None:
        """Remember the cells of a KPI row that hold a placeholder ("TBD", "n/a", "-") instead of a value."""
        for key, index in columns.items():
            text = cells[index].strip()
            if key != "name" and text and is_blank(text) and not (key in NUMBER_FIELDS and is_not_finite(text)):
                self.placeholders.append((number, key, text))

    def record_unit_of_measure(self, number: int, text: str | None) -> str | None:
        """Remember a unit of money counted in thousands or millions ("T€", "€ m"); the text kept for the KPI."""
        scale = money_scale(text or "")
        if text is None or scale is None:
            return None
        self.money_scaled.setdefault((text, scale), []).append(number)
        return f"Unit of measure as written: {text} (values in {scale})"

    def note_sheet(self) -> None:
        for unit, numbers in self.unit_only.items():
            which = "these KPIs belong" if len(numbers) > 1 else "the KPI belongs"
            self.add_note(
                numbers[0],
                f"Unit '{unit}' ({_rows(numbers)}): no goal is given, so {which} to the unit and to no goal.",
            )
        if self.note_lines:
            listed = ", ".join(f"{n} ('{clip(t)}')" for n, t in self.note_lines)
            plural = len(self.note_lines) > 1
            self.add_note(
                self.note_lines[0][0],
                f"Row{'s' if plural else ''} {listed} {'are notes' if plural else 'is a note'}, not "
                f"{'KPIs' if plural else 'a KPI'} (a line starting 'Note:', 'Hinweis:', 'TODO:' … or ending in ':', "
                f"with no other cell filled); {'they were' if plural else 'it was'} skipped.",
            )
        if self.placeholders:
            listed = ", ".join(f"row {n} {key} '{text}'" for n, key, text in self.placeholders)
            self.add_note(
                self.placeholders[0][0],
                f"Cells holding a placeholder rather than a value were left empty: {listed}.",
            )
        for (text, scale), numbers in self.money_scaled.items():
            self.add_note(
                numbers[0],
                f"Unit of measure '{text}' ({_rows(numbers)}) is money counted in {scale}: unit_of_measure was set "
                f"to currency and the values were kept as written (in {scale}, not converted); the unit as "
                "written is kept in the description.",
            )
