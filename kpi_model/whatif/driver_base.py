"""The values a driver tree is evaluated on: every leaf driver's value from ONE base period.

:func:`base_values` takes each driver's value from the same period (by default the latest complete
period all drivers share) or averages the same N periods, so a tree never multiplies May's leads by
November's deals, and says when a driver's data covers only part of that period (:class:`DriverBase`).
:func:`latest_values` is each KPI's own latest value, for lists of KPIs rather than trees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from kpi_model.errors import WhatIfError
from kpi_model.periods import (
    is_complete,
    normalise_grain,
    parse_baseline_period,
    period_label,
    shift_period,
    values_by_period,
)

__all__ = ["DriverBase", "base_values", "latest_values"]


@dataclass(frozen=True)
class DriverBase:
    """The leaf drivers' values a tree is evaluated on, all from the same period(s).

    ``periods`` holds one period (its values) or the last N (their averages), oldest first.
    ``chosen`` is False for the default, the latest complete period every driver has. ``partial``
    names the drivers whose data does not cover all of the base period(s): their values are part
    of a period, and :attr:`caption` says so wherever the numbers go. ``latest_complete`` is the
    latest complete period all drivers share (None when they share none), the period to choose
    instead.
    """

    values: dict[str, float]
    grain: str
    periods: tuple[dt.date, ...]
    chosen: bool = False
    notes: tuple[str, ...] = field(default=())
    data_as_of: dict[str, dt.date] = field(default_factory=dict)
    partial: tuple[str, ...] = ()
    latest_complete: dt.date | None = None

    @property
    def period(self) -> dt.date:
        """The (last) base period."""
        return self.periods[-1]

    @property
    def label(self) -> str:
        """``2018-05``, or ``2018-03 to 2018-05`` for an average."""
        last = period_label(self.periods[-1], self.grain)
        return last if len(self.periods) == 1 else f"{period_label(self.periods[0], self.grain)} to {last}"

    @property
    def is_partial(self) -> bool:
        """Whether some driver's value covers only part of a base period."""
        return bool(self.partial)

    @property
    def partial_reason(self) -> str | None:
        """``data to 2026-11-15`` (the earliest last day among the partial drivers), or None when complete."""
        if not self.partial:
            return None
        days = [self.data_as_of[kpi_id] for kpi_id in self.partial if kpi_id in self.data_as_of]
        return f"data to {min(days).isoformat()}" if days else f"the {self.grain} is not over"

    @property
    def partial_text(self) -> str | None:
        """``partial: data to 2026-11-15``, or None when every base period is complete."""
        return None if self.partial_reason is None else f"partial: {self.partial_reason}"

    def partial_advice(self) -> str | None:
        """What a partial base means and which period to choose instead, or None when it is complete."""
        if self.partial_reason is None:
            return None
        instead = (
            f"choose {self.latest_complete_label}, the latest complete {self.grain} all drivers have"
            if self.latest_complete_label is not None
            else "choose a complete period"
        )
        return (
            f"every value on it covers only part of a {self.grain}, so 'now' and the change needed are not "
            f"a whole {self.grain}'s; {instead}"
        )

    def partial_warning(self) -> str | None:
        """``the base period 2026-11 is partial (data to 2026-11-15): …`` with the advice, or None."""
        if self.partial_reason is None:
            return None
        return f"the base period {self.label} is partial ({self.partial_reason}): {self.partial_advice()}"

    @property
    def caption(self) -> str:
        """What every value shown is: ``values of 2018-05``, ``averages of 2018-03 to 2018-05 (3 months)``.

        A partial base says so in the caption itself: ``values of 2026-11 (partial: data to 2026-11-15)``.
        """
        if len(self.periods) == 1:
            text = f"values of {self.label}"
        else:
            text = f"averages of {self.label} ({len(self.periods)} {self.grain}s)"
        return f"{text} ({self.partial_text})" if self.partial_text else text

    @property
    def how(self) -> str:
        """Why these periods: chosen, or the default rule."""
        if self.chosen:
            return "chosen"
        if len(self.periods) > 1:
            return f"ending at the latest complete {self.grain} all drivers have"
        return f"the latest complete {self.grain} all drivers have"

    @property
    def latest_complete_label(self) -> str | None:
        """The latest complete period all drivers share, as a label (``2026-10``), or None."""
        return None if self.latest_complete is None else period_label(self.latest_complete, self.grain)

    def as_dict(self) -> dict[str, Any]:
        """``{label, caption, grain, periods, chosen, how, values, data_as_of, partial, partial_text,
        latest_complete, notes}`` (periods as labels)."""
        return {
            "label": self.label,
            "caption": self.caption,
            "grain": self.grain,
            "periods": [period_label(p, self.grain) for p in self.periods],
            "chosen": self.chosen,
            "how": self.how,
            "values": dict(self.values),
            "data_as_of": {kpi_id: day.isoformat() for kpi_id, day in self.data_as_of.items()},
            "partial": list(self.partial),
            "partial_text": self.partial_text,
            "latest_complete": self.latest_complete_label,
            "notes": list(self.notes),
        }


def _history(series: Any, grain: str) -> dict[dt.date, float]:
    points = getattr(series, "points", series)
    return values_by_period(points, grain)


def base_values(
    series_by_id: Mapping[str, Any],
    *,
    grain: str = "month",
    period: str | dt.date | None = None,
    average_of: int = 1,
    today: dt.date | None = None,
    complete: Callable[[str, dt.date], bool] | None = None,
    zero_when_empty: Collection[str] = (),
    names: Mapping[str, str] | None = None,
) -> DriverBase:
    """Every driver's value in ONE base period: ``period`` if given, else the latest complete one all share.

    ``series_by_id`` maps each leaf driver to its :class:`~kpi_model.engine.Series` (or points) at
    ``grain``. ``average_of`` > 1 averages each driver over the N periods ending at the base period
    (every driver needs a value in each). ``complete(kpi_id, period_start)`` says whether a period
    is complete; by default :func:`~kpi_model.periods.is_complete` decides, by ``today`` and, for a
    series that carries its data's ``coverage``, by the days the data covers. Drivers in
    ``zero_when_empty`` (counts and sums: :func:`~kpi_model.whatif.leadlag.empty_means_zero`) are 0
    in a period without rows inside their data's span. ``names`` (KPI id → name) words the notes.
    Raises :class:`WhatIfError` naming the driver when a value is missing.
    """
    grain = normalise_grain(grain)
    today = today or dt.date.today()
    if average_of < 1:
        raise WhatIfError("average over at least 1 period")
    coverages = {kpi_id: getattr(series, "coverage", None) for kpi_id, series in series_by_id.items()}

    def calendar_and_coverage(kpi_id: str, start: dt.date) -> bool:
        coverage = coverages.get(kpi_id)
        if coverage is None:
            return is_complete(start, grain, today)
        return is_complete(start, grain, today, coverage=coverage)

    is_done = complete or calendar_and_coverage
    histories: dict[str, dict[dt.date, float]] = {}
    for kpi_id, series in series_by_id.items():
        history = {} if isinstance(series, BaseException) else _history(series, grain)
        if not history:
            reason = f": {series}" if isinstance(series, BaseException) else ""
            raise WhatIfError(f"driver '{kpi_id}' has no values{reason}; load its data or fix its formula first")
        if kpi_id in zero_when_empty:
            first, last = min(history), max(history)
            current = first
            while current <= last:
                history.setdefault(current, 0.0)
                current = shift_period(current, 1, grain)
            history = dict(sorted(history.items()))
        histories[kpi_id] = history
    if not histories:
        raise WhatIfError("the tree has no drivers with values")

    def name(kpi_id: str) -> str:
        return f"'{(names or {}).get(kpi_id, kpi_id)}'"

    def span(kpi_id: str) -> str:
        history = histories[kpi_id]
        return f"{name(kpi_id)} has {period_label(min(history), grain)} to {period_label(max(history), grain)}"

    shared = set.intersection(*(set(h) for h in histories.values()))
    complete_shared = {start for start in shared if all(is_done(kpi_id, start) for kpi_id in histories)}
    latest_complete = max(complete_shared) if complete_shared else None
    notes: list[str] = []
    if period is not None:
        end = parse_baseline_period(period, grain)
        missing = [kpi_id for kpi_id, history in histories.items() if end not in history]
        if missing:
            raise WhatIfError(
                f"no value in {period_label(end, grain)} for {', '.join(name(m) for m in missing)}: "
                + "; ".join(span(m) for m in missing)
            )
    else:
        if latest_complete is None:
            raise WhatIfError(
                f"the drivers have no complete {grain} in common ({'; '.join(span(k) for k in histories)}): "
                "load data that overlaps, or choose a period"
            )
        end = latest_complete
        later = [kpi_id for kpi_id, history in histories.items() if max(history) > end]
        if later:
            taken = (
                f"Every driver is taken from {period_label(end, grain)}"
                if average_of == 1
                else f"Every driver is averaged over the {average_of} {grain}s ending at {period_label(end, grain)}"
            )
            notes.append(
                f"{taken}, the latest complete {grain} they all have ({'; '.join(span(k) for k in histories)})"
            )
    periods = tuple(shift_period(end, offset, grain) for offset in range(1 - average_of, 1))
    values: dict[str, float] = {}
    for kpi_id, history in histories.items():
        lacking = [p for p in periods if p not in history]
        if lacking:
            raise WhatIfError(
                f"{name(kpi_id)} has no value in {', '.join(period_label(p, grain) for p in lacking)}, so it cannot be "
                f"averaged over {average_of} {grain}s to {period_label(end, grain)}; {span(kpi_id)}"
            )
        values[kpi_id] = sum(history[p] for p in periods) / len(periods)
    partial = tuple(kpi_id for kpi_id in histories if not all(is_done(kpi_id, p) for p in periods))
    if partial:  # which drivers; what to choose instead is DriverBase.partial_warning's
        end_label = period_label(end, grain)
        which = end_label if average_of == 1 else f"A {grain} of {period_label(periods[0], grain)} to {end_label}"
        notes.append(
            f"{which} is not complete for {', '.join(name(p) for p in partial)}: the values cover only part of "
            f"the {grain} (a count or a sum falls short)"
        )
    if average_of > 1:
        notes.append(
            "Each driver is averaged first and the tree evaluated on the averages (an average of a product is "
            "not the product of the averages)"
        )
    as_of = {kpi_id: c.as_of for kpi_id, c in coverages.items() if c is not None and hasattr(c, "as_of")}
    return DriverBase(
        values,
        grain,
        periods,
        chosen=period is not None,
        notes=tuple(notes),
        data_as_of=as_of,
        partial=partial,
        latest_complete=latest_complete,
    )


def latest_values(
    series_by_id: Mapping[str, Any], *, today: dt.date | None = None, grain: str = "month"
) -> dict[str, float]:
    """Each KPI's value in ITS OWN latest complete period (by ``today``).

    Not for a driver tree: drivers whose data ends at different periods would be mixed; use
    :func:`base_values`, which takes every driver from the same period.

    Accepts :class:`~kpi_model.engine.Series` objects (their own grain is used) or plain
    sequences of points (at ``grain``); errors and empty series are skipped.
    """
    today = today or dt.date.today()
    found: dict[str, float] = {}
    for kpi_id, series in series_by_id.items():
        if isinstance(series, BaseException):
            continue
        points = getattr(series, "points", series)
        request = getattr(series, "request", None)
        series_grain = normalise_grain(request.grain if request is not None else grain)
        history = {
            p: v for p, v in values_by_period(points, series_grain).items() if is_complete(p, series_grain, today)
        }
        if history:
            found[kpi_id] = history[next(reversed(history))]
    return found
