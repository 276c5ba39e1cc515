"""What a scorecard report says, gathered once from a workspace and its data; HTML and PDF only lay it out.

Every number here comes from the engine and every status from :mod:`kpi_model.status` with the
coverage rule of :mod:`kpi_model.periods`: a partial period is shown as such, never judged.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kpi_model.errors import KpiWizardError, UnknownKpiError
from kpi_model.models import Goal, Kpi, Unit, Workspace
from kpi_model.periods import Coverage, cadence_grain, period_label
from kpi_model.report.choices import SECTIONS
from kpi_model.status import (
    STATUS_LABELS,
    Status,
    gap_to_target,
    kpi_value,
    latest_of,
    status,
    status_reason,
    target_text,
    thresholds_text,
    unjudged_note,
)

if TYPE_CHECKING:
    from kpi_model.checks.compare import AuditComparison
    from kpi_model.checks.report import AuditReport
    from kpi_model.checks.verdict import KpiVerdict
    from kpi_model.engine import Engine, Series

NO_UNIT = "(no unit)"


class ReportError(KpiWizardError):
    """A report option names something the workspace does not have."""


@dataclass(frozen=True)
class KpiTile:
    """One KPI as a tile on its unit's page: the latest complete value against target and thresholds."""

    kpi: Kpi
    grain: str
    series: Series | None
    problem: str | None  # why it was not computed, in words
    latest_label: str | None
    latest_value: str
    status: Status
    status_label: str
    reason: str
    gap: str | None
    left_out: str | None  # the partial periods shown but not judged
    target: str
    due: str
    thresholds: str
    partner: str | None


@dataclass(frozen=True)
class GoalBlock:
    """A goal and the tiles of the KPIs that measure it."""

    goal: Goal | None
    tiles: list[KpiTile]


@dataclass(frozen=True)
class UnitPage:
    """One page per unit: its goals with their KPI tiles."""

    unit: Unit | None
    goals: list[GoalBlock]

    @property
    def title(self) -> str:
        """The unit's name, or a plain label for KPIs without a unit."""
        return self.unit.name if self.unit else NO_UNIT

    @property
    def tiles(self) -> list[KpiTile]:
        """Every tile on the page, goal by goal."""
        return [tile for block in self.goals for tile in block.tiles]


@dataclass(frozen=True)
class DefinitionSheet:
    """The classic KPI profile: everything agreed about one KPI, with its open audit findings."""

    kpi: Kpi
    fields: list[tuple[str, str]]
    sql: str | None
    findings: list[tuple[str, str, str]]  # severity, message, fix


@dataclass(frozen=True)
class SourceCoverage:
    """How far one source's data reaches."""

    name: str
    system: str | None
    first: dt.date
    as_of: dt.date


@dataclass
class ReportContent:
    """Everything a report shows, section by section; ``sections`` says which ones to lay out."""

    title: str
    as_of: dt.date
    sections: tuple[str, ...]
    coverage: list[SourceCoverage]
    score: int | None
    verdict_counts: dict[str, int]
    status_counts: dict[str, int]
    units: list[UnitPage]
    definitions: list[DefinitionSheet]
    verdicts: list[KpiVerdict]
    changes: AuditComparison | None
    workspace: Workspace
    notes: list[str] = field(default_factory=list)
    data_loaded: bool = False

    @property
    def tiles(self) -> list[KpiTile]:
        """Every KPI tile of every unit page."""
        return [tile for page in self.units for tile in page.tiles]


def _chosen_kpis(workspace: Workspace, units: Collection[str], kpis: Collection[str]) -> list[Kpi]:
    unit_ids = {u.id for u in workspace.units}
    if unknown := [u for u in units if u not in unit_ids]:
        names = ", ".join(sorted(unit_ids)) or "none"
        raise ReportError(f"unknown unit {', '.join(map(repr, unknown))}; the workspace's units are: {names}")
    kpi_ids = {k.id for k in workspace.kpis}
    if unknown := [k for k in kpis if k not in kpi_ids]:
        raise UnknownKpiError(unknown[0], kpi_ids)
    if not workspace.kpis:
        raise ReportError("the workspace has no KPIs yet: add them (Goals and KPIs pages), then make the report")
    chosen = [k for k in workspace.kpis if not kpis or k.id in kpis]
    if units:
        chosen = [k for k in chosen if _unit_of(workspace, k) in units]
    if not chosen:
        raise ReportError("no KPI matches --unit and --kpi together: widen the choice")
    return chosen


def _unit_of(workspace: Workspace, kpi: Kpi) -> str | None:
    unit = workspace.unit_of_kpi(kpi)
    return unit.id if unit else None


def _tile(workspace: Workspace, kpi: Kpi, result: Series | Exception | None, as_of: dt.date) -> KpiTile:
    partner = workspace.kpi(kpi.pairs_with) if kpi.pairs_with else None
    series = None if isinstance(result, Exception) else result
    latest = latest_of(series, as_of) if series is not None else None
    value = latest.value if latest else None
    problem: str | None
    if series is None:
        problem = f"not computed: {result}" if result is not None else "not computed: no formula or no data yet"
    else:
        problem = None if latest else f"no complete {series.request.grain} with a value yet"
    level = status(kpi, value)
    # No complete period yet is "not judged", whatever thresholds the KPI has.
    label = "not computed" if series is None else "not judged" if latest is None else STATUS_LABELS[level]
    return KpiTile(
        kpi=kpi,
        grain=cadence_grain(kpi.cadence),
        series=series,
        problem=problem,
        latest_label=period_label(latest.period, series.request.grain) if latest and series else None,
        latest_value=kpi_value(kpi, value),
        status=level,
        status_label=label,
        reason=status_reason(kpi, value) if series is not None else str(problem),
        gap=gap_to_target(kpi, value),
        left_out=unjudged_note(series, latest, as_of, unit=kpi.unit_of_measure) if series is not None else None,
        target=target_text(kpi),
        due=kpi.target.due.isoformat() if kpi.target and kpi.target.due else "—",
        thresholds=thresholds_text(kpi),
        partner=partner.name if partner else None,
    )


def _definition(workspace: Workspace, kpi: Kpi, sql: str | None, audit: AuditReport | None) -> DefinitionSheet:
    goal = workspace.goal(kpi.goal) if kpi.goal else None
    source = next((s for s in workspace.sources if s.name == kpi.source), None)
    partner = workspace.kpi(kpi.pairs_with) if kpi.pairs_with else None
    directions = {"up": "higher is better", "down": "lower is better", "range": "stay in a range"}
    baseline = "—"
    if kpi.baseline is not None:
        baseline = kpi_value(kpi, kpi.baseline.value) + (f" ({kpi.baseline.period})" if kpi.baseline.period else "")
    target = target_text(kpi) + (f" by {kpi.target.due.isoformat()}" if kpi.target and kpi.target.due else "")
    source_text = "—"
    if source is not None:
        source_text = source.name + (f" ({source.system})" if source.system else "")
    rows = [
        ("Goal", goal.statement if goal else "—"),
        ("Purpose and definition", kpi.description or "—"),
        ("Formula", kpi.expression or "—"),
        ("Filter", kpi.filter or "—"),
        ("Source system and table", source_text),
        ("Time column", kpi.time_column or "—"),
        ("Owner", kpi.owner or "—"),
        ("Cadence", kpi.cadence.value if kpi.cadence else "—"),
        ("Unit of measure", kpi.unit_of_measure.value if kpi.unit_of_measure else "—"),
        ("Direction", directions.get(kpi.direction.value, "—") if kpi.direction else "—"),
        ("Kind", kpi.kind.value if kpi.kind else "—"),
        ("Baseline", baseline),
        ("Target", target),
        ("Thresholds", thresholds_text(kpi)),
        ("Leading/lagging partner", partner.name if partner else "—"),
        ("Agreed action when off track", kpi.action or "—"),
        ("Review date", kpi.review_date.isoformat() if kpi.review_date else "—"),
    ]
    findings = []
    if audit is not None:
        findings = [
            (f.severity.value, f.message, f.fix)
            for f in audit.findings
            if f.object.kind == "kpi" and f.object.id == kpi.id and f.scored
        ]
    return DefinitionSheet(kpi=kpi, fields=rows, sql=sql, findings=findings)


def _coverage(workspace: Workspace, tiles: Sequence[KpiTile]) -> list[SourceCoverage]:
    """Per source, the widest span its KPIs' time columns cover (sources no KPI computes from are left out)."""
    spans: dict[str, list[Coverage]] = {}
    for tile in tiles:
        if tile.series is not None and tile.series.coverage is not None and tile.kpi.source:
            spans.setdefault(tile.kpi.source, []).append(tile.series.coverage)
    return [
        SourceCoverage(
            source.name,
            source.system,
            min(span.first for span in spans[source.name]),
            max(span.as_of for span in spans[source.name]),
        )
        for source in workspace.sources
        if source.name in spans
    ]


def _unit_pages(workspace: Workspace, tiles: Sequence[KpiTile], units: Collection[str]) -> list[UnitPage]:
    """Tiles grouped by unit, then goal, in the workspace's order; KPIs without a goal close their unit's page."""
    pages = []
    for unit in [*(u for u in workspace.units if not units or u.id in units), None]:
        unit_id = unit.id if unit else None
        mine = [t for t in tiles if _unit_of(workspace, t.kpi) == unit_id]
        goals = [g for g in workspace.goals if g.unit == unit_id]
        blocks = [GoalBlock(g, [t for t in mine if t.kpi.goal == g.id]) for g in goals]
        known = {g.id for g in goals}
        blocks.append(GoalBlock(None, [t for t in mine if t.kpi.goal not in known]))
        if any(block.tiles for block in blocks):
            pages.append(UnitPage(unit, [block for block in blocks if block.tiles]))
    return pages


def build_report(
    workspace: Workspace,
    engine: Engine | None = None,
    *,
    as_of: dt.date | None = None,
    units: Collection[str] = (),
    kpis: Collection[str] = (),
    sections: Sequence[str] = SECTIONS,
    previous: Workspace | None = None,
) -> ReportContent:
    """Gather the report: tiles per unit page, definition sheets, verdicts and what changed since ``previous``.

    ``as_of`` is the day the report judges from (default today): periods not complete by then are
    shown but not judged; a past day also leaves out the data dated after it. Without an ``engine``
    the tiles say why they have no values.
    """
    from kpi_model.checks import audit
    from kpi_model.checks.compare import compare
    from kpi_model.formula import SeriesRequest, compile_sql

    if unknown := [s for s in sections if s not in SECTIONS]:
        raise ReportError(f"unknown section {', '.join(map(repr, unknown))}: choose from {', '.join(SECTIONS)}")
    # A report as of a past day reads the data only up to that day, as it would have been printed then.
    until = as_of if as_of is not None and as_of < dt.date.today() else None
    as_of = as_of or dt.date.today()
    chosen = _chosen_kpis(workspace, units, kpis)
    results: dict[str, Series | Exception | None] = {k.id: None for k in chosen}
    if engine is not None:
        computable = [k for k in chosen if k.expression]
        for grain in sorted({cadence_grain(k.cadence) for k in computable}):
            ids = [k.id for k in computable if cadence_grain(k.cadence) == grain]
            request = SeriesRequest(grain=grain, end=until)  # type: ignore[arg-type]
            results.update(engine.compute_many(workspace, ids, request))
    tiles = {k.id: _tile(workspace, k, results[k.id], as_of) for k in chosen}

    pages = _unit_pages(workspace, [tiles[k.id] for k in chosen], units)
    notes: list[str] = []
    if until is not None and engine is not None:
        # The data checks would read today's rows: for a past day the audit judges the design only.
        notes.append(
            f"As of {as_of.isoformat()}: values use the data dated up to that day; the audit's verdicts judge "
            "the design only (its data checks would read today's data)."
        )
    report = audit(workspace, engine=engine if until is None else None, today=as_of)
    verdicts = report.verdicts()
    columns = engine.columns() if engine is not None else None
    sheets = []
    for kpi in chosen:
        sql = None
        if kpi.expression:
            try:
                sql = compile_sql(workspace, kpi.id, SeriesRequest(grain=cadence_grain(kpi.cadence)), columns=columns)  # type: ignore[arg-type]
            except KpiWizardError:
                sql = None
        sheets.append(_definition(workspace, kpi, sql, report))
    changes = compare(audit(previous, today=as_of), audit(workspace, today=as_of)) if previous is not None else None
    labels = Counter(t.status_label for t in tiles.values())
    return ReportContent(
        title=workspace.name,
        as_of=as_of,
        sections=tuple(s for s in SECTIONS if s in sections),
        coverage=_coverage(workspace, list(tiles.values())),
        score=report.score,
        verdict_counts=report.verdict_counts(),
        status_counts={label: labels[label] for label in [*STATUS_LABELS.values(), "not judged", "not computed"]},
        units=pages,
        definitions=sheets,
        verdicts=[verdicts[k.id] for k in chosen if k.id in verdicts],
        changes=changes,
        workspace=workspace,
        notes=notes,
        data_loaded=engine is not None,
    )
