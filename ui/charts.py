"""Altair charts of KPI series: the values, with baseline, target line and red/amber/green bands."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt
import pandas as pd

from kpi_model.engine import Series
from kpi_model.models import Kpi, Target, UnitOfMeasure
from kpi_model.periods import GRAINS, normalise_grain, period_end, period_from_index, period_index, period_start
from kpi_model.status import Status, bands
from kpi_model.whatif import TargetPreview

STATUS_COLOURS = {Status.GREEN: "#2e7d32", Status.AMBER: "#f9a825", Status.RED: "#c62828", Status.UNKNOWN: "#9e9e9e"}
_VALUE_TICKS = 5  # about this many ticks on a value axis

# Every tick names its year: Vega's default shows the year only at January, so a chart of a few
# months, or one read from its right end, leaves the reader guessing which year it is.
PERIOD_FORMATS = {"day": "%-d %b %Y", "week": "%-d %b %Y", "month": "%b %Y", "quarter": "Q%q %Y", "year": "%Y"}
MAX_TICKS = 12
# Tick spacings from fine to coarse, as (grain, periods between ticks). Ticks sit on period starts (Vega's own
# choice put weekly ticks under monthly points), and a wider step stays on calendar marks: every other month
# is January, March…; every 6 months January and July; every 5 years 2020, 2025.
_TICK_STEPS = (
    ("day", 1),
    ("day", 2),
    ("week", 1),
    ("week", 2),
    ("month", 1),
    ("month", 2),
    ("quarter", 1),
    ("quarter", 2),
    ("year", 1),
    *(("year", step) for step in (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)),
)

MISSING_LABEL = "(missing)"
# Missing values get a grey of their own, outside the palette, so they never share a colour with a real
# value such as the text "unknown".
MISSING_COLOUR = "#7f7f7f"
# A value that says it is not known ("unknown", "n/a") is drawn in a light neutral grey: in any hue of the
# palette it would read as a real group, in red as a red status.
UNKNOWN_COLOURS = ("#b8b8b8", "#9e9e9e", "#d4d4d4")
UNKNOWN_VALUES = frozenset({"unknown", "n/a", "na", "none", "null", "unspecified", "not set", "-", "?"})
# No red, amber or green: on a KPI's chart those read as statuses, and a breakdown value is not one.
BREAKDOWN_PALETTE = (
    "#4c78a8",
    "#72b7b2",
    "#b279a2",
    "#9d755d",
    "#1f3a5f",
    "#ff9da6",
    "#a0522d",
    "#17becf",
    "#7b4173",
    "#5254a3",
    "#6b6ecf",
    "#843c39",
)
# Width a breakdown legend may fill (the chart is at least this wide at 1024 px), and the width of one
# character of a legend label: enough to choose how many columns the labels fit in.
_LEGEND_WIDTH_PX = 560
_LEGEND_CHAR_PX = 7


def period_ticks(periods: Iterable[dt.date], grain: str) -> tuple[list[dt.date], str]:
    """The tick dates for periods at ``grain`` (at most :data:`MAX_TICKS`) and their d3 time format.

    Every tick is the start of a period at ``grain`` or coarser, within the first and last period; the
    format names the year on every tick: ``Jan 2025``, ``Q1 2025``, ``2025``, ``6 Jan 2025``.
    """
    grain = normalise_grain(grain)
    days = sorted(periods)
    if not days:
        return [], PERIOD_FORMATS[grain]
    first, last = days[0], days[-1]
    fine = GRAINS.index(grain)
    for tick_grain, step in _TICK_STEPS:
        if GRAINS.index(tick_grain) < fine:
            continue
        low, high = period_index(first, tick_grain), period_index(last, tick_grain)
        indexes = [i for i in range(low, high + 1) if i % step == 0]
        ticks = [d for d in (period_from_index(i, tick_grain) for i in indexes) if first <= d <= last]
        if len(ticks) <= MAX_TICKS:
            break
    # Days and weeks ticked at month starts or coarser read as months ("Mar 2025"), not as one day.
    coarse = grain in ("day", "week") and tick_grain not in ("day", "week")
    return ticks, PERIOD_FORMATS["month" if coarse else grain]


def period_axis(periods: Iterable[dt.date], grain: str) -> alt.Axis:
    """The time axis of a chart of periods at ``grain``: ticks on period starts, each with its year."""
    ticks, time_format = period_ticks(periods, grain)
    values = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in ticks]
    return alt.Axis(format=time_format, values=values or alt.Undefined, labelOverlap=True, title=None)


def breakdown_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The frame with each missing ``dimension`` value named (``"(missing)"``) and that name.

    The name is one no real value has: data that holds the text "(missing)" too gets "(missing value)".
    """
    values = {str(v) for v in frame["dimension"] if not pd.isna(v)}
    missing = MISSING_LABEL
    while missing in values:
        missing = f"{missing[:-1]} value)"
    named = frame.assign(dimension=[missing if pd.isna(v) else str(v) for v in frame["dimension"]])
    return named, missing


def breakdown_colour(values: Sequence[str], missing: str, title: str | None) -> alt.Color:
    """One colour per value of a breakdown, with a legend under the chart: greys for ``missing`` and for
    values that say they are unknown, the palette's hues (never a status colour) for the rest.

    The legend never cuts a label: it has as many columns as the longest label leaves room for.
    """
    shown = sorted(set(values) - {missing}, key=str.casefold)
    known = [v for v in shown if v.strip().casefold() not in UNKNOWN_VALUES]
    unknown = [v for v in shown if v.strip().casefold() in UNKNOWN_VALUES]
    domain = [*known, *unknown, *([missing] if missing in values else [])]
    colours = [BREAKDOWN_PALETTE[i % len(BREAKDOWN_PALETTE)] for i in range(len(known))]
    colours += [UNKNOWN_COLOURS[i % len(UNKNOWN_COLOURS)] for i in range(len(unknown))]
    if missing in values:
        colours.append(MISSING_COLOUR)
    longest = max((len(v) for v in domain), default=1)
    columns = max(1, min(len(domain), _LEGEND_WIDTH_PX // (longest * _LEGEND_CHAR_PX + 30)))
    return alt.Color(
        "dimension:N",
        title=title,
        scale=alt.Scale(domain=domain, range=colours),
        legend=alt.Legend(orient="bottom", direction="horizontal", columns=columns, labelLimit=0, titleLimit=0),
    )


def series_frame(series: Series) -> pd.DataFrame:
    """The series as a DataFrame: a datetime ``period``, ``complete`` per period (what Altair and tables want)."""
    frame = pd.DataFrame(series.as_records())
    if frame.empty:
        return pd.DataFrame(columns=["period", "value", "rows", "complete"])
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def _partial_layers(series: Series, frame: pd.DataFrame, axis: alt.Axis) -> list[alt.Chart]:
    """Partial periods (the data does not cover them to their end) as striped spans labelled "partial"."""
    partial = sorted({p.date() for p in frame.loc[~frame["complete"].astype(bool), "period"]})
    if not partial:
        return []
    grain = series.request.grain
    starts = pd.to_datetime(partial)
    ends = pd.to_datetime([period_end(p, grain) for p in partial]) + pd.Timedelta(days=1)
    spans = pd.DataFrame({"from": starts, "to": ends, "label": "partial"})
    # Vega-Lite has no pattern fill: the stripes are thin dashed rules, one per day of each partial period.
    stripes = pd.DataFrame(
        {"day": [d for a, b in zip(starts, ends, strict=True) for d in pd.date_range(a, b, freq="D", inclusive="left")]}
    )
    x = alt.X("from:T", title=None, axis=axis)
    return [
        alt.Chart(spans).mark_rect(opacity=0.08, color="#607d8b").encode(x=x, x2="to:T"),
        alt.Chart(stripes)
        .mark_rule(opacity=0.25, color="#607d8b", strokeDash=[2, 4])
        .encode(x=alt.X("day:T", title=None, axis=axis)),
        alt.Chart(spans)
        .mark_text(align="left", baseline="top", dx=3, dy=3, color="#455a64", fontStyle="italic")
        .encode(x=x, y=alt.value(0), text="label:N"),
    ]


def _reference_values(kpi: Kpi) -> list[float]:
    values: list[float] = []
    if kpi.target:
        values += [v for v in (kpi.target.value, kpi.target.low, kpi.target.high) if v is not None]
    if kpi.thresholds:
        values += [v for v in (kpi.thresholds.warning, kpi.thresholds.critical) if v is not None]
    if kpi.baseline:
        values.append(kpi.baseline.value)
    return values


def _value_scale(kpi: Kpi, values: list[float]) -> tuple[float, float, alt.Scale, alt.Axis]:
    """The y range (values plus a margin) with its scale and axis, shared by every layer of a chart."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    margin = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
    low, high = low - margin, high + margin
    scale = alt.Scale(domain=[low, high], nice=False, zero=False)
    ticks, tick_format = value_ticks(low, high, percent=kpi.unit_of_measure == UnitOfMeasure.PERCENT)
    axis = alt.Axis(values=ticks, format=tick_format, title=kpi.name)
    return low, high, scale, axis


def value_ticks(low: float, high: float, *, percent: bool = False) -> tuple[list[float], str]:
    """Ticks on round values between ``low`` and ``high`` and a d3 format with as many decimals as they need.

    The decimals follow the step, so no two ticks read the same: 4% to 5.5% is ticked ``4.0% 4.5% 5.0% 5.5%``,
    not ``4% 5% 5% 6%``.
    """
    rough = (high - low) / _VALUE_TICKS or abs(high) or 1.0
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    first = math.ceil(low / step)
    ticks = [round(i * step, 12) for i in range(first, math.floor(high / step) + 1)]
    shown_step = step * 100 if percent else step
    decimals = 0
    while decimals < 12 and round(shown_step, decimals) != round(shown_step, 12):
        decimals += 1
    return ticks, f",.{decimals}%" if percent else f",.{decimals}f"


def _band_layer(
    kpi: Kpi, low: float, high: float, scale: alt.Scale, axis: alt.Axis, *, opacity: float
) -> alt.Chart | None:
    """Red/amber/green rectangles by the KPI's thresholds (or target), or None when it has neither."""
    rows = [{"from": a, "to": b, "status": s.value} for a, b, s in bands(kpi, low, high)]
    if not rows:
        return None
    colours = alt.Scale(domain=[s.value for s in STATUS_COLOURS], range=list(STATUS_COLOURS.values()))
    # Fill, not colour: the colour scale is the breakdown's, shared by its lines and points.
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_rect(opacity=opacity)
        .encode(
            y=alt.Y("from:Q", scale=scale, axis=axis),
            y2="to:Q",
            fill=alt.Fill("status:N", legend=None, scale=colours),
        )
    )


def kpi_chart(kpi: Kpi, series: Series, *, height: int = 340) -> alt.LayerChart:
    """Line (or one line per dimension) over time, with bands, target and baseline rules.

    Partial periods are striped and labelled, their points hollow (see :func:`~kpi_model.periods.is_complete`).
    """
    frame = series_frame(series)
    values = [v for v in frame["value"].dropna().tolist()] + _reference_values(kpi)
    low, high, y_scale, y_axis = _value_scale(kpi, values)
    grain = series.request.grain
    x_axis = period_axis((p.date() for p in frame["period"]), grain)
    line_encoding: dict[str, Any] = {
        "x": alt.X("period:T", title=None, axis=x_axis),
        "y": alt.Y("value:Q", axis=y_axis, scale=y_scale),
        "tooltip": [
            alt.Tooltip("period:T", title="Period", format=PERIOD_FORMATS[normalise_grain(grain)]),
            alt.Tooltip("value:Q", format=",.4~g"),
            alt.Tooltip("rows:Q", title="Rows"),
        ],
    }
    if "dimension" in frame.columns:
        frame, missing = breakdown_frame(frame)
        line_encoding["color"] = breakdown_colour(frame["dimension"].tolist(), missing, series.request.by)
        line_encoding["tooltip"].append(alt.Tooltip("dimension:N", title=series.request.by))
    line_encoding["tooltip"].append(alt.Tooltip("complete:N", title="Complete"))
    layers: list[alt.Chart] = [band] if (band := _band_layer(kpi, low, high, y_scale, y_axis, opacity=0.12)) else []
    if not frame.empty:
        layers += _partial_layers(series, frame, x_axis)
    # Into a partial period the line is dashed: half a month's drop must not read as a crash. The
    # dashed line runs through every period; the solid one, drawn over it, through complete ones only.
    layers.append(alt.Chart(frame).mark_line(strokeWidth=1.5, strokeDash=[4, 3], opacity=0.7).encode(**line_encoding))
    layers.append(alt.Chart(frame).transform_filter("datum.complete").mark_line(strokeWidth=2).encode(**line_encoding))
    # Complete periods as filled points; partial ones hollow: shown, not a value to judge.
    for complete in (True, False):
        layers.append(
            alt.Chart(frame)
            .transform_filter(f"{'' if complete else '!'}datum.complete")
            .mark_point(filled=complete, size=40, strokeWidth=1.5)
            .encode(**line_encoding)
        )
    rules = []
    if kpi.target and kpi.target.value is not None:
        due = f" by {kpi.target.due:%Y-%m-%d}" if kpi.target.due else ""
        rules.append({"y": kpi.target.value, "label": f"Target{due}", "dash": "target"})
    if kpi.baseline:
        rules.append(
            {"y": kpi.baseline.value, "label": f"Baseline {kpi.baseline.period or ''}".strip(), "dash": "baseline"}
        )
    if rules:
        rule_frame = pd.DataFrame(rules)
        rule_base = alt.Chart(rule_frame).encode(y=alt.Y("y:Q", scale=y_scale, axis=y_axis))
        layers.append(
            rule_base.mark_rule(strokeWidth=1.5).encode(
                strokeDash=alt.StrokeDash(
                    "dash:N", legend=None, scale=alt.Scale(domain=["target", "baseline"], range=[[6, 4], [2, 2]])
                ),
                color=alt.value("#37474f"),
            )
        )
        layers.append(
            rule_base.mark_text(align="left", dx=4, dy=-6, color="#37474f").encode(text="label:N", x=alt.value(0))
        )
    # One colour scale (the breakdown's) for the lines and points: one legend, not one per layer.
    return alt.layer(*layers).properties(height=height)


def target_preview_chart(kpi: Kpi, preview: TargetPreview, *, height: int = 360) -> alt.LayerChart:
    """History, baseline, target at its due period, and the trend's projection with its 80% band."""
    history = pd.DataFrame({"period": pd.to_datetime(list(preview.history)), "value": list(preview.history.values())})
    projection = pd.DataFrame([p.as_dict() for p in preview.projection])
    values = [*history["value"].tolist(), preview.target, preview.baseline_value]
    if not projection.empty:
        projection["period"] = pd.to_datetime(projection["period"])
        values += [v for column in ("low", "high") for v in projection[column].dropna().tolist()]
    low, high, y_scale, y_axis = _value_scale(kpi, values)
    shown = [p.date() for p in (*history["period"], *(projection["period"] if not projection.empty else []))]
    shown += [preview.baseline_period, period_start(preview.due, preview.grain)]
    x = alt.X("period:T", title=None, axis=period_axis(shown, preview.grain))
    # The KPI's own thresholds, as on the Preview page; without thresholds the zones follow the target
    # being tried, not the one saved.
    target = Target(value=preview.target, low=preview.target_low, high=preview.target_high, due=preview.due)
    tried = kpi.model_copy(update={"target": target})
    layers: list[alt.Chart] = [band] if (band := _band_layer(tried, low, high, y_scale, y_axis, opacity=0.10)) else []
    layers.append(
        alt.Chart(history)
        .mark_line(point=True, strokeWidth=2)
        .encode(x=x, y=alt.Y("value:Q", scale=y_scale, axis=y_axis))
    )
    if not projection.empty:
        band = projection.dropna(subset=["low", "high"])
        if not band.empty:
            layers.append(alt.Chart(band).mark_area(opacity=0.18, color="#1f6f8b").encode(x=x, y="low:Q", y2="high:Q"))
        layers.append(alt.Chart(projection).mark_line(strokeDash=[4, 3], color="#1f6f8b").encode(x=x, y="mid:Q"))
        if preview.periods_ahead > preview.max_periods_ahead:
            # Cut at the horizon limit: without a mark, the line looks as if it simply ended there.
            stop = pd.DataFrame({"period": [projection["period"].max()], "label": ["projection stops: too far"]})
            layers.append(alt.Chart(stop).mark_rule(strokeDash=[2, 2], color="#5f6b73").encode(x=x))
            layers.append(
                alt.Chart(stop)
                .mark_text(align="right", baseline="top", dx=-4, dy=4, y=0, color="#5f6b73")
                .encode(x=x, text="label:N")
            )
    markers = pd.DataFrame(
        [
            {"period": pd.Timestamp(preview.baseline_period), "value": preview.baseline_value, "label": "Baseline"},
            {
                "period": pd.Timestamp(period_start(preview.due, preview.grain)),
                "value": preview.target,
                "label": "Target",
            },
        ]
    )
    layers.append(
        alt.Chart(markers)
        .mark_point(size=140, filled=True)
        .encode(
            x=x,
            y="value:Q",
            # The points carry their names as text labels, so a legend would only repeat them.
            shape=alt.Shape("label:N", legend=None),
            color=alt.Color("label:N", legend=None, scale=alt.Scale(range=["#37474f", "#c62828"])),
        )
    )
    layers.append(alt.Chart(markers).mark_text(dy=-14, color="#37474f").encode(x=x, y="value:Q", text="label:N"))
    return alt.layer(*layers).properties(height=height).resolve_scale(color="independent")
