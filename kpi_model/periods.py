"""Periods: grains, the period that holds a date, period arithmetic and the labels people use.

A period is identified by its start date, as the engine returns it: ISO weeks start on Monday,
quarters on 1 January/April/July/October. Light on purpose (no sqlglot, no engine at run time),
so status, checks, the formula compiler and the UI can all use it without an import cycle.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.errors import WhatIfError
from kpi_model.models import PERIOD_LABEL_FORMS, _cut

if TYPE_CHECKING:
    from kpi_model.engine import Point, Series

__all__ = [
    "Coverage",
    "add_periods",
    "cadence_grain",
    "complete_points",
    "complete_values",
    "is_complete",
    "normalise_grain",
    "parse_baseline_period",
    "partial_points",
    "period_end",
    "period_from_index",
    "period_index",
    "period_label",
    "period_start",
    "periods_between",
    "shift_period",
    "values_by_period",
]

# Finest first: a grain is finer than another when it comes earlier here. The one list of grains.
GRAINS = ("day", "week", "month", "quarter", "year")
_GRAINS = GRAINS
_GRAIN_ALIASES = {
    **{grain: grain for grain in _GRAINS},
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
    "annual": "year",
}


def normalise_grain(grain: str) -> str:
    """``'month'`` for ``'month'`` or ``'monthly'`` (a grain or a cadence); raises :class:`WhatIfError`."""
    value = getattr(grain, "value", grain)
    found = _GRAIN_ALIASES.get(str(value).strip().lower())
    if found is None:
        raise WhatIfError(f"'{grain}' is not a period grain; use one of: {', '.join(_GRAINS)}")
    return found


def cadence_grain(cadence: str | None) -> str:
    """The period grain a review cadence names: ``'month'`` for ``monthly`` and when none is set."""
    return normalise_grain(cadence or "monthly")


def grain_cadence(grain: str) -> str:
    """The review cadence of a grain: ``'monthly'`` for ``month``."""
    return {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly", "year": "yearly"}[
        normalise_grain(grain)
    ]


def period_index(day: dt.date, grain: str) -> int:
    """A running number of the period holding ``day``: consecutive periods differ by one.

    ``grain`` must already be normalised (see :func:`normalise_grain`).
    """
    if grain == "day":
        return day.toordinal()
    if grain == "week":
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday, like ISO weeks
    if grain == "month":
        return day.year * 12 + day.month - 1
    if grain == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    return day.year


def period_from_index(index: int, grain: str) -> dt.date:
    """The start of the period numbered ``index`` by :func:`period_index` (normalised ``grain``).

    Raises :class:`WhatIfError` past the calendar (years 1 to 9999): a mistyped 9999-12-31 in the
    data, or a lag or window longer than history, must get a message, not a crash.
    """
    try:
        return _period_from_index(index, grain)
    except (ValueError, OverflowError):
        raise WhatIfError(
            f"a {grain} that far back or ahead is outside the calendar (years 0001 to 9999): look for "
            "mistyped dates in the data (such as 9999-12-31 or 0001-01-01), or ask for a shorter lag or window"
        ) from None


def _period_from_index(index: int, grain: str) -> dt.date:
    if grain == "day":
        return dt.date.fromordinal(index)
    if grain == "week":
        return dt.date.fromordinal(index * 7 + 1)
    if grain == "month":
        return dt.date(index // 12, index % 12 + 1, 1)
    if grain == "quarter":
        return dt.date(index // 4, (index % 4) * 3 + 1, 1)
    return dt.date(index, 1, 1)


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period at ``grain`` that holds ``day``."""
    grain = normalise_grain(grain)
    return period_from_index(period_index(day, grain), grain)


def shift_period(start: dt.date, periods: int, grain: str) -> dt.date:
    """The start of the period ``periods`` after (or before, if negative) the one holding ``start``."""
    grain = normalise_grain(grain)
    return period_from_index(period_index(start, grain) + periods, grain)


def add_periods(day: dt.date, periods: int, grain: str) -> dt.date:
    """The same day ``periods`` periods of ``grain`` later (or earlier): a due date, not a period start.

    A day past the end of a shorter month is clamped to its last day: 31 January + a month is
    28 (or 29) February, 29 February + a year is 28 February.
    """
    grain = normalise_grain(grain)
    if grain in ("day", "week"):
        return day + dt.timedelta(days=periods * (7 if grain == "week" else 1))
    months = day.year * 12 + day.month - 1 + periods * {"month": 1, "quarter": 3, "year": 12}[grain]
    year, month = divmod(months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_label(start: dt.date, grain: str) -> str:
    """How people name the period: ``2026-10``, ``2026-Q4``, ``2026-W07``, ``2026`` or the date."""
    grain = normalise_grain(grain)
    if grain == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if grain == "year":
        return f"{start.year:04d}"
    return start.isoformat()


def periods_between(baseline_period: dt.date, due: dt.date, grain: str) -> int:
    """Whole periods after the baseline period, up to and including the one holding ``due``.

    Baseline 2026-10, due 2026-12-31, monthly → 2 (November and December). Zero or negative
    when the due date falls in or before the baseline period.
    """
    grain = normalise_grain(grain)
    return period_index(due, grain) - period_index(baseline_period, grain)


def parse_baseline_period(label: str | dt.date, grain: str) -> dt.date:
    """The start date, at ``grain``, of the period a label names.

    Labels: ``2026`` (year), ``2026-Q3`` (quarter), ``2026-10`` (month), ``2026-W07`` (ISO
    week) or a date. A month or quarter finer than the grain is widened (``2026-11`` at quarter
    grain is 2026-10-01); a coarser label is refused, because a monthly history has no single
    "2026-Q3", and so is a week at month, quarter or year grain: a week can straddle two of them.
    Messages quote at most 60 characters of the label.
    """
    grain = normalise_grain(grain)
    if isinstance(label, dt.date):
        return period_start(label, grain)
    shown = _cut(str(label))
    text = str(label).strip().upper()
    for pattern, label_grain in PERIOD_LABEL_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match.group(1))
        if year < 1:
            raise WhatIfError(f"'{shown}' is not a period: years run from 0001 to 9999")
        if label_grain == "year":
            start = dt.date(year, 1, 1)
        elif label_grain == "quarter":
            start = dt.date(year, (int(match.group(2)) - 1) * 3 + 1, 1)
        elif label_grain == "month":
            start = dt.date(year, int(match.group(2)), 1)
        else:
            try:
                start = dt.date.fromisocalendar(year, int(match.group(2)), 1)
            except ValueError:
                raise WhatIfError(f"'{shown}' is not an ISO week: {year} has no week {match.group(2)}") from None
            if grain not in ("day", "week"):
                raise _week_at_coarser_grain(shown, start, grain)
        if _GRAINS.index(label_grain) > _GRAINS.index(grain):
            raise WhatIfError(
                f"'{shown}' names a {label_grain}, but the history is by {grain}: name one {grain} "
                f"(e.g. {period_label(start, grain)}) or preview the KPI at {label_grain} grain"
            )
        return period_start(start, grain)
    try:
        return period_start(dt.date.fromisoformat(text), grain)
    except ValueError:
        raise WhatIfError(
            f"'{shown}' is not a period: write 2026 (year), 2026-Q3 (quarter), 2026-10 (month), "
            "2026-W07 (ISO week) or a date such as 2026-10-31"
        ) from None


def _week_at_coarser_grain(shown: str, monday: dt.date, grain: str) -> WhatIfError:
    """A week named where the history is by month (quarter, year): which period to write instead."""
    sunday = monday + dt.timedelta(days=6) if monday <= dt.date.max - dt.timedelta(days=6) else dt.date.max
    first, last = period_label(monday, grain), period_label(sunday, grain)
    days = f"{monday.isoformat()} to {sunday.isoformat()}"
    if first == last:
        return WhatIfError(f"'{shown}' names a week ({days}), but the history is by {grain}: write {first}")
    return WhatIfError(
        f"'{shown}' names a week ({days}) that straddles {first} and {last}, but the history is by {grain}: "
        f"write {first} or {last}"
    )


def period_end(start: dt.date, grain: str) -> dt.date:
    """The last day of the period at ``grain`` that holds ``start`` (2026-02 → 2026-02-28)."""
    try:
        return shift_period(start, 1, grain) - dt.timedelta(days=1)
    except WhatIfError:  # the calendar's last period: it ends on its last day
        return dt.date.max


# A source with at least this many rows and none on a Saturday or Sunday is a working-day source
# (B2B deals, purchase orders): (5/7)^20 < 0.1 % that 20 rows spread over the week all miss it.
WORKING_DAY_MIN_ROWS = 20


@dataclass(frozen=True)
class Coverage:
    """The days a KPI's data covers: its first and last timestamp, to the day.

    ``working_days`` is set for data that never has a row on a Saturday or Sunday: its periods
    are covered up to their last working day. A derived KPI covers what all its inputs cover
    (:meth:`overlap`); a requested date range narrows it (:meth:`within`).
    """

    first: dt.date
    last: dt.date
    working_days: bool = False

    @property
    def as_of(self) -> dt.date:
        """The last day the data covers: the "data as of" date."""
        return self.last

    def as_of_text(self) -> str:
        """``'data as of 2018-11-14'``."""
        return f"data as of {self.last.isoformat()}"

    def covers(self, start: dt.date, end: dt.date) -> bool:
        """Whether the data covers every day from ``start`` to ``end`` (both included).

        For working-day data, weekend days at either edge need no data.
        """
        if self.working_days:
            start, end = _first_working_day(start, end), _last_working_day(start, end)
        return self.first <= start and self.last >= end

    def overlap(self, other: Coverage | None) -> Coverage | None:
        """What both cover (a derived KPI is complete only where all its inputs are); None if nothing."""
        if other is None:
            return self
        first, last = max(self.first, other.first), min(self.last, other.last)
        return Coverage(first, last, self.working_days and other.working_days) if first <= last else None

    def within(self, start: dt.date | None, end: dt.date | None) -> Coverage | None:
        """Narrowed to a requested date range (``--from``/``--to``); None when nothing is left."""
        first = max(self.first, start) if start else self.first
        last = min(self.last, end) if end else self.last
        return Coverage(first, last, self.working_days) if first <= last else None

    def as_dict(self) -> dict[str, Any]:
        """For JSON: first and last day as ISO dates."""
        return {"first": self.first.isoformat(), "last": self.last.isoformat(), "working_days": self.working_days}


def _first_working_day(start: dt.date, end: dt.date) -> dt.date:
    day = start
    while day < end and day.isoweekday() >= 6:
        day += dt.timedelta(days=1)
    return day


def _last_working_day(start: dt.date, end: dt.date) -> dt.date:
    day = end
    while day > start and day.isoweekday() >= 6:
        day -= dt.timedelta(days=1)
    return day


def is_complete(start: dt.date, grain: str, today: dt.date | None = None, coverage: Coverage | None = None) -> bool:
    """Whether the period at ``grain`` that begins on ``start`` counts: THE rule, used everywhere.

    A period is complete when (1) the calendar has passed it (its next period has begun by
    ``today``) and (2) the data covers it from its first to its last day: the first timestamp
    falls on or before the period's first day and the last timestamp on or after its last day
    (to the day: data whose last row is on 30 November at 09:00 covers November 30). Data with no
    row on any Saturday or Sunday needs to reach only the period's last working day (see
    :class:`Coverage`). Without a ``coverage`` only the calendar decides.

    Olist deals run from 2017-12-05 to 2018-11-14: December 2017 and November 2018 are partial;
    leads from 2017-06-14 to 2018-05-31: June 2017 is partial, May 2018 complete.
    """
    grain = normalise_grain(grain)
    start = period_start(start, grain)
    end = period_end(start, grain)
    if end >= (today or dt.date.today()):
        return False
    return coverage is None or coverage.covers(start, end)


def _points_grain_coverage(
    series: Series | Sequence[Point], grain: str | None, coverage: Coverage | None
) -> tuple[Sequence[Point], str, Coverage | None]:
    """A series' points, grain and coverage; for plain points, the ``grain`` (default month) and ``coverage`` given."""
    points: Sequence[Point] = series if isinstance(series, Sequence) else series.points
    request = getattr(series, "request", None)
    found_grain = grain or (request.grain if request is not None else "month")
    found_coverage: Coverage | None = coverage if coverage is not None else getattr(series, "coverage", None)
    return points, normalise_grain(found_grain), found_coverage


def complete_points(
    series: Series | Sequence[Point],
    grain: str | None = None,
    *,
    coverage: Coverage | None = None,
    today: dt.date | None = None,
) -> list[Point]:
    """The points of ``series`` in complete periods (:func:`is_complete`), in order.

    Pass a :class:`~kpi_model.engine.Series` (its grain and coverage are used) or plain points
    with ``grain`` and ``coverage``. What a fit, a baseline, a status or a correlation may use.
    """
    points, grain, coverage = _points_grain_coverage(series, grain, coverage)
    today = today or dt.date.today()
    return [p for p in points if is_complete(p.period, grain, today, coverage)]


def partial_points(
    series: Series | Sequence[Point],
    grain: str | None = None,
    *,
    coverage: Coverage | None = None,
    today: dt.date | None = None,
) -> list[Point]:
    """The points of ``series`` in periods that are not complete: shown, marked, never judged."""
    points, grain, coverage = _points_grain_coverage(series, grain, coverage)
    today = today or dt.date.today()
    return [p for p in points if not is_complete(p.period, grain, today, coverage)]


def complete_values(
    series: Series | Sequence[Point],
    grain: str | None = None,
    *,
    coverage: Coverage | None = None,
    today: dt.date | None = None,
) -> dict[dt.date, float]:
    """Period start → value for complete periods with a finite value (no breakdown rows)."""
    points, grain, coverage = _points_grain_coverage(series, grain, coverage)
    return values_by_period(complete_points(points, grain, coverage=coverage, today=today), grain)


def values_by_period(points: Sequence[Point], grain: str) -> dict[dt.date, float]:
    """Period start → value, for periods with a finite value (breakdown rows are not a history)."""
    values: dict[dt.date, float] = {}
    for point in points:
        if point.dimension is not None or point.value is None or not math.isfinite(point.value):
            continue
        values[period_start(point.period, grain)] = float(point.value)
    return dict(sorted(values.items()))
