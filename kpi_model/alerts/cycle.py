"""The review cycle: when each KPI is next reviewed, which are due, and starting a new cycle.

A KPI's ``review_date`` is when it was last reviewed; the next review is one cadence later
(monthly when no cadence is set). Starting a new cycle records each KPI's latest complete value
as its new baseline and today as its review date; the old baselines stay in the version history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kpi_model.alerts.evaluation import KpiReading
from kpi_model.models import Baseline, Kpi, Workspace
from kpi_model.periods import add_periods, cadence_grain


@dataclass(frozen=True)
class ReviewDate:
    """When a KPI is next reviewed (None without a ``review_date``) and whether that day has come."""

    kpi_id: str
    name: str
    last: dt.date | None
    next: dt.date | None
    due: bool

    @property
    def text(self) -> str:
        """``'due since 2026-04-30'``, ``'next 2026-12-16'`` or ``'no review_date set'``."""
        if self.next is None:
            return "no review_date set: set the day it was last reviewed"
        return f"due since {self.next.isoformat()}" if self.due else f"next {self.next.isoformat()}"


def review_dates(workspace: Workspace, today: dt.date | None = None) -> list[ReviewDate]:
    """Every KPI's next review date, in file order."""
    today = today or dt.date.today()
    dates = []
    for kpi in workspace.kpis:
        grain = cadence_grain(kpi.cadence.value if kpi.cadence else None)
        upcoming = add_periods(kpi.review_date, 1, grain) if kpi.review_date else None
        dates.append(
            ReviewDate(kpi.id, kpi.name, kpi.review_date, upcoming, upcoming is not None and upcoming <= today)
        )
    return dates


def due_for_review(workspace: Workspace, today: dt.date | None = None) -> list[ReviewDate]:
    """The KPIs whose review date plus their cadence has passed."""
    return [d for d in review_dates(workspace, today) if d.due]


@dataclass(frozen=True)
class Rebased:
    """One KPI in a new cycle: its old and new baseline, and its target (to set anew)."""

    kpi_id: str
    name: str
    old: Baseline | None
    new: Baseline
    target: str


@dataclass(frozen=True)
class NewCycle:
    """The workspace after a new cycle starts, what moved, and what was left as it was (with why)."""

    workspace: Workspace
    rebased: list[Rebased]
    skipped: dict[str, str]

    @property
    def note(self) -> str:
        """The version note: ``'New review cycle 2026-12-05: 17 baselines from the latest complete periods'``."""
        return f"New review cycle: {len(self.rebased)} baselines from the latest complete periods"


def start_cycle(
    workspace: Workspace, readings: list[KpiReading], today: dt.date | None = None, kpi_ids: list[str] | None = None
) -> NewCycle:
    """A copy of ``workspace`` with each KPI's latest complete value as baseline and ``today`` as review date.

    Only complete periods become baselines (a partial month would set the bar from half a month);
    a KPI without one keeps its baseline and is listed in ``skipped``. Targets are left for people
    to set anew: :attr:`NewCycle.rebased` lists them.
    """
    today = today or dt.date.today()
    readings_by_id = {r.kpi_id: r for r in readings}
    kpis: list[Kpi] = []
    rebased: list[Rebased] = []
    skipped: dict[str, str] = {}
    for kpi in workspace.kpis:
        reading = readings_by_id.get(kpi.id)
        if kpi_ids is not None and kpi.id not in kpi_ids:
            kpis.append(kpi)
            continue
        if reading is None or reading.value is None or reading.period is None:
            skipped[kpi.id] = reading.note if reading and reading.note else "no complete period with a value"
            kpis.append(kpi)
            continue
        baseline = Baseline(value=reading.value, period=reading.period)
        kpis.append(kpi.model_copy(update={"baseline": baseline, "review_date": today}))
        rebased.append(Rebased(kpi.id, kpi.name, kpi.baseline, baseline, reading.target))
    return NewCycle(workspace.model_copy(update={"kpis": kpis}), rebased, skipped)
