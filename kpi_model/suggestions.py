"""Smart defaults for a KPI's empty fields, each with the reason it is suggested.

Where each comes from: the owner from the goal's owner, else the head of the unit; unit of measure,
cadence and direction from the KPI's template; the partner from the template's pairs (a KPI of the
workspace made from a partner template); the baseline from the latest *complete* period of the data
(:func:`kpi_model.status.latest_of`); warning and critical lines from the what-if's target preview
(:func:`kpi_model.whatif.target_preview`) when a target with a due date and data exist. A field that
is filled in gets no suggestion: these are defaults, not corrections.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.errors import KpiWizardError
from kpi_model.library import Template, get_template
from kpi_model.models import Direction, Kpi, Workspace
from kpi_model.periods import period_label
from kpi_model.status import latest_of

if TYPE_CHECKING:
    from kpi_model.engine import Series


@dataclass(frozen=True)
class Suggestion:
    """A value for one empty grid column (:data:`kpi_model.grid.COLUMNS`) of one KPI, and why."""

    kpi_id: str
    column: str
    value: Any  # as stored: text, an enum value, a number in the KPI's unit, a KPI id, a period label
    reason: str


def _template(kpi: Kpi) -> Template | None:
    if not kpi.template:
        return None
    try:
        return get_template(kpi.template)
    except KpiWizardError:  # a template id from an older library or a hand-written file
        return None


def _owner(workspace: Workspace, kpi: Kpi) -> Suggestion | None:
    goal = workspace.goal(kpi.goal) if kpi.goal else None
    if goal is not None and goal.owner:
        return Suggestion(kpi.id, "owner", goal.owner, "the goal's owner")
    unit = workspace.unit_of_kpi(kpi)
    if unit is not None and unit.owner:
        return Suggestion(kpi.id, "owner", unit.owner, f"head of {unit.name}")
    return None


def _partner(workspace: Workspace, kpi: Kpi, template: Template) -> Suggestion | None:
    """A KPI of the workspace made from one of the template's partners (leading ↔ lagging), not itself."""
    for partner_template in template.partners:
        for other in workspace.kpis:
            if other.id != kpi.id and partner_template in (other.template, other.id):
                return Suggestion(kpi.id, "pairs_with", other.id, f"the template pairs it with '{other.name}'")
    return None


def measured(value: float) -> float:
    """A measured value as a baseline keeps it: four significant digits, whole numbers from 1,000 up.

    ``0.27345678`` becomes 0.2735 (27.35 %), ``48213.6`` becomes 48214: what a person would write down.
    """
    return float(round(value)) if abs(value) >= 1000 else float(f"{value:.4g}")


def _from_data(kpi: Kpi, series: Series, today: dt.date | None) -> list[Suggestion]:
    """Baseline from the latest complete period; thresholds by the target preview's method."""
    found: list[Suggestion] = []
    latest = latest_of(series, today)
    if latest is None or latest.value is None:
        return found
    grain = series.request.grain
    label = period_label(latest.period, grain)
    if kpi.baseline is None:
        reason = f"{label}, the latest complete {grain} of the data"
        found.append(Suggestion(kpi.id, "baseline", measured(latest.value), reason))
        found.append(Suggestion(kpi.id, "baseline_period", label, "the period of that value"))
    target = kpi.target
    unset = kpi.thresholds is None or (kpi.thresholds.warning is None and kpi.thresholds.critical is None)
    if unset and target is not None and target.value is not None and target.due is not None:
        # Which side of the target the lines go on is the direction's to say: without one, a guess could put
        # a share's critical line below zero.
        if kpi.direction is None or kpi.direction == Direction.RANGE:
            return found
        from kpi_model.whatif import target_preview  # the what-if maths only when a target asks for it

        try:
            preview = target_preview(
                kpi,
                series.points,
                target=target.value,
                due=target.due,
                grain=grain,
                today=today,
                coverage=series.coverage,
            )
        except KpiWizardError:
            return found
        reason = "the what-if's suggestion from recent variability"
        if preview.suggested_warning is not None:
            found.append(Suggestion(kpi.id, "warning", preview.suggested_warning, reason))
        if preview.suggested_critical is not None:
            found.append(Suggestion(kpi.id, "critical", preview.suggested_critical, reason))
    return found


def suggest(
    workspace: Workspace, kpi: Kpi, series: Series | None = None, *, today: dt.date | None = None
) -> list[Suggestion]:
    """Suggestions for ``kpi``'s empty fields; ``series`` is its data at its cadence's grain, if computed."""
    found: list[Suggestion] = []
    if not kpi.owner and (owner := _owner(workspace, kpi)) is not None:
        found.append(owner)
    template = _template(kpi)
    if template is not None:
        name = f"template '{template.name}'"
        for column in ("unit_of_measure", "cadence", "direction"):
            if getattr(kpi, column) is None:
                found.append(Suggestion(kpi.id, column, getattr(template, column).value, name))
        if kpi.pairs_with is None and (partner := _partner(workspace, kpi, template)) is not None:
            found.append(partner)
    if series is not None:
        # The direction and unit a template suggests count for the thresholds, as they would once accepted.
        assumed = {s.column: s.value for s in found if s.column in ("direction", "unit_of_measure")}
        found += _from_data(kpi.model_copy(update=assumed), series, today)
    return found


def by_column(suggestions: list[Suggestion]) -> dict[str, Any]:
    """Column → suggested value, for :func:`kpi_model.grid.with_suggestions`."""
    return {s.column: s.value for s in suggestions}
