"""What :func:`~kpi_model.whatif.targets.target_preview` returns: the preview and its projection points."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kpi_model.models import Direction
from kpi_model.periods import period_label, period_start

__all__ = ["ProjectionPoint", "TargetPreview"]


@dataclass(frozen=True)
class ProjectionPoint:
    """The trend's value for one future period with its 80 % band (band is None without spread)."""

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
            "suggested_thresholds": {"warning": self.suggested_warning, "critical": self.suggested_critical},
            "notes": list(self.notes),
        }
