"""Before and after: what changed between the audits of two versions of a KPI set.

``compare(old_report, new_report)`` matches findings by rule slug, object kind and object id
(a finding about the workspace itself matches whatever the workspace is called), first with the
same message, then in order among those left. So a finding whose wording changed (a count in it
moved) *remains*; it is neither fixed nor new. What is left over is **fixed** (in the old version
only, about an object still there), **gone with a removed object** (its KPI, goal, unit or source
was deleted) or **new**.

Limits: objects are matched by id, so a KPI whose id changed counts as one removed and one added
(its findings as gone and new); the data findings are compared only when both audits ran with
data, so loading data for one version only never shows as progress.

``compare_workspaces(old, new, engine=…)`` audits both versions the same way, for the app with two
saved versions from :mod:`kpi_model.store`, e.g.
``compare_workspaces(store.load_version(ws_id, version.id), store.load(ws_id), engine=engine)``;
the result renders with ``to_markdown()``, ``to_text()`` and ``as_dict()``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.checks import AuditOptions, AuditReport, Finding, audit
from kpi_model.checks.verdict import Verdict

if TYPE_CHECKING:
    from kpi_model.engine import Engine
    from kpi_model.models import Workspace

__all__ = ["AuditComparison", "VerdictChange", "compare", "compare_workspaces"]

_Key = tuple[str, str, str]


@dataclass(frozen=True)
class VerdictChange:
    """A KPI present in both versions whose verdict changed."""

    kpi_id: str
    name: str
    before: Verdict
    after: Verdict
    why: str  # the new verdict's reasons

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "id": self.kpi_id,
            "name": self.name,
            "before": self.before.value,
            "after": self.after.value,
            "why": self.why,
        }


@dataclass
class AuditComparison:
    """The before/after of two audits; ``remaining`` holds the new version's wording."""

    old: AuditReport
    new: AuditReport
    fixed: list[Finding]
    new_findings: list[Finding]
    remaining: list[Finding]
    gone_with_removed: list[Finding]
    kpis_added: list[str]
    kpis_removed: list[str]
    verdict_changes: list[VerdictChange]
    data_compared: bool

    @property
    def design_change(self) -> float:
        """The change in design score, in points (two decimals: one fix in a big register moves a few hundredths)."""
        return round(self.new.design - self.old.design, 2)

    @property
    def data_change(self) -> float | None:
        """The change in data score, when both audits ran with data."""
        if self.old.data_score is None or self.new.data_score is None:
            return None
        return round(self.new.data_score - self.old.data_score, 2)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: scores before/after, the finding sets, KPI and verdict changes."""
        return {
            "before": {
                "workspace": self.old.workspace.name,
                "design_score": self.old.design,
                "data_score": self.old.data_score,
                "verdicts": self.old.verdict_counts(),
            },
            "after": {
                "workspace": self.new.workspace.name,
                "design_score": self.new.design,
                "data_score": self.new.data_score,
                "verdicts": self.new.verdict_counts(),
            },
            "design_change": self.design_change,
            "data_change": self.data_change,
            "data_compared": self.data_compared,
            "counts": {
                "fixed": len(self.fixed),
                "new": len(self.new_findings),
                "remaining": len(self.remaining),
                "gone_with_removed": len(self.gone_with_removed),
            },
            "fixed": [f.as_dict() for f in self.fixed],
            "new": [f.as_dict() for f in self.new_findings],
            "remaining": [f.as_dict() for f in self.remaining],
            "gone_with_removed": [f.as_dict() for f in self.gone_with_removed],
            "kpis_added": self.kpis_added,
            "kpis_removed": self.kpis_removed,
            "verdict_changes": [c.as_dict() for c in self.verdict_changes],
        }

    def to_json(self) -> str:
        """JSON text of :meth:`as_dict`."""
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def _score_line(self, markdown: bool) -> str:
        bold = "**" if markdown else ""
        line = f"design score {bold}{self.old.design:.2f} → {self.new.design:.2f}{bold} ({self.design_change:+.2f})"
        if self.data_change is not None:
            assert self.old.data_score is not None and self.new.data_score is not None
            line += f", data score {self.old.data_score:.2f} → {self.new.data_score:.2f} ({self.data_change:+.2f})"
        else:
            line += ", data score not compared (" + _why_no_data(self.old, self.new) + ")"
        return line

    def _counts_line(self) -> str:
        return (
            f"{len(self.fixed)} fixed, {len(self.new_findings)} new, {len(self.remaining)} remaining"
            + (f", {len(self.gone_with_removed)} gone with removed objects" if self.gone_with_removed else "")
            + f"; KPIs: {len(self.kpis_added)} added, {len(self.kpis_removed)} removed"
        )

    def to_text(self) -> str:
        """A terminal summary: scores, counts, then each fixed and new finding and verdict change."""
        lines = [
            f"{self.old.workspace.name} → {self.new.workspace.name}: {self._score_line(False)}",
            self._counts_line(),
        ]
        added = self.new.verdicts()
        lines += [f"added KPI   {k} ({added[k].verdict.value})" for k in self.kpis_added]
        lines += [f"removed KPI {k}" for k in self.kpis_removed]
        lines += [f"verdict     {c.kpi_id}: {c.before.value} → {c.after.value}" for c in self.verdict_changes]
        for label, findings in (("FIXED", self.fixed), ("NEW", self.new_findings), ("GONE", self.gone_with_removed)):
            lines += [f"{label:7} {f.slug:26} {f.object.kind} {f.object.id}: {f.message}" for f in findings]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """A report people read: scores, counts, KPI and verdict changes, fixed and new findings."""
        from kpi_model.checks.report import md_id, md_text

        lines = [
            f"# KPI audit: {md_text(self.old.workspace.name)} → {md_text(self.new.workspace.name)}",
            "",
            self._score_line(True)[0].upper() + self._score_line(True)[1:],
            "",
            self._counts_line(),
            "",
        ]
        if self.verdict_changes:
            lines += ["## Verdict changes", "", "| KPI | before | after | why |", "|---|---|---|---|"]
            lines += [
                f"| {md_text(c.name)} ({md_id(c.kpi_id)}) | {c.before.value} | **{c.after.value}** | {md_text(c.why)} |"
                for c in self.verdict_changes
            ]
            lines.append("")
        if self.kpis_added or self.kpis_removed:
            lines += ["## KPIs", ""]
            added = self.new.verdicts()
            lines += [f"- added {md_id(k)}: **{added[k].verdict.value}**" for k in self.kpis_added]
            lines += [f"- removed {md_id(k)}" for k in self.kpis_removed]
            lines.append("")
        sections = (
            ("Fixed", self.fixed),
            ("New", self.new_findings),
            ("Gone with removed objects", self.gone_with_removed),
        )
        for title, findings in sections:
            if not findings:
                continue
            lines += [f"## {title} ({len(findings)})", "", "| severity | rule | about | problem |", "|---|---|---|---|"]
            lines += [
                f"| {f.severity.value} | {f.slug} ({f.rule}) | {f.object.kind} {md_id(f.object.id)} | "
                f"{md_text(f.message)} |"
                for f in findings
            ]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _why_no_data(old: AuditReport, new: AuditReport) -> str:
    if not old.ran_with_data and not new.ran_with_data:
        return "neither audit ran with data"
    return f"only the {'new' if new.ran_with_data else 'old'} audit ran with data"


def _key(finding: Finding) -> _Key:
    kind = finding.object.kind
    return (finding.slug, kind, "" if kind == "workspace" else finding.object.id)


def _ids(report: AuditReport) -> dict[str, set[str]]:
    ws = report.workspace
    return {
        "kpi": {k.id for k in ws.kpis},
        "goal": {g.id for g in ws.goals},
        "unit": {u.id for u in ws.units},
        "source": {s.name for s in ws.sources},
    }


def compare(old: AuditReport, new: AuditReport) -> AuditComparison:
    """What changed from ``old`` to ``new``: findings fixed, new and remaining, scores and verdicts."""
    data_compared = old.ran_with_data and new.ran_with_data
    before = old.design_findings + (old.data_findings if data_compared else [])
    after = new.design_findings + (new.data_findings if data_compared else [])

    # 1. the same finding, word for word; 2. the same rule about the same object, reworded.
    left_old: dict[_Key, list[Finding]] = {}
    for finding in before:
        left_old.setdefault(_key(finding), []).append(finding)
    remaining: list[Finding] = []
    reworded: list[Finding] = []
    for finding in after:
        candidates = left_old.get(_key(finding), [])
        same = next((i for i, f in enumerate(candidates) if f.message == finding.message), None)
        if same is not None:
            candidates.pop(same)
            remaining.append(finding)
        else:
            reworded.append(finding)
    new_findings: list[Finding] = []
    for finding in reworded:
        candidates = left_old.get(_key(finding), [])
        if candidates:
            candidates.pop(0)
            remaining.append(finding)
        else:
            new_findings.append(finding)

    still_there = _ids(new)
    fixed: list[Finding] = []
    gone: list[Finding] = []
    for finding in (f for findings in left_old.values() for f in findings):
        kind, object_id = finding.object.kind, finding.object.id
        (gone if kind in still_there and object_id not in still_there[kind] else fixed).append(finding)

    old_ids, new_ids = [k.id for k in old.workspace.kpis], [k.id for k in new.workspace.kpis]
    old_set, new_set = set(old_ids), set(new_ids)
    old_verdicts, new_verdicts = old.verdicts(), new.verdicts()
    changes = [
        VerdictChange(kpi_id, verdict.name, old_verdicts[kpi_id].verdict, verdict.verdict, verdict.why)
        for kpi_id, verdict in new_verdicts.items()
        if kpi_id in old_verdicts and old_verdicts[kpi_id].verdict != verdict.verdict
    ]
    order = {id(f): i for i, f in enumerate(after)}  # by identity: a finding with a patch cannot be hashed
    remaining.sort(key=lambda f: order[id(f)])
    return AuditComparison(
        old,
        new,
        fixed=_sorted(fixed),
        new_findings=_sorted(new_findings),
        remaining=remaining,
        gone_with_removed=_sorted(gone),
        kpis_added=[k for k in new_ids if k not in old_set],
        kpis_removed=[k for k in old_ids if k not in new_set],
        verdict_changes=changes,
        data_compared=data_compared,
    )


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.rule, f.object.kind, f.object.id))


def compare_workspaces(
    old: Workspace,
    new: Workspace,
    *,
    engine: Engine | None = None,
    ignore: Collection[str] = (),
    today: dt.date | None = None,
    options: AuditOptions | None = None,
) -> AuditComparison:
    """Audit two versions of a workspace the same way (same data, rules, date) and compare them."""
    today = today or dt.date.today()
    before = audit(old, engine=engine, ignore=ignore, today=today, options=options)
    after = audit(new, engine=engine, ignore=ignore, today=today, options=options)
    return compare(before, after)
