"""Structure rules (KPI001–KPI010): is every KPI owned, sourced, computable, placed and reviewed?

These rules look at the workspace as written; the formula rules KPI003 and KPI004 live in
:mod:`kpi_model.checks.formulas` and KPI008 in :mod:`kpi_model.checks.cadence` (they also look at
the data when it is loaded). They never assume a field is filled in: a draft may have any field empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from kpi_model.checks import formula_facts as facts
from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import owner_role, rating_without_scale, values_in_words
from kpi_model.checks.wording import capital, goal_label, kpi_label, listing, nearest, unit_label
from kpi_model.completeness import has_target
from kpi_model.formula import Compiler, referenced_names
from kpi_model.models import Kind, Kpi, Workspace

# ---------------------------------------------------------------- KPI001 missing-owner


def _missing_owner(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        if not kpi.owner:
            unit = ctx.unit_of(kpi)
            role = owner_role(kpi)
            # Suggest a role only when the KPI's own words point to one: a wrong example misleads.
            example = f", e.g. {role}" if role else ""
            fix = (
                f"name the person or role in {unit.name} who acts when it goes off track{example} (the unit's "
                f"head is {unit.owner}; an owner closer to the work is usually better)"
                if unit and unit.owner
                else f"name the person or role who acts when it goes off track{example}"
            )
            yield MISSING_OWNER.on_kpi(
                kpi, f"KPI {kpi_label(kpi)} has no owner: nobody answers for it when it moves", fix
            )
    units = ctx.workspace.units
    if len(units) > 1 and not any(unit.owner for unit in units):
        # One cause (the register has no column for the units' heads), so one finding, not one per unit.
        yield MISSING_OWNER.on_workspace(
            ctx.workspace,
            f"None of the {len(units)} units names its head ({listing([u.name for u in units])}): nobody is "
            "accountable for their goals",
            "name the head of each unit (Goals → Units, or the unit's owner in the workspace)",
            severity=Severity.WARNING,
        )
        return
    for unit in units:
        if not unit.owner:
            yield MISSING_OWNER.on_unit(
                unit,
                f"{capital(unit_label(unit))} has no owner: nobody is accountable for its goals",
                f"name the head of {unit.name}, who answers for its goals and KPIs",
                severity=Severity.WARNING,
            )


MISSING_OWNER = Rule(
    id="KPI001",
    slug="missing-owner",
    severity=Severity.ERROR,
    rationale="A KPI nobody owns is a number nobody acts on.",
    example="KPI 'Share of defect tickets' with no owner.",
    fix="Name the person or role who acts when the KPI moves, e.g. Head of Customer Service.",
    check=_missing_owner,
)


# ---------------------------------------------------------------- KPI002 missing-source


def _missing_source(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    compiler = Compiler(ws)
    declared = [s.name for s in ws.sources]
    ids = facts.kpi_ids(ws)
    for kpi in ws.kpis:
        if not kpi.source:
            # A formula over other KPIs needs no source; a broken one is KPI003's to report.
            if compiler.is_derived(kpi) or facts.named_kpis(kpi, ids):
                continue
            what = "no formula either, so" if not kpi.expression else "its formula names no other KPI, so"
            yield MISSING_SOURCE.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} has no data source and {what} it cannot be computed or checked",
                "choose the table or system its data comes from"
                + (f" (declared sources: {listing(declared)})" if declared else " (declare it under 'sources:')")
                + ", or make it a derived KPI whose formula combines other KPIs",
            )
            continue
        source = ws.source(kpi.source)
        if source is None:
            guess = nearest(kpi.source, declared)
            yield MISSING_SOURCE.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} names the source '{kpi.source}', which is not declared",
                (f"did you mean '{guess}'? " if guess else "")
                + f"declare '{kpi.source}' under 'sources:' with its path, SQL view or system",
            )
        elif not (source.path or source.sql or source.system):
            yield MISSING_SOURCE.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} uses source '{source.name}', which names no file, SQL view or system: "
                "nobody can tell where its data lives",
                f"give source '{source.name}' a path (a file), sql (a view) or at least its system, e.g. 'ERP'",
                severity=Severity.WARNING,
            )


MISSING_SOURCE = Rule(
    id="KPI002",
    slug="missing-source",
    severity=Severity.ERROR,
    rationale="A KPI whose data has no known source cannot be computed, checked or trusted.",
    example="KPI 'Checkout abandonment rate' with no source and no formula (copied from a dashboard).",
    fix="Choose the source table or system, or make it a derived KPI over other KPIs.",
    check=_missing_source,
)


# ---------------------------------------------------------------- KPI005 orphan-kpi


def _orphan_kpi(ctx: AuditContext) -> Iterator[Finding]:
    goals = [g.id for g in ctx.workspace.goals]
    all_goals = f" (goals: {listing(goals)})" if goals else " (add a goal first)"
    for kpi in ctx.workspace.kpis:
        if not kpi.goal:
            # A KPI whose unit is known is offered that unit's goals first.
            own = [g.id for g in ctx.workspace.goals_of(kpi.unit)] if kpi.unit else []
            hint = f" (goals of its unit: {listing(own)})" if own else all_goals
            yield ORPHAN_KPI.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} measures no goal: nobody can say what it is for",
                f"attach it to the strategic goal it measures{hint}, or drop it",
            )
        elif ctx.workspace.goal(kpi.goal) is None:
            guess = nearest(kpi.goal, goals)
            yield ORPHAN_KPI.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} names goal '{kpi.goal}', which does not exist",
                f"did you mean '{guess}'?" if guess else f"choose an existing goal{all_goals}",
            )


ORPHAN_KPI = Rule(
    id="KPI005",
    slug="orphan-kpi",
    severity=Severity.ERROR,
    rationale="A KPI that measures no strategic goal is measured for its own sake.",
    example="KPI 'Newsletter opens' with no goal.",
    fix="Attach the KPI to the goal it measures, or drop it.",
    check=_orphan_kpi,
)


# ---------------------------------------------------------------- KPI006 goal-kpi-count


def _cut_candidates(ws: Workspace, kpis: list[Kpi]) -> list[Kpi]:
    """KPIs of a goal nothing else builds on: not an input of a derived KPI, nobody's pair."""
    relied_on: set[str] = set()
    compiler = Compiler(ws)
    for kpi in ws.kpis:
        if compiler.is_derived(kpi) and kpi.expression:
            relied_on |= referenced_names(kpi.expression)
        if kpi.pairs_with:
            relied_on.add(kpi.pairs_with)
    loose = [k for k in kpis if k.id not in relied_on and not compiler.is_derived(k)]
    # A KPI that pairs with nothing is looser still; list those first.
    return sorted(loose, key=lambda k: k.pairs_with is not None)


# What a goal whose KPIs are all of one kind lacks.
_OTHER_KIND: dict[Kind | None, str] = {Kind.LAGGING: "a leading indicator", Kind.LEADING: "a lagging outcome"}


def _goal_kpi_count(ctx: AuditContext) -> Iterator[Finding]:
    low, high = ctx.options.min_kpis_per_goal, ctx.options.max_kpis_per_goal
    for goal in ctx.workspace.goals:
        kpis = ctx.workspace.kpis_of(goal.id)
        count = len(kpis)
        if count > high:
            candidates = _cut_candidates(ctx.workspace, kpis) or kpis
            names = ", ".join(f"{k.id}" for k in candidates[: max(count - high, 3)])
            yield GOAL_KPI_COUNT.on_goal(
                goal,
                f"{capital(goal_label(goal))} has {count} KPIs ({low}–{high} recommended): too many to steer by",
                f"cut {count - high} (candidates no other KPI builds on: {names}), or split the goal in two",
            )
        elif count < low:
            kinds = {k.kind for k in kpis}
            only = next(iter(kinds)) if len(kinds) == 1 else None
            need = _OTHER_KIND.get(only, "a leading indicator and the outcome it drives")
            have = f"only {count} KPI{'s' if count != 1 else ''}" if count else "no KPIs"
            yield GOAL_KPI_COUNT.on_goal(
                goal,
                f"{capital(goal_label(goal))} has {have} ({low}–{high} recommended): progress on it is hard to judge",
                f"add {low - count} more, e.g. {need} (the KPI library has templates)",
            )


GOAL_KPI_COUNT = Rule(
    id="KPI006",
    slug="goal-kpi-count",
    severity=Severity.WARNING,
    rationale="A goal needs a few KPIs (3–5 by default): one is blind, ten are noise.",
    example="Goal 'Grow web shop revenue' with 7 KPIs.",
    fix="Cut the KPIs nothing else builds on, or add a leading or lagging one.",
    check=_goal_kpi_count,
)


# ---------------------------------------------------------------- KPI007 unit-kpi-count


def _unit_kpi_count(ctx: AuditContext) -> Iterator[Finding]:
    limit = ctx.options.unit_kpi_limit
    for unit in ctx.workspace.units:
        goals = ctx.workspace.goals_of(unit.id)
        per_goal = {g.id: len(ctx.workspace.kpis_of(g.id)) for g in goals}
        total = sum(per_goal.values())
        if total > limit:
            biggest = max(per_goal, key=lambda g: per_goal[g])
            yield UNIT_KPI_COUNT.on_unit(
                unit,
                f"{capital(unit_label(unit))} has {total} KPIs across {len(goals)} goals (limit {limit}): more "
                "than one dashboard can show and one team can act on",
                f"cut {total - limit}, starting with goal '{biggest}' ({per_goal[biggest]} KPIs), or move a goal to "
                "the unit that acts on it",
            )


UNIT_KPI_COUNT = Rule(
    id="KPI007",
    slug="unit-kpi-count",
    severity=Severity.WARNING,
    rationale="A unit with more KPIs than fit on one dashboard (12 by default) watches everything and steers nothing.",
    example="Unit Sales & Marketing with 13 KPIs over three goals.",
    fix="Cut KPIs from the largest goal, or move a goal to the unit that acts on it.",
    check=_unit_kpi_count,
)


# ---------------------------------------------------------------- KPI009 qualitative-without-scale


def _qualitative_without_scale(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        why = rating_without_scale(kpi)
        if why is None:
            continue
        words = values_in_words(kpi)
        then = (
            "; then write its baseline and target as points on that scale (e.g. 'good' → 4, 'very good' → 5 on 1-5)"
            if words or not has_target(kpi)
            else ""
        )
        yield QUALITATIVE_WITHOUT_SCALE.on_kpi(
            kpi,
            f"KPI {kpi_label(kpi)} {why} but has no scale: a 4 means nothing without knowing whether it is out "
            "of 5 or 10, and words such as 'good' cannot be tracked",
            f"write the answer scale in 'scale', e.g. 1-5 for CSAT or 0-10 for NPS{then}",
        )


QUALITATIVE_WITHOUT_SCALE = Rule(
    id="KPI009",
    slug="qualitative-without-scale",
    severity=Severity.WARNING,
    rationale="A rating without its scale cannot be read or compared; nor can a target written in words "
    "('very good'). A KPI is a rating when it is qualitative, or its name says rating, score or satisfaction "
    "and its values are words or its description speaks of a rating.",
    example="KPI 'Customer satisfaction' with measure qualitative and no scale.",
    fix="Give the answer scale, e.g. 1-5 or 0-10.",
    check=_qualitative_without_scale,
)


# ---------------------------------------------------------------- KPI010 stale-review


def _past_twin(date: dt.date, today: dt.date) -> dt.date | None:
    """The same day and month in the latest year not after ``today`` (what a year typo usually meant)."""
    for year in (today.year, today.year - 1):
        try:
            candidate = date.replace(year=year)
        except ValueError:  # 29 February
            continue
        if candidate <= today:
            return candidate
    return None


def _stale_review(ctx: AuditContext) -> Iterator[Finding]:
    today, limit = ctx.today, ctx.options.stale_after_days
    kpis = ctx.workspace.kpis
    if len(kpis) > 1 and not any(kpi.review_date for kpi in kpis):
        # One cause (no review dates kept at all), so one note, not one per KPI.
        yield STALE_REVIEW.on_workspace(
            ctx.workspace,
            f"None of the {len(kpis)} KPIs has a review date: nobody can tell which were reviewed, or when",
            "review each KPI with its owner (still the right measure, target and owner?) and record the date in "
            "review_date",
        )
        return
    for kpi in kpis:
        reviewed = kpi.review_date
        if reviewed is None:
            yield STALE_REVIEW.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} has never been reviewed (no review date)",
                "review it with its owner (still the right measure, target and owner?) and record the date in "
                "review_date",
            )
        elif reviewed > today:
            twin = _past_twin(reviewed, today)
            # The twin is a concrete fix only when it is recent enough not to be stale itself.
            fresh = twin is not None and (today - twin).days <= limit
            yield STALE_REVIEW.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} has a review date in the future ({reviewed.isoformat()}; today is "
                f"{today.isoformat()}), probably a typo",
                f"write the date of the last review{f', perhaps {twin.isoformat()}' if twin else ''}",
                severity=Severity.WARNING,
                patch={"review_date": twin.isoformat()} if twin and fresh else None,
            )
        elif (today - reviewed).days > limit:
            yield STALE_REVIEW.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} was last reviewed on {reviewed.isoformat()}, {(today - reviewed).days} days "
                f"ago (a review goes stale after {limit} days)",
                "review it with its owner (still the right measure, target and owner?) and update review_date",
                severity=Severity.WARNING,
            )


STALE_REVIEW = Rule(
    id="KPI010",
    slug="stale-review",
    severity=Severity.INFO,
    rationale="A KPI nobody has reviewed in a quarter may no longer measure what matters.",
    example="KPI 'Net revenue' last reviewed a year ago, or never.",
    fix="Review the KPI with its owner and record the date in review_date.",
    check=_stale_review,
)


RULES: list[Rule] = [
    MISSING_OWNER,
    MISSING_SOURCE,
    ORPHAN_KPI,
    GOAL_KPI_COUNT,
    UNIT_KPI_COUNT,
    QUALITATIVE_WITHOUT_SCALE,
    STALE_REVIEW,
]
