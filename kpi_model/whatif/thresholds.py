"""Warning and critical thresholds suggested from the KPI's recent variability around its fit and the target.

A KPI that sits exactly on its target still moves from period to period. The warning line is set
where such a KPI falls by chance about 1 period in 10 (1.28 spreads short of the target), the
critical line about 1 in 100 (2.33 spreads): an amber or red status then says more than noise.
The spread is measured around the projection's fit (trend or year-over-year) over the recent
periods, so a KPI's growth is not mistaken for variability, as whole-history percentiles did.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from kpi_model.whatif.projection import Domain
from kpi_model.whatif.target_result import format_change

__all__ = ["CRITICAL_Z", "WARNING_Z", "SuggestedThresholds", "suggest_thresholds"]

WARNING_Z = 1.2816  # one-sided 10 %
CRITICAL_Z = 2.3263  # one-sided 1 %


@dataclass(frozen=True)
class SuggestedThresholds:
    """Warning and critical lines (None when none can be suggested) and the sentence that explains them."""

    warning: float | None
    critical: float | None
    spread: float | None
    explanation: str


def _step(spread: float) -> float:
    """A rounding step about a tenth of the spread, a power of ten."""
    return 10.0 ** math.floor(math.log10(spread) - 1)


def _apart(show: Callable[[float], str], values: tuple[float, ...], unit: str | None) -> Callable[[float], str]:
    """``show``, or a more precise formatter when ``show`` prints two different ``values`` the same."""

    def fixed(digits: int) -> Callable[[float], str]:
        def text(value: float) -> str:
            return f"{value:.{digits}%}" if unit == "percent" else f"{value:,.{digits}f}"

        return text

    for candidate in (show, *(fixed(digits) for digits in (2, 3, 4, 6)), repr):
        if len({candidate(v) for v in values}) == len(set(values)):
            return candidate
    return repr


def suggest_thresholds(
    *,
    direction: str,
    target: float,
    baseline: float,
    spread: float | None,
    spread_periods: int,
    grain: str,
    domain: Domain,
    show: Callable[[float], str] = lambda v: f"{v:,.4g}",
    unit: str | None = None,
) -> SuggestedThresholds:
    """Warning and critical for an ``up`` or ``down`` KPI with ``target``; ``show`` formats a value.

    Warning always lies strictly between the target and critical. When the domain's bound cuts the
    lines (a rate near 0 %), the room between the bound and the target is split in three instead.
    """

    def spread_text(value: float) -> str:  # a rate's spread in percentage points
        return format_change(value, unit).lstrip("+")

    if direction not in ("up", "down"):
        return SuggestedThresholds(
            None, None, spread, "No thresholds are suggested for a range KPI: its band is the target."
        )
    if spread is None:
        return SuggestedThresholds(
            None,
            None,
            None,
            "No thresholds suggested: too few periods to measure how much the KPI varies.",
        )
    sign = 1.0 if direction == "up" else -1.0  # up: the lines sit below the target
    floor = max(spread, 1e-3 * abs(target), 1e-12)  # a noiseless history still needs lines apart
    step = _step(floor)
    if unit == "count":
        step = max(step, 1.0)  # a count's lines are whole numbers
    digits = max(0, -math.floor(math.log10(step)))  # 108.60000000000001 → 108.6

    def rounded(value: float) -> float:
        return round(round(value / step) * step, digits)

    warning = rounded(target - sign * WARNING_Z * floor)
    critical = rounded(target - sign * CRITICAL_Z * floor)
    if sign * (target - warning) <= 0:
        warning = rounded(target - sign * step)
    if sign * (warning - critical) <= 0:
        critical = rounded(warning - sign * step)
    bound = domain.low if direction == "up" else domain.high
    split = False
    if bound is not None and sign * (critical - bound) < 0:
        room = sign * (target - bound)
        if room <= 0:
            return SuggestedThresholds(
                None,
                None,
                spread,
                f"No thresholds suggested: the target sits at the edge of the KPI's domain ({domain.reason}).",
            )
        warning, critical = target - sign * room / 3, target - sign * 2 * room / 3
        if unit == "count":
            warning, critical = float(round(warning)), float(round(critical))
        split = True
    if sign * (target - warning) <= 0 or sign * (warning - critical) <= 0:
        return SuggestedThresholds(
            None,
            None,
            spread,
            f"No thresholds suggested: there is no whole number between the target ({show(target)}) and the KPI's "
            f"limit ({domain.reason}) for two lines.",
        )
    show = _apart(show, (target, warning, critical), unit)
    side = "below" if direction == "up" else "above"
    if split:
        sentence = (
            f"Warning at {show(warning)} and critical at {show(critical)}: a third and two thirds of the way from the "
            f"target to the KPI's limit ({domain.reason}), because its recent spread (±{spread_text(spread)}) is wider "
            "than that room."
        )
    else:
        spread_words = f"the ±{spread_text(spread)} spread of the last {spread_periods} {grain}s around the fit"
        if floor > spread:  # the history barely varies: the lines are held 0.1 % of the target apart
            spread_words = (
                f"a spread of ±{spread_text(floor)}, 0.1 % of the target, because the last {spread_periods} "
                f"{grain}s varied less (±{spread_text(spread)}) than lines can sensibly be drawn apart"
            )
        sentence = (
            f"Warning at {show(warning)} and critical at {show(critical)}: a {grain} right on target falls {side} "
            f"warning by chance about 1 time in 10 and {side} critical about 1 in 100, given {spread_words}."
        )
    past = "critical" if sign * (critical - baseline) > 0 else "warning" if sign * (warning - baseline) > 0 else None
    if past:
        colour = "red" if past == "critical" else "amber"
        sentence = (
            f"{sentence[:-1]}; the baseline ({show(baseline)}) is past {past}, so the status is {colour} until the "
            "KPI nears its target."
        )
    return SuggestedThresholds(warning, critical, spread, sentence)
