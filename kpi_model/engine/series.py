"""What a computed KPI is: its points per period, the SQL that produced them and the days its data covers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kpi_model.formula import FormulaError, SeriesRequest
from kpi_model.periods import Coverage, is_complete


@dataclass(frozen=True)
class Point:
    """One period of a KPI series (``dimension`` set when broken down by a column)."""

    period: dt.date
    value: float | None
    rows: int | None
    numerator: float | None = None
    denominator: float | None = None
    dimension: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], kpi_id: str) -> Point:
        """A point from one row of a KPI's query (columns as :class:`~kpi_model.formula.Compiler` names them).

        Raises :class:`FormulaError` (naming ``kpi_id``) when the formula gives something other than a number.
        """
        period = row["period"]
        if isinstance(period, dt.datetime):
            period = period.date()
        return cls(
            period=period,
            value=_number(row.get("value"), kpi_id),
            rows=None if row.get("row_count") is None else int(row["row_count"]),
            numerator=_number(row.get("numerator"), kpi_id),
            denominator=_number(row.get("denominator"), kpi_id),
            dimension=row.get("dimension"),
        )


def _number(value: Any, kpi_id: str) -> float | None:
    # Text is refused even when it reads as a number: max() of a text column compares letters, not values.
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    given = f"text ({value!r})" if isinstance(value, str) else f"a {type(value).__name__} ({value})"
    raise FormulaError(
        f"KPI '{kpi_id}': the formula gives {given}, not a number", "aggregate a numeric column or cast it"
    )


@dataclass(frozen=True)
class Series:
    """A KPI computed per period, with the SQL that produced it and the days its data covers.

    ``coverage`` (first and last day of the data, see :class:`~kpi_model.periods.Coverage`) decides
    with the calendar which periods are complete: :meth:`is_complete`, and
    :func:`kpi_model.periods.complete_points` for the points a fit or a status may use.
    """

    kpi_id: str
    request: SeriesRequest
    points: list[Point] = field(default_factory=list)
    sql: str = ""
    coverage: Coverage | None = None

    def is_complete(self, point: Point, today: dt.date | None = None) -> bool:
        """Whether ``point``'s period is complete (:func:`kpi_model.periods.is_complete`)."""
        return is_complete(point.period, self.request.grain, today, self.coverage)

    def as_records(self, today: dt.date | None = None) -> list[dict[str, Any]]:
        """Plain dicts, period as an ISO date, ``complete`` per period (what the CLI prints and the pages tabulate)."""
        today = today or dt.date.today()
        records = []
        for point in self.points:
            record: dict[str, Any] = {
                "period": point.period.isoformat(),
                "value": point.value,
                "rows": point.rows,
                "complete": self.is_complete(point, today),
            }
            if point.dimension is not None or self.request.by:
                record["dimension"] = point.dimension
            if point.denominator is not None or point.numerator is not None:
                record["numerator"] = point.numerator
                record["denominator"] = point.denominator
            records.append(record)
        return records
