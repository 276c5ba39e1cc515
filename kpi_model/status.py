"""Reading a KPI value against its target and thresholds: status colour and display text."""

from __future__ import annotations

import datetime as dt
import math
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


def format_value(value: float | None, unit: UnitOfMeasure | None, *, name: str = "") -> str:
    """A value as people read it: percents as %, counts without decimals, money with separators.

    A duration carries the unit its KPI's ``name`` states ("… (hours)" gives ``4.2 h``); nothing is
    ever written in scientific notation.
    """
    if value is None:
        return "—"
    value += 0.0  # -0.0 prints as "0", not "-0"
    if abs(value) >= 1e15:  # beyond any real KPI: digits by the hundred say nothing
        return f"{value:.3e}"
    if unit == UnitOfMeasure.PERCENT:
        return f"{value:.1%}"
    if unit == UnitOfMeasure.COUNT:
        return f"{value:,.0f}"
    if unit == UnitOfMeasure.CURRENCY:
        return f"{value:,.0f}" if abs(value) >= 100 or value == 0 else f"{value:,.2f}"
    if unit == UnitOfMeasure.DURATION:
        suffix = duration_suffix(name)
        return f"{value:,.1f}{suffix}" if abs(value) < 1000 else f"{value:,.0f}{suffix}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1 or value == 0:
        return f"{value:,.2f}"
    # Three significant digits in plain decimals: 0.000123, not 1.23e-04.
    return f"{value:.{min(12, 2 - math.floor(math.log10(abs(value))))}f}"


_DURATION_WORDS = (("minute", " min"), ("hour", " h"), ("day", " days"), ("week", " weeks"), ("month", " months"))


def duration_suffix(name: str) -> str:
    """The time unit a duration KPI's name states (" h" for "Resolution time (hours)"), else ""."""
    lowered = name.lower()
    return next((suffix for word, suffix in _DURATION_WORDS if word in lowered), "")


def kpi_value(kpi: Kpi, value: float | None) -> str:
    """:func:`format_value` with the KPI's own unit and name."""
    return format_value(value, kpi.unit_of_measure, name=kpi.name)


def thresholds_text(kpi: Kpi) -> str:
    """``'warning 52,000, critical 46,000'`` in the KPI's unit, or ``'—'`` when none is set."""
    thresholds = kpi.thresholds
    if thresholds is None or (thresholds.warning is None and thresholds.critical is None):
        return "—"
    parts = []
    if thresholds.warning is not None:
        parts.append(f"warning {kpi_value(kpi, thresholds.warning)}")
    if thresholds.critical is not None:
        parts.append(f"critical {kpi_value(kpi, thresholds.critical)}")
    return ", ".join(parts)


def target_text(kpi: Kpi) -> str:
    """The target value (or ``low–high`` for a range) in the KPI's unit, or ``'—'``; the due date is apart."""
    target = kpi.target
    if target is None:
        return "—"
    if target.low is not None and target.high is not None:
        return f"{kpi_value(kpi, target.low)}–{kpi_value(kpi, target.high)}"
    return kpi_value(kpi, target.value) if target.value is not None else "—"


def status_reason(kpi: Kpi, value: float | None) -> str:
    """Why :func:`status` gives its colour, in the words a tile shows: ``'amber: below warning 27.0%'``.

    The line the value crossed (or stays on the good side of) is named with its value, so a reader
    can tell a status from the thresholds apart from the gap to a target due later.
    """
    level = status(kpi, value)
    if value is None:
        return "not judged: no complete period with a value"
    direction = kpi.direction or Direction.UP
    target, thresholds = kpi.target, kpi.thresholds
    if direction == Direction.RANGE:
        if level == Status.UNKNOWN:
            return "not judged: a range KPI needs target.low and target.high"
        assert target is not None and target.low is not None and target.high is not None
        band = f"{kpi_value(kpi, target.low)}–{kpi_value(kpi, target.high)}"
        return f"green: inside the range {band}" if level == Status.GREEN else f"red: outside the range {band}"
    worse, better = ("below", "at or above") if direction == Direction.UP else ("above", "at or below")
    warning = thresholds.warning if thresholds else None
    critical = thresholds.critical if thresholds else None
    if warning is not None or critical is not None:
        if level == Status.RED:
            assert critical is not None
            return f"red: {worse} critical {kpi_value(kpi, critical)}"
        if level == Status.AMBER:
            assert warning is not None
            return f"amber: {worse} warning {kpi_value(kpi, warning)}"
        line = ("warning", warning) if warning is not None else ("critical", critical)
        return f"green: {better} {line[0]} {kpi_value(kpi, line[1])}"
    if level == Status.UNKNOWN:
        return "not judged: no thresholds and no target"
    assert target is not None and target.value is not None
    short = "short of" if direction == Direction.UP else "over"
    if level == Status.GREEN:
        return f"green: {better} target {kpi_value(kpi, target.value)} (no thresholds set)"
    return f"amber: {short} target {kpi_value(kpi, target.value)} (no thresholds set)"


def gap_to_target(kpi: Kpi, value: float | None) -> str | None:
    """How far ``value`` is from the target, in words that say which side is good, or None without a target.

    Higher is better: ``'12% short of target'`` / ``'10% past target'``; lower is better:
    ``'19% over target'`` / ``'5% under target'``; otherwise ``above`` / ``below``. Across zero (or
    to a zero target) the gap is an amount: ``'29,895 short of target'``.
    """
    target = kpi.target.value if kpi.target else None
    if value is None or target is None:
        return None
    words = {Direction.UP: ("past", "short of"), Direction.DOWN: ("over", "under")}.get(
        kpi.direction or Direction.UP, ("above", "below")
    )
    if value == target:
        return "at target"
    side = words[0] if value > target else words[1]
    if target == 0 or (value < 0) != (target < 0):
        # A share of the target means nothing across zero (−24,895 against 5,000 is not "598% short").
        return f"{kpi_value(kpi, abs(value - target))} {side} target"
    change = (value - target) / abs(target)
    if abs(change) < 0.005:
        return "at target"
    return f"{abs(change):.0%} {side} target"


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
