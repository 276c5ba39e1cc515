"""Which of the fields that make a KPI real are filled in.

The audit judges quality; this only answers "is it there?", field by field, for the
Review page and the wizard's progress marks.
"""

from __future__ import annotations

from collections.abc import Callable

from kpi_model.formula import is_derived
from kpi_model.models import Direction, Kpi, Measure, Workspace

# Each check gets the KPI and whether it is derived (computed from other KPIs, so it
# needs no source or time column of its own). Order is the display order.
FIELD_CHECKS: dict[str, Callable[[Kpi, bool], bool]] = {
    "owner": lambda k, derived: bool(k.owner),
    "goal": lambda k, derived: bool(k.goal),
    "category": lambda k, derived: k.category is not None,
    "kind": lambda k, derived: k.kind is not None,
    "source": lambda k, derived: bool(k.source) or derived,
    "formula": lambda k, derived: bool(k.expression),
    "time column": lambda k, derived: bool(k.time_column) or derived,
    "unit of measure": lambda k, derived: k.unit_of_measure is not None,
    "direction": lambda k, derived: k.direction is not None,
    "cadence": lambda k, derived: k.cadence is not None,
    "baseline": lambda k, derived: k.baseline is not None,
    "target": lambda k, derived: has_target(k),
    "due date": lambda k, derived: k.target is not None and k.target.due is not None,
    "thresholds": lambda k, derived: (
        k.thresholds is not None and (k.thresholds.warning is not None or k.thresholds.critical is not None)
    ),
    "action": lambda k, derived: bool(k.action),
    "scale": lambda k, derived: k.measure != Measure.QUALITATIVE or bool(k.scale),
}


def has_target(kpi: Kpi) -> bool:
    """Whether the KPI states a target in the form its direction needs (low and high for a range)."""
    target = kpi.target
    if target is None:
        return False
    if kpi.direction == Direction.RANGE:
        return target.low is not None and target.high is not None
    if kpi.direction is None and target.low is not None and target.high is not None:
        return True  # a range given before the direction is set: the direction is what is missing
    return target.value is not None


def field_status(kpi: Kpi, workspace: Workspace) -> dict[str, bool]:
    """``{field label: filled in?}`` for every field in :data:`FIELD_CHECKS`."""
    derived = is_derived(kpi.expression, kpi.source, {k.id for k in workspace.kpis} - {kpi.id})
    return {label: check(kpi, derived) for label, check in FIELD_CHECKS.items()}


def completeness(kpi: Kpi, workspace: Workspace) -> float:
    """Share of fields filled in, 0.0–1.0."""
    status = field_status(kpi, workspace)
    return sum(status.values()) / len(status)


def missing_fields(kpi: Kpi, workspace: Workspace) -> list[str]:
    """Labels of the fields still to fill in."""
    return [label for label, filled in field_status(kpi, workspace).items() if not filled]
