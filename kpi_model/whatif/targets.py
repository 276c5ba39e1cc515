"""Target previews: what a target requires, how often history met it, the trend's band, a verdict.

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
    period_from_index,
    period_index,
    period_label,
    periods_between,
    values_by_period,
)
from kpi_model.whatif.stats import mean, percentile
from kpi_model.whatif.target_result import ProjectionPoint, TargetPreview

if TYPE_CHECKING:
    from kpi_model.engine import Point

__all__ = ["METHOD", "MIN_TREND_PERIODS", "NON_NEGATIVE_UNITS", "Z_80", "target_concerns", "target_preview"]

Z_80 = 1.28  # two-sided 80 % normal quantile: 10 % of outcomes expected above, 10 % below
MIN_TREND_PERIODS = 4
METHOD = (
    "Linear trend fitted by least squares to {n} complete periods ({first} to {last}); "
    "mid = trend, 80 % band = mid ± 1.28·s·√(1 + 1/n + (x − x̄)²/Σ(x − x̄)²), s = residual standard "
    "deviation (n − 2 degrees of freedom). Seasonality is not modelled: read the band as the trend's "
    "range, not a seasonal forecast."
)


def _meets(value: float, direction: Direction, target: float, low: float | None, high: float | None) -> bool:
    if direction == Direction.RANGE:
        return low is not None and high is not None and low <= value <= high
    return value >= target if direction == Direction.UP else value <= target


def _trend(history: dict[dt.date, float], grain: str) -> tuple[float, float, float, float, float, int] | None:
    """``(slope, intercept, s, x̄, Σ(x − x̄)², n)`` of the least-squares line; x = period index."""
    n = len(history)
    if n < 3:  # two points fit any line exactly: no residual spread to make a band from
        return None
    xs = [float(period_index(period, grain)) for period in history]
    ys = list(history.values())
    mx, my = mean(xs), mean(ys)
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    residuals = math.fsum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    s = math.sqrt(max(residuals, 0.0) / (n - 2))
    return slope, intercept, s, mx, sxx, n


def target_preview(
    kpi: Kpi,
    series: Sequence[Point],
    *,
    target: float,
    due: dt.date,
    baseline_period: str | dt.date | None = None,
    grain: str = "month",
    today: dt.date | None = None,
) -> TargetPreview:
    """What reaching ``target`` by ``due`` requires, and how it compares with the KPI's history.

    The history is every *complete* period with a value (a period is complete once the next one
    has begun by ``today``); later periods are left out and counted in a note. The baseline is
    the latest history period unless ``baseline_period`` names one (it must be in the history).

    Direction ``range`` (with ``kpi.target.low``/``high``): ``target`` is ignored; attainment
    counts periods inside low..high, and the required change is to the nearest bound (zero when
    the baseline is inside). A KPI without a direction is read as ``up``.

    Verdict, with the trend's 80 % band at the due period (at least 4 history periods):

    - ``within-trend``: the target lies within the band, or on its easy side (for ``up`` below
      the band) — the trend is expected to reach it (``target_position`` says which, and a note
      flags a target the whole band beats). For ``range``: the band overlaps low..high.
    - ``stretch``: beyond the band on the ambitious side, but no further than the best value
      the history has reached (its max for ``up``, min for ``down``; for ``range`` low..high
      overlaps the history's min..max).
    - ``beyond-history``: further than history has ever been.

    With fewer than 4 periods there is no trend to trust: ``within-trend`` if the baseline
    already meets the target, ``stretch`` if some history period met it, else ``beyond-history``.
    """
    grain = normalise_grain(grain)
    today = today or dt.date.today()
    direction = Direction(kpi.direction) if kpi.direction else Direction.UP
    notes: list[str] = []
    if kpi.direction is None:
        notes.append("The KPI has no direction; it is read as 'up' (higher is better).")
    if not math.isfinite(target):
        raise WhatIfError(f"the target {target} is not a number; give a finite value")

    all_values = values_by_period(series, grain)
    history = {p: v for p, v in all_values.items() if is_complete(p, grain, today)}
    left_out = len(all_values) - len(history)
    if left_out:
        notes.append(
            f"{left_out} period{'s' if left_out != 1 else ''} not complete on {today.isoformat()} "
            f"(or dated in the future) {'were' if left_out != 1 else 'was'} left out of the history."
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
            f"Direction is range: the target is the band {low:g}..{high:g}; the change is measured to "
            f"its nearest point ({target:g})."
        )

    absolute = target - baseline
    relative = absolute / abs(baseline) if baseline != 0 else None
    linear = absolute / remaining
    compound: float | None = None
    if baseline > 0 and target > 0:
        compound = (target / baseline) ** (1 / remaining) - 1
    elif baseline < 0:
        notes.append(
            f"The baseline is negative ({baseline:g}): a compound growth rate is meaningless, and the "
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

    change_attainment: float | None = None
    need = (linear > 0) - (linear < 0)
    changes = [
        history[p] - history[q]
        for q, p in zip(history, list(history)[1:], strict=False)
        if period_index(p, grain) - period_index(q, grain) == 1  # a gap in the data is not a one-period change
    ]
    if need and changes:
        tolerance = 1e-9 * max(1.0, abs(linear))
        change_attainment = sum(need * c >= abs(linear) - tolerance for c in changes) / len(changes)
    elif not need:
        notes.append("No change is required, so the share of periods with enough change is not defined.")
    else:
        notes.append("No two consecutive periods in the history: the share of periods with enough change is unknown.")

    n = len(history)
    if n < MIN_TREND_PERIODS:
        notes.append(
            f"Only {n} period{'s' if n != 1 else ''} of history ({span}): a trend needs at least "
            f"{MIN_TREND_PERIODS}, so the verdict compares the target with the values reached so far."
        )
    fit = _trend(history, grain)
    projection: list[ProjectionPoint] = []
    method = "No trend: fewer than 3 complete periods of history."
    if fit is not None:
        slope, intercept, s, mx, sxx, n_fit = fit
        method = METHOD.format(n=n_fit, first=period_label(first, grain), last=period_label(last, grain))
        base_index = period_index(base_period, grain)
        for step in range(1, remaining + 1):
            x = base_index + step
            mid = intercept + slope * x
            half = Z_80 * s * math.sqrt(1 + 1 / n_fit + (x - mx) ** 2 / sxx)
            projection.append(ProjectionPoint(period_from_index(x, grain), mid - half, mid, mid + half))

    history_low, history_high = min(history.values()), max(history.values())
    position: str | None = None
    if n >= MIN_TREND_PERIODS and projection:
        band_low, band_high = projection[-1].low, projection[-1].high
        assert band_low is not None and band_high is not None
        position = "below-band" if target < band_low else "above-band" if target > band_high else "in-band"
        if direction == Direction.RANGE:
            assert low is not None and high is not None
            if band_high >= low and band_low <= high:
                verdict = "within-trend"
            elif high >= history_low and low <= history_high:
                verdict = "stretch"
            else:
                verdict = "beyond-history"
        else:
            easy = "below-band" if direction == Direction.UP else "above-band"
            best = history_high if direction == Direction.UP else history_low
            if position in ("in-band", easy):
                verdict = "within-trend"
                if position == easy:
                    notes.append(
                        "The whole trend band at the due period is past the target: on its current trend the "
                        "KPI reaches it without change; consider a more ambitious target."
                    )
            elif (target <= best) if direction == Direction.UP else (target >= best):
                verdict = "stretch"
            else:
                verdict = "beyond-history"
    elif _meets(baseline, direction, target, low, high):
        verdict = "within-trend"
    elif any(meets):
        verdict = "stretch"
    else:
        verdict = "beyond-history"

    warning = critical = None
    if direction == Direction.UP:
        warning, critical = percentile(list(history.values()), 0.25), percentile(list(history.values()), 0.10)
    elif direction == Direction.DOWN:
        warning, critical = percentile(list(history.values()), 0.75), percentile(list(history.values()), 0.90)
    else:
        notes.append("No thresholds are suggested for a range KPI: its band is the target itself.")

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
        projection=projection,
        method=method,
        verdict=verdict,
        target_position=position,
        suggested_warning=warning,
        suggested_critical=critical,
        notes=notes,
    )


NON_NEGATIVE_UNITS = {"count", "currency", "percent", "ratio", "duration"}


def target_concerns(kpi: Kpi, baseline: float | None, target: float) -> list[tuple[str, str]]:
    """``(level, message)`` pairs about a proposed target before anyone commits to it.

    ``error``: the value cannot be meant (a negative count); ``warning``: it is possible but
    asks for nothing (already met by the baseline) or looks like a unit slip (30 for 30%).
    """
    concerns: list[tuple[str, str]] = []
    unit = kpi.unit_of_measure.value if kpi.unit_of_measure else None
    if unit in NON_NEGATIVE_UNITS and target < 0:
        concerns.append(("error", f"a {unit} KPI cannot be below zero; a target of {target:g} cannot be reached"))
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
                    f"the baseline ({baseline:,.6g}) already meets it: a target {side} today's value asks for "
                    "no improvement (fine only if holding the level is the point)",
                )
            )
    return concerns
