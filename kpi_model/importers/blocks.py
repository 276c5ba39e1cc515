"""Blocks of a register: a unit or goal written once over several KPI rows (merged or left blank below).

Mixed into the sheet import of :mod:`~kpi_model.importers.spreadsheet`, which provides the table,
its mapped columns, ``cell`` and ``add_note``.
"""

from __future__ import annotations

from kpi_model.importers.common import norm
from kpi_model.importers.tables import Table
from kpi_model.importers.values import is_blank


class Blocks:
    """Fill-down of the group columns of a register, with one note per column filled."""

    table: Table
    columns: dict[str, int]

    def cell(self, cells: list[str], field_name: str) -> str | None:
        raise NotImplementedError

    def add_note(self, number: int, text: str) -> None:
        raise NotImplementedError

    def group_columns(self) -> list[str]:
        """The fields a register writes once per block: unit, goal, and a perspective (not a per-KPI category)."""
        fields: list[str] = [f for f in ("unit", "goal") if f in self.columns]
        category = self.columns.get("category")
        if category is not None and "perspectiv" in norm(self.table.headers[category]):
            fields.append("category")
        return [f for f in fields if self.block_written(self.columns[f])]

    def block_written(self, index: int) -> bool:
        """Whether a column writes its group once per block: more blanks below a value than values repeated.

        A column that repeats its value row by row ("Sales", "Sales") is written on every row, so a
        blank in it is a blank, not "same as above".
        """
        blanks = repeats = 0
        above: str | None = None  # the cell of the previous KPI row, once a value has been seen
        for _, cells in self.table.rows:
            if self.cell(cells, "name") is None:
                continue
            text = cells[index].strip()
            if not text:
                blanks += above is not None
            elif above is not None and text.casefold() == above.casefold():
                repeats += 1
            if text:
                above = text
            elif above is not None:
                above = ""  # a blank between two KPIs: the next value is not a repeat of the one before
        return blanks > repeats

    def fill_down(
        self, number: int, cells: list[str], carried: dict[str, str], filled: dict[str, list[int]]
    ) -> list[str]:
        """The row with its blank group cells read as the value above (blank or merged cells of a block).

        Only rows with a KPI name are filled; a new unit starts a new block, so the goal above is not
        carried into it. Per-KPI fields (owner, target, formula …) are never filled.
        """
        unit = self.cell(cells, "unit")
        if unit is not None:  # "unit seen" is kept apart: the unit column may be written on every row
            if unit.casefold() != carried.get(" unit seen", unit).casefold():
                carried.pop("goal", None)
            carried[" unit seen"] = unit
        named = self.cell(cells, "name") is not None
        result = list(cells)
        for key in filled:
            index = self.columns[key]
            if not is_blank(cells[index]):
                carried[key] = cells[index].strip()
            elif named and key in carried:
                result[index] = carried[key]
                filled[key].append(number)
        return result

    def note_filled(self, filled: dict[str, list[int]]) -> None:
        for key, numbers in filled.items():
            if numbers:
                header = self.table.headers[self.columns[key]]
                rows = ", ".join(str(n) for n in numbers)
                self.add_note(
                    numbers[0],
                    f"Column '{header}' was blank on {len(numbers)} row{'s' if len(numbers) > 1 else ''} ({rows}): "
                    f"{'each was' if len(numbers) > 1 else 'it was'} read as the value above it (filled down), "
                    "as a register writes a group once per block.",
                )
