"""Percent written without a % sign: ``5,2`` under a unit "%" is 5.2 %, not 520 %.

A row whose unit of measure is percent (from its unit column or a number column's header such as
"Actual (%)") may write its numbers as percent points (``5,2``, ``> 7``) or as fractions
(``0.052``). The row's plain numbers (no % sign, not a workbook cell formatted as a percentage)
decide together: if any is above 1 they are percent points and are divided by 100, else they are
fractions already. Either way the sheet gets a note naming the rows; nothing is decided silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from kpi_model.importers.common import clip, norm
from kpi_model.importers.values import Amount

_PERCENT_WORDS = frozenset({"percent", "prozent", "pct", "pourcentage", "porcentaje"})


def header_says_percent(header: str) -> bool:
    """Whether a number column's header gives percent as its unit: ``'Actual (%)'``, ``'Ziel in Prozent'``."""
    return "%" in header or bool(_PERCENT_WORDS & set(norm(header).split()))


def are_points(values: Iterable[float | None]) -> bool | None:
    """Whether plain percent values are percent points (any above 1), fractions (none), or None (no values)."""
    found = [abs(v) for v in values if v is not None]
    return any(v > 1 for v in found) if found else None


def as_points(amount: Amount) -> Amount:
    """The amount divided by 100: ``5.2`` → ``0.052``."""

    def scaled(value: float | None) -> float | None:
        return None if value is None else round(value / 100, 12)

    return replace(amount, value=scaled(amount.value), low=scaled(amount.low), high=scaled(amount.high))


def _plain(value: float) -> str:
    return f"{value:.12f}".rstrip("0").rstrip(".")


@dataclass
class PercentRows:
    """The rows whose plain percent numbers were read as percent points or as fractions, for one note each."""

    points: dict[int, tuple[str, list[str]]] = field(default_factory=dict)  # row → (KPI name, "'5,2' → 0.052")
    fractions: dict[int, tuple[str, list[str]]] = field(default_factory=dict)

    def add(self, number: int, name: str, text: str, amount: Amount, points: bool) -> None:
        shown = amount.value if amount.value is not None else amount.low
        found = self.points if points else self.fractions
        found.setdefault(number, (name, []))[1].append(f"'{text}' → {_plain(shown)}" if shown is not None else text)

    def notes(self) -> list[tuple[int, str]]:
        """(first row, text) per kind: one note for the rows read as percent points, one for fractions."""
        result = []
        if self.points:
            first = min(self.points)
            result.append(
                (
                    first,
                    f"On {_rows(self.points)} the unit is percent but the numbers have no % sign and some are "
                    "above 1, so they were read as percent points and divided by 100 "
                    f"(row {first}: {', '.join(self.points[first][1])}). "
                    "Write them with a % sign (5.2 %) or as fractions (0.052) to say otherwise.",
                )
            )
        if self.fractions:
            first = min(self.fractions)
            result.append(
                (
                    first,
                    f"On {_rows(self.fractions)} the unit is percent and the numbers have no % sign and none is "
                    "above 1, so they were read as fractions already (0.42 is 42 %) "
                    f"(row {first}: {', '.join(self.fractions[first][1])}).",
                )
            )
        return result


def _rows(found: dict[int, tuple[str, list[str]]]) -> str:
    listed = ", ".join(f"{n} ('{clip(name)}')" for n, (name, _) in sorted(found.items()))
    return f"row{'s' if len(found) > 1 else ''} {listed}"
