"""What :func:`~kpi_model.whatif.targets.target_preview` returns: the preview and its projection points."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from kpi_model.models import Direction, UnitOfMeasure
from kpi_model.periods import period_label, period_start

__all__ = ["VERDICTS", "ProjectionPoint", "TargetPreview", "format_change"]

# The verdicts, in the words the page and the CLI print before the details.
VERDICTS = {
    "within-trend": "The projection gets there: the target lies within (or short of) its band at the due period.",
    "stretch": "A stretch: beyond the projection's band (or no band to judge by), but the history has reached it.",
    "beyond-history": "Beyond anything the history shows: no complete period has reached it.",
    "too-far-to-project": "Too far to project: the due period lies further ahead than the history reaches back.",
}


def format_change(value: float | None, unit: UnitOfMeasure | str | None) -> str:
    """A change as people read it, signed: a rate's change in percentage points (``+0.70 pp``).

    >>> format_change(0.007, "percent"), format_change(-1234.5, "count"), format_change(2.5, None)
    ('+0.70 pp', '−1,234', '+2.50')
    """
    if value is None:
        return "—"
    sign = "+" if value >= 0 else "−"
    size = abs(value)
    if unit == UnitOfMeasure.PERCENT:
        return f"{sign}{size * 100:.2f} pp"
    if (unit in (UnitOfMeasure.COUNT, UnitOfMeasure.CURRENCY) and size >= 100) or size >= 1000:
        return f"{sign}{size:,.0f}"
    if size >= 1 or size == 0:
        return f"{sign}{size:,.2f}"
    return f"{sign}{size:.{min(12, 2 - math.floor(math.log10(size)))}f}"  # 0.000123, never 1.23e-04


@dataclass(frozen=True)
class ProjectionPoint:
    """The projection for one future period with its 80 % band (band None with too few periods)."""

    period: dt.date
    low: float | None
    mid: float
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        """``{period, low, mid, high}``, period as the ISO start date."""
        return {"period": self.period.isoformat(), "low": self.low, "mid": self.mid, "high": self.high}


@dataclass(frozen=True)
class TargetPreview:
    """What a target means against a KPI's history. :meth:`as_dict` is the CLI's JSON."""

    kpi_id: str
    grain: str
    direction: str
    baseline_period: dt.date
    baseline_value: float
    target: float
    target_low: float | None
    target_high: float | None
    due: dt.date
    periods_remaining: int
    required_absolute: float
    required_relative: float | None
    linear_per_period: float
    compound_per_period: float | None
    history: dict[dt.date, float]
    historical_attainment: float | None
    historical_change_attainment: float | None
    projection: list[ProjectionPoint]
    method: str
    verdict: str
    target_position: str | None
    suggested_warning: float | None
    suggested_critical: float | None
    notes: list[str] = field(default_factory=list)
    method_name: str = "none"  # "trend" | "seasonal" | "none"
    verdict_text: str = ""  # the verdict in words, with stale data and a passed due date stated
    thresholds_text: str = ""  # why the suggested thresholds are where they are, one sentence
    domain_low: float | None = None
    domain_high: float | None = None
    domain_text: str = ""
    data_as_of: dt.date | None = None  # the last day the data covers (the coverage's), else the history's last day
    last_complete_period: dt.date | None = None
    periods_since_data: int = 0  # complete periods between the last data and today, without data
    stale: bool = False
    due_passed: bool = False
    periods_ahead: int = 0  # from the last history period to the due period
    max_periods_ahead: int = 0  # the horizon limit
    change_window: int = 0  # periods per window in historical_change_attainment (the target's horizon)
    change_windows: int = 0  # how many such windows the history holds
    unit: str | None = None
    reached_on_projection: bool = False  # the projection's band at the due period reaches or passes the target
    moving_away: bool = False  # the projection at the due period is further from the target than the baseline

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; every float is finite or None."""
        values = list(self.history.values())
        periods = list(self.history)
        return {
            "kpi": self.kpi_id,
            "grain": self.grain,
            "direction": self.direction,
            "baseline": {
                "period": self.baseline_period.isoformat(),
                "label": period_label(self.baseline_period, self.grain),
                "value": self.baseline_value,
            },
            "target": self.target,
            "target_range": (
                {"low": self.target_low, "high": self.target_high} if self.direction == Direction.RANGE.value else None
            ),
            "due": self.due.isoformat(),
            "due_period": period_start(self.due, self.grain).isoformat(),
            "periods_remaining": self.periods_remaining,
            "required_change": {"absolute": self.required_absolute, "relative": self.required_relative},
            "required_change_per_period": {"linear": self.linear_per_period, "compound": self.compound_per_period},
            "history": {
                "periods": len(values),
                "first": periods[0].isoformat() if periods else None,
                "last": periods[-1].isoformat() if periods else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
            },
            "historical_attainment": self.historical_attainment,
            "historical_change_attainment": self.historical_change_attainment,
            "projection": [p.as_dict() for p in self.projection],
            "method": self.method,
            "verdict": self.verdict,
            "target_position": self.target_position,
            "reached_on_projection": self.reached_on_projection,
            "moving_away": self.moving_away,
            "verdict_text": self.verdict_text,
            "method_name": self.method_name,
            "suggested_thresholds": {
                "warning": self.suggested_warning,
                "critical": self.suggested_critical,
                "explanation": self.thresholds_text,
            },
            "domain": {"low": self.domain_low, "high": self.domain_high, "reason": self.domain_text},
            "data_as_of": None if self.data_as_of is None else self.data_as_of.isoformat(),
            "last_complete_period": None
            if self.last_complete_period is None
            else {
                "period": self.last_complete_period.isoformat(),
                "label": period_label(self.last_complete_period, self.grain),
            },
            "stale": self.stale,
            "periods_since_data": self.periods_since_data,
            "due_passed": self.due_passed,
            "periods_ahead": self.periods_ahead,
            "max_periods_ahead": self.max_periods_ahead,
            "change_window": {"periods": self.change_window, "windows": self.change_windows},
            "required_change_text": {
                "absolute": format_change(self.required_absolute, self.unit),
                "per_period": format_change(self.linear_per_period, self.unit),
            },
            "notes": list(self.notes),
        }
