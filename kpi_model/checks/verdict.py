"""One verdict per KPI for the board: keep, fix, vanity or drop, with the findings that decided it.

A pure function of an audit's findings and its workspace; the first rule that applies wins
(documented in docs/quality_rules.md, "Verdicts"):

1. **drop**: the KPI repeats an earlier KPI (``duplicate-kpi``): the same formula, or the same
   measure by name with nothing of its own besides (no owner, definition, target, source …); the
   second of the pair is dropped, the first is judged on its own.
2. **vanity**: the vanity-metric rule fires on it (``vanity-metric``).
3. **fix**: any other error or warning about it (each finding carries its fix).
4. **keep**: no error or warning about it; notes (infos) are allowed.

Only findings about the KPI itself count: a goal with too many KPIs is a finding about the goal.
A KPI whose name is merely close to another's and that has content of its own is ``fix`` (rename
or merge), not ``drop``: "Revenue EU" and "Revenue US" are different numbers. A KPI without a
goal is ``fix`` too, whatever the other units have: an inherited register gets its goals one unit
at a time, and one unit's new goal must not turn every other unit's KPIs into "drop".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kpi_model.checks.base import Finding, Severity

if TYPE_CHECKING:
    from kpi_model.checks import AuditReport
    from kpi_model.models import Kpi, Workspace

__all__ = ["KpiVerdict", "Reason", "Verdict", "kpi_verdict", "verdicts"]

# The duplicate-kpi rule says this when the formulas (not only the names) are the same.
_SAME_FORMULA = "computes the same formula"
_SHORT = 160


class Verdict(StrEnum):
    """What to tell the board about a KPI."""

    KEEP = "keep"
    FIX = "fix"
    VANITY = "vanity"
    DROP = "drop"

    @property
    def meaning(self) -> str:
        """One line a board can read."""
        return {
            "keep": "sound as it is",
            "fix": "worth keeping once its findings are fixed",
            "vanity": "looks like progress but steers nothing: replace it or drop it",
            "drop": "repeats another KPI and adds nothing of its own",
        }[self.value]


@dataclass(frozen=True)
class Reason:
    """A finding as a reason for a verdict: its rule, severity and message (``short`` for tables)."""

    rule: str
    slug: str
    severity: Severity
    message: str
    fix: str

    @classmethod
    def of(cls, finding: Finding) -> Reason:
        """The reason a finding gives."""
        return cls(finding.rule, finding.slug, finding.severity, finding.message, finding.fix)

    @property
    def short(self) -> str:
        """The message's first clause, without the KPI's name in front (the row names it), cut in the middle."""
        text = self.message.split("; ", 1)[0]
        if text.startswith("KPI '") and (end := text.find(") ")) != -1:
            text = text[end + 2 :]
        if len(text) <= _SHORT:
            return text
        # Keep the start (what) and the end (often whom: "… as 'Net revenue' (revenue)"), cut at words.
        head = text[: _SHORT * 3 // 5].rsplit(" ", 1)[0].rstrip(",;:")
        tail = text[-(_SHORT * 2 // 5) :].split(" ", 1)[-1]
        return f"{head} … {tail}"

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"rule": self.rule, "slug": self.slug, "severity": self.severity.value, "message": self.message}


@dataclass(frozen=True)
class KpiVerdict:
    """A KPI's verdict; ``reasons`` decided it, ``also`` lists its other errors and warnings."""

    kpi_id: str
    name: str
    verdict: Verdict
    reasons: tuple[Reason, ...]
    also: tuple[Reason, ...] = ()

    @property
    def why(self) -> str:
        """The reasons in one line: ``slug: short message; …``."""
        if self.verdict == Verdict.KEEP:
            return "no errors or warnings"
        text = "; ".join(f"{r.slug}: {r.short}" for r in self.reasons)
        if self.also:
            text += f" (and {len(self.also)} more finding{'s' if len(self.also) != 1 else ''})"
        return text

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "verdict": self.verdict.value,
            "reasons": [r.as_dict() for r in self.reasons],
            "also": [r.as_dict() for r in self.also],
        }


# What makes a KPI more than its name: a repeat with none of these adds nothing to keep.
_CONTENT = ("owner", "description", "source", "expression", "target", "baseline", "thresholds", "cadence", "action")


def _bare(kpi: Kpi) -> bool:
    return all(getattr(kpi, field) in (None, "") for field in _CONTENT)


def _judged(finding: Finding) -> bool:
    return finding.severity in (Severity.ERROR, Severity.WARNING)


def kpi_verdict(workspace: Workspace, kpi_id: str, findings: Iterable[Finding]) -> KpiVerdict:
    """The verdict on one KPI from the findings about it (findings about other objects are ignored)."""
    own = [f for f in findings if f.object.kind == "kpi" and f.object.id == kpi_id]
    own.sort(key=lambda f: (-f.severity.rank, f.rule, f.message))
    kpi = workspace.kpi(kpi_id)
    name = kpi.name if kpi else kpi_id
    judged = [f for f in own if _judged(f)]

    def by(*slugs: str) -> list[Finding]:
        return [f for f in judged if f.slug in slugs]

    def decided(verdict: Verdict, reasons: Sequence[Finding]) -> KpiVerdict:
        rest = [f for f in judged if f not in reasons]
        return KpiVerdict(kpi_id, name, verdict, tuple(map(Reason.of, reasons)), tuple(map(Reason.of, rest)))

    duplicate = [f for f in by("duplicate-kpi") if _SAME_FORMULA in f.message or (kpi is not None and _bare(kpi))]
    if duplicate:
        return decided(Verdict.DROP, duplicate)
    vanity = by("vanity-metric")
    if vanity:
        return decided(Verdict.VANITY, vanity)
    if judged:
        return decided(Verdict.FIX, judged)
    return KpiVerdict(kpi_id, name, Verdict.KEEP, ())


def verdicts(report: AuditReport) -> dict[str, KpiVerdict]:
    """Every KPI's verdict, in the workspace's order, from the report's findings."""
    about: dict[str, list[Finding]] = {}
    for finding in report.findings:
        if finding.object.kind == "kpi":
            about.setdefault(finding.object.id, []).append(finding)
    ws = report.workspace
    return {kpi.id: kpi_verdict(ws, kpi.id, about.get(kpi.id, [])) for kpi in ws.kpis}
