"""Structure rules (KPI001–KPI010): is every KPI owned, sourced, computable, placed and reviewed?

These rules look at the workspace as written; KPI003, KPI004 and KPI008 also look at the data
when it is loaded. They never assume a field is filled in: a draft may have any field empty.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator, Sequence

import duckdb

from kpi_model.checks.base import NOT_YET_COMPUTABLE, AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import owner_role, rating_without_scale, values_in_words
from kpi_model.completeness import has_target
from kpi_model.errors import KpiWizardError
from kpi_model.formula import Compiler, FormulaError, check_filter, check_kpi_text, quote, referenced_names
from kpi_model.models import Cadence, Goal, Kind, Kpi, Measure, Unit, Workspace

# Finest first: a cadence is "finer" than a grain when it comes earlier in this list.
_GRAINS = ("day", "week", "month", "quarter", "year")
_GRAIN_OF_CADENCE = {
    Cadence.DAILY: "day",
    Cadence.WEEKLY: "week",
    Cadence.MONTHLY: "month",
    Cadence.QUARTERLY: "quarter",
    Cadence.YEARLY: "year",
}
_CADENCE_OF_GRAIN = {grain: cadence.value for cadence, grain in _GRAIN_OF_CADENCE.items()}
# Fewer distinct dates than this say nothing about how often data is recorded.
_MIN_DATES_FOR_GRAIN = 3


def kpi_label(kpi: Kpi) -> str:
    """How a finding names a KPI: its name and id, e.g. ``'Net revenue' (revenue)``."""
    return f"'{kpi.name}' ({kpi.id})"


def goal_label(goal: Goal) -> str:
    """How a finding names a goal: its statement and id."""
    return f"goal '{goal.statement}' ({goal.id})"


def unit_label(unit: Unit) -> str:
    """How a finding names a unit: its name and id."""
    return f"unit '{unit.name}' ({unit.id})"


def nearest(word: str, choices: Sequence[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (case-insensitive), in its own spelling, or None."""
    lookup = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lookup), n=1, cutoff=0.6)
    return lookup[match[0]] if match else None


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _listing(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … ({len(names)} in all)" if len(names) > limit else "")


_ID_CACHE: list[tuple[list[Kpi], frozenset[str]]] = []


def _kpi_ids(workspace: Workspace) -> frozenset[str]:
    # Rules ask for "the other KPI ids" once per KPI; rebuilding the set each time is quadratic.
    # The cache holds the list it was built from, so a different workspace never reuses it.
    if not _ID_CACHE or _ID_CACHE[0][0] is not workspace.kpis:
        _ID_CACHE[:] = [(workspace.kpis, frozenset(k.id for k in workspace.kpis))]
    return _ID_CACHE[0][1]


def _other_ids(workspace: Workspace, kpi: Kpi) -> set[str]:
    return set(_kpi_ids(workspace) - {kpi.id})


def _named_kpis(workspace: Workspace, kpi: Kpi) -> set[str]:
    """KPI ids a source-less formula names: such a KPI is meant to be derived, even if broken."""
    if kpi.source or not kpi.expression:
        return set()
    return referenced_names(kpi.expression) & _other_ids(workspace, kpi)


def _loaded_columns(ctx: AuditContext, kpi: Kpi) -> list[str] | None:
    if ctx.columns is None or not kpi.source:
        return None
    columns = ctx.columns.get(kpi.source)
    return list(columns) if columns is not None else None


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
            yield MISSING_OWNER.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} has no owner: nobody answers for it when it moves", fix
            )  # fmt: skip
    for unit in ctx.workspace.units:
        if not unit.owner:
            yield MISSING_OWNER.finding(
                "unit", unit.id, f"{_first_upper(unit_label(unit))} has no owner: nobody is accountable for its goals",
                f"name the head of {unit.name}, who answers for its goals and KPIs",
                severity=Severity.WARNING,
            )  # fmt: skip


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
    for kpi in ws.kpis:
        if not kpi.source:
            # A formula over other KPIs needs no source; a broken one is KPI003's to report.
            if compiler.is_derived(kpi) or _named_kpis(ws, kpi):
                continue
            what = "no formula either, so" if not kpi.expression else "its formula names no other KPI, so"
            yield MISSING_SOURCE.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} has no data source and {what} it cannot be computed or checked",
                "choose the table or system its data comes from"
                + (f" (declared sources: {_listing(declared)})" if declared else " (declare it under 'sources:')")
                + ", or make it a derived KPI whose formula combines other KPIs",
            )  # fmt: skip
            continue
        source = ws.source(kpi.source)
        if source is None:
            guess = nearest(kpi.source, declared)
            yield MISSING_SOURCE.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} names the source '{kpi.source}', which is not declared",
                (f"did you mean '{guess}'? " if guess else "")
                + f"declare '{kpi.source}' under 'sources:' with its path, SQL view or system",
            )  # fmt: skip
        elif not (source.path or source.sql or source.system):
            yield MISSING_SOURCE.finding(
                "kpi", kpi.id,
                f"KPI {kpi_label(kpi)} uses source '{source.name}', which names no file, SQL view or system: "
                "nobody can tell where its data lives",
                f"give source '{source.name}' a path (a file), sql (a view) or at least its system, e.g. 'ERP'",
                severity=Severity.WARNING,
            )  # fmt: skip


MISSING_SOURCE = Rule(
    id="KPI002",
    slug="missing-source",
    severity=Severity.ERROR,
    rationale="A KPI whose data has no known source cannot be computed, checked or trusted.",
    example="KPI 'Checkout abandonment rate' with no source and no formula (copied from a dashboard).",
    fix="Choose the source table or system, or make it a derived KPI over other KPIs.",
    check=_missing_source,
)


# ---------------------------------------------------------------- KPI003 invalid-formula


def _formula_problem(error: FormulaError) -> str:
    """The problem with its position, without the trailing 'Fix: …' (the finding carries the fix)."""
    return str(error).removesuffix(f". Fix: {error.fix}")


def _leave_to_unknown_column(ctx: AuditContext, error: KpiWizardError) -> bool:
    # With data loaded, KPI004 reports every unknown column with its nearest name.
    return ctx.has_data and isinstance(error, FormulaError) and error.problem.startswith("unknown column")


def _invalid_formula(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    compiler = Compiler(ws)
    for kpi in ws.kpis:
        label = kpi_label(kpi)
        derived = compiler.is_derived(kpi)
        if not kpi.expression:
            if kpi.source and (kpi.description or "").strip():
                # A definition in words is a design to judge, not a defect: one note, in its own group.
                yield INVALID_FORMULA.on_kpi(
                    kpi, f"KPI {label} is not yet computable: it is defined in words, with no formula over "
                    f"source '{kpi.source}' yet; its design is audited, its values cannot be",
                    "when the data of the source can be loaded, write the definition as one aggregate over its "
                    "rows (the Data page previews it)",
                    severity=Severity.INFO, group=NOT_YET_COMPUTABLE,
                )  # fmt: skip
            elif kpi.source and kpi.measure == Measure.QUANTITATIVE:
                yield INVALID_FORMULA.finding(
                    "kpi", kpi.id,
                    f"KPI {label} has source '{kpi.source}' but no formula and no definition: nobody can tell "
                    "what it computes",
                    "describe in its description what it counts or divides (in words is fine), or write one "
                    "aggregate over the source's rows, e.g. sum(amount) or count(*) FILTER (WHERE …) / count(*)",
                )  # fmt: skip
            if not kpi.filter:
                continue
        named = _named_kpis(ws, kpi)
        unknown = sorted(referenced_names(kpi.expression or "") - named) if named else []
        if not derived and named and unknown:
            # Half KPI ids, half something else: a derived KPI with a typo, not a column formula.
            hints = [f"'{n}'" + (f" (did you mean '{g}'?)" if (g := nearest(n, sorted(_other_ids(ws, kpi)))) else "")
                     for n in unknown]  # fmt: skip
            yield INVALID_FORMULA.finding(
                "kpi", kpi.id,
                f"KPI {label} combines other KPIs ({', '.join(sorted(named))}) but also names "
                f"{', '.join(hints)}, which is not a KPI id",
                "use KPI ids only in a derived KPI's formula, or give it a source if it aggregates columns",
            )  # fmt: skip
            continue
        try:
            check_kpi_text(ws, kpi, _loaded_columns(ctx, kpi), kpi_ids=_kpi_ids(ws))
        except FormulaError as error:
            if not _leave_to_unknown_column(ctx, error):
                yield INVALID_FORMULA.finding("kpi", kpi.id, f"KPI {label}: {_formula_problem(error)}", error.fix)
            continue
        if derived:
            try:
                compiler.dependencies(kpi.id)  # a cycle between derived KPIs shows without data
            except FormulaError as error:
                yield INVALID_FORMULA.finding("kpi", kpi.id, f"KPI {label}: {_formula_problem(error)}", error.fix)
                continue
        if kpi.expression and kpi.source and not derived and not kpi.time_column:
            yield INVALID_FORMULA.finding(
                "kpi", kpi.id, f"KPI {label} has a formula but no time column, so it cannot be split into periods",
                f"name the date column of source '{kpi.source}' its periods come from, e.g. order_date",
            )  # fmt: skip
            continue
        result = ctx.series.get(kpi.id) if ctx.series is not None else None
        if isinstance(result, KpiWizardError) and not _leave_to_unknown_column(ctx, result):
            if "has no data loaded" in str(result):
                continue  # an unloaded source is a data problem, not a formula problem
            problem = _formula_problem(result) if isinstance(result, FormulaError) else str(result)
            fix = result.fix if isinstance(result, FormulaError) else "check the formula against the data's columns"
            yield INVALID_FORMULA.finding("kpi", kpi.id, f"KPI {label} fails on the data: {problem}", fix)


INVALID_FORMULA = Rule(
    id="KPI003",
    slug="invalid-formula",
    severity=Severity.ERROR,
    rationale="A KPI whose formula is invalid or fails on its data, or that has no time column to split it "
    "into periods, produces no number to track. A KPI defined only in words gets one info note in the group "
    "not-yet-computable instead: its design is audited, and the note costs no score.",
    example="KPI 'Net revenue' with source orders and formula 'amount' (no aggregate), or no formula at all.",
    fix="Write one aggregate over the source's rows, e.g. sum(amount) FILTER (WHERE status = 'completed').",
    check=_invalid_formula,
)


# ---------------------------------------------------------------- KPI004 unknown-column


def _unknown_column(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    compiler = Compiler(ws)
    for kpi in ws.kpis:
        columns = _loaded_columns(ctx, kpi)
        if columns is None or compiler.is_derived(kpi):
            continue  # no loaded source: nothing to compare with (and not this rule's business)
        known = {c.lower() for c in columns}
        used: list[tuple[str, str]] = []
        for where, text in (("formula", kpi.expression), ("filter", kpi.filter)):
            if text:
                used += [(where, name) for name in sorted(referenced_names(text))]
        if kpi.time_column:
            used.append(("time column", kpi.time_column))
        for where, name in used:
            if name.lower() in known:
                continue
            guess = nearest(name, columns)
            hint = f" (nearest: '{guess}')" if guess else ""
            fix = f"write '{guess}' instead of '{name}'" if guess else f"use a column of '{kpi.source}'"
            yield UNKNOWN_COLUMN.finding(
                "kpi", kpi.id,
                f"KPI {kpi_label(kpi)}: the {where} names column '{name}', which source '{kpi.source}' does not "
                f"have{hint}",
                f"{fix}; '{kpi.source}' has: {_listing(columns)}",
            )  # fmt: skip


UNKNOWN_COLUMN = Rule(
    id="KPI004",
    slug="unknown-column",
    severity=Severity.ERROR,
    rationale="A formula, filter or time column naming a column the data lacks cannot be computed.",
    example="KPI 'Net revenue' with formula sum(amout) over orders, whose column is amount.",
    fix="Use the column's name as it is in the loaded source (the nearest match is suggested).",
    check=_unknown_column,
    needs_data=True,
)


# ---------------------------------------------------------------- KPI005 orphan-kpi


def _orphan_kpi(ctx: AuditContext) -> Iterator[Finding]:
    goals = [g.id for g in ctx.workspace.goals]
    listing = f" (goals: {_listing(goals)})" if goals else " (add a goal first)"
    for kpi in ctx.workspace.kpis:
        if not kpi.goal:
            # A KPI whose unit is known is offered that unit's goals first.
            own = [g.id for g in ctx.workspace.goals_of(kpi.unit)] if kpi.unit else []
            hint = f" (goals of its unit: {_listing(own)})" if own else listing
            yield ORPHAN_KPI.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} measures no goal: nobody can say what it is for",
                f"attach it to the strategic goal it measures{hint}, or drop it",
            )  # fmt: skip
        elif ctx.workspace.goal(kpi.goal) is None:
            guess = nearest(kpi.goal, goals)
            yield ORPHAN_KPI.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} names goal '{kpi.goal}', which does not exist",
                f"did you mean '{guess}'?" if guess else f"choose an existing goal{listing}",
            )  # fmt: skip


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


def _goal_kpi_count(ctx: AuditContext) -> Iterator[Finding]:
    low, high = ctx.options.min_kpis_per_goal, ctx.options.max_kpis_per_goal
    for goal in ctx.workspace.goals:
        kpis = ctx.workspace.kpis_of(goal.id)
        count = len(kpis)
        if count > high:
            candidates = _cut_candidates(ctx.workspace, kpis) or kpis
            names = ", ".join(f"{k.id}" for k in candidates[: max(count - high, 3)])
            yield GOAL_KPI_COUNT.finding(
                "goal", goal.id,
                f"{_first_upper(goal_label(goal))} has {count} KPIs ({low}–{high} recommended): too many to steer by",
                f"cut {count - high} (candidates no other KPI builds on: {names}), or split the goal in two",
            )  # fmt: skip
        elif count < low:
            kinds = {k.kind for k in kpis}
            need = (
                "a leading indicator" if kinds == {Kind.LAGGING}
                else "a lagging outcome" if kinds == {Kind.LEADING}
                else "a leading indicator and the outcome it drives"
            )  # fmt: skip
            have = f"only {count} KPI{'s' if count != 1 else ''}" if count else "no KPIs"
            yield GOAL_KPI_COUNT.finding(
                "goal", goal.id,
                f"{_first_upper(goal_label(goal))} has {have} ({low}–{high} recommended): progress on it is hard to "
                "judge",
                f"add {low - count} more, e.g. {need} (the KPI library has templates)",
            )  # fmt: skip


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
            yield UNIT_KPI_COUNT.finding(
                "unit", unit.id,
                f"{_first_upper(unit_label(unit))} has {total} KPIs across {len(goals)} goals (limit {limit}): more "
                "than one dashboard can show and one team can act on",
                f"cut {total - limit}, starting with goal '{biggest}' ({per_goal[biggest]} KPIs), or move a goal to "
                "the unit that acts on it",
            )  # fmt: skip


UNIT_KPI_COUNT = Rule(
    id="KPI007",
    slug="unit-kpi-count",
    severity=Severity.WARNING,
    rationale="A unit with more KPIs than fit on one dashboard (12 by default) watches everything and steers nothing.",
    example="Unit Sales & Marketing with 13 KPIs over three goals.",
    fix="Cut KPIs from the largest goal, or move a goal to the unit that acts on it.",
    check=_unit_kpi_count,
)


# ---------------------------------------------------------------- KPI008 missing-cadence


_GrainCache = dict[tuple[str, ...], tuple[str, int, int] | None]


def _data_grain(ctx: AuditContext, kpi: Kpi, columns: list[str], cache: _GrainCache) -> tuple[str, int, int] | None:
    """(grain, distinct dates, distinct periods of that grain) of a KPI's rows, or None if unknown."""
    assert ctx.engine is not None and kpi.source and kpi.time_column
    time_column = next(c for c in columns if c.lower() == kpi.time_column.lower())
    condition = f"{quote(time_column)} IS NOT NULL"
    if kpi.filter:
        try:
            condition += f" AND ({check_filter(kpi.filter, columns).sql})"
        except FormulaError:
            pass  # a broken filter is KPI003's; judge the grain on all rows
    key = (kpi.source, time_column, condition)
    if key not in cache:
        # One cheap pass: distinct days, and distinct periods at every coarser grain.
        counts = [f"count(DISTINCT CAST({quote(time_column)} AS DATE))"] + [
            f"count(DISTINCT date_trunc('{grain}', {quote(time_column)}))" for grain in _GRAINS[1:]
        ]
        try:
            rows = ctx.engine.query(f"SELECT {', '.join(counts)} FROM {quote(kpi.source)} WHERE {condition}")[1]
        except (KpiWizardError, duckdb.Error):
            cache[key] = None  # e.g. a text column: the computation itself reports that
        else:
            values = [int(v or 0) for v in rows[0]] if rows else [0] * len(_GRAINS)
            days = values[0]
            grain = "day"
            for name, count in zip(_GRAINS[1:], values[1:], strict=True):
                if count == days:
                    grain = name  # at most one date per period of this grain
            periods = values[_GRAINS.index(grain)]
            cache[key] = (grain, days, periods) if days >= _MIN_DATES_FOR_GRAIN else None
    return cache[key]


def _missing_cadence(ctx: AuditContext) -> Iterator[Finding]:
    cache: _GrainCache = {}
    for kpi in ctx.workspace.kpis:
        if kpi.cadence is None:
            yield MISSING_CADENCE.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} has no cadence: nobody knows when to look at it",
                "set how often its owner reviews it: weekly for leading indicators, monthly or quarterly for "
                "outcomes",
            )  # fmt: skip
            continue
        columns = _loaded_columns(ctx, kpi)
        if ctx.engine is None or columns is None or not kpi.time_column:
            continue
        if kpi.time_column.lower() not in {c.lower() for c in columns}:
            continue  # KPI004 reports the unknown time column
        found = _data_grain(ctx, kpi, columns, cache)
        if found is None:
            continue
        grain, days, periods = found
        wanted = _GRAIN_OF_CADENCE[kpi.cadence]
        if _GRAINS.index(wanted) < _GRAINS.index(grain):
            yield MISSING_CADENCE.finding(
                "kpi", kpi.id,
                f"KPI {kpi_label(kpi)} is reviewed {kpi.cadence.value}, but its time column '{kpi.time_column}' in "
                f"source '{kpi.source}' has at most one date per {grain} ({days} dates in {periods} {grain}s): "
                f"most {kpi.cadence.value} periods would have no data",
                f"review it {_CADENCE_OF_GRAIN[grain]} (or less often), or load data recorded at least every {wanted}",
            )  # fmt: skip


MISSING_CADENCE = Rule(
    id="KPI008",
    slug="missing-cadence",
    severity=Severity.WARNING,
    rationale="A KPI without a review rhythm, or reviewed more often than its data arrives, is not watched properly.",
    example="KPI 'Gross margin' with no cadence; or reviewed weekly from data recorded once a month.",
    fix="Set a cadence the data supports: weekly for leading indicators, monthly or quarterly for outcomes.",
    check=_missing_cadence,
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
            if words or not has_target(kpi) else ""
        )  # fmt: skip
        yield QUALITATIVE_WITHOUT_SCALE.finding(
            "kpi", kpi.id,
            f"KPI {kpi_label(kpi)} {why} but has no scale: a 4 means nothing without knowing whether it is out "
            "of 5 or 10, and words such as 'good' cannot be tracked",
            f"write the answer scale in 'scale', e.g. 1-5 for CSAT or 0-10 for NPS{then}",
        )  # fmt: skip


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
    for kpi in ctx.workspace.kpis:
        reviewed = kpi.review_date
        if reviewed is None:
            yield STALE_REVIEW.finding(
                "kpi", kpi.id, f"KPI {kpi_label(kpi)} has never been reviewed (no review date)",
                "review it with its owner (still the right measure, target and owner?) and record the date in "
                "review_date",
            )  # fmt: skip
        elif reviewed > today:
            twin = _past_twin(reviewed, today)
            # The twin is a concrete fix only when it is recent enough not to be stale itself.
            fresh = twin is not None and (today - twin).days <= limit
            yield STALE_REVIEW.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} has a review date in the future ({reviewed.isoformat()}; today is "
                f"{today.isoformat()}), probably a typo",
                f"write the date of the last review{f', perhaps {twin.isoformat()}' if twin else ''}",
                severity=Severity.WARNING, patch={"review_date": twin.isoformat()} if twin and fresh else None,
            )  # fmt: skip
        elif (today - reviewed).days > limit:
            yield STALE_REVIEW.finding(
                "kpi", kpi.id,
                f"KPI {kpi_label(kpi)} was last reviewed on {reviewed.isoformat()}, {(today - reviewed).days} days "
                f"ago (a review goes stale after {limit} days)",
                "review it with its owner (still the right measure, target and owner?) and update review_date",
                severity=Severity.WARNING,
            )  # fmt: skip


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
    INVALID_FORMULA,
    UNKNOWN_COLUMN,
    ORPHAN_KPI,
    GOAL_KPI_COUNT,
    UNIT_KPI_COUNT,
    MISSING_CADENCE,
    QUALITATIVE_WITHOUT_SCALE,
    STALE_REVIEW,
]
