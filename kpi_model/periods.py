"""Periods: grains, the period that holds a date, period arithmetic and the labels people use.

A period is identified by its start date, as the engine returns it: ISO weeks start on Monday,
quarters on 1 January/April/July/October. Light on purpose (no sqlglot, no engine at run time),
so status, checks, the formula compiler and the UI can all use it without an import cycle.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpi_model.errors import WhatIfError
from kpi_model.models import PERIOD_LABEL_FORMS

if TYPE_CHECKING:
    from kpi_model.engine import Point

__all__ = [
    "is_complete",
    "normalise_grain",
    "parse_baseline_period",
    "period_from_index",
    "period_index",
    "period_label",
    "period_start",
    "periods_between",
    "shift_period",
    "values_by_period",
]

_GRAINS = ("day", "week", "month", "quarter", "year")
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
    """The start of the period numbered ``index`` by :func:`period_index` (normalised ``grain``)."""
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
    week) or a date. A label finer than the grain is widened (``2026-11`` at quarter grain is
    2026-10-01); a coarser one is refused, because a monthly history has no single "2026-Q3".
    """
    grain = normalise_grain(grain)
    if isinstance(label, dt.date):
        return period_start(label, grain)
    text = str(label).strip().upper()
    for pattern, label_grain in PERIOD_LABEL_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match.group(1))
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
                raise WhatIfError(f"'{label}' is not an ISO week: {year} has no week {match.group(2)}") from None
        if _GRAINS.index(label_grain) > _GRAINS.index(grain):
            raise WhatIfError(
                f"'{label}' names a {label_grain}, but the history is by {grain}: name one {grain} "
                f"(e.g. {period_label(start, grain)}) or preview the KPI at {label_grain} grain"
            )
        return period_start(start, grain)
    try:
        return period_start(dt.date.fromisoformat(text), grain)
    except ValueError:
        raise WhatIfError(
            f"'{label}' is not a period: write 2026 (year), 2026-Q3 (quarter), 2026-10 (month), "
            "2026-W07 (ISO week) or a date such as 2026-10-31"
        ) from None


def is_complete(start: dt.date, grain: str, today: dt.date) -> bool:
    """A period is complete once the next one has begun (by ``today``)."""
    return shift_period(start, 1, grain) <= today


def values_by_period(points: Sequence[Point], grain: str) -> dict[dt.date, float]:
    """Period start → value, for periods with a finite value (breakdown rows are not a history)."""
    values: dict[dt.date, float] = {}
    for point in points:
        if point.dimension is not None or point.value is None or not math.isfinite(point.value):
            continue
        values[period_start(point.period, grain)] = float(point.value)
    return dict(sorted(values.items()))
