"""Quality audit of a KPI set: run the rule registry, score the result, judge each KPI, report it.

``audit(workspace)`` runs every rule of :data:`~kpi_model.checks.registry.REGISTRY` (an explicit
list). A rule that crashes becomes a finding, never a crashed audit. Rules that need data run
only when an engine with loaded data is given; otherwise each says, as an info finding, that it
was skipped.

Two scores (documented in docs/quality_rules.md, "Scores"; computed in :mod:`.report`):

- the **design score** counts the findings of the rules that do not need data, as they are
  without data (with an engine, those rules run a second time without it), so loading data or
  setting time columns never changes it;
- the **data score** counts what the data adds (the data rules, and what design rules find only
  on the data); None when the audit ran without data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from kpi_model.checks.base import AuditContext, AuditOptions, Finding, ObjectRef, Rule, Severity
from kpi_model.checks.report import AuditReport, Score, md_cell, points, score_findings
from kpi_model.checks.verdict import KpiVerdict, Verdict
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from kpi_model.periods import cadence_grain

if TYPE_CHECKING:
    from kpi_model.engine import Engine, Series

__all__ = [
    "AuditContext",
    "AuditOptions",
    "AuditReport",
    "Finding",
    "KpiVerdict",
    "ObjectRef",
    "Rule",
    "Score",
    "Severity",
    "Verdict",
    "audit",
    "rules",
    "rules_reference",
    "score_findings",
]


def rules() -> list[Rule]:
    """The registry, in id order."""
    from kpi_model.checks.registry import REGISTRY

    return list(REGISTRY)


def rules_reference() -> str:
    """The rule reference in docs/quality_rules.md: a table, then each rule's example and fix."""
    lines = ["| id | slug | severity | needs data | rationale |", "|---|---|---|---|---|"]
    for rule in rules():
        data = "yes" if rule.needs_data else ""
        lines.append(f"| {rule.id} | `{rule.slug}` | {rule.severity.value} | {data} | {md_cell(rule.rationale)} |")
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


def _data_context(workspace: Workspace, engine: Engine) -> dict[str, Any]:
    from kpi_model.formula import SeriesRequest

    columns = engine.columns()
    used = {k.source for k in workspace.kpis if k.source and k.source in columns}
    profiles = {name: engine.profile(name) for name in sorted(used)}
    series: dict[str, Series | KpiWizardError] = {}
    for kpi in workspace.kpis:
        if not kpi.expression:
            continue
        grain = cadence_grain(kpi.cadence)
        try:
            series[kpi.id] = engine.compute(workspace, kpi.id, SeriesRequest(grain=grain))  # type: ignore[arg-type]
        except KpiWizardError as error:
            series[kpi.id] = error
    return {"columns": columns, "profiles": profiles, "series": series}


def _run(rules: Sequence[Rule], context: AuditContext) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        if rule.needs_data and not context.has_data:
            findings.append(
                rule.on_workspace(
                    context.workspace,
                    f"{rule.slug} was not checked: no data is loaded",
                    "load the sources' data (Data page, or --data NAME=PATH) to run this check",
                    severity=Severity.INFO,
                )
            )
            continue
        try:
            findings.extend(rule.check(context))
        except Exception as error:
            findings.append(
                rule.on_workspace(
                    context.workspace,
                    f"the rule {rule.slug} failed: {type(error).__name__}: {error}",
                    "this is a bug in KPI Wizard; the other rules ran — please report it",
                    severity=Severity.WARNING,
                )
            )
    findings.sort(key=lambda f: (-f.severity.rank, f.rule, f.object.kind, f.object.id))
    return findings


def _identity(finding: Finding) -> tuple[str, str, str, str, str]:
    # Not the finding itself: a finding may carry a patch (a dict), which cannot be hashed.
    return (finding.rule, finding.severity.value, finding.object.kind, finding.object.id, finding.message)


def audit(
    workspace: Workspace,
    *,
    engine: Engine | None = None,
    ignore: Collection[str] = (),
    today: dt.date | None = None,
    options: AuditOptions | None = None,
    registry: Sequence[Rule] | None = None,
) -> AuditReport:
    """Run the rules on a workspace (with its data when ``engine`` is given), score and judge the result."""
    today = today or dt.date.today()
    options = options or AuditOptions()
    chosen = [r for r in (registry if registry is not None else rules()) if r.slug not in ignore and r.id not in ignore]
    design_rules = {r.id for r in chosen if not r.needs_data}
    if engine is None:
        findings = _run(chosen, AuditContext(workspace, today, options))
        design = [f for f in findings if f.rule in design_rules]  # the skipped data rules' notes are not design
        data: list[Finding] = []
    else:
        # The design rules again without data: what the design score counts must not move with the data.
        design = _run([r for r in chosen if r.id in design_rules], AuditContext(workspace, today, options))
        context = AuditContext(workspace, today, options, engine)
        loaded = _data_context(workspace, engine)
        context.columns, context.profiles, context.series = loaded["columns"], loaded["profiles"], loaded["series"]
        findings = _run(chosen, context)
        unmatched = Counter(map(_identity, design))
        data = []
        for finding in findings:  # what the data adds: findings the design pass did not make
            if unmatched[_identity(finding)] > 0:
                unmatched[_identity(finding)] -= 1
            else:
                data.append(finding)
    kpi_ids = [kpi.id for kpi in workspace.kpis]
    design_score = score_findings(kpi_ids, design)
    data_score = score_findings([k.id for k in workspace.kpis if k.expression] or kpi_ids, data) if engine else None
    return AuditReport(
        workspace,
        findings,
        int(points(design_score.total) + 0.5),  # the whole number, rounded half up like people do
        {kpi_id: points(s, 1) for kpi_id, s in design_score.per_kpi.items()},
        engine is not None,
        today,
        design_score=points(design_score.total),
        data_score=points(data_score.total) if data_score else None,
        kpi_data_scores={kpi_id: points(s, 1) for kpi_id, s in data_score.per_kpi.items()} if data_score else {},
        design_findings=design,
        data_findings=data,
    )
