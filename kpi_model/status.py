"""Reading a KPI value against its target and thresholds: status colour and display text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

from kpi_model.models import Direction, Kpi, UnitOfMeasure
from kpi_model.periods import Coverage, is_complete, partial_points, period_label

if TYPE_CHECKING:
    from kpi_model.engine import Point, Series


class Status(StrEnum):
    """Traffic-light status of a value."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    UNKNOWN = "unknown"


STATUS_LABELS = {
    Status.GREEN: "on track",
    Status.AMBER: "warning",
    Status.RED: "critical",
    Status.UNKNOWN: "no thresholds",
}


def latest_point(
    points: Iterable[Point], grain: str = "month", today: dt.date | None = None, *, coverage: Coverage | None = None
) -> Point | None:
    """The most recent *complete* period with a value: the one a status judges.

    Complete as :func:`kpi_model.periods.is_complete` says: the calendar has passed it and the data
    (``coverage``) spans it. A period still running, a month the data stops in the middle of, and a
    period in the future (mistyped dates) would pose as alarms or as good news; all are skipped.
    """
    today = today or dt.date.today()
    complete = [
        p
        for p in points
        if p.value is not None and p.dimension is None and is_complete(p.period, grain, today, coverage)
    ]
    return complete[-1] if complete else None


def latest_of(series: Series, today: dt.date | None = None) -> Point | None:
    """:func:`latest_point` of a computed series, with its own grain and coverage."""
    return latest_point(series.points, series.request.grain, today, coverage=series.coverage)


def unjudged_note(
    series: Series, judged: Point | None, today: dt.date | None = None, unit: UnitOfMeasure | None = None
) -> str | None:
    """Which period the status judges and which later ones it leaves out, or None when none is left out.

    ``'Status of 2018-10, the latest complete month; 2018-11 so far: 6, partial (data as of
    2018-11-14), not judged.'``
    """
    after = [
        p
        for p in partial_points(series, today=today)
        if p.dimension is None and p.value is not None and (judged is None or p.period > judged.period)
    ]
    if not after:
        return None
    grain = series.request.grain
    as_of = f" ({series.coverage.as_of_text()})" if series.coverage else ""
    if len(after) == 1:
        value = format_value(after[0].value, unit)
        left_out = f"{period_label(after[0].period, grain)} so far: {value}, partial{as_of}"
    else:
        labels = ", ".join(period_label(p.period, grain) for p in after[:3]) + (" …" if len(after) > 3 else "")
        left_out = f"{labels} are partial{as_of}"
    if judged is None:
        return f"{left_out[0].upper()}{left_out[1:]}, not judged: no complete {grain} yet."
    return f"Status of {period_label(judged.period, grain)}, the latest complete {grain}; {left_out}, not judged."


def status(kpi: Kpi, value: float | None) -> Status:
    """Red below critical, amber below warning, else green (mirrored for ``down``; a band for ``range``).

    Without thresholds the target decides: on or past it is green, short of it amber.
    """
    if value is None:
        return Status.UNKNOWN
    direction = kpi.direction or Direction.UP
    target = kpi.target
    if direction == Direction.RANGE:
        if target is None or target.low is None or target.high is None:
            return Status.UNKNOWN
        return Status.GREEN if target.low <= value <= target.high else Status.RED
    sign = 1 if direction == Direction.UP else -1
    thresholds = kpi.thresholds
    if thresholds and (thresholds.critical is not None or thresholds.warning is not None):
        if thresholds.critical is not None and sign * value < sign * thresholds.critical:
            return Status.RED
        if thresholds.warning is not None and sign * value < sign * thresholds.warning:
            return Status.AMBER
        return Status.GREEN
    if target is not None and target.value is not None:
        return Status.GREEN if sign * value >= sign * target.value else Status.AMBER
    return Status.UNKNOWN


def format_value(value: float | None, unit: UnitOfMeasure | None) -> str:
    """A value as people read it: percents as %, counts without decimals, money with separators."""
    if value is None:
        return "—"
    if unit == UnitOfMeasure.PERCENT:
        return f"{value:.1%}"
    if unit == UnitOfMeasure.COUNT:
        return f"{value:,.0f}"
    if unit == UnitOfMeasure.CURRENCY:
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def gap_to_target(kpi: Kpi, value: float | None) -> str | None:
    """How far ``value`` is from the target, in words that say which side is good, or None without a target.

    Higher is better: ``'12% short of target'`` / ``'10% past target'``; lower is better:
    ``'19% over target'`` / ``'5% under target'``; otherwise ``above`` / ``below``.
    """
    target = kpi.target.value if kpi.target else None
    if value is None or target is None:
        return None
    if target == 0:
        return "at target" if value == 0 else f"{format_value(value - target, kpi.unit_of_measure)} from target"
    change = (value - target) / abs(target)
    if abs(change) < 0.005:
        return "at target"
    words = {Direction.UP: ("past", "short of"), Direction.DOWN: ("over", "under")}.get(
        kpi.direction or Direction.UP, ("above", "below")
    )
    return f"{abs(change):.0%} {words[0] if change > 0 else words[1]} target"


def bands(kpi: Kpi, low: float, high: float) -> list[tuple[float, float, Status]]:
    """Red/amber/green bands between ``low`` and ``high`` (the chart's value range), by :func:`status`'s rules."""
    direction = kpi.direction or Direction.UP
    target = kpi.target
    if direction == Direction.RANGE:
        if target is None or target.low is None or target.high is None:
            return []
        cuts = [(low, target.low, Status.RED), (target.low, target.high, Status.GREEN), (target.high, high, Status.RED)]
    else:
        thresholds = kpi.thresholds
        warning = thresholds.warning if thresholds else None
        critical = thresholds.critical if thresholds else None
        if warning is None and critical is None:
            if target is None or target.value is None:
                return []
            warning = target.value
        edges = [e for e in (critical, warning) if e is not None]
        if direction == Direction.UP:
            levels = [Status.RED, Status.AMBER, Status.GREEN] if critical is not None else [Status.AMBER, Status.GREEN]
            points = [low, *edges, high]
        else:
            levels = [Status.GREEN, Status.AMBER, Status.RED] if critical is not None else [Status.GREEN, Status.AMBER]
            points = [low, *sorted(edges), high]
        if critical is not None and warning is None:
            levels = [Status.RED, Status.GREEN] if direction == Direction.UP else [Status.GREEN, Status.RED]
        cuts = list(zip(points[:-1], points[1:], levels, strict=True))
    return [(max(a, low), min(b, high), level) for a, b, level in cuts if min(b, high) > max(a, low)]
