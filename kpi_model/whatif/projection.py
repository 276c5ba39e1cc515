"""Projections that know their limits: a robust trend or a year-over-year pattern, a t band, a domain.

Two methods, chosen on history held out (:func:`project`):

- **Trend** (Theil–Sen): the median of the slopes between every two periods, so one jump or spike
  barely tilts the line. The 80 % band is Student's t with n − 2 degrees of freedom around it,
  t·s·√(1 + 1/n + (x − x̄)²/Σ(x − x̄)²), s the residual spread; no band with fewer than
  :data:`MIN_BAND_PERIODS` periods.
- **Seasonal** (year-over-year, with at least two seasons of history, e.g. 24 months): a future
  period is the same period a season before plus the median year-over-year change per season
  elapsed; band t·s·√(k + k²/m) for k seasons ahead, s the spread of the year-over-year changes
  around their median, m their number (a seasonal random walk with drift).

Every value is held inside the KPI's :class:`Domain` (a rate between 0 and 1, a count ≥ 0…).
The simulations in ``tests/test_projection.py`` measure the band's coverage and the method choice.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kpi_model.models import Kpi, UnitOfMeasure
from kpi_model.periods import period_from_index, period_index, period_label
from kpi_model.whatif.stats import THEIL_SEN_PAIRS, mean, median, t_quantile, theil_sen
from kpi_model.whatif.target_result import ProjectionPoint, format_change

__all__ = [
    "BAND",
    "MIN_BAND_PERIODS",
    "MIN_TREND_PERIODS",
    "SEASON_LENGTH",
    "Domain",
    "Projection",
    "kpi_domain",
    "max_horizon",
    "project",
]

BAND = 0.80  # two-sided: 10 % of outcomes expected above the band, 10 % below
MIN_TREND_PERIODS = 4  # a trend line from 4 complete periods
MIN_BAND_PERIODS = 5  # a band from 5: with fewer, its width rests on 1–2 residual degrees of freedom
SEASON_LENGTH = {"month": 12, "quarter": 4, "week": 52, "day": 7}  # periods per season (days: the week)
_SEASON_NAME = {"month": "year", "quarter": "year", "week": "year", "day": "week"}

# Names that say a currency or percent KPI is a net figure, a margin or a change: it can be negative.
_SIGNED_WORDS = re.compile(
    r"\b(net|cash|flow|margin|margins|profit|profits|income|ebit|ebitda|earnings|result|balance|growth|change|"
    r"delta|variance|gain|loss|p&l|pnl|return|roi|yoy|mom)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Domain:
    """The values a KPI can take: ``low``/``high`` (None: unbounded) and why, in a few words."""

    low: float | None
    high: float | None
    reason: str

    @property
    def can_be_negative(self) -> bool:
        return self.low is None or self.low < 0

    def clip(self, value: float) -> float:
        if self.low is not None:
            value = max(self.low, value)
        if self.high is not None:
            value = min(self.high, value)
        return value

    def contains(self, value: float) -> bool:
        return self.clip(value) == value


def kpi_domain(kpi: Kpi, history: Sequence[float] = ()) -> Domain:
    """The KPI's domain from its unit of measure, its name and what its history already shows.

    A percent is a rate in [0, 1] unless its name says it is a margin or a change, or its history
    has left that range (a retention of 110 %); a count or a duration is never below zero; a
    currency KPI is ≥ 0 unless its name reads as a net figure, cash, margin or profit (a net cash
    flow), or its history has been negative. Ratios are ≥ 0; scores and KPIs without a unit are
    unbounded.
    """
    unit = UnitOfMeasure(kpi.unit_of_measure) if kpi.unit_of_measure else None
    words = f"{kpi.id.replace('_', ' ')} {kpi.name}"
    signed = bool(_SIGNED_WORDS.search(words)) or any(v < 0 for v in history)
    above_one = any(v > 1 for v in history)
    if unit == UnitOfMeasure.PERCENT:
        if signed:
            return Domain(None, 1.0 if not above_one else None, "a margin or change in percent: can be negative")
        if above_one:
            return Domain(0.0, None, "a percent that has been above 100 %: never below 0 %")
        return Domain(0.0, 1.0, "a rate: between 0 % and 100 %")
    if unit in (UnitOfMeasure.COUNT, UnitOfMeasure.DURATION):
        return Domain(0.0, None, f"a {unit.value}: never below zero")
    if unit == UnitOfMeasure.CURRENCY:
        if signed:
            return Domain(None, None, "a net amount, cash or margin: can be negative")
        return Domain(0.0, None, "an amount (revenue, cost): never below zero")
    if unit == UnitOfMeasure.RATIO:
        return Domain(
            None if signed else 0.0, None, "a ratio: can be negative" if signed else "a ratio: never below zero"
        )
    return Domain(None, None, "no bounds known for this unit")


def max_horizon(periods_of_history: int) -> int:
    """How far ahead a projection may go: as many periods as the history reaches back."""
    return periods_of_history


# ------------------------------------------------------------------------------------- the fits


@dataclass(frozen=True)
class _Trend:
    slope: float
    intercept: float
    s: float | None  # residual spread, n − 2 degrees of freedom (None below 3 points)
    mx: float
    sxx: float
    n: int

    def mid(self, x: float) -> float:
        return self.intercept + self.slope * x

    def half(self, x: float) -> float | None:
        if self.s is None or self.n < MIN_BAND_PERIODS:
            return None
        return (
            t_quantile(0.5 + BAND / 2, self.n - 2) * self.s * math.sqrt(1 + 1 / self.n + (x - self.mx) ** 2 / self.sxx)
        )

    def fitted(self, xs: Sequence[int]) -> list[float]:
        return [self.mid(x) for x in xs]


def _fit_trend(xs: Sequence[int], ys: Sequence[float]) -> _Trend:
    slope, intercept = theil_sen([float(x) for x in xs], ys)
    n = len(xs)
    mx = mean([float(x) for x in xs])
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    s = None
    if n >= 3:
        residuals = [y - (intercept + slope * x) for x, y in zip(xs, ys, strict=True)]
        s = math.sqrt(math.fsum(r * r for r in residuals) / (n - 2))
    return _Trend(slope, intercept, s, mx, sxx, n)


@dataclass(frozen=True)
class _Seasonal:
    values: dict[int, float]  # period index → value
    season: int
    drift: float  # median change per season
    s: float | None
    m: int  # number of season-over-season changes

    def predict(self, x: int) -> tuple[float, int] | None:
        """``(mid, seasons ahead)`` from the latest same-season value at or before the history's end."""
        last = max(self.values)
        k = max(1, -((last - x) // self.season))  # seasons back to reach the history
        while x - k * self.season >= min(self.values):
            base = self.values.get(x - k * self.season)
            if base is not None:
                return base + k * self.drift, k
            k += 1
        return None

    def half(self, k: int) -> float | None:
        if self.s is None or self.m < 3:
            return None
        return t_quantile(0.5 + BAND / 2, self.m - 1) * self.s * math.sqrt(k + k * k / self.m)

    def fitted(self, xs: Sequence[int]) -> list[float | None]:
        return [None if (base := self.values.get(x - self.season)) is None else base + self.drift for x in xs]


def _fit_seasonal(xs: Sequence[int], ys: Sequence[float], season: int) -> _Seasonal | None:
    values = dict(zip(xs, ys, strict=True))
    changes = [values[x] - values[x - season] for x in xs if x - season in values]
    if len(changes) < 2:
        return None
    drift = median(changes)
    s = math.sqrt(math.fsum((c - drift) ** 2 for c in changes) / (len(changes) - 1))
    return _Seasonal(values, season, drift, s, len(changes))


# ------------------------------------------------------------------------------------- projecting


@dataclass(frozen=True)
class Projection:
    """A projection from the end of the history: the method, its points and how it was chosen."""

    method: str  # "trend" | "seasonal" | "none"
    text: str  # the method in words, for the page and the CLI
    points: list[ProjectionPoint]
    slope_per_period: float | None  # trend slope, or the seasonal drift per period
    spread: float | None  # residual spread of the recent periods around the fit (for thresholds)
    spread_periods: int
    holdout: dict[str, float] = field(default_factory=dict)  # method → mean absolute error on held-out periods
    clipped: bool = False  # some value was held at a bound of the domain

    @property
    def has_band(self) -> bool:
        return any(p.low is not None for p in self.points)


def _holdout_errors(xs: list[int], ys: list[float], season: int) -> tuple[dict[str, float], int]:
    """Mean absolute error of each method projecting the last periods from the ones before them."""
    held = min(season, len(xs) - season - max(3, season // 2))
    if held < 1:
        return {}, 0
    train_x, train_y, test_x, test_y = xs[:-held], ys[:-held], xs[-held:], ys[-held:]
    trend = _fit_trend(train_x, train_y)
    seasonal = _fit_seasonal(train_x, train_y, season)
    if seasonal is None:
        return {}, 0
    errors = {"trend": mean([abs(y - trend.mid(x)) for x, y in zip(test_x, test_y, strict=True)])}
    predicted = [seasonal.predict(x) for x in test_x]
    if all(p is not None for p in predicted):
        errors["seasonal"] = mean([abs(y - p[0]) for y, p in zip(test_y, predicted, strict=True) if p is not None])
    return errors, held


def _recent_spread(residuals: Sequence[float | None], recent: int, dof_lost: int) -> tuple[float | None, int]:
    """RMS of the last ``recent`` residuals, scaled for the fit's lost degrees of freedom (None below 3)."""
    known = [r for r in residuals if r is not None]
    kept = known[-recent:]
    if len(kept) < 3 or len(known) <= dof_lost:
        return None, len(kept)
    scale = len(known) / (len(known) - dof_lost)
    return math.sqrt(math.fsum(r * r for r in kept) / len(kept) * scale), len(kept)


def project(
    history: Mapping[dt.date, float],
    grain: str,
    steps: int,
    domain: Domain,
    unit: UnitOfMeasure | str | None = None,
) -> Projection:
    """Project ``steps`` periods after the history's last period (``grain`` normalised).

    With at least two seasons of history both methods are fitted on all but the last periods
    (up to a season held out) and the one with the smaller mean absolute error on the held-out
    periods is used, refitted on everything; otherwise the trend. Fewer than
    :data:`MIN_TREND_PERIODS` periods: no projection.
    """
    periods = list(history)
    xs = [period_index(p, grain) for p in periods]
    ys = list(history.values())
    n = len(xs)
    first, last = period_label(periods[0], grain), period_label(periods[-1], grain)
    per = grain

    def change(value: float) -> str:  # a rate's change in percentage points
        return format_change(value, unit)

    def size(value: float) -> str:
        return change(value).lstrip("+")

    if n < MIN_TREND_PERIODS:
        return Projection(
            "none",
            f"No projection: {n} complete period{'s' if n != 1 else ''} of history; a trend needs at least "
            f"{MIN_TREND_PERIODS}.",
            [],
            None,
            None,
            0,
        )
    season = SEASON_LENGTH.get(grain)
    recent = season or 12
    errors: dict[str, float] = {}
    held = 0
    choice = "trend"
    if season and n >= 2 * season:
        errors, held = _holdout_errors(xs, ys, season)
        if "seasonal" in errors and errors["seasonal"] < errors["trend"]:
            choice = "seasonal"
    band_words = f"{BAND:.0%} band from Student's t"
    season_name = _SEASON_NAME.get(grain, "season")
    if errors:
        verdict_words = "fit" if choice == "seasonal" else "did not fit"
        chosen = (
            f" The {season_name}-over-{season_name} pattern {verdict_words} the last {held} {per}s held out better "
            f"than the trend (mean absolute error {size(errors['seasonal']) if 'seasonal' in errors else '—'} vs "
            f"{size(errors['trend'])})."
        )
    elif season:
        chosen = f" Seasonality not tested: that takes {2 * season} {per}s of history."
    else:
        chosen = ""

    last_x = xs[-1]
    points: list[ProjectionPoint] = []
    clipped = False

    def add(x: int, mid: float, half: float | None) -> None:
        nonlocal clipped
        low, high = (None, None) if half is None else (mid - half, mid + half)
        bounded = [domain.clip(v) if v is not None else None for v in (low, mid, high)]
        clipped = clipped or bounded != [low, mid, high]
        points.append(ProjectionPoint(period_from_index(x, grain), bounded[0], domain.clip(mid), bounded[2]))

    if choice == "seasonal":
        assert season is not None
        fit = _fit_seasonal(xs, ys, season)
        assert fit is not None
        for step in range(1, steps + 1):
            predicted = fit.predict(last_x + step)
            if predicted is None:
                break
            add(last_x + step, predicted[0], fit.half(predicted[1]))
        residuals = [None if f is None else y - f for f, y in zip(fit.fitted(xs), ys, strict=True)]
        spread, spread_n = _recent_spread(residuals, recent, 1)
        band = f"; {band_words} (df = {fit.m - 1}), t·s·√(k + k²/m) for k {season_name}s ahead" if fit.m >= 3 else ""
        text = (
            f"Seasonal ({season_name}-over-{season_name}) projection from {n} complete {per}s ({first} to {last}): "
            f"each future {per} is the same {per} a {season_name} before plus the median change per "
            f"{season_name} ({change(fit.drift)}){band}.{chosen}"
        )
        slope = fit.drift / season
    else:
        fit_t = _fit_trend(xs, ys)
        for step in range(1, steps + 1):
            add(last_x + step, fit_t.mid(last_x + step), fit_t.half(last_x + step))
        spread, spread_n = _recent_spread([y - f for f, y in zip(fit_t.fitted(xs), ys, strict=True)], recent, 2)
        band = (
            f"; {band_words} (df = {n - 2}): mid ± t·s·√(1 + 1/n + (x − x̄)²/Σ(x − x̄)²)"
            if n >= MIN_BAND_PERIODS
            else f"; no band: that takes {MIN_BAND_PERIODS} periods"
        )
        pairs = "every" if n * (n - 1) // 2 <= THEIL_SEN_PAIRS else f"{THEIL_SEN_PAIRS:,} random pairs of"
        text = (
            f"Robust linear trend (Theil–Sen: the median slope between {pairs} two {per}s) fitted to {n} complete "
            f"{per}s ({first} to {last}), {change(fit_t.slope)} per {per}{band}.{chosen}"
        )
        slope = fit_t.slope
    if clipped:
        text += f" Held within the KPI's domain ({domain.reason})."
    return Projection(choice, text, points, slope, spread, spread_n, errors, clipped)
