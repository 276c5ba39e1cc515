"""What a dbt metric's ``config.meta`` says about a KPI: owner, goal, unit of measure, target, thresholds…

KPI Wizard's dbt export writes these keys (docs/dbt.md); other projects often write ``owner`` alone.
Each value is checked on its own against the workspace model, so one bad value is dropped with a
note and the rest of the KPI still imports. A ``goal`` given as a mapping (id, statement, unit…)
brings its goal and unit along, so an exported workspace comes back with its goals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from kpi_model.importers.common import strip_controls
from kpi_model.models import Goal, Kpi, Unit

# The KPI fields read from meta, beside ``owner`` and ``goal`` (its type_params are its formula).
# ``name`` and ``description`` are the metric's label and description; meta carries them too, for
# tools that show only meta, and the import falls back to them where a metric has no label.
META_FIELDS = (
    "owner_email",
    "category",
    "kind",
    "measure",
    "scale",
    "unit_of_measure",
    "direction",
    "cadence",
    "baseline",
    "target",
    "thresholds",
    "pairs_with",
    "action",
    "review_date",
    "template",
)
ROLE_KEY = "kpi_wizard_role"  # "input": an aggregate the export made for ratio and derived metrics
INPUT_ROLE = "input"


def metric_meta(raw: dict[str, Any]) -> dict[str, Any]:
    """A metric's meta: ``config.meta`` (dbt 1.10) or the older top-level ``meta``."""
    config = raw.get("config")
    meta = (config.get("meta") if isinstance(config, dict) else None) or raw.get("meta") or {}
    return meta if isinstance(meta, dict) else {}


def is_input(raw: dict[str, Any]) -> bool:
    """Whether the metric is one the export made as an input of other metrics, not a KPI of its own."""
    return metric_meta(raw).get(ROLE_KEY) == INPUT_ROLE


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_controls(value).strip()
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _valid(model: type[Kpi] | type[Goal] | type[Unit], data: dict[str, Any]) -> str | None:
    """None when ``data`` is valid for ``model``, else the first problem in words."""
    try:
        model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        return str(first.get("msg", "not valid"))
    return None


class MetaReader:
    """Reads KPI fields out of metric meta; collects the goals and units named along the way."""

    def __init__(self) -> None:
        self.goals: dict[str, dict[str, Any]] = {}
        self.units: dict[str, dict[str, Any]] = {}

    def kpi_fields(self, meta: dict[str, Any], note: Callable[[str], None]) -> dict[str, Any]:
        """The KPI fields ``meta`` holds that are valid; each invalid one is ``note``d and left out."""
        fields: dict[str, Any] = {}
        for key in ("owner", *META_FIELDS):
            if key not in meta or meta[key] is None:
                continue
            value = _clean(meta[key])
            problem = _valid(Kpi, {"id": "k", "name": "k", key: value})
            if problem:
                note(f"meta {key}: {problem}; left out.")
                continue
            fields[key] = value
        goal = self._goal(_clean(meta.get("goal")), note)
        if goal:
            fields["goal"] = goal
        return fields

    def _goal(self, value: Any, note: Callable[[str], None]) -> str | None:
        """The goal id; a goal given whole (with its unit) is kept for the workspace's goals."""
        if value is None:
            return None
        if not isinstance(value, dict):
            note(f"meta goal '{value}' gives no statement and unit, so the KPI has no goal; assign one after import.")
            return None
        unit = value.get("unit")
        if isinstance(unit, dict):
            problem = _valid(Unit, unit)
            if problem:
                note(f"meta goal unit: {problem}; the goal is left out.")
                return None
            self.units.setdefault(unit["id"], unit)
            value = {**value, "unit": unit["id"]}
        problem = _valid(Goal, value)
        if problem or value.get("unit") not in self.units:
            note(f"meta goal: {problem or 'its unit is not given'}; left out.")
            return None
        self.goals.setdefault(value["id"], value)
        return str(value["id"])
