"""KPI008 missing-cadence: is every KPI reviewed on a rhythm its data can support?

Without data it asks for a cadence; with data it checks that the time column has a date in
(nearly) every period of that cadence, in one cheap query per source and filter.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.formula_facts import loaded_columns
from kpi_model.checks.wording import kpi_label
from kpi_model.errors import KpiWizardError
from kpi_model.formula import FormulaError, check_filter, quote
from kpi_model.models import Kind, Kpi
from kpi_model.periods import GRAINS, cadence_grain, grain_cadence

# Fewer distinct dates than this say nothing about how often data is recorded.
_MIN_DATES_FOR_GRAIN = 3


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
            f"count(DISTINCT date_trunc('{grain}', {quote(time_column)}))" for grain in GRAINS[1:]
        ]
        try:
            rows = ctx.engine.query(f"SELECT {', '.join(counts)} FROM {quote(kpi.source)} WHERE {condition}")[1]
        except (KpiWizardError, duckdb.Error):
            cache[key] = None  # e.g. a text column: the computation itself reports that
        else:
            values = [int(v or 0) for v in rows[0]] if rows else [0] * len(GRAINS)
            days = values[0]
            grain = "day"
            for name, count in zip(GRAINS[1:], values[1:], strict=True):
                if count == days:
                    grain = name  # at most one date per period of this grain
            periods = values[GRAINS.index(grain)]
            cache[key] = (grain, days, periods) if days >= _MIN_DATES_FOR_GRAIN else None
    return cache[key]


# Advice by the KPI's kind, so that the fix speaks of this KPI rather than of KPIs in general.
_CADENCE_ADVICE: dict[Kind | None, str] = {
    Kind.LEADING: "set how often its owner reviews it: weekly suits a leading indicator, which must warn in time",
    Kind.LAGGING: "set how often its owner reviews it: monthly or quarterly suits an outcome like this one",
    None: "set how often its owner reviews it: weekly for leading indicators, monthly or quarterly for outcomes",
}


def _missing_cadence(ctx: AuditContext) -> Iterator[Finding]:
    cache: _GrainCache = {}
    for kpi in ctx.workspace.kpis:
        if kpi.cadence is None:
            advice = _CADENCE_ADVICE.get(kpi.kind, _CADENCE_ADVICE[None])
            yield MISSING_CADENCE.on_kpi(
                kpi, f"KPI {kpi_label(kpi)} has no cadence: nobody knows when to look at it", advice
            )
            continue
        columns = loaded_columns(ctx, kpi)
        if ctx.engine is None or columns is None or not kpi.time_column:
            continue
        if kpi.time_column.lower() not in {c.lower() for c in columns}:
            continue  # KPI004 reports the unknown time column
        found = _data_grain(ctx, kpi, columns, cache)
        if found is None:
            continue
        grain, days, periods = found
        wanted = cadence_grain(kpi.cadence)
        if GRAINS.index(wanted) < GRAINS.index(grain):
            yield MISSING_CADENCE.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} is reviewed {kpi.cadence.value}, but its time column '{kpi.time_column}' in "
                f"source '{kpi.source}' has at most one date per {grain} ({days} dates in {periods} {grain}s): "
                f"most {kpi.cadence.value} periods would have no data",
                f"review it {grain_cadence(grain)} (or less often), or load data recorded at least every {wanted}",
            )


MISSING_CADENCE = Rule(
    id="KPI008",
    slug="missing-cadence",
    severity=Severity.WARNING,
    rationale="A KPI without a review rhythm, or reviewed more often than its data arrives, is not watched properly.",
    example="KPI 'Gross margin' with no cadence; or reviewed weekly from data recorded once a month.",
    fix="Set a cadence the data supports: weekly for leading indicators, monthly or quarterly for outcomes.",
    check=_missing_cadence,
)

RULES: list[Rule] = [MISSING_CADENCE]
