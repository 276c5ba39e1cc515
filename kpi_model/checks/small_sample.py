"""KPI060 small-sample: a rate whose periods rest on too few cases swings by chance.

Needs data: it reads the computed series, and the sample of a period is the denominator's volume
(a count, or a column of counts such as orders or headcount), not the rows of a table of totals.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.wording import kpi_label, period_text
from kpi_model.formula import FormulaError, check_filter, parse_tree, quote, ratio_parts
from kpi_model.models import Kpi, UnitOfMeasure
from kpi_model.periods import GRAINS, grain_cadence


def coarser_cadence(grain: str) -> str:
    """The review cadence one grain coarser (``monthly`` data → ``quarterly``; yearly stays yearly)."""
    return grain_cadence(GRAINS[min(GRAINS.index(grain) + 1, len(GRAINS) - 1)])


def _day(period: Any) -> dt.date:
    return period.date() if isinstance(period, dt.datetime) else period


# Column words that say a column holds a number of cases (pre-aggregated data: one row per day).
_COUNT_WORDS = frozenset(
    "orders order cases case tickets calls contacts visits sessions deliveries shipments units items patients "
    "admissions responses respondents employees headcount fte staff claims transactions leads deals opportunities "
    "requests incidents jobs count cnt n num number volume quantity qty pieces parts lines invoices customers "
    "users members answers surveys".split()
)


def _sample_column(node: exp.Expr) -> str | None:
    """The count column an aggregate adds up (sum(orders), avg(headcount)), or None."""
    if not isinstance(node, (exp.Sum, exp.Avg, exp.Max, exp.Min)):
        return None
    columns = list(node.find_all(exp.Column))
    if len(columns) != 1:
        return None
    name = columns[0].name
    return name if set(re.split(r"[^a-z0-9]+", name.lower())) & _COUNT_WORDS else None


def _sample_basis(kpi: Kpi) -> str | None:
    """What a period's sample size is read from: "counted items" or a count column (the denominator's
    value), "rows" (no denominator, or one of money or hours), or None for an unparsable formula."""
    try:
        tree = parse_tree(kpi.expression or "")
    except (SqlglotError, ValueError):
        return None
    parts = ratio_parts(tree)
    if parts is None:
        return "rows"
    node = parts[1]
    while isinstance(node, (exp.Paren, exp.Nullif, exp.Filter, exp.Coalesce)):
        node = node.this
    if isinstance(node, (exp.Count, exp.CountIf, exp.ApproxDistinct)):
        return "counted items"
    return _sample_column(node) or "rows"


def _one_row_per_day(ctx: AuditContext, kpi: Kpi) -> bool:
    """Whether the KPI's rows are daily (or coarser) aggregates: then rows are days, not cases."""
    if ctx.engine is None or not kpi.source or not kpi.time_column:
        return False
    condition = "TRUE"
    if kpi.filter:
        try:
            condition = check_filter(kpi.filter, list((ctx.columns or {}).get(kpi.source, []))).sql
        except FormulaError:
            return False
    day = f"CAST({quote(kpi.time_column)} AS DATE)"
    try:
        rows = ctx.engine.query(f"SELECT count(*), count(DISTINCT {day}) FROM {quote(kpi.source)} WHERE {condition}")[1]
    except Exception:  # a time column that is no date: the rule then falls back to rows
        return False
    return bool(rows) and rows[0][0] > 0 and rows[0][0] == rows[0][1]


def _small_sample(ctx: AuditContext) -> Iterator[Finding]:
    minimum = ctx.options.min_sample
    for kpi in ctx.workspace.kpis:
        series = (ctx.series or {}).get(kpi.id)
        # Periods after today hold only mis-dated rows (data-quality reports those), not a small sample;
        # a period the data covers only in part is never judged (kpi_model.periods.is_complete).
        complete = getattr(series, "is_complete", None)
        points = [
            p
            for p in getattr(series, "points", None) or []
            if p.dimension is None and _day(p.period) <= ctx.today and (complete is None or complete(p, ctx.today))
        ]
        has_denominator = any(p.denominator is not None for p in points)
        if not points or not (has_denominator or kpi.unit_of_measure in (UnitOfMeasure.PERCENT, UnitOfMeasure.RATIO)):
            continue
        basis = _sample_basis(kpi)
        by_denominator = has_denominator and basis not in (None, "rows")
        if not by_denominator and _one_row_per_day(ctx, kpi):
            continue  # rows of daily totals are days, not cases: the sample size is unknown, not small
        unit = str(basis) if by_denominator else "rows"
        what = f"{unit} in its denominator" if by_denominator else unit
        sizes = sorted((p.period, (p.denominator if by_denominator else p.rows) or 0) for p in points)
        small = [(period, size) for period, size in sizes if size < minimum]
        if not small:
            continue
        grain = getattr(getattr(series, "request", None), "grain", "month")
        smallest_period, smallest = min(small, key=lambda item: item[1])
        edges = {sizes[0][0], sizes[-1][0]}
        # A first or last period is often partial (data starts or stops mid-period): a note, not a warning.
        edge_only = len(sizes) > 2 and all(period in edges for period, _ in small)
        where = (
            " (only at the edge of the data, likely a partial period)"
            if edge_only
            else f" ({', '.join(period_text(p, grain) for p, _ in small[:6])}{' …' if len(small) > 6 else ''})"
        )
        yield SMALL_SAMPLE.on_kpi(
            kpi,
            f"KPI {kpi_label(kpi)} rests on fewer than {minimum} {what} in {len(small)} of {len(sizes)} "
            f"{grain_cadence(grain)} periods{where}; the smallest is {smallest:,.0f} in "
            f"{period_text(smallest_period, grain)}, so its value there swings by chance.",
            f"Read that period with care and show no red/amber/green status for it until at least {minimum} {unit} "
            "are behind it."
            if edge_only
            else f"Review it at a coarser grain (cadence: {coarser_cadence(grain)}), or add a minimum-volume "
            f"rule: show the value only when at least {minimum} {unit} are behind it, else 'not enough data'.",
            severity=Severity.INFO if edge_only else None,
        )


SMALL_SAMPLE = Rule(
    id="KPI060",
    slug="small-sample",
    severity=Severity.WARNING,
    rationale="A rate over a handful of cases moves by chance; a red or green status on it is noise. The sample "
    "is the denominator's volume (a count, or a column of counts such as orders or headcount); rows count only "
    "when each row is a case (not for daily totals).",
    example="Win rate per month over 4 closed deals: one deal moves it by 25 points.",
    fix="Use a coarser grain or a minimum-volume rule (no status below the minimum sample).",
    check=_small_sample,
    needs_data=True,
)

RULES: list[Rule] = [SMALL_SAMPLE]
