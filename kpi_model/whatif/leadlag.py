"""Lead/lag: does a leading KPI actually lead its lagging partner, and by how many periods?

Pearson's r of leading[t] against lagging[t + lag] for each lag, periods aligned by date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.errors import WhatIfError
from kpi_model.periods import normalise_grain, shift_period, values_by_period
from kpi_model.whatif.stats import is_constant, pearson

if TYPE_CHECKING:
    from kpi_model.engine import Point

__all__ = [
    "LEADS_R",
    "MIN_PAIRED_PERIODS",
    "NO_RELATION_R",
    "LagCorrelation",
    "LeadLag",
    "default_max_lag",
    "lead_lag",
]

MIN_PAIRED_PERIODS = 6
LEADS_R = 0.5  # |r| at or above this counts as a relation strong enough to manage by
NO_RELATION_R = 0.3  # |r| below this at every lag: nothing to see
# grain → (largest lag tried by default, the lags usually looked at first)
_DEFAULT_LAGS = {
    "day": (42, (28, 42)),
    "week": (6, (4, 6)),
    "month": (3, (1, 3)),
    "quarter": (2, (1, 2)),
    "year": (1, (1, 1)),
}


def default_max_lag(cadence: str) -> int:
    """The longest lag :func:`lead_lag` tests unless told otherwise: 6 weeks, 3 months, 2 quarters…"""
    return _DEFAULT_LAGS[normalise_grain(cadence)][0]


@dataclass(frozen=True)
class LagCorrelation:
    """Pearson's r of leading[t] against lagging[t + lag], over ``periods`` paired periods."""

    lag: int
    correlation: float | None
    periods: int

    def as_dict(self) -> dict[str, Any]:
        """``{lag, correlation, periods}``."""
        return {"lag": self.lag, "correlation": self.correlation, "periods": self.periods}


@dataclass(frozen=True)
class LeadLag:
    """Whether and by how much a leading series leads a lagging one. :meth:`as_dict` is the JSON."""

    verdict: str
    best_lag: int | None
    correlation: float | None
    periods: int
    by_lag: list[LagCorrelation]
    grain: str
    max_lag: int
    focus: tuple[int, int]
    differenced: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        """``verdict``, ``best_lag``, ``correlation``, ``periods``, ``by_lag`` …, ``message``."""
        return {
            "verdict": self.verdict,
            "best_lag": self.best_lag,
            "correlation": self.correlation,
            "periods": self.periods,
            "unit": self.grain,
            "max_lag": self.max_lag,
            "focus": list(self.focus),
            "differenced": self.differenced,
            "by_lag": [item.as_dict() for item in self.by_lag],
            "message": self.message,
        }


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _differences(values: dict[dt.date, float], grain: str) -> dict[dt.date, float]:
    """Change from the previous period, only where that period is present (no bridging gaps)."""
    return {
        period: value - values[previous]
        for period, value in values.items()
        if (previous := shift_period(period, -1, grain)) in values
    }


def lead_lag(
    leading: Sequence[Point],
    lagging: Sequence[Point],
    *,
    max_lag: int | None = None,
    cadence: str = "monthly",
    differenced: bool = False,
    leading_name: str = "the leading KPI",
    lagging_name: str = "the lagging KPI",
) -> LeadLag:
    """Correlate leading[t] with lagging[t + lag] for lag = 0..max_lag, periods aligned by date.

    Default lags: 0–6 weeks (weekly; 4–6 is the usual ``focus``), 0–3 months, 0–2 quarters.
    ``best_lag`` is the lag with the largest |r| among lags with at least 6 paired periods.
    Verdicts, in order: ``too-little-data`` (no lag has 6 pairs with a defined r — short or
    constant series), ``no-relation`` (|r| < 0.3 at every such lag), ``leads`` (|r| ≥ 0.5 at a
    best lag > 0), ``coincident`` (|r| ≥ 0.5 at lag 0), otherwise ``weak``. ``differenced``
    correlates period-to-period changes instead of levels, which removes shared trends.
    """
    grain = normalise_grain(cadence)
    default_max, focus = _DEFAULT_LAGS[grain]
    top = default_max if max_lag is None else max_lag
    if top < 0:
        raise WhatIfError(f"max_lag must be 0 or more, not {max_lag}")
    if max_lag is not None:
        focus = (min(focus[0], top), min(focus[1], top))
    lead_values, lag_values = values_by_period(leading, grain), values_by_period(lagging, grain)
    if differenced:
        lead_values, lag_values = _differences(lead_values, grain), _differences(lag_values, grain)
    basis = "on period-to-period changes" if differenced else "on levels"

    by_lag: list[LagCorrelation] = []
    constant_side: str | None = None
    for lag in range(top + 1):
        pairs = [
            (value, lag_values[later])
            for period, value in lead_values.items()
            if (later := shift_period(period, lag, grain)) in lag_values
        ]
        xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
        r = pearson(xs, ys)
        if r is None and len(pairs) >= 3:
            constant_side = leading_name if is_constant(xs) else lagging_name
        by_lag.append(LagCorrelation(lag, r, len(pairs)))

    eligible = [item for item in by_lag if item.correlation is not None and item.periods >= MIN_PAIRED_PERIODS]
    unit = grain
    lags = f"lags of 0 to {_plural(top, unit)}"
    if not eligible:
        overlap = max((item.periods for item in by_lag), default=0)
        if constant_side is not None and overlap >= MIN_PAIRED_PERIODS:
            message = (
                f"Too little data to tell: {constant_side} does not change over the {overlap} periods that "
                f"overlap, so no correlation can be computed"
            )
        else:
            message = (
                f"Too little data to tell: only {_plural(overlap, 'period')} overlap "
                f"(at {lags}; at least {MIN_PAIRED_PERIODS} are needed)"
            )
        return LeadLag("too-little-data", None, None, overlap, by_lag, grain, top, focus, differenced, message)

    best = max(eligible, key=lambda item: (abs(item.correlation or 0.0), -item.lag))
    r = best.correlation
    assert r is not None
    stats = f"r = {r:.2f} over {best.periods} periods, {basis}"
    inverse = ", in the opposite direction" if r < 0 else ""
    when = f"in the same {unit}" if best.lag == 0 else f"{_plural(best.lag, unit)} later"
    if all(abs(item.correlation or 0.0) < NO_RELATION_R for item in eligible):
        verdict = "no-relation"
        tested = f"at every lag from 0 to {_plural(top, unit)}" if top else f"in the same {unit}, the only lag tested"
        message = (
            f"No relation between {leading_name} and {lagging_name}: |r| < {NO_RELATION_R} {tested} "
            f"(best: {when}, {stats})"
        )
    elif abs(r) >= LEADS_R and best.lag > 0:
        verdict = "leads"
        # Worded so that no KPI name has to agree with a verb ("Marketing-qualified leads leads …").
        message = (
            f"Changes in {leading_name} show up in {lagging_name} {_plural(best.lag, unit)} later{inverse} ({stats})"
        )
    elif abs(r) >= LEADS_R:
        verdict = "coincident"
        better = f"; no lag up to {_plural(top, unit)} does better" if top else f" (only the same {unit} was tested)"
        message = f"{leading_name} and {lagging_name} move in the same {unit}{inverse} ({stats}){better}"
    else:
        verdict = "weak"
        message = f"Only a weak relation between {leading_name} and {lagging_name}: best {when}{inverse} ({stats})"
    if message.startswith("the "):  # the default names; a KPI id keeps its own spelling
        message = "T" + message[1:]
    return LeadLag(verdict, best.lag, r, best.periods, by_lag, grain, top, focus, differenced, message)
