"""Dashboard tiles: one per KPI, with latest value, target gap, status and trend."""

from __future__ import annotations

import streamlit as st

from kpi_model.engine import Engine, Series
from kpi_model.errors import KpiWizardError
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Workspace
from kpi_model.periods import cadence_grain, complete_points, period_label
from kpi_model.status import (
    gap_to_target,
    kpi_value,
    latest_of,
    status,
    status_reason,
    target_text,
    thresholds_text,
    unjudged_note,
)
from ui.feedback import md_escape
from ui.presentation import TILE_KEY_PREFIX
from ui.preview_views import status_badge


def compute_unit(engine: Engine, workspace: Workspace, kpis: list[Kpi]) -> dict[str, Series | KpiWizardError]:
    """Each KPI at its own review cadence (monthly when none is set)."""
    results: dict[str, Series | KpiWizardError] = {}
    for kpi in kpis:
        grain = cadence_grain(kpi.cadence)
        try:
            results[kpi.id] = engine.compute(workspace, kpi.id, SeriesRequest(grain=grain))  # type: ignore[arg-type]
        except KpiWizardError as error:
            results[kpi.id] = error
    return results


def tile(kpi: Kpi, result: Series | KpiWizardError | None) -> None:
    """One KPI: value of the latest complete period, its distance to target, status badge and sparkline.

    A partial period (the data stops inside it) is never judged: the tile says which one it left out.
    """
    # Keyed, so presentation mode's styles find the tiles (and their names wrap, never cut).
    with st.container(border=True, height="stretch", key=f"{TILE_KEY_PREFIX}{kpi.id}"):
        latest = latest_of(result) if isinstance(result, Series) else None
        if latest is None or not isinstance(result, Series):
            st.markdown(f"**{md_escape(kpi.name)}**")
            if isinstance(result, Series) and (note := unjudged_note(result, None, unit=kpi.unit_of_measure)):
                st.caption(f":material/hourglass_top: {note}")
                return
            reason = str(result) if isinstance(result, KpiWizardError) else "no formula or data yet"
            st.caption(f":material/block: Not computed: {md_escape(reason)}")
            if terms := agreed_terms(kpi, with_baseline=True):  # what was agreed holds without data too
                st.caption(md_escape(terms[0][0].upper() + " · ".join(terms)[1:]))
            return
        points = [p for p in complete_points(result) if p.value is not None and p.dimension is None]
        level = status(kpi, latest.value)
        # The status badge says good or bad (thresholds); the gap to a target due next year is
        # information, not an alarm, so it stays grey.
        st.metric(
            md_escape(kpi.name),
            kpi_value(kpi, latest.value),
            delta=gap_to_target(kpi, latest.value),
            delta_color="off",
            delta_arrow="off",
            chart_data=[p.value for p in points[-24:]],
            chart_type="line",
            help=md_escape(kpi.description) if kpi.description else None,
        )
        owner = f"owner: {md_escape(kpi.owner)}" if kpi.owner else ":red[**no owner**]"
        st.markdown(f"{status_badge(level)} · {period_label(latest.period, result.request.grain)} · {owner}")
        st.caption(md_escape(agreed_line(kpi, latest.value)))
        as_of = f"{result.coverage.as_of_text().capitalize()}." if result.coverage else ""
        if text := (unjudged_note(result, latest, unit=kpi.unit_of_measure) or as_of):
            st.caption(text)


def agreed_line(kpi: Kpi, value: float | None) -> str:
    """Why the badge has its colour, then the target with its date and the thresholds, on one line.

    ``'Amber: below warning 52,000 · target 64,000 by 2027-10-31 · warning 52,000, critical 46,000'``:
    the badge follows the thresholds, the gap above follows the target; this line says both.
    """
    reason = status_reason(kpi, value)
    terms = agreed_terms(kpi)
    if "(no thresholds set)" in reason:  # the reason already names the target as the line crossed
        terms = [t for t in terms if not t.startswith(("warning", "critical"))]
    return " · ".join([reason[0].upper() + reason[1:], *terms])


def agreed_terms(kpi: Kpi, *, with_baseline: bool = False) -> list[str]:
    """Target with its date and thresholds (and the baseline), as short phrases, for what is set."""
    terms = []
    if with_baseline and kpi.baseline is not None:
        period = f" ({kpi.baseline.period})" if kpi.baseline.period else ""
        terms.append(f"baseline {kpi_value(kpi, kpi.baseline.value)}{period}")
    if (target := target_text(kpi)) != "—":
        due = kpi.target.due if kpi.target else None
        terms.append(f"target {target}" + (f" by {due.isoformat()}" if due else " (no due date)"))
    if (lines := thresholds_text(kpi)) != "—":
        terms.append(lines)
    return terms


def data_as_of(results: dict[str, Series | KpiWizardError]) -> str | None:
    """``'Data as of 2018-11-14'``, or the range when the KPIs' sources end on different days."""
    days = sorted({r.coverage.as_of for r in results.values() if isinstance(r, Series) and r.coverage})
    if not days:
        return None
    if len(days) == 1:
        return f"Data as of {days[0].isoformat()}."
    return f"Data as of {days[0].isoformat()} to {days[-1].isoformat()}, by source (each tile says its own)."
