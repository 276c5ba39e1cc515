"""Target previews: what a target requires, how often history met it, a projection that knows its limits.

The projection itself (Theil–Sen trend or year-over-year, t band, domain bounds) lives in
:mod:`~kpi_model.whatif.projection`, the suggested thresholds in :mod:`~kpi_model.whatif.thresholds`.
Also :func:`target_concerns`, the quick sanity checks on a proposed target (a negative count,
a percent typed as 30 for 30 %, a target the baseline already meets).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpi_model.errors import WhatIfError
from kpi_model.models import Direction, Kpi
from kpi_model.periods import (
    is_complete,
    normalise_grain,
    parse_baseline_period,
    period_end,
    period_index,
    period_label,
    period_start,
    periods_between,
    shift_period,
    values_by_period,
)
from kpi_model.status import kpi_value
from kpi_model.whatif.projection import MIN_BAND_PERIODS, MIN_TREND_PERIODS, kpi_domain, max_horizon, project
from kpi_model.whatif.target_result import VERDICTS, TargetPreview
from kpi_model.whatif.thresholds import suggest_thresholds

if TYPE_CHECKING:
    from kpi_model.engine import Point
    from kpi_model.periods import Coverage

__all__ = [
    "METHOD",
    "MIN_TREND_PERIODS",
    "NON_NEGATIVE_UNITS",
    "STALE_PERIODS",
    "Z_80",
    "target_concerns",
    "target_preview",
]

Z_80 = 1.2816  # the normal 80 % quantile; kept for imports: bands now use Student's t (projection.py)
STALE_PERIODS = 2  # complete periods without data before today that make the history stale
METHOD = "See kpi_model.whatif.projection: Theil–Sen trend or year-over-year, chosen on held-out periods."


def _meets(value: float, direction: Direction, target: float, low: float | None, high: float | None) -> bool:
    if direction == Direction.RANGE:
        return low is not None and high is not None and low <= value <= high
    return value >= target if direction == Direction.UP else value <= target


def _complete_history(
    series: Sequence[Point], grain: str, today: dt.date, coverage: Coverage | None = None
) -> tuple[dict[dt.date, float], int]:
    """Complete periods with a value, and how many periods with a value were left out.

    A point's own ``complete`` flag wins when it has one; otherwise :func:`kpi_model.periods.is_complete`
    decides, with the data's ``coverage`` (first and last day) when given: a period counts only
    when the calendar has passed it and the data covers all of it.
    """
    all_values = values_by_period(series, grain)
    partial: set[dt.date] = set()
    for point in series:
        flag = getattr(point, "complete", None)
        start = period_start(point.period, grain)
        if flag is None:
            flag = is_complete(start, grain, today, coverage)
        if not flag:
            partial.add(start)
    history = {p: v for p, v in all_values.items() if p not in partial}
    return history, len(all_values) - len(history)


# Fixed lines under a seasonal KPI turn its low season red every year, whatever the trend.
SEASONAL_LINES = (
    " The KPI follows a yearly pattern: fixed lines will flag its low season even on course for the target; "
    "judge those months against the same month a year before too."
)


def target_preview(
    kpi: Kpi,
    series: Sequence[Point],
    *,
    target: float,
    due: dt.date,
    baseline_period: str | dt.date | None = None,
    grain: str = "month",
    today: dt.date | None = None,
    coverage: Coverage | None = None,
) -> TargetPreview:
    """What reaching ``target`` by ``due`` requires, and how it compares with the KPI's history.

    The history is every *complete* period with a value (a point's ``complete`` flag when the
    series carries one, else the calendar and the data's ``coverage``, a
    :class:`kpi_model.periods.Coverage`, when given); partial periods are left out, counted in a note, never
    the default baseline and never in a fit. The baseline is the latest history period unless
    ``baseline_period`` names one (it must be in the history).

    Direction ``range`` (with ``kpi.target.low``/``high``): ``target`` is ignored; attainment
    counts periods inside low..high, and the required change is to the nearest bound (zero when
    the baseline is inside). A KPI without a direction is read as ``up``.

    Verdict, first match wins:

    - ``beyond-history``: no complete period has reached the target (for ``up`` above the history's
      maximum, for ``down`` below its minimum, for ``range`` never inside low..high) — whatever a
      projection says.
    - ``too-far-to-project``: the due period is more periods after the last data than the history
      has periods (:func:`~kpi_model.whatif.projection.max_horizon`).
    - ``within-trend``: the target lies within the projection's 80 % band at the due period, or on its
      easy side (``target_position`` says which); for ``range`` the band overlaps low..high.
    - ``stretch``: otherwise — beyond the band, or no band to judge by (fewer than 5 periods).

    Stale history (no data for the last complete periods before ``today``) and a due date that
    has passed are stated in ``verdict_text`` and flagged (``stale``, ``due_passed``).
    """
    grain = normalise_grain(grain)
    today = today or dt.date.today()
    direction = Direction(kpi.direction) if kpi.direction else Direction.UP
    notes: list[str] = []
    if kpi.direction is None:
        notes.append("The KPI has no direction; it is read as 'up' (higher is better).")
    if not math.isfinite(target):
        raise WhatIfError(f"the target {target} is not a number; give a finite value")

    from kpi_model.status import format_value

    unit = kpi.unit_of_measure

    def show(value: float) -> str:
        return format_value(value, unit)

    history, left_out = _complete_history(series, grain, today, coverage)
    all_values = values_by_period(series, grain)
    if left_out:
        notes.append(
            f"{left_out} period{'s' if left_out != 1 else ''} not complete on {today.isoformat()} "
            f"(not over yet, or the data does not cover all of it) {'were' if left_out != 1 else 'was'} left out of "
            "the history: never the baseline, never in the projection."
        )
    if not history:
        raise WhatIfError(
            f"KPI '{kpi.id}' has no complete {grain} with a value before {today.isoformat()}; "
            "load data for it (or check its dates) before previewing a target"
        )
    first, last = next(iter(history)), next(reversed(history))
    span = f"{period_label(first, grain)} to {period_label(last, grain)}"

    if baseline_period is None:
        base_period = last
    else:
        base_period = parse_baseline_period(baseline_period, grain)
        if base_period not in history:
            why = "it is not complete yet" if base_period in all_values else "the KPI has no value for it"
            raise WhatIfError(
                f"baseline period {period_label(base_period, grain)} cannot be used: {why} "
                f"(the history runs {span}); pick a period in that range, or leave the baseline out "
                "to use the latest one"
            )
    baseline = history[base_period]

    remaining = periods_between(base_period, due, grain)
    if remaining <= 0:
        raise WhatIfError(
            f"the due date {due.isoformat()} is not after the baseline period {period_label(base_period, grain)}; "
            "give a due date in a later period"
        )

    low = high = None
    if direction == Direction.RANGE:
        low = kpi.target.low if kpi.target else None
        high = kpi.target.high if kpi.target else None
        if low is None or high is None:
            raise WhatIfError(
                f"KPI '{kpi.id}' has direction 'range' but its target has no low and high; "
                "set target.low and target.high (the band to stay in)"
            )
        # The nearest point of the band is what has to be reached; inside it, nothing has to move.
        target = min(max(baseline, low), high)
        notes.append(
            f"Direction is range: the target is the band {kpi_value(kpi, low)}..{kpi_value(kpi, high)}; the change "
            f"is measured to its nearest point ({kpi_value(kpi, target)})."
        )

    absolute = target - baseline
    relative = absolute / abs(baseline) if baseline != 0 else None
    linear = absolute / remaining
    compound: float | None = None
    if baseline > 0 and target > 0:
        compound = (target / baseline) ** (1 / remaining) - 1
    elif baseline < 0:
        notes.append(
            f"The baseline is negative ({kpi_value(kpi, baseline)}): a compound growth rate is meaningless, and the "
            "relative change is measured against its size; use the linear change per period."
        )
    elif baseline == 0:
        notes.append("The baseline is zero: there is no relative or compound change from zero; use the linear one.")
    elif target == 0:
        notes.append("The target is zero: no compound rate reaches zero; use the linear change per period.")
    else:
        notes.append("The target and the baseline have different signs: no compound rate leads from one to the other.")

    meets = [_meets(v, direction, target, low, high) for v in history.values()]
    attainment = sum(meets) / len(meets)
    if _meets(baseline, direction, target, low, high):
        notes.append("The baseline already meets the target.")

    # Attainment over windows as long as the target's horizon: did the KPI ever move this far in as long?
    change_attainment: float | None = None
    need = (absolute > 0) - (absolute < 0)
    window_changes = [history[p] - history[q] for q in history if (p := shift_period(q, remaining, grain)) in history]
    if need and window_changes:
        tolerance = 1e-9 * max(1.0, abs(absolute))
        change_attainment = sum(need * c >= abs(absolute) - tolerance for c in window_changes) / len(window_changes)
    elif not need:
        notes.append("No change is required, so the share of past windows with enough change is not defined.")
    else:
        notes.append(
            f"The history has no two periods {remaining} {grain}s apart: how often it moved this far in as long "
            "is unknown."
        )

    n = len(history)
    domain = kpi_domain(kpi, list(history.values()))
    last_index = period_index(last, grain)
    ahead = period_index(due, grain) - last_index
    limit = max_horizon(n)
    too_far = ahead > limit
    projection = project(history, grain, min(max(ahead, 0), limit), domain, unit)
    if ahead <= 0:
        notes.append(
            f"The due period ({period_label(period_start(due, grain), grain)}) is inside the history: "
            "look at its value there instead of a projection."
        )
    if n < MIN_BAND_PERIODS:
        notes.append(
            f"Only {n} period{'s' if n != 1 else ''} of history ({span}): a band needs at least {MIN_BAND_PERIODS}, "
            "so the verdict compares the target with the values reached so far."
        )
    if projection.clipped:
        notes.append(f"The projection is held within the KPI's domain: {domain.reason}.")

    history_low, history_high = min(history.values()), max(history.values())
    best = history_high if direction == Direction.UP else history_low
    position: str | None = None
    band_low: float | None = None
    band_high: float | None = None
    band_at_due = projection.points[-1] if projection.points and not too_far and ahead > 0 else None
    if band_at_due is not None and band_at_due.low is not None and band_at_due.high is not None:
        band_low, band_high = band_at_due.low, band_at_due.high
        position = "below-band" if target < band_low else "above-band" if target > band_high else "in-band"

    if not any(meets):
        verdict = "beyond-history"
    elif too_far:
        verdict = "too-far-to-project"
    elif band_low is not None and band_high is not None:
        if direction == Direction.RANGE:
            assert low is not None and high is not None
            verdict = "within-trend" if band_high >= low and band_low <= high else "stretch"
        else:
            easy = "below-band" if direction == Direction.UP else "above-band"
            verdict = "within-trend" if position in ("in-band", easy) else "stretch"
            if position == easy:
                notes.append(
                    "The whole band at the due period is past the target: on its projection the KPI reaches it "
                    "without change; consider a more ambitious target."
                )
    elif _meets(baseline, direction, target, low, high):
        verdict = "within-trend"
    else:
        verdict = "stretch"

    # The verdict in words, with what limits it.
    due_label = period_label(period_start(due, grain), grain)
    if verdict == "beyond-history":
        if direction == Direction.RANGE:
            inside = f"{show(low or 0)}..{show(high or 0)}"
            text = f"Beyond anything the history shows: no complete {grain} was inside {inside}."
        else:
            best_period = next(p for p, v in history.items() if v == best)
            best_text, target_text = show(best), show(target)
            if best_text == target_text:  # 14.49 % and 14.5 % both show as 14.5%
                precise = "{:.2%}" if unit == "percent" else "{:,.4f}"  # never 4.2395e+06
                best_text, target_text = precise.format(best), precise.format(target)
            text = (
                f"Beyond anything the history shows: the best {grain} was {best_text} "
                f"({period_label(best_period, grain)}), short of {target_text}."
            )
        easy = "below-band" if direction == Direction.UP else "above-band"
        if position == easy:
            text += (
                f" Its projection gets there by {due_label} if the recent pattern holds (the whole band is past the "
                f"target), but no {grain} so far has been there."
            )
        elif position == "in-band":
            text += " The projection's band reaches it, but no period so far has been there: plan what will change."
    elif verdict == "too-far-to-project":
        text = (
            f"Too far to project: {due_label} is {ahead} {grain}s after the last data "
            f"({period_label(last, grain)}), further than the {n} {grain}s of history reach back; the projection "
            f"stops after {limit}."
        )
    else:
        text = VERDICTS[verdict]
    since = period_index(today, grain) - last_index - 1
    stale = since >= STALE_PERIODS
    if stale:
        text += (
            f" The history ends {period_label(last, grain)}, {since + 1} {grain}s before today "
            f"({today.isoformat()}): load recent data before relying on this."
        )
    due_passed = due < today
    as_of = coverage.as_of if coverage is not None else period_end(last, grain)
    if due_passed and as_of < due:
        text += (
            f" The due date {due.isoformat()} has passed, but the data ends {as_of.isoformat()}, before it: load "
            "the data up to the due date to see whether it was met."
        )
    elif due_passed:
        text += f" The due date {due.isoformat()} has passed: compare with what happened rather than a projection."
    # A target the projection moves away from needs more than effort: say so, the UI shows it as serious.
    moving_away = False
    if verdict == "stretch" and direction != Direction.RANGE and projection.points and not too_far and ahead > 0:
        at_due = projection.points[-1].mid
        sign = 1 if direction == Direction.UP else -1
        moving_away = at_due is not None and sign * (at_due - baseline) < 0 and sign * (target - baseline) > 0
        if moving_away:
            text += (
                f" The KPI is moving away from the target: its projection for {due_label} is {show(at_due)}, "
                f"{'below' if sign > 0 else 'above'} today's {show(baseline)}."
            )

    # Thresholds from recent variability around the fit, placed relative to the target.
    if n < MIN_TREND_PERIODS:
        spread, spread_n = None, 0
    else:
        spread, spread_n = projection.spread, projection.spread_periods
    suggested = suggest_thresholds(
        direction=direction.value,
        target=target,
        baseline=baseline,
        spread=spread,
        spread_periods=spread_n,
        grain=grain,
        domain=domain,
        show=show,
        unit=unit.value if unit else None,
    )

    return TargetPreview(
        kpi_id=kpi.id,
        grain=grain,
        direction=direction.value,
        baseline_period=base_period,
        baseline_value=baseline,
        target=target,
        target_low=low,
        target_high=high,
        due=due,
        periods_remaining=remaining,
        required_absolute=absolute,
        required_relative=relative,
        linear_per_period=linear,
        compound_per_period=compound,
        history=history,
        historical_attainment=attainment,
        historical_change_attainment=change_attainment,
        projection=projection.points,
        method=projection.text,
        verdict=verdict,
        target_position=position,
        suggested_warning=suggested.warning,
        suggested_critical=suggested.critical,
        notes=notes,
        method_name=projection.method,
        verdict_text=text,
        thresholds_text=suggested.explanation + (SEASONAL_LINES if projection.method == "seasonal" else ""),
        domain_low=domain.low,
        domain_high=domain.high,
        domain_text=domain.reason,
        data_as_of=as_of,
        last_complete_period=last,
        periods_since_data=max(since, 0),
        stale=stale,
        due_passed=due_passed,
        periods_ahead=ahead,
        max_periods_ahead=limit,
        change_window=remaining,
        change_windows=len(window_changes),
        unit=unit.value if unit else None,
        reached_on_projection=position in ("in-band", "below-band" if direction == Direction.UP else "above-band"),
        moving_away=moving_away,
    )


NON_NEGATIVE_UNITS = {"count", "duration", "percent", "ratio"}  # below zero only when the name says so


def target_concerns(kpi: Kpi, baseline: float | None, target: float) -> list[tuple[str, str]]:
    """``(level, message)`` pairs about a proposed target before anyone commits to it.

    ``error``: the value cannot be meant (a negative count); ``warning``: it is possible but
    asks for nothing (already met by the baseline) or looks like a unit slip (30 for 30%).
    """
    concerns: list[tuple[str, str]] = []
    unit = kpi.unit_of_measure.value if kpi.unit_of_measure else None
    domain = kpi_domain(kpi)
    if target < 0 and not domain.can_be_negative:
        if unit == "currency":  # revenue or cost: odd below zero, but a net figure may be named plainly
            concerns.append(
                (
                    "warning",
                    f"a target of {kpi_value(kpi, target)} is below zero, which an amount such as revenue or cost "
                    "cannot be (fine for a net figure: cash flow, profit, margin)",
                )
            )
        else:
            concerns.append(
                (
                    "error",
                    f"this KPI cannot be below zero ({domain.reason}); a target of {kpi_value(kpi, target)} "
                    "cannot be reached",
                )
            )
    if unit == "percent" and target > 1.5:
        concerns.append(
            ("warning", f"percent KPIs are stored as fractions: did you mean {target / 100:g} for {target:g}%?")
        )
    direction = kpi.direction.value if kpi.direction else "up"
    if baseline is not None and direction in ("up", "down"):
        already = target <= baseline if direction == "up" else target >= baseline
        if already:
            side = "below" if direction == "up" else "above"
            concerns.append(
                (
                    "warning",
                    f"the baseline ({kpi_value(kpi, baseline)}) already meets it: a target {side} today's value "
                    "asks for no improvement (fine only if holding the level is the point)",
                )
            )
    return concerns
