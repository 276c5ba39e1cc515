"""The What-if page's target preview and leading/lagging validation (the driver tree: ui/driver_views.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from kpi_model import editing
from kpi_model.engine import Engine, Series
from kpi_model.errors import KpiWizardError
from kpi_model.formula import Compiler, SeriesRequest
from kpi_model.models import Baseline, Kpi, Target, Thresholds, UnitOfMeasure, Workspace
from kpi_model.periods import cadence_grain, period_label
from kpi_model.status import format_value
from kpi_model.whatif import (
    MIN_PAIRED_PERIODS,
    TargetPreview,
    default_max_lag,
    lead_lag,
    target_concerns,
    target_preview,
)
from kpi_model.whatif.target_result import format_change
from ui import values
from ui.charts import target_preview_chart
from ui.feedback import apply_edit, capitalised, md_escape, show_error


def grain_of(kpi: Kpi) -> str:
    """The period grain of a KPI's review cadence (monthly when none is set)."""
    return cadence_grain(kpi.cadence)


def compute(engine: Engine, workspace: Workspace, kpi_id: str, grain: str) -> Series | None:
    """A KPI's series at a grain, or None with the reason shown."""
    try:
        return engine.compute(workspace, kpi_id, SeriesRequest(grain=grain))  # type: ignore[arg-type]
    except KpiWizardError as error:
        show_error(error, headline=f"'{kpi_id}' does not compute yet.")
        return None


def target_section(workspace: Workspace, engine: Engine) -> None:
    """Try a target: what it means against the history, and save it if it holds up."""
    candidates = {k.id: k for k in workspace.kpis if k.expression}
    if not candidates:
        st.info("No KPI has a formula yet.")
        return
    kpi_id = st.selectbox("KPI", list(candidates), format_func=lambda i: candidates[i].name, key="whatif_kpi")
    kpi = candidates[kpi_id]
    grain = grain_of(kpi)
    series = compute(engine, workspace, kpi.id, grain)
    if series is None:
        return
    if series.coverage is not None:  # every page says how recent the data is (a partial period is never judged)
        st.caption(f":material/calendar_today: {capitalised(series.coverage.as_of_text())}.")
    target_col, due_col, baseline_col = st.columns(3)
    default_target = kpi.target.value if kpi.target and kpi.target.value is not None else None
    percent = kpi.unit_of_measure == UnitOfMeasure.PERCENT
    target_text = target_col.text_input(
        "Target",
        value=values.shown_value(default_target, kpi.unit_of_measure),  # a percent KPI's 0.15 as 15%
        key=f"whatif_target_{kpi.id}",
        help=values.HELP + (" A bare number over 1 here is read as a percent: 15 is 15%." if percent else ""),
    )
    default_due = kpi.target.due if kpi.target and kpi.target.due else dt.date.today().replace(month=12, day=31)
    due = due_col.date_input("Due", value=default_due, key=f"whatif_due_{kpi.id}")
    baseline_text = baseline_col.text_input(
        "Baseline period",
        key=f"whatif_baseline_{kpi.id}",
        placeholder="latest complete period",
        help="e.g. 2026-10 or 2026-Q3",
    )
    try:
        target = values.read_value(target_text, "Target", kpi.unit_of_measure)
        if target is None and kpi.direction != "range":
            st.info("Type a target to see what it means.")
            return
        if percent and target is not None and abs(target) > 1 and "%" not in target_text:
            # Percent entry as typed: the field shows 15%, so a bare 15 means 15 %, not 1,500 %.
            st.caption(f":material/info: Read {target_text.strip()} as {target:g}% ({target / 100:g} as a fraction).")
            target /= 100
        preview = target_preview(
            kpi,
            series.points,
            target=target or 0.0,
            due=due,
            baseline_period=baseline_text.strip() or None,
            grain=grain,
            coverage=series.coverage,
        )
    except (KpiWizardError, ValueError) as error:
        show_error(error)
        return
    concerns = target_concerns(kpi, preview.baseline_value, preview.target)
    for level, message in concerns:
        (st.error if level == "error" else st.warning)(f"This target: {message}.", icon=":material/report:")
    _preview_figures(kpi, preview, concerned=bool(concerns))
    st.altair_chart(target_preview_chart(kpi, preview), width="stretch", key=f"whatif_chart_{kpi.id}")
    st.caption(projection_legend(preview))
    with st.expander("How the projection is made"):
        st.caption(md_escape(preview.method))  # the statistics, for whoever checks them
    for note in preview.notes:
        st.caption(f":material/info: {note}")
    if any(level == "error" for level, _ in concerns):
        return
    _save_target(workspace, kpi, preview)


def verdict(preview: TargetPreview) -> Callable[[str], object]:
    """How loud a verdict is: red when the target needs what the history never did and its projection does not
    promise either (or moves away from it), amber for a stretch or a record the projection reaches."""
    if preview.verdict == "within-trend":
        return st.success
    if preview.verdict == "too-far-to-project":
        return st.info
    if preview.moving_away or (preview.verdict == "beyond-history" and not preview.reached_on_projection):
        return st.error
    return st.warning


def projection_legend(preview: TargetPreview) -> str:
    """How to read the target chart, saying which parts of the projection are missing and why."""
    has_band = any(point.low is not None for point in preview.projection)
    if not preview.projection:
        drawn = "no projection (the due period is inside the history)"
    elif has_band:
        drawn = "dashed line and shaded band: the projection with its 80% band"
    else:
        drawn = "dashed line: the projection, without a band (too few complete periods to size one)"
    if preview.periods_ahead > preview.max_periods_ahead:
        drawn += (
            f", cut after {preview.max_periods_ahead} {preview.grain}s where the history stops carrying it "
            f"(the due date is {preview.periods_ahead} {preview.grain}s away)"
        )
    plain = {
        "trend": "a straight-line trend that one odd month barely moves",
        "seasonal": "each month as the same month a year before, plus the typical yearly change",
    }.get(preview.method_name, "none")
    return (
        f"Solid line: the complete periods of history; {drawn}; background: the red/amber/green bands. "
        f"Projection: {plain}."
    )


def _preview_figures(kpi: Kpi, preview: TargetPreview, *, concerned: bool) -> None:
    unit = kpi.unit_of_measure
    first, second, third, fourth = st.columns(4)
    first.metric(
        f"Baseline {period_label(preview.baseline_period, preview.grain)}", format_value(preview.baseline_value, unit)
    )
    rate = unit == UnitOfMeasure.PERCENT
    second.metric(
        f"Needed per {preview.grain}",
        format_change(preview.linear_per_period, unit),
        delta=None
        if preview.compound_per_period is None
        else f"{preview.compound_per_period:+.2%} {'relative' if rate else 'compound'}",
        delta_arrow="off",
        delta_color="off",
        help=f"{preview.periods_remaining} periods to go"
        + ("; a rate's change is in percentage points (pp)" if rate else ""),
    )
    attainment = preview.historical_attainment
    third.metric(
        "Past periods that met it",
        "—" if attainment is None else f"{attainment:.0%}",
        help="Share of the history's complete periods (baseline included) already at or past the target.",
    )
    changes = preview.historical_change_attainment
    sign = -1 if preview.direction == "down" else 1
    if preview.direction != "range" and sign * preview.required_absolute <= 0:
        changes = None  # the target asks for no improvement: counting past falls would read as a chance
    window = f"{preview.change_window}-{preview.grain}"
    fourth.metric(
        f"Past {window} changes that large",
        "—" if changes is None else f"{changes:.0%}",
        help=(
            f"Of the history's {preview.change_windows} windows of {preview.change_window} {preview.grain}s (as long "
            f"as the time to the due date), the share in which the KPI moved at least "
            f"{format_change(preview.required_absolute, unit)}."
        ),
    )
    if concerned:  # a green "within trend" beside a target that makes no sense would mislead
        st.info(f"Verdict: **{preview.verdict}** — read it with the concerns above. {md_escape(preview.verdict_text)}")
        return
    verdict(preview)(f"**{preview.verdict}** — {md_escape(preview.verdict_text)}")


def _save_target(workspace: Workspace, kpi: Kpi, preview: TargetPreview) -> None:
    warning, critical = preview.suggested_warning, preview.suggested_critical
    use_suggested = False
    if warning is not None and critical is not None:
        use_suggested = st.checkbox(
            f"Also set the suggested thresholds: warning {format_value(warning, kpi.unit_of_measure)}, "
            f"critical {format_value(critical, kpi.unit_of_measure)}",
            key=f"whatif_use_thresholds_{kpi.id}",
            help=preview.thresholds_text,
        )
        st.caption(md_escape(preview.thresholds_text))
    elif preview.thresholds_text:
        st.caption(md_escape(preview.thresholds_text))
    if not st.button("Save this target to the KPI", key=f"whatif_save_{kpi.id}", type="primary"):
        return
    update: dict = {
        "target": Target(
            value=preview.target if kpi.direction != "range" else None,
            low=preview.target_low,
            high=preview.target_high,
            due=preview.due,
        ),
        "baseline": Baseline(value=preview.baseline_value, period=period_label(preview.baseline_period, preview.grain)),
    }
    if use_suggested:
        update["thresholds"] = Thresholds(warning=warning, critical=critical)
    apply_edit(
        lambda: editing.upsert_kpi(workspace, kpi.model_copy(update=update), old_id=kpi.id),
        f"Saved the target of '{kpi.name}'.",
    )


def leadlag_section(workspace: Workspace, engine: Engine) -> None:
    """Does a leading KPI really move before its lagging outcome? Correlation by lag."""
    lagging = {k.id: k for k in workspace.kpis if k.kind == "lagging" and k.expression}
    compiler = Compiler(workspace)

    def validating_pair_first(kpi: Kpi) -> int:
        # Worth testing first: paired (both ways, best) with a lagging KPI that is not computed from it.
        partner = kpi.pairs_with
        if partner not in lagging or kpi.id in compiler.dependencies(partner)[:-1]:
            return 2
        return 0 if lagging[partner].pairs_with == kpi.id else 1

    leading = {
        k.id: k
        for k in sorted((k for k in workspace.kpis if k.kind == "leading" and k.expression), key=validating_pair_first)
    }
    if not leading or not lagging:
        st.info("Mark KPIs as leading and lagging (and pair them) to test whether one leads the other.")
        return
    left, right = st.columns(2)
    lead_id = left.selectbox("Leading KPI", list(leading), format_func=lambda i: leading[i].name, key="leadlag_lead")
    paired = leading[lead_id].pairs_with
    options = list(lagging)
    lag_id = right.selectbox(
        "Lagging KPI",
        options,
        format_func=lambda i: lagging[i].name,
        key=f"leadlag_lag_{lead_id}",
        index=options.index(paired) if paired in options else 0,
    )
    grain = grain_of(lagging[lag_id])
    left, right = st.columns(2)
    max_lag = left.number_input(
        f"Longest lag to test ({grain}s)",
        min_value=0,
        max_value=max(24, default_max_lag(grain)),
        value=default_max_lag(grain),
        key=f"leadlag_max_{grain}",
        help="Each lag pairs the leading KPI with the lagging one that many periods later.",
    )
    differenced = right.toggle(
        "Test period-to-period changes (recommended)",
        value=True,
        key="leadlag_differenced",
        help="Two KPIs that both grow or drift over time correlate on levels even when neither drives the other; "
        "period-to-period changes remove that shared trend. Turn off only for KPIs that hover around a steady "
        "level (a rate with no trend): there levels show a slow relation that changes can hide.",
    )
    lead_series, lag_series = compute(engine, workspace, lead_id, grain), compute(engine, workspace, lag_id, grain)
    if lead_series is None or lag_series is None:
        return
    from kpi_model.whatif.leadlag import ALPHA, empty_means_zero, formula_link

    result = lead_lag(
        lead_series,  # a Series: only its complete periods count, and a count's covered empty periods are 0
        lag_series,
        max_lag=int(max_lag),
        cadence=grain,
        levels=not differenced,
        leading_empty_is_zero=empty_means_zero(leading[lead_id]),
        lagging_empty_is_zero=empty_means_zero(lagging[lag_id]),
        leading_name=leading[lead_id].name,
        lagging_name=lagging[lag_id].name,
        arithmetic=(link := formula_link(workspace, lead_id, lag_id)),
    )
    show = {"leads": st.success, "coincident": st.info, "too-little-data": st.info}.get(result.verdict, st.warning)
    if link is not None and result.verdict in ("leads", "coincident"):
        show = st.warning  # a pairing made by a formula is no finding to celebrate
    show(md_escape(result.message))
    tested = "period-to-period changes" if result.differenced else "levels (a shared trend can make levels agree)"
    how_sure = f"What was tested: {tested}, lags from −{result.max_lag} to {result.max_lag} {grain}s."
    if result.p_value is not None and result.effective_n is not None:
        odds = (
            "less than 1 time in 1,000"
            if result.p_value < 0.001
            else f"about {max(1, round(result.p_value * 100))} times in 100"
        )
        p_text = "p < 0.001" if result.p_value < 0.001 else f"p = {result.p_value:.2g}"
        how_sure += (
            f" How sure: if the two KPIs were unrelated, a pairing as clear as the best one among the "
            f"{result.lags_tested} lags tried would turn up {odds} ({p_text}; a claim needs p under {ALPHA:.0%}). "
            f"The {result.periods} pairs count as about {result.effective_n:.0f} independent ones (the effective "
            "n)"
            + (
                f", because neighbouring {grain}s are not independent of each other."
                if result.effective_n < 0.9 * result.periods
                else "."
            )
        )
    if result.detectable_r is not None and result.verdict in {"no-evidence", "too-little-data"}:
        how_sure += (
            " With this much data no correlation could count."
            if result.detectable_r > 0.99
            else f" With this much data only a correlation of {result.detectable_r:.2f} or more could count."
        )
    st.caption(how_sure)
    if result.by_lag:
        import altair as alt

        rows = [*reversed(result.reverse_by_lag), *result.by_lag]
        short = "left out"
        bars = pd.DataFrame(
            {
                "Lag": [item.lag for item in rows],
                "r": [0.0 if item.correlation is None else round(item.correlation, 2) for item in rows],
                "Pairs": [item.periods for item in rows],
                "p at this lag": [
                    None if item.p_value is None else "< 0.001" if item.p_value < 0.001 else f"{item.p_value:.3f}"
                    for item in rows
                ],
                "Status": [
                    short if not item.counted else "best lag" if item.lag == result.best_lag else "tested"
                    for item in rows
                ],
            }
        )
        st.caption(
            f"At lag k the leading KPI of each {grain} is paired with the lagging KPI k {grain}s later (negative k: "
            "the lagging KPI first); r is their correlation (1: they rise together, 0: no relation, −1: one rises "
            f"as the other falls). Grey, hollow bars are lags left out of the test: fewer than {MIN_PAIRED_PERIODS} "
            "pairs, or a side that does not change."
        )
        colour = alt.Color(
            "Status:N",
            scale=alt.Scale(domain=["best lag", "tested", short], range=["#1f77b4", "#9ecae1", "#bdbdbd"]),
            legend=alt.Legend(orient="bottom", title=None, labelLimit=0),
        )
        chart = (
            alt.Chart(bars)
            .mark_bar(strokeWidth=1.5)
            .encode(
                x=alt.X("Lag:O", title=f"Lag ({grain}s)", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("r:Q", scale=alt.Scale(domain=[-1, 1])),
                color=colour,
                stroke=colour,
                fillOpacity=alt.condition(alt.datum.Status == short, alt.value(0.15), alt.value(1.0)),
                tooltip=["Lag", "r", "Pairs", "p at this lag", "Status"],
            )
        )
        # A lag with under 3 pairs has no r at all: a cross on the axis still shows it was left out.
        crosses = (
            alt.Chart(bars[bars["Status"] == short])
            .mark_point(shape="cross", size=60, color="#969696")
            .encode(x=alt.X("Lag:O"), y=alt.datum(0), tooltip=["Lag", "Pairs", "Status"])
        )
        st.altair_chart((chart + crosses).properties(height=220), width="stretch", key="leadlag_chart")
        # The table lists the lags the chart draws, both directions, so a reader can find every bar in it.
        st.dataframe(
            bars.assign(r=[None if item.correlation is None else round(item.correlation, 2) for item in rows]),
            hide_index=True,
            key="leadlag_table",
            column_config={
                "r": st.column_config.NumberColumn(format="%.2f"),
            },
        )
