"""Lead/lag rule: does a leading KPI actually lead the lagging KPI it is paired with?

A leading KPI earns its place by moving before its outcome. With data loaded, each leading
KPI whose ``pairs_with`` names a lagging KPI is tested against it at lags −n..n periods on
period-to-period changes (:func:`kpi_model.whatif.lead_lag`: a p-value over the effective number
of pairs, corrected for the lags tried). What the rule says, by verdict:

- ``leads`` (p < 0.05 at a lag > 0) — nothing: the pairing is supported.
- ``coincident`` (p < 0.05 in the same period) — nothing: at a monthly cadence a driver read
  weekly still moves before the month's outcome is booked (first-response time and CSAT).
- ``reverse`` (p < 0.05 with the lagging KPI first) — warning: the data say the pairing runs the
  other way round.
- ``no-evidence`` — a warning when the data were long enough to have shown a relation worth
  managing by (|r| ≥ 0.5 would have counted), otherwise info: not validated yet.
- ``too-little-data`` (fewer than 6 overlapping changes, or a constant series) — info.

Pairs are skipped when the leading KPI is a driver of its partner's formula (or the other way
round): ``sessions`` in ``web_revenue = sessions * …`` is related by definition. Only complete
periods count (:func:`kpi_model.periods.complete_points`: covered by the data, past by the audit
date); counts and sums are zero in a covered period without rows.
When the two KPIs have different cadences, both are recomputed at the coarser one (with the
audit's engine) so that periods line up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.errors import KpiWizardError
from kpi_model.models import Kind, Kpi
from kpi_model.periods import GRAINS
from kpi_model.whatif import LEADS_R, driver_tree, lead_lag
from kpi_model.whatif.leadlag import empty_means_zero

if TYPE_CHECKING:
    from kpi_model.engine import Series


def _in_formula(ctx: AuditContext, outer: Kpi, inner: Kpi) -> bool:
    """Whether ``inner`` is in the driver tree of ``outer`` (a relation by definition)."""
    try:
        return inner.id in driver_tree(ctx.workspace, outer.id).ids()
    except KpiWizardError:
        return False  # a broken formula is other rules' business


def _aligned(ctx: AuditContext, leading: Kpi, lagging: Kpi) -> tuple[Series, Series] | str | None:
    """Both series at one grain; a reason (str) when they cannot be aligned; None to skip quietly."""
    assert ctx.series is not None
    first, second = ctx.series.get(leading.id), ctx.series.get(lagging.id)
    if first is None or second is None or isinstance(first, Exception) or isinstance(second, Exception):
        return None  # not computable: the data rules report why
    if first.request.grain == second.request.grain:
        return first, second
    grain = max(first.request.grain, second.request.grain, key=GRAINS.index)
    if ctx.engine is None:
        return f"'{leading.id}' is by {first.request.grain} and '{lagging.id}' by {second.request.grain}"
    try:
        return (
            ctx.engine.compute(ctx.workspace, leading.id, replace(first.request, grain=grain)),
            ctx.engine.compute(ctx.workspace, lagging.id, replace(second.request, grain=grain)),
        )
    except KpiWizardError:
        return None


def _pairs(ctx: AuditContext) -> Iterator[tuple[Kpi, Kpi]]:
    for kpi in ctx.workspace.kpis:
        if kpi.kind != Kind.LEADING or not kpi.pairs_with:
            continue
        partner = ctx.workspace.kpi(kpi.pairs_with)
        if partner is None or partner.kind != Kind.LAGGING:
            continue  # dangling or same-kind pairs are the structure rules' findings
        yield kpi, partner


def _check(ctx: AuditContext) -> Iterator[Finding]:
    if ctx.series is None:
        return
    for leading, lagging in _pairs(ctx):
        if _in_formula(ctx, lagging, leading) or _in_formula(ctx, leading, lagging):
            continue
        aligned = _aligned(ctx, leading, lagging)
        if aligned is None:
            continue
        if isinstance(aligned, str):
            yield UNVALIDATED_LEADING.on_kpi(
                leading,
                f"Leading KPI '{leading.id}' could not be compared with its lagging partner '{lagging.id}': {aligned}",
                "run the audit with data loaded so both can be computed at the coarser cadence",
                severity=Severity.INFO,
            )
            continue
        first, second = aligned
        grain = first.request.grain
        result = lead_lag(
            first,
            second,
            cadence=grain,
            leading_empty_is_zero=empty_means_zero(leading),
            lagging_empty_is_zero=empty_means_zero(lagging),
            leading_name=f"'{leading.id}' ({leading.name})",
            lagging_name=f"'{lagging.id}' ({lagging.name})",
            today=ctx.today,  # complete periods only: covered by the data and past by the audit date
        )
        if result.verdict == "reverse":
            yield UNVALIDATED_LEADING.on_kpi(
                leading,
                f"Leading KPI '{leading.id}' follows its lagging partner '{lagging.id}' instead of leading it. "
                f"{result.message}.",
                f"check the pairing: if '{lagging.id}' really drives '{leading.id}', swap their kinds; otherwise "
                "pair the leading KPI with the outcome it moves before",
            )
        elif result.verdict == "no-evidence" and result.detectable_r is not None and result.detectable_r <= LEADS_R:
            yield UNVALIDATED_LEADING.on_kpi(
                leading, f"Leading KPI '{leading.id}' is not supported by the data. {result.message}."
            )
        elif result.verdict == "no-evidence":
            yield UNVALIDATED_LEADING.on_kpi(
                leading,
                f"Leading KPI '{leading.id}' is not validated against '{lagging.id}' yet: too few periods to see "
                f"anything but a strong relation. {result.message}.",
                "watch the pairing as more periods come in; if no lead shows, pick a driver the outcome follows",
                severity=Severity.INFO,
            )
        elif result.verdict == "too-little-data":
            yield UNVALIDATED_LEADING.on_kpi(
                leading,
                f"Leading KPI '{leading.id}' is not validated against '{lagging.id}' yet. {result.message}.",
                "re-run the audit once both KPIs have more overlapping periods of varying values",
                severity=Severity.INFO,
            )


UNVALIDATED_LEADING = Rule(
    id="KPI080",
    slug="unvalidated-leading",
    severity=Severity.WARNING,
    rationale=(
        "A leading KPI is worth managing only if its outcome follows it; the data should show the relation at some lag."
    ),
    example=(
        "page_views (leading) paired with deals_won: over 36 months of changes no lag from −3 to 3 months comes "
        "near p < 0.05 (best r = 0.21, p = 0.62 allowing for the 7 lags tried)."
    ),
    fix=(
        "pair the leading KPI with the outcome it really drives, or replace it with a driver the data support "
        "(the lag analysis on the What-if page shows r and p per lag)"
    ),
    check=_check,
    needs_data=True,
)

RULES = [UNVALIDATED_LEADING]
