"""Pieces of the Preview page: the controls, the live formula check and the results."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kpi_model.csv_export import frame_to_csv
from kpi_model.engine import Engine, Series
from kpi_model.errors import KpiWizardError
from kpi_model.formula import (
    DIALECTS,
    GRAINS,
    SeriesRequest,
    check_aggregate,
    check_derived,
    check_filter,
    warehouse_script,
)
from kpi_model.models import Kpi, Workspace
from kpi_model.periods import cadence_grain, complete_points, period_label
from kpi_model.status import STATUS_LABELS, Status, format_value, gap_to_target, latest_of, status, unjudged_note
from ui.charts import breakdown_frame, kpi_chart, series_frame
from ui.feedback import show_error

_NO_BREAKDOWN = "—"


def request_controls(kpi: Kpi, columns: list[str]) -> SeriesRequest | None:
    """Grain, breakdown and date range; None (with the problem shown) when they do not fit together."""
    grain_col, by_col, from_col, to_col = st.columns(4)
    default = cadence_grain(kpi.cadence)
    grain = grain_col.selectbox("Per", GRAINS, index=GRAINS.index(default), key=f"preview_grain_{kpi.id}")
    by = by_col.selectbox(
        "Break down by",
        [_NO_BREAKDOWN, *columns],
        key=f"preview_by_{kpi.id}",
        disabled=not columns,
        help="One line per value of this column.",
    )
    start = from_col.date_input("From", value=None, key=f"preview_from_{kpi.id}")
    end = to_col.date_input("To", value=None, key=f"preview_to_{kpi.id}")
    try:
        return SeriesRequest(
            grain=grain,
            by=None if by == _NO_BREAKDOWN else by,
            start=start if isinstance(start, dt.date) else None,
            end=end if isinstance(end, dt.date) else None,
        )
    except KpiWizardError as error:
        show_error(error)
        return None


def formula_editor(kpi: Kpi, workspace: Workspace, columns: list[str] | None, derived: bool) -> tuple[Kpi, bool]:
    """Formula and filter inputs, checked as you type; returns the KPI with the edited text and whether it checks."""
    expression = st.text_area("Formula", value=kpi.expression or "", key=f"preview_formula_{kpi.id}", height=80)
    row_filter = "" if derived else st.text_input("Row filter", value=kpi.filter or "", key=f"preview_filter_{kpi.id}")
    edited = kpi.model_copy(update={"expression": expression.strip() or None, "filter": row_filter.strip() or None})
    try:
        if derived:
            check_derived(edited.expression, {k.id for k in workspace.kpis} - {kpi.id})
        else:
            check_aggregate(edited.expression, columns, source=f"source '{kpi.source}'")
            if edited.filter:
                check_filter(edited.filter, columns, source=f"source '{kpi.source}'")
    except KpiWizardError as error:
        show_error(error)
        return edited, False
    st.caption(":material/check_circle: The formula checks out.")
    return edited, True


def headline(kpi: Kpi, series: Series) -> None:
    """Latest complete value, change on the complete period before, distance to target and status.

    Partial periods (the data stops inside them) are in the chart and the table, never judged here.
    """
    latest = latest_of(series)
    note = unjudged_note(series, latest, unit=kpi.unit_of_measure)
    if latest is None:
        if note:
            st.info(note, icon=":material/hourglass_top:")
        return
    earlier = [p for p in complete_points(series) if p.value is not None and p.period < latest.period]
    previous = earlier[-1].value if earlier else None
    delta = None if previous is None else format_value(latest.value - previous, kpi.unit_of_measure)  # type: ignore[operator]
    level = status(kpi, latest.value)
    left, middle, right = st.columns(3)
    left.metric(
        f"Latest ({period_label(latest.period, series.request.grain)})",
        format_value(latest.value, kpi.unit_of_measure),
        delta,
        delta_color="inverse" if kpi.direction == "down" else "normal",
        help="The last complete period: one the data covers from its first to its last day. Partial periods "
        "are in the chart (striped) and the table, never judged.",
    )
    middle.metric("Against target", gap_to_target(kpi, latest.value) or "no target set")
    right.markdown(f"Status  \n{status_badge(level)}")
    if note:
        st.caption(f":material/hourglass_top: {note}")


def data_as_of(series: Series) -> str | None:
    """``'Data as of 2018-11-14 (from 2017-12-05).'`` for the Preview page, or None without dates."""
    if series.coverage is None:
        return None
    return f"{series.coverage.as_of_text().capitalize()} (from {series.coverage.first.isoformat()})."


def status_badge(level: Status) -> str:
    """A coloured Markdown badge with the status in words."""
    colour = {Status.GREEN: "green", Status.AMBER: "orange", Status.RED: "red"}.get(level, "gray")
    return f":{colour}-badge[{STATUS_LABELS[level]}]"


def without_targets(kpi: Kpi) -> Kpi:
    """The KPI with no target, thresholds or baseline (for views they do not apply to)."""
    return kpi.model_copy(update={"target": None, "thresholds": None, "baseline": None})


def results(kpi: Kpi, series: Series) -> None:
    """The chart, the values table and its CSV download."""
    if not series.points:
        st.info("The formula ran but returned no periods: check the row filter and the date range.")
        return
    if all(p.value is None for p in series.points):
        st.warning(
            "Every period is empty: the formula returns no value anywhere. A division by zero (every `/ 0` "
            "becomes empty) or a FILTER that matches no row are the usual causes."
        )
    st.altair_chart(kpi_chart(kpi, series), width="stretch", key=f"preview_chart_{kpi.id}")
    if kpi.target or kpi.thresholds or kpi.baseline:
        st.caption(
            "Bands: red, amber and green by the KPI's thresholds (by its target when it has none); "
            "dashed line: target; dotted line: baseline."
        )
    if not all(frame_complete := [series.is_complete(p) for p in series.points]):
        st.caption(
            f"Striped, hollow points: {frame_complete.count(False)} partial period(s), which the data does not "
            "cover from start to end. Shown, never judged."
        )
    frame = series_frame(series)
    shown = frame.assign(period=[period_label(p.date(), series.request.grain) for p in frame["period"]])
    by = series.request.by
    if by:  # the table names a missing value as the chart's legend does, not "None"
        shown, _ = breakdown_frame(shown)
    st.dataframe(
        shown.rename(columns={"dimension": by}) if by else shown,
        hide_index=True,
        width="stretch",
        key=f"preview_table_{kpi.id}",
        column_config={
            "period": st.column_config.TextColumn("Period"),
            "value": st.column_config.NumberColumn(
                "Value", format="percent" if kpi.unit_of_measure == "percent" else "localized"
            ),
            "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "numerator": st.column_config.NumberColumn("Numerator", format="localized"),
            "denominator": st.column_config.NumberColumn("Denominator", format="localized"),
            "complete": st.column_config.CheckboxColumn(
                "Complete", help="Whether the data covers the period from its first to its last day"
            ),
        },
    )
    st.download_button(
        "Download values (CSV)",
        frame_to_csv(frame),  # text cells that start a formula are neutralised
        file_name=f"{kpi.id}.csv",
        mime="text/csv",
        key=f"preview_download_{kpi.id}",
    )


def sql_panel(workspace: Workspace, kpi: Kpi, request: SeriesRequest, engine: Engine) -> None:
    """The SQL that computes the KPI in the chosen warehouse dialect, runnable as shown (view sources as CTEs)."""
    dialect_col, quote_col = st.columns(2)
    dialect = dialect_col.selectbox("Dialect", DIALECTS, key="preview_dialect")
    quote_all = quote_col.toggle(
        "Quote every name",
        key="preview_quote_names",
        help="Off: plain lower-case names stay unquoted, so the warehouse's case rule applies (Snowflake reads "
        "them as UPPER case). On: every name is quoted exactly, for tables created with quoted lower-case names.",
    )
    try:
        script = warehouse_script(
            workspace,
            [kpi.id],
            request,
            columns=engine.columns(),
            dialect=dialect,
            quote="always" if quote_all else "auto",
        )
    except KpiWizardError as error:
        show_error(error)
        return
    if kpi.id in script.failures:
        show_error(script.failures[kpi.id])
        return
    st.code(script.text(), language="sql")
