"""Quality audit of a KPI set: run the rule registry, score the result, report it.

``audit(workspace)`` runs every rule of :data:`~kpi_model.checks.registry.REGISTRY` (an explicit
list). A rule that crashes becomes a finding, never a crashed audit. Rules that need data run
only when an engine with loaded data is given; otherwise each says, as an info finding, that it
was skipped.

Scores (documented in docs/quality_rules.md):

- each KPI starts at 100 and loses 20 per error, 8 per warning and 2 per info about it (not below 0);
- the set's score is the mean of its KPI scores, minus 5 per error and 2 per warning about goals,
  units, sources or the workspace, kept within 0–100. A set without KPIs scores 0.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpi_model.checks.base import AuditContext, AuditOptions, Finding, ObjectRef, Rule, Severity
from kpi_model.csv_export import rows_to_csv
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace

if TYPE_CHECKING:
    from kpi_model.engine import Engine, Series

__all__ = [
    "AuditContext",
    "AuditOptions",
    "AuditReport",
    "Finding",
    "ObjectRef",
    "Rule",
    "Severity",
    "audit",
    "rules",
    "rules_reference",
]

KPI_PENALTY = {Severity.ERROR: 20, Severity.WARNING: 8, Severity.INFO: 2}
SET_PENALTY = {Severity.ERROR: 5, Severity.WARNING: 2, Severity.INFO: 0}
_GRAIN_OF_CADENCE = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter", "yearly": "year"}


def rules() -> list[Rule]:
    """The registry, in id order."""
    from kpi_model.checks.registry import REGISTRY

    return list(REGISTRY)


@dataclass
class AuditReport:
    """Findings with scores; renders as JSON, Markdown, CSV or text."""

    workspace: Workspace
    findings: list[Finding]
    score: int
    kpi_scores: dict[str, int]
    ran_with_data: bool
    audited_on: dt.date = field(default_factory=dt.date.today)

    def count(self, severity: Severity) -> int:
        """How many findings have this severity."""
        return sum(1 for f in self.findings if f.severity == severity)

    def worst(self) -> Severity | None:
        """The highest severity found, if any."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def unit_counts(self) -> dict[str, Counter[str]]:
        """Findings per unit id (by the unit of what they concern; "" for the set as a whole), by severity."""
        counts: dict[str, Counter[str]] = {}
        for finding in self.findings:
            unit = self.unit_of(finding.object) or ""
            counts.setdefault(unit, Counter())[finding.severity.value] += 1
        return counts

    def unit_of(self, ref: ObjectRef) -> str | None:
        """The unit id an object belongs to, when it has one."""
        ws = self.workspace
        if ref.kind == "unit":
            return ref.id
        if ref.kind == "goal":
            goal = ws.goal(ref.id)
            return goal.unit if goal else None
        if ref.kind == "kpi":
            kpi = ws.kpi(ref.id)
            unit = ws.unit_of_kpi(kpi) if kpi else None
            return unit.id if unit else None
        if ref.kind == "source":  # a source belongs to a unit when only that unit's KPIs read it
            units = {u.id for k in ws.kpis if k.source == ref.id and (u := ws.unit_of_kpi(k))}
            return units.pop() if len(units) == 1 else None
        return None

    def as_dict(self) -> dict[str, Any]:
        """The CLI's JSON: ``score``, ``kpis`` (id, score), ``findings`` and counts."""
        return {
            "workspace": self.workspace.name,
            "audited_on": self.audited_on.isoformat(),
            "with_data": self.ran_with_data,
            "score": self.score,
            "counts": {s.value: self.count(s) for s in Severity},
            "kpis": [{"id": kpi_id, "score": score} for kpi_id, score in self.kpi_scores.items()],
            "findings": [f.as_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        """JSON text of :meth:`as_dict`."""
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_csv(self) -> str:
        """One row per finding."""
        rows: list[list[str]] = []
        for f in self.findings:
            unit = self.unit_of(f.object) or ""
            rows.append([f.rule, f.slug, f.severity.value, f.object.kind, f.object.id, unit, f.message, f.fix])
        header = ["rule", "slug", "severity", "object_kind", "object_id", "unit", "message", "fix"]
        return rows_to_csv(header, rows)  # no cell runs as a spreadsheet formula

    def to_markdown(self) -> str:
        """A report people read: summary, then findings by unit and object."""
        lines = [
            f"# KPI audit: {_md_text(self.workspace.name)}",
            "",
            f"Score **{self.score}/100** · {self.count(Severity.ERROR)} errors · {self.count(Severity.WARNING)} "
            f"warnings · {self.count(Severity.INFO)} notes · audited {self.audited_on.isoformat()}"
            + ("" if self.ran_with_data else " · without data (data rules skipped)"),
            "",
        ]
        by_unit: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_unit.setdefault(self.unit_of(finding.object) or "", []).append(finding)
        for unit_id in [u.id for u in self.workspace.units if u.id in by_unit] + ([""] if "" in by_unit else []):
            unit = self.workspace.unit(unit_id)
            lines += [f"## {_md_text(unit.name) if unit else 'Across the set'}", ""]
            lines += ["| severity | rule | about | problem | fix |", "|---|---|---|---|---|"]
            for f in by_unit[unit_id]:
                lines.append(
                    f"| {f.severity.value} | {f.slug} ({f.rule}) | {f.object.kind} {_md_id(f.object.id)} | "
                    f"{_md_text(f.message)} | {_md_text(f.fix)} |"
                )
            lines.append("")
        if not self.findings:
            lines.append("No findings.")
        return "\n".join(lines).rstrip() + "\n"

    def to_text(self) -> str:
        """A terminal summary, one line per finding."""
        lines = [
            f"{self.workspace.name}: score {self.score}/100 — {self.count(Severity.ERROR)} errors, "
            f"{self.count(Severity.WARNING)} warnings, {self.count(Severity.INFO)} notes"
        ]
        for f in self.findings:
            lines.append(
                f"{f.severity.value.upper():7} {f.rule} {f.slug:26} {f.object.kind} {f.object.id}: {f.message}"
            )
            lines.append(f"{'':8}fix: {f.fix}")
        return "\n".join(lines) + "\n"


def rules_reference() -> str:
    """The rule reference in docs/quality_rules.md: a table, then each rule's example and fix."""
    lines = ["| id | slug | severity | needs data | rationale |", "|---|---|---|---|---|"]
    for rule in rules():
        data = "yes" if rule.needs_data else ""
        lines.append(f"| {rule.id} | `{rule.slug}` | {rule.severity.value} | {data} | {_md(rule.rationale)} |")
    lines.append("")
    for rule in rules():
        lines += [
            f"### {rule.id} `{rule.slug}`",
            "",
            f"{rule.rationale}",
            "",
            f"- **Severity:** {rule.severity.value}" + (" (runs only with data loaded)" if rule.needs_data else ""),
            f"- **Example:** {rule.example}",
            f"- **Fix:** {rule.fix}",
            "",
        ]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# Characters that make inline Markdown active (images, links, HTML, code, emphasis, table cells).
_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>!|~])")


def _md_text(text: str) -> str:
    """Workspace text (names, messages quoting them) as inert inline Markdown in the audit report.

    A report opened in a Markdown viewer must not fetch a name's ``![x](http://…)`` or render its
    HTML; the report stays readable as plain text (only the characters above get a backslash).
    """
    return _MD_ACTIVE.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def _md_id(object_id: str) -> str:
    """An id as code; a free-text one (the workspace's name) as escaped text: a code span ends at '`'."""
    return f"`{object_id}`" if re.fullmatch(r"[A-Za-z0-9_.-]+", object_id) else _md_text(object_id)


def _data_context(workspace: Workspace, engine: Engine) -> dict[str, Any]:
    from kpi_model.formula import SeriesRequest

    columns = engine.columns()
    used = {k.source for k in workspace.kpis if k.source and k.source in columns}
    profiles = {name: engine.profile(name) for name in sorted(used)}
    series: dict[str, Series | KpiWizardError] = {}
    for kpi in workspace.kpis:
        if not kpi.expression:
            continue
        grain = _GRAIN_OF_CADENCE.get(kpi.cadence.value if kpi.cadence else "monthly", "month")
        try:
            series[kpi.id] = engine.compute(workspace, kpi.id, SeriesRequest(grain=grain))  # type: ignore[arg-type]
        except KpiWizardError as error:
            series[kpi.id] = error
    return {"columns": columns, "profiles": profiles, "series": series}


def audit(
    workspace: Workspace,
    *,
    engine: Engine | None = None,
    ignore: Collection[str] = (),
    today: dt.date | None = None,
    options: AuditOptions | None = None,
    registry: Sequence[Rule] | None = None,
) -> AuditReport:
    """Run the rules on a workspace (with its data when ``engine`` is given) and score the result."""
    today = today or dt.date.today()
    context = AuditContext(workspace, today, options or AuditOptions(), engine)
    if engine is not None:
        data = _data_context(workspace, engine)
        context.columns, context.profiles, context.series = data["columns"], data["profiles"], data["series"]
    findings: list[Finding] = []
    for rule in registry if registry is not None else rules():
        if rule.slug in ignore or rule.id in ignore:
            continue
        if rule.needs_data and not context.has_data:
            findings.append(
                rule.finding(
                    "workspace", workspace.name, f"{rule.slug} was not checked: no data is loaded",
                    "load the sources' data (Data page, or --data NAME=PATH) to run this check",
                    severity=Severity.INFO,
                )
            )  # fmt: skip
            continue
        try:
            findings.extend(rule.check(context))
        except Exception as error:
            findings.append(
                rule.finding(
                    "workspace", workspace.name, f"the rule {rule.slug} failed: {type(error).__name__}: {error}",
                    "this is a bug in KPI Wizard; the other rules ran — please report it",
                    severity=Severity.WARNING,
                )
            )  # fmt: skip
    findings.sort(key=lambda f: (-f.severity.rank, f.rule, f.object.kind, f.object.id))
    kpi_scores = _kpi_scores(workspace, findings)
    return AuditReport(workspace, findings, _set_score(kpi_scores, findings), kpi_scores, engine is not None, today)


def _kpi_scores(workspace: Workspace, findings: list[Finding]) -> dict[str, int]:
    scores = {kpi.id: 100 for kpi in workspace.kpis}
    for finding in findings:
        if finding.object.kind == "kpi" and finding.object.id in scores:
            scores[finding.object.id] = max(0, scores[finding.object.id] - KPI_PENALTY[finding.severity])
    return scores


def _set_score(kpi_scores: dict[str, int], findings: list[Finding]) -> int:
    if not kpi_scores:
        return 0
    mean = sum(kpi_scores.values()) / len(kpi_scores)
    penalty = sum(SET_PENALTY[f.severity] for f in findings if f.object.kind != "kpi")
    return max(0, min(100, round(mean - penalty)))
