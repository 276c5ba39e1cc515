"""The number cells of a KPI register: baseline, target, due date, thresholds, read by the file's locale.

:class:`NumberCells` decides each number column's decimal separator from the evidence of the
column and the file (:mod:`~kpi_model.importers.number_format`); :class:`RowNumbers` reads a
row's numbers with it, and turns what stays ambiguous into a :class:`NumberQuestion`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from kpi_model.importers.direction import implied_direction
from kpi_model.importers.number_format import (
    AmbiguousNumber,
    Evidence,
    NumberQuestion,
    Separator,
    decide,
    german_context,
    parse_decimal,
    proves,
    separator_name,
)
from kpi_model.importers.percent_points import PercentRows, are_points, as_points, header_says_percent
from kpi_model.importers.rag import colours_named, split_by_header, split_rag
from kpi_model.importers.tables import Table
from kpi_model.importers.values import (
    NUMBER_FIELDS,
    Amount,
    amount_readings,
    has_currency,
    read_amount,
    read_date,
)
from kpi_model.models import Direction, UnitOfMeasure

_PART_NAMES = {"critical": "red (critical)", "warning": "amber (warning)"}
_SHOWN = 5  # cells named in a note on a column's separator; the rest are counted
_TOKEN = re.compile(r"\d[\d.,]*\d|\d")
# A year in a header or title ("Target 2027", "Ziel FY2027", "Target (FY27)"), not part of a date.
_YEAR = re.compile(
    r"(?<![\d./-])(?:(?:fy|gj|wj)\s*'?)?(20\d\d)(?![\d./-])|(?<![\w])(?:fy|gj|wj)\s*'?(\d\d)(?!\d)", re.I
)


_SCALE_IN_WORDS = re.compile(r"(\d+)\s*(?:-|–|to|bis)\s*(\d+)")


def scale_of(top: float, description: str) -> str:
    """A rating's scale from the top written beside it (``4.3 / 5``), with the bottom the definition names."""
    shown = f"{top:g}"
    for low, high in _SCALE_IN_WORDS.findall(description):
        if high == shown:
            return f"{low}-{high}"
    return f"up to {shown}"


def year_named(text: str) -> int | None:
    """The one year a header or title names: ``'Target FY2027'`` → 2027; None for none or several."""
    years = {int(m.group(1)) if m.group(1) else 2000 + int(m.group(2)) for m in _YEAR.finditer(text)}
    return years.pop() if len(years) == 1 else None


def year_of_targets(table: Table, columns: dict[str, int]) -> tuple[int, str] | None:
    """The year a target header ("Target 2027", "Ziel FY27") or else a title row names, and where: targets end then."""
    index = columns.get("target")
    if index is not None and (year := year_named(table.headers[index])) is not None:
        return year, f"the column '{table.headers[index]}'"
    for title in table.title:
        if (year := year_named(title)) is not None:
            return year, f"the title '{title}'"
    return None


@dataclass
class Row:
    """One KPI being assembled from a row, with what could not be mapped kept as text."""

    number: int
    label: str
    kpi: dict[str, Any] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # "Cadence as written: bi-weekly"
    percent: list[str] = field(default_factory=list)
    points: bool | None = None  # percent unit: plain numbers are percent points (True) or fractions (False)
    definition: str | None = None  # a formula column's definition in words, for the description


def _plain(value: float) -> str:
    """``1850.0`` → ``1850``, ``1.85`` → ``1.85``: how to type a number so it reads one way."""
    return f"{value:.12f}".rstrip("0").rstrip(".")


class NumberCells:
    """The decimal separator of each number column, decided once from the evidence of the whole sheet."""

    def __init__(self, table: Table, columns: dict[str, int], answer: Separator | None) -> None:
        self.table = table
        self.columns = columns
        self.answer = answer
        self.questions: list[NumberQuestion] = []
        self.decided: dict[int, list[tuple[int, str, str]]] = {}  # column → (row, text, value read)
        file = Evidence()
        per_column: dict[int, Evidence] = {}
        for key in NUMBER_FIELDS:
            index = columns.get(key)
            if index is None:
                continue
            evidence = per_column.setdefault(index, Evidence())
            for number, cells in table.rows:
                text = cells[index].strip()
                if text and (number, index) not in table.typed:
                    where = f"row {number}"
                    evidence.add(text, where)
                    file.add(text, f"{where}, column '{table.headers[index]}'")
        context = german_context(table.delimiter, table.headers, (c for _, r in table.rows for c in r))
        self.separators = {i: decide(e, file, context) for i, e in per_column.items()}

    def separator(self, number: int, index: int) -> Separator | None:
        """The separator for a cell: '.' for a workbook's stored numbers, else the column's, else the user's answer."""
        if (number, index) in self.table.typed:
            return "."  # a stored number's text is Python's: 1850.5, never grouped
        return self.separators.get(index, (None, ""))[0] or self.answer

    def record(self, number: int, index: int, text: str) -> None:
        """Remember that an ambiguous-looking cell was read by the column's evidence, for one note per column."""
        if (number, index) in self.table.typed:
            return
        separator = self.separator(number, index)
        tokens = [t for t in _TOKEN.findall(text) if ("," in t or "." in t) and proves(t) is None]
        if tokens and separator is not None:
            value = _plain(parse_decimal(tokens[0], separator))
            self.decided.setdefault(index, []).append((number, text, value))

    def notes(self) -> list[tuple[int, str]]:
        """One note per column whose ambiguous-looking numbers the evidence decided: (first row, text)."""
        found = []
        for index, cells in self.decided.items():
            separator, why = self.separators.get(index, (None, ""))
            chosen = separator or self.answer
            assert chosen is not None
            reason = why if separator else "you gave it for this file"
            listed = [f"'{text}' (row {number}) as {value}" for number, text, value in cells]
            shown = ", ".join(listed[:_SHOWN]) + (f" and {len(cells) - _SHOWN} more" if len(cells) > _SHOWN else "")
            found.append(
                (
                    cells[0][0],
                    f"Column '{self.table.headers[index]}' was read with a {separator_name(chosen)} "
                    f"({reason}): {shown}.",
                )
            )
        return found

    def ask(self, row: Row, key: str, index: int, text: str, money: bool) -> str:
        """Record a question for an ambiguous cell and return the note's text."""
        readings = amount_readings(text, key, money=money)
        question = NumberQuestion(row.number, self.table.headers[index], key, row.label, text, readings)
        self.questions.append(question)
        token = next(t for t in _TOKEN.findall(text) if ("," in t or "." in t) and proves(t) is None)
        comma, point = _plain(parse_decimal(token, ",")), _plain(parse_decimal(token, "."))
        why = self.separators.get(index, (None, ""))[1] or "nothing else in the file says which"
        return (
            f"{key} '{text}' in column '{question.column}' could be {comma} (decimal comma) or {point} "
            f"(decimal point), and {why}; it was left out and kept in the description. To decide, write "
            f"{comma} or {point} in the file, or import it again with --decimal comma or --decimal point "
            "(in the app, answer the question above the preview)"
        )


class RowNumbers:
    """Reading a row's numbers: mixed into the sheet import, which provides the attributes below."""

    table: Table
    columns: dict[str, int]
    numbers: NumberCells
    due_year: tuple[int, str] | None  # (year, where it was named)
    due_rows: list[int]
    direction_rows: dict[tuple[Direction, str], list[int]]  # (direction, why) → rows it was inferred for
    rag_by_header: bool  # whether a thresholds cell was read by the colour order of its header (noted once)
    percent_rows: PercentRows  # rows whose plain percent numbers were read as points or fractions (noted once)

    def cell(self, cells: list[str], field_name: str) -> str | None:
        raise NotImplementedError

    def note(self, row: Row, text: str) -> None:
        raise NotImplementedError

    def keep(self, row: Row, key: str, text: str, why: str) -> None:
        raise NotImplementedError

    def add_note(self, number: int, text: str) -> None:
        raise NotImplementedError

    def note_numbers(self) -> None:
        """The notes on the whole sheet: separators decided per column, targets due by a year named above."""
        for number, text in self.numbers.notes():
            self.add_note(number, text)
        for number, text in self.percent_rows.notes():
            self.add_note(number, text)
        if self.due_rows and self.due_year is not None:
            year, where = self.due_year
            rows = ", ".join(str(n) for n in self.due_rows)
            self.add_note(
                self.due_rows[0],
                f"Targets without a due date (row{'s' if len(self.due_rows) > 1 else ''} {rows}) were set due "
                f"{year}-12-31, the end of the year {where} names; give a due date to change it.",
            )
        for (direction, why), numbers in self.direction_rows.items():
            rows = ", ".join(str(n) for n in numbers)
            better = "higher" if direction is Direction.UP else "lower"
            self.add_note(
                numbers[0],
                f"No column gives the direction; on row{'s' if len(numbers) > 1 else ''} {rows} it was set to "
                f"{direction.value} ({better} is better) because {why}. Add a Direction column to say otherwise.",
            )

    def amount(self, row: Row, key: str, text: str, money: bool, part: str | None = None) -> Amount | None:
        """A number cell read; ``part`` is the level of a combined thresholds cell ('critical', 'warning')."""
        index = self.columns[key]
        label = f"{key} {_PART_NAMES[part]}" if part in _PART_NAMES else key
        try:
            amount = read_amount(text, label=key, money=money, decimal=self.numbers.separator(row.number, index))
        except AmbiguousNumber:
            row.kept.append(f"{key.capitalize()} as written: {text}")
            self.note(row, self.numbers.ask(row, key, index, text, money) + ".")
            return None
        except ValueError as error:
            self.keep(row, key, text, str(error))
            return None
        self.numbers.record(row.number, index, text)
        if amount.percent:
            row.percent.append(f"{label} '{text}'")
        elif row.points is not None and (row.number, index) not in self.table.percent:
            amount = as_points(amount) if row.points else amount
            self.percent_rows.add(row.number, row.label, text, amount, row.points)
        elif (row.number, index) in self.table.percent and "unit_of_measure" not in row.kpi:
            row.kpi["unit_of_measure"] = UnitOfMeasure.PERCENT.value  # the workbook holds the fraction already
            self.note(
                row,
                f"{key} {text} is formatted as a percentage in the workbook, so unit_of_measure was set to percent.",
            )
        if amount.dropped:
            self.note(row, f"{key} '{text}' was read as a number; the word '{amount.dropped}' is not kept.")
        kpi = row.kpi
        if amount.out_of is not None and "scale" not in kpi:
            kpi["scale"] = scale_of(amount.out_of, kpi.get("description") or "")
            self.note(row, f"{key} '{text}' is a rating, so its scale was set to {kpi['scale']}.")
        if amount.currency and "unit_of_measure" not in kpi:
            kpi["unit_of_measure"] = UnitOfMeasure.CURRENCY.value
            self.note(row, f"{key} '{text}' is an amount of money, so unit_of_measure was set to currency.")
        return amount

    def percent_points(self, row: Row, cells: list[str]) -> bool | None:
        """For a percent row, whether its plain numbers are percent points (any above 1); None for other rows."""
        headers = {k: self.table.headers[i] for k, i in self.columns.items() if k in NUMBER_FIELDS}
        by_header = any(header_says_percent(h) for k, h in headers.items() if self.cell(cells, k) is not None)
        unit = row.kpi.get("unit_of_measure")
        if unit != UnitOfMeasure.PERCENT.value and (unit is not None or not by_header):
            return None  # a unit column saying "days" wins over a header saying "%"
        values: list[float | None] = []
        for key in headers:
            text, index = self.cell(cells, key), self.columns[key]
            if text is None or (row.number, index) in self.table.percent:
                continue
            parts = split_rag(text).values() if key == "thresholds" else ()
            for part in parts or [text]:
                try:
                    amount = read_amount(part, decimal=self.numbers.separator(row.number, index))
                except ValueError:
                    continue
                if not amount.percent:
                    values += [amount.value, amount.low, amount.high]
        points = are_points(values)
        if points is not None and "unit_of_measure" not in row.kpi:
            row.kpi["unit_of_measure"] = UnitOfMeasure.PERCENT.value
            self.note(row, "a number column's header gives percent as the unit, so unit_of_measure was set to percent.")
        return points

    def read_numbers(self, row: Row, cells: list[str]) -> None:
        kpi = row.kpi
        row.points = self.percent_points(row, cells)
        texts = [self.cell(cells, key) or "" for key in NUMBER_FIELDS]
        money = kpi.get("unit_of_measure") == UnitOfMeasure.CURRENCY.value or any(has_currency(t) for t in texts)
        text = self.cell(cells, "baseline")
        if text is not None and (amount := self.amount(row, "baseline", text, money)) is not None:
            if amount.value is None:
                self.keep(row, "baseline", text, f"the baseline '{text}' is a range, not one value")
            else:
                kpi["baseline"] = {"value": amount.value}
        target: dict[str, Any] = {}
        text = self.cell(cells, "target")
        if text is not None:
            self.read_target(row, text, money, target)
        thresholds: dict[str, float] = {}
        comparators: dict[str, Direction | None] = {}
        text = self.cell(cells, "thresholds")
        if text is not None:
            comparators.update(self.read_rag(row, text, money, thresholds, target))
        for key in ("warning", "critical"):
            text = self.cell(cells, key)
            if text is not None and (amount := self.amount(row, key, text, money)) is not None:
                if amount.value is None:
                    self.keep(row, key, text, f"the {key} threshold '{text}' is a range, not one value")
                else:
                    thresholds[key] = amount.value
                    comparators[key] = amount.better
        self.read_due(row, self.cell(cells, "due"), target)
        if target:
            kpi["target"] = target
        if thresholds:
            kpi["thresholds"] = thresholds
        if "direction" not in kpi and (implied := implied_direction(target.get("value"), thresholds, comparators)):
            kpi["direction"] = implied[0].value
            self.direction_rows.setdefault(implied, []).append(row.number)

    def read_target(self, row: Row, text: str, money: bool, target: dict[str, Any], key: str = "target") -> None:
        amount = self.amount(row, key, text, money)
        if amount is None:
            return
        if amount.value is not None:
            target["value"] = amount.value
        else:
            target.update(low=amount.low, high=amount.high)
        implied = Direction.RANGE if amount.value is None else amount.better
        if implied is not None and "direction" not in row.kpi:
            row.kpi["direction"] = implied.value
            self.note(row, f"direction set to {implied.value} because the target reads '{text}'.")

    def read_due(self, row: Row, due: str | None, target: dict[str, Any]) -> None:
        if due is not None:
            try:
                day, how = read_date(due, label="due date")
                target["due"] = day.isoformat()
                if how:
                    self.note(row, f"due date: {how} ({day.isoformat()}).")
            except ValueError as error:
                self.keep(row, "due", due, str(error))
        elif self.due_year is not None and ("value" in target or "low" in target):
            # "Target 2027" or a title "KPI register FY2027": the target is due when that year ends.
            target["due"] = dt.date(self.due_year[0], 12, 31).isoformat()
            self.due_rows.append(row.number)

    def read_rag(
        self, row: Row, text: str, money: bool, thresholds: dict[str, float], target: dict[str, Any]
    ) -> dict[str, Direction | None]:
        """A combined column: ``'Red < 90% / Amber < 95%'``, ``'R: <90 %, A: 90-95 %, G: ≥95 %'``.

        Returns the comparators of the red and amber parts, for the direction they imply.
        """
        parts = split_rag(text)
        header = self.table.headers[self.columns["thresholds"]]
        if not parts and (parts := split_by_header(text, colours_named(header))):
            if not self.rag_by_header:  # once per sheet: each row is read the same way
                self.rag_by_header = True
                order = ", then ".join(parts)
                self.note(row, f"the thresholds '{text}' were read in the order the header '{header}' names: {order}.")
        if not parts:
            self.keep(row, "thresholds", text, f"the thresholds '{text}' name no red, amber or green level")
            return {}
        read = {c: self.amount(row, "thresholds", t, money, part=c) for c, t in parts.items() if c != "target"}
        critical, warning = read.get("critical"), read.get("warning")
        if critical is not None and critical.value is not None:
            thresholds["critical"] = critical.value
        if warning is not None:
            if warning.value is not None:
                thresholds["warning"] = warning.value
            elif warning.low is not None and warning.high is not None:
                # Amber "90-95 %" beside red "< 90 %": the amber line is the end away from red.
                red = thresholds.get("critical")
                far_high = red is None or abs(warning.high - red) >= abs(warning.low - red)
                thresholds["warning"] = warning.high if far_high else warning.low
        green = parts.get("target")
        if green is not None and "target" not in self.columns and not target:
            self.read_target(row, green, money, target, key="thresholds")
            if target:
                self.note(row, f"the green level '{green}' was read as the target, as the sheet has no target column.")
        return {c: a.better for c, a in read.items() if a is not None and a.value is not None}
