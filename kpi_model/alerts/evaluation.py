"""Judging every KPI on its latest complete period: the readings a check prints and alerts on."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.errors import KpiWizardError
from kpi_model.models import Kpi, UnitOfMeasure, Workspace
from kpi_model.periods import cadence_grain, complete_points, period_label
from kpi_model.status import Status, kpi_value, latest_of, status, status_reason, target_text, thresholds_text

if TYPE_CHECKING:
    from kpi_model.engine import Engine, Point, Series

# The statuses a check judges; UNKNOWN (no thresholds, no target) is shown but never alerts.
JUDGED = (Status.GREEN, Status.AMBER, Status.RED)
SEVERITY = {Status.UNKNOWN: 0, Status.GREEN: 0, Status.AMBER: 1, Status.RED: 2}


@dataclass(frozen=True)
class KpiReading:
    """One KPI as a check sees it: the latest complete period, its value and status, and why.

    ``status`` is None when the KPI could not be judged (no formula, no complete period, a
    formula that failed); ``note`` then says why.
    """

    kpi_id: str
    name: str
    grain: str
    status: Status | None
    period: str | None = None
    value: float | None = None
    value_text: str = "—"
    reason: str = ""
    trend: str | None = None
    owner: str | None = None
    owner_email: str | None = None
    action: str | None = None
    thresholds: str = "—"
    target: str = "—"
    data_as_of: str | None = None
    note: str | None = None

    @property
    def judged(self) -> bool:
        """Whether the status is a colour an alert can be about."""
        return self.status in JUDGED

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        data = asdict(self)
        data["status"] = self.status.value if self.status else None
        return data


def trend_text(kpi: Kpi, latest: Point, previous: Point | None, grain: str) -> str | None:
    """``'up 3.1% on 2026-09 (49,720)'``: the change from the complete period before, in the KPI's unit."""
    if previous is None or previous.value is None or latest.value is None:
        return None
    before = f"on {period_label(previous.period, grain)} ({kpi_value(kpi, previous.value)})"
    change = latest.value - previous.value
    if change == 0:
        return f"unchanged {before}"
    word = "up" if change > 0 else "down"
    if kpi.unit_of_measure == UnitOfMeasure.PERCENT:
        return f"{word} {abs(change) * 100:.1f} pt {before}"
    if previous.value == 0 or (latest.value < 0) != (previous.value < 0):
        return f"{word} {kpi_value(kpi, abs(change))} {before}"
    return f"{word} {abs(change) / abs(previous.value):.1%} {before}"


def reading_of(kpi: Kpi, result: Series | KpiWizardError | None, today: dt.date) -> KpiReading:
    """The reading of one KPI from its computed series (or the error that stopped it)."""
    grain = cadence_grain(kpi.cadence.value if kpi.cadence else None)
    common: dict[str, Any] = {
        "kpi_id": kpi.id,
        "name": kpi.name,
        "grain": grain,
        "owner": kpi.owner,
        "owner_email": kpi.owner_email,
        "action": kpi.action,
        "thresholds": thresholds_text(kpi),
        "target": target_text(kpi) + (f" by {kpi.target.due.isoformat()}" if kpi.target and kpi.target.due else ""),
    }
    if result is None:
        return KpiReading(**common, status=None, note="no formula yet: not computed")
    if isinstance(result, KpiWizardError):
        return KpiReading(**common, status=None, note=f"not computed: {result}")
    as_of = result.coverage.as_of.isoformat() if result.coverage else None
    latest = latest_of(result, today)
    if latest is None:
        return KpiReading(
            **common, status=None, data_as_of=as_of, note=f"no complete {grain} yet: partial periods are not judged"
        )
    complete = [p for p in complete_points(result, today=today) if p.dimension is None and p.value is not None]
    earlier = [p for p in complete if p.period < latest.period]
    return KpiReading(
        **common,
        status=status(kpi, latest.value),
        period=period_label(latest.period, grain),
        value=latest.value,
        value_text=kpi_value(kpi, latest.value),
        reason=status_reason(kpi, latest.value),
        trend=trend_text(kpi, latest, earlier[-1] if earlier else None, grain),
        data_as_of=as_of,
    )


def evaluate(workspace: Workspace, engine: Engine, today: dt.date | None = None) -> list[KpiReading]:
    """Every KPI judged on its latest complete period at its review cadence (monthly when unset).

    KPIs that share a cadence are computed together (one scan per source); a KPI that fails to
    compute gets a reading with the reason, never a crashed check.
    """
    from kpi_model.formula import SeriesRequest

    today = today or dt.date.today()
    by_grain: dict[str, list[str]] = defaultdict(list)
    for kpi in workspace.kpis:
        if kpi.expression:
            by_grain[cadence_grain(kpi.cadence.value if kpi.cadence else None)].append(kpi.id)
    results: dict[str, Series | KpiWizardError] = {}
    for grain, ids in by_grain.items():
        results |= engine.compute_many(workspace, ids, SeriesRequest(grain=grain))  # type: ignore[arg-type]
    return [reading_of(kpi, results.get(kpi.id), today) for kpi in workspace.kpis]
