"""The shapes every quality rule shares: findings, rules and what a rule can look at.

A rule is a small named unit with a stable id (``KPI001``) and slug (``missing-owner``), a
severity, a one-line rationale, and a function that yields findings. A finding always says
**what** (the object), **the problem** (``message``) and **the fix**.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from kpi_model.errors import KpiWizardError
from kpi_model.models import Goal, Kpi, Unit, Workspace

if TYPE_CHECKING:
    from kpi_model.engine import Engine, Series
    from kpi_model.sources import TableProfile

ObjectKind = Literal["kpi", "goal", "unit", "source", "workspace"]

# How findings name the pairing field: the form's label, then the workspace file's key.
PAIRING_FIELD = "Paired leading/lagging KPI (pairs_with)"
# The group of notes saying a KPI defined in words has no formula yet: reports list them apart,
# and they are no defect of the KPI's design (see Finding.scored).
NOT_YET_COMPUTABLE = "not-yet-computable"


class Severity(StrEnum):
    """How much a finding matters."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """2 for error, 1 for warning, 0 for info (for ``--fail-on`` and sorting)."""
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class ObjectRef:
    """What a finding is about."""

    kind: ObjectKind
    id: str


@dataclass(frozen=True)
class Finding:
    """One problem with one object: what, the problem, the fix."""

    rule: str
    slug: str
    severity: Severity
    object: ObjectRef
    message: str
    fix: str
    # A report shows grouped findings apart from the defects (e.g. NOT_YET_COMPUTABLE notes).
    group: str | None = None
    # The fix as KPI field -> new value (JSON-ready, as in the workspace file), when it is concrete
    # enough to apply without asking; applying it must leave no other finding on that KPI.
    patch: dict[str, Any] | None = None

    @property
    def scored(self) -> bool:
        """Whether the finding counts against scores (a grouped note does not)."""
        return self.group is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's ``findings`` items); ``group`` and ``patch`` only when set."""
        data: dict[str, Any] = {
            "rule": self.rule,
            "slug": self.slug,
            "severity": self.severity.value,
            "object": {"kind": self.object.kind, "id": self.object.id},
            "message": self.message,
            "fix": self.fix,
        }
        if self.group is not None:
            data["group"] = self.group
        if self.patch is not None:
            data["patch"] = self.patch
        return data


def apply_patch(workspace: Workspace, finding: Finding) -> Workspace:
    """A copy of the workspace with the finding's patch applied to its KPI (unchanged without one)."""
    if not finding.patch or finding.object.kind != "kpi":
        return workspace
    data = workspace.model_dump(mode="json", exclude_none=True)
    for kpi in data["kpis"]:
        if kpi["id"] == finding.object.id:
            for key, value in finding.patch.items():
                if value is None:
                    kpi.pop(key, None)
                else:
                    kpi[key] = value
    return Workspace.model_validate(data)


@dataclass(frozen=True)
class AuditOptions:
    """Tunable limits of the rules (documented in docs/quality_rules.md)."""

    unit_kpi_limit: int = 12
    min_kpis_per_goal: int = 3
    max_kpis_per_goal: int = 5
    min_sample: int = 30
    stale_after_days: int = 92


@dataclass
class AuditContext:
    """Everything a rule may look at. ``series``/``columns``/``profiles`` are None without data."""

    workspace: Workspace
    today: dt.date
    options: AuditOptions = field(default_factory=AuditOptions)
    engine: Engine | None = None
    columns: Mapping[str, list[str]] | None = None
    profiles: Mapping[str, TableProfile] | None = None
    series: Mapping[str, Series | KpiWizardError] | None = None

    @property
    def has_data(self) -> bool:
        """Whether data is loaded (data rules run only then)."""
        return self.columns is not None

    def unit_of(self, kpi: Kpi) -> Unit | None:
        """The unit a KPI belongs to through its goal."""
        return self.workspace.unit_of_kpi(kpi)

    def goal_of(self, kpi: Kpi) -> Goal | None:
        """The goal a KPI measures."""
        return self.workspace.goal(kpi.goal) if kpi.goal else None


class More(TypedDict, total=False):
    """What a finding may add to its rule's defaults."""

    severity: Severity | None  # None keeps the rule's severity
    patch: dict[str, Any] | None  # the fix as KPI field -> new value (see Finding.patch)
    group: str | None  # reported apart from the defects (see Finding.group)


@dataclass(frozen=True)
class Rule:
    """A quality rule. ``check`` yields findings; ``example`` and ``fix`` are for the docs."""

    id: str
    slug: str
    severity: Severity
    rationale: str
    example: str
    fix: str
    check: Callable[[AuditContext], Iterable[Finding]]
    needs_data: bool = False

    def finding(
        self, kind: ObjectKind, object_id: str, message: str, fix: str | None = None, **more: Unpack[More]
    ) -> Finding:
        """A finding of this rule about any object, with its default fix and severity unless given."""
        severity = more.get("severity") or self.severity
        group, patch = more.get("group"), more.get("patch")
        return Finding(self.id, self.slug, severity, ObjectRef(kind, object_id), message, fix or self.fix, group, patch)

    def on_kpi(self, kpi: Kpi, message: str, fix: str | None = None, **more: Unpack[More]) -> Finding:
        """A finding about a KPI."""
        return self.finding("kpi", kpi.id, message, fix, **more)

    def on_goal(self, goal: Goal, message: str, fix: str | None = None, **more: Unpack[More]) -> Finding:
        """A finding about a goal."""
        return self.finding("goal", goal.id, message, fix, **more)

    def on_unit(self, unit: Unit, message: str, fix: str | None = None, **more: Unpack[More]) -> Finding:
        """A finding about a unit."""
        return self.finding("unit", unit.id, message, fix, **more)

    def on_source(self, name: str, message: str, fix: str | None = None, **more: Unpack[More]) -> Finding:
        """A finding about a data source, by the name the workspace declares."""
        return self.finding("source", name, message, fix, **more)

    def on_workspace(self, workspace: Workspace, message: str, fix: str | None = None, **more: Unpack[More]) -> Finding:
        """A finding about the workspace as a whole: one cause behind many objects."""
        return self.finding("workspace", workspace.name, message, fix, **more)
