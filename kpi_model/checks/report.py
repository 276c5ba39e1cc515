"""An audit's result: the two scores, the report and how it renders (JSON, Markdown, CSV, text).

:func:`score_findings` is the one scoring rule (docs/quality_rules.md, "Scores"): a KPI with
penalties P (20 per error, 8 per warning, 2 per info about it) scores ``100 × 60 / (60 + P)``,
which never reaches 0, so every fix still counts; the set scores the mean of its KPIs times
``100 / (100 + S)``, S being 5 per error and 2 per warning about goals, units, sources or the
workspace. Removing a finding never lowers it, adding one never raises it, and a KPI without
findings never lowers it. A set without KPIs scores 0.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kpi_model.checks.base import Finding, ObjectRef, Severity
from kpi_model.checks.verdict import KpiVerdict, Verdict, verdicts
from kpi_model.csv_export import rows_to_csv
from kpi_model.models import Workspace

KPI_PENALTY = {Severity.ERROR: 20, Severity.WARNING: 8, Severity.INFO: 2}
SET_PENALTY = {Severity.ERROR: 5, Severity.WARNING: 2, Severity.INFO: 0}
KPI_BASE = 60  # a KPI with penalties P scores 100 × KPI_BASE / (KPI_BASE + P): one error → 75
SET_BASE = 100  # findings about the set multiply by SET_BASE / (SET_BASE + S): ten warnings → ×0.83


@dataclass(frozen=True)
class Score:
    """A score out of 100 (unrounded) and each KPI's."""

    total: float
    per_kpi: dict[str, float]


def score_findings(kpi_ids: Sequence[str], findings: Iterable[Finding]) -> Score:
    """The score of a KPI set with these findings (see the module's docstring for the formula).

    Findings about a KPI cost that KPI; findings about anything else (or about a KPI id not in
    ``kpi_ids``) cost the set as a whole.
    """
    kpi_penalty = dict.fromkeys(kpi_ids, 0)
    set_penalty = 0
    for finding in findings:
        if not finding.scored:  # a grouped note, e.g. a KPI defined in words has no formula yet
            continue
        if finding.object.kind == "kpi" and finding.object.id in kpi_penalty:
            kpi_penalty[finding.object.id] += KPI_PENALTY[finding.severity]
        else:
            set_penalty += SET_PENALTY[finding.severity]
    per_kpi = {kpi_id: 100 * KPI_BASE / (KPI_BASE + p) for kpi_id, p in kpi_penalty.items()}
    if not per_kpi:
        return Score(0.0, per_kpi)
    return Score(sum(per_kpi.values()) / len(per_kpi) * SET_BASE / (SET_BASE + set_penalty), per_kpi)


def points(score: float, digits: int = 2) -> float:
    # Two decimals for the set: on a register of many KPIs one fixed warning moves it by a few hundredths.
    return round(score, digits)


@dataclass
class AuditReport:
    """Findings with scores and a verdict per KPI; renders as JSON, Markdown, CSV or text.

    ``score`` is the design score rounded to a whole number (``design_score`` has two decimals,
    reports show one; KPI scores have one);
    ``data_score`` is None when the audit ran without data. ``design_findings`` and
    ``data_findings`` are the findings each score counts (:func:`audit` fills them).
    """

    workspace: Workspace
    findings: list[Finding]
    score: int
    kpi_scores: dict[str, float]
    ran_with_data: bool
    audited_on: dt.date = field(default_factory=dt.date.today)
    design_score: float | None = None
    data_score: float | None = None
    kpi_data_scores: dict[str, float] = field(default_factory=dict)
    design_findings: list[Finding] = field(default_factory=list)
    data_findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.design_score is None:
            self.design_score = float(self.score)

    @property
    def design(self) -> float:
        """The design score, out of 100, two decimals."""
        return self.design_score if self.design_score is not None else float(self.score)

    def verdicts(self) -> dict[str, KpiVerdict]:
        """Each KPI's verdict (keep, fix, vanity, drop) with its reasons, in the workspace's order."""
        return verdicts(self)

    def verdict_counts(self) -> dict[str, int]:
        """How many KPIs get each verdict (every verdict listed, zeros included)."""
        counts = Counter(v.verdict.value for v in self.verdicts().values())
        return {v.value: counts.get(v.value, 0) for v in Verdict}

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
        """The CLI's JSON: scores, ``kpis`` (id, scores, verdict, reasons), ``findings`` and counts.

        ``score`` is the design score as a whole number, kept for existing readers.
        """
        judged = self.verdicts()
        return {
            "workspace": self.workspace.name,
            "audited_on": self.audited_on.isoformat(),
            "with_data": self.ran_with_data,
            "score": self.score,
            "design_score": self.design,
            "data_score": self.data_score,
            "counts": {s.value: self.count(s) for s in Severity},
            "verdicts": self.verdict_counts(),
            "kpis": [
                {
                    "id": kpi_id,
                    "name": verdict.name,
                    "score": self.kpi_scores.get(kpi_id),
                    "data_score": self.kpi_data_scores.get(kpi_id) if self.ran_with_data else None,
                    **verdict.as_dict(),
                }
                for kpi_id, verdict in judged.items()
            ],
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

    def verdicts_csv(self) -> str:
        """One row per KPI: its verdict, scores and reasons."""
        rows: list[list[str]] = []
        for kpi_id, verdict in self.verdicts().items():
            unit = self.unit_of(ObjectRef("kpi", kpi_id)) or ""
            data = self.kpi_data_scores.get(kpi_id) if self.ran_with_data else None
            design = self.kpi_scores.get(kpi_id)
            scores = ["" if score is None else f"{score:.1f}" for score in (design, data)]
            rows.append([kpi_id, verdict.name, unit, verdict.verdict.value, *scores, verdict.why])
        header = ["kpi_id", "name", "unit", "verdict", "design_score", "data_score", "why"]
        return rows_to_csv(header, rows)

    def _summary(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in self.verdict_counts().items())
        return (
            f"design score {self.design:.1f}/100, "
            + (f"data score {self.data_score:.1f}/100" if self.data_score is not None else "data checks not run")
            + " · "
            f"{self.count(Severity.ERROR)} errors, {self.count(Severity.WARNING)} warnings, "
            f"{self.count(Severity.INFO)} notes · verdicts: {counts}"
        )

    def to_markdown(self) -> str:
        """A report people read: scores, verdicts per KPI, then findings by unit and object."""
        data = f"data score **{self.data_score:.1f}/100**" if self.data_score is not None else "data checks not run"
        lines = [
            f"# KPI audit: {md_text(self.workspace.name)}",
            "",
            f"Design score **{self.design:.1f}/100** · {data} · {self.count(Severity.ERROR)} errors · "
            f"{self.count(Severity.WARNING)} warnings · {self.count(Severity.INFO)} notes · audited "
            f"{self.audited_on.isoformat()}" + ("" if self.ran_with_data else " · without data (data rules skipped)"),
            "",
        ]
        judged = self.verdicts()
        if judged:
            lines += [
                "## Verdicts",
                "",
                " · ".join(f"**{v}** {n}" for v, n in self.verdict_counts().items()),
                "",
                "| KPI | verdict | design score | data score | why |",
                "|---|---|---|---|---|",
            ]
            for kpi_id, verdict in judged.items():
                design, on_data = self.kpi_scores.get(kpi_id), self.kpi_data_scores.get(kpi_id)
                shown = ["—" if v is None else f"{v:.1f}" for v in (design, on_data if self.ran_with_data else None)]
                lines.append(
                    f"| {md_text(verdict.name)} ({md_id(kpi_id)}) | **{verdict.verdict.value}** | {shown[0]} | "
                    f"{shown[1]} | {md_text(verdict.why)} |"
                )
            lines.append("")
        by_unit: dict[str, list[Finding]] = {}
        grouped: dict[str, list[Finding]] = {}
        for finding in self.findings:
            if finding.group is not None:  # listed apart from the defects (see Finding.group)
                grouped.setdefault(finding.group, []).append(finding)
            else:
                by_unit.setdefault(self.unit_of(finding.object) or "", []).append(finding)
        sections = [
            (md_text(unit.name) if (unit := self.workspace.unit(unit_id)) else "Across the set", by_unit[unit_id])
            for unit_id in [u.id for u in self.workspace.units if u.id in by_unit] + ([""] if "" in by_unit else [])
        ] + [(f"{_group_title(group)} ({len(found)})", found) for group, found in grouped.items()]
        for title, found in sections:
            lines += [f"## {title}", ""]
            lines += ["| severity | rule | about | problem | fix |", "|---|---|---|---|---|"]
            for f in found:
                lines.append(
                    f"| {f.severity.value} | {f.slug} ({f.rule}) | {f.object.kind} {md_id(f.object.id)} | "
                    f"{md_text(f.message)} | {md_text(f.fix)} |"
                )
            lines.append("")
        if not self.findings:
            lines.append("No findings.")
        return "\n".join(lines).rstrip() + "\n"

    def to_text(self) -> str:
        """A terminal summary: scores, one line per KPI verdict, then one line per finding."""
        lines = [f"{self.workspace.name}: {self._summary()}"]
        for kpi_id, verdict in self.verdicts().items():
            lines.append(f"{verdict.verdict.value.upper():7} {kpi_id}: {verdict.why}")
        parts: dict[str | None, list[Finding]] = {None: []}  # the defects first, then each group apart
        for finding in self.findings:
            parts.setdefault(finding.group, []).append(finding)
        for group, found in parts.items():
            if group is not None:
                lines.append(f"{_group_title(group)} ({len(found)}):")
            for f in found:
                lines.append(
                    f"{f.severity.value.upper():7} {f.rule} {f.slug:26} {f.object.kind} {f.object.id}: {f.message}"
                )
                lines.append(f"{'':8}fix: {f.fix}")
        return "\n".join(lines) + "\n"


def _group_title(group: str) -> str:
    """A group of findings as a heading: ``not-yet-computable`` → ``Not yet computable``."""
    return group.replace("-", " ").capitalize()


def md_cell(text: str) -> str:
    """Text for one Markdown table cell (no pipe, no line break)."""
    return text.replace("|", "\\|").replace("\n", " ")


# Characters that make inline Markdown active (images, links, HTML, code, emphasis, table cells).
_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>!|~])")
# Where GitHub-flavoured Markdown starts an autolink literal (http://, https://, ftp://, www., name@host):
# a WORD JOINER (U+2060, invisible) there keeps a bare URL or address as text, as ui.feedback does.
_MD_AUTOLINK = re.compile(r"(?i)(?:(?:https?|ftp)(?=:)|www(?=\.))|(?<=[\w.+-])(?=@)")


def md_text(text: str) -> str:
    """Workspace text (names, messages quoting them) as inert inline Markdown in the audit report.

    A report opened in a Markdown viewer must not fetch a name's ``![x](http://…)``, render its
    HTML or turn a bare URL into a link; the report stays readable as plain text (only the
    characters above get a backslash, and autolinks an invisible word joiner).
    """
    text = _MD_AUTOLINK.sub(lambda match: match.group() + "\u2060", text)
    return _MD_ACTIVE.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def md_id(object_id: str) -> str:
    """An id as code; a free-text one (the workspace's name) as escaped text: a code span ends at '`'."""
    return f"`{object_id}`" if re.fullmatch(r"[A-Za-z0-9_.-]+", object_id) else md_text(object_id)
