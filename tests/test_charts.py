"""Charts name the year on every time tick (a few months' chart, or its right end, must not leave it open)."""

from __future__ import annotations

import datetime as dt
import json

from kpi_model.engine import Point, Series
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Target
from kpi_model.status import Status
from ui.charts import kpi_chart


def _x_formats(spec: object) -> list[str]:
    found: list[str] = []
    if isinstance(spec, dict):
        x = spec.get("encoding", {}).get("x") if isinstance(spec.get("encoding"), dict) else None
        if isinstance(x, dict) and x.get("type") == "temporal":
            found.append((x.get("axis") or {}).get("format", ""))
        for value in spec.values():
            found += _x_formats(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _x_formats(item)
    return found


def _x_axes(spec: object) -> list[dict]:
    """The axis of every temporal x encoding in a chart spec, however deep its layers go."""
    found: list[dict] = []
    if isinstance(spec, dict):
        x = spec.get("encoding", {}).get("x") if isinstance(spec.get("encoding"), dict) else None
        if isinstance(x, dict) and x.get("type") == "temporal":
            found.append(x.get("axis") or {})
        for value in spec.values():
            found += _x_axes(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _x_axes(item)
    return found


def _tick_dates(axis: dict) -> list[dt.date]:
    return [dt.date(v["year"], v["month"], v["date"]) for v in axis["values"]]


def _series(grain: str, periods: list[dt.date], dimensions: list[str | None] | None = None) -> Series:
    points = [
        Point(period=p, value=float(i), rows=1, dimension=d)
        for i, p in enumerate(periods)
        for d in (dimensions if dimensions is not None else [None])
    ]
    return Series(kpi_id="k", request=SeriesRequest(grain=grain, by="channel" if dimensions else None), points=points)


def test_a_kpi_chart_labels_every_month_with_its_year():
    kpi = Kpi(id="k", name="Orders", target=Target(value=12, due=dt.date(2027, 6, 30)))
    months = [dt.date(2026, m, 1) for m in range(3, 9)]
    formats = _x_formats(json.loads(kpi_chart(kpi, _series("month", months)).to_json()))
    assert formats and all(f == "%b %Y" for f in formats), formats


def test_monthly_ticks_sit_on_the_months_never_between_them():
    kpi = Kpi(id="k", name="Orders")
    months = [dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    axes = _x_axes(kpi_chart(kpi, _series("month", months)).to_dict())
    assert axes and all(_tick_dates(a) == months for a in axes), axes


def test_ticks_by_grain_name_the_year_and_stay_on_period_starts():
    from ui.charts import MAX_TICKS

    kpi = Kpi(id="k", name="Orders")
    cases = {
        "day": ([dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(10)], "%-d %b %Y"),
        "week": ([dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(8)], "%-d %b %Y"),
        "month": ([dt.date(2020 + (m // 12), m % 12 + 1, 1) for m in range(60)], "%b %Y"),
        "quarter": ([dt.date(2024 + q // 4, q % 4 * 3 + 1, 1) for q in range(12)], "Q%q %Y"),
        "year": ([dt.date(2000 + y, 1, 1) for y in range(26)], "%Y"),
    }
    for grain, (periods, time_format) in cases.items():
        axes = _x_axes(kpi_chart(kpi, _series(grain, periods)).to_dict())
        assert axes and {a["format"] for a in axes} == {time_format}, (grain, axes)
        ticks = _tick_dates(axes[0])
        assert 2 <= len(ticks) <= MAX_TICKS, (grain, ticks)
        assert set(ticks) <= set(periods), f"{grain}: a tick between two periods: {ticks}"
    # Weekly periods start on Monday; so do their ticks (Vega's own week ticks fall on Sundays).
    weeks = _tick_dates(_x_axes(kpi_chart(kpi, _series("week", cases["week"][0])).to_dict())[0])
    assert {d.isoweekday() for d in weeks} == {1}
    # Five years of months are ticked on calendar marks, not every fifth month from the first.
    months = _tick_dates(_x_axes(kpi_chart(kpi, _series("month", cases["month"][0])).to_dict())[0])
    assert len({d.month for d in months}) <= 2 and 1 in {d.month for d in months}, months


def test_a_long_daily_series_is_ticked_by_month_and_named_by_month():
    from ui.charts import period_ticks

    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(200)]
    ticks, time_format = period_ticks(days, "day")
    assert time_format == "%b %Y"
    assert ticks and all(d.day == 1 for d in ticks), ticks


def _colour(spec: object) -> list[dict]:
    """Every colour encoding of the breakdown (field ``dimension``) in a chart spec."""
    found: list[dict] = []
    if isinstance(spec, dict):
        colour = spec.get("encoding", {}).get("color") if isinstance(spec.get("encoding"), dict) else None
        if isinstance(colour, dict) and colour.get("field") == "dimension":
            found.append(colour)
        for value in spec.values():
            found += _colour(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _colour(item)
    return found


def test_missing_and_unknown_get_different_colours_and_a_long_label_fits_the_legend():
    from ui.charts import MISSING_LABEL

    long_value = "North-western regional outlets"  # 30 characters
    assert len(long_value) == 30
    months = [dt.date(2026, m, 1) for m in range(1, 5)]
    chart = kpi_chart(Kpi(id="k", name="Orders"), _series("month", months, ["unknown", None, long_value, "web"]))
    spec = chart.to_dict()
    colours = _colour(spec)
    assert colours
    for colour in colours:
        domain, colour_range = colour["scale"]["domain"], colour["scale"]["range"]
        assert {"unknown", MISSING_LABEL, long_value, "web"} == set(domain)
        by_value = dict(zip(domain, colour_range, strict=True))
        assert by_value[MISSING_LABEL] != by_value["unknown"]
        assert len(set(colour_range)) == len(domain), "every value its own colour"
        legend = colour["legend"]
        assert legend["orient"] == "bottom"
        assert legend["labelLimit"] == 0 or legend["labelLimit"] >= len(long_value) * 8, legend
    rows = [row for rows in spec["datasets"].values() for row in rows if "dimension" in row]
    assert MISSING_LABEL in {r["dimension"] for r in rows} and None not in {r["dimension"] for r in rows}
    # One legend for the breakdown: the lines and points share their colour scale (the bands fill by status).
    assert (spec.get("resolve") or {}).get("scale", {}).get("color", "shared") == "shared"
    assert len({json.dumps(c, sort_keys=True) for c in colours}) == 1, "every layer colours the same way"


def test_data_that_holds_the_text_missing_keeps_it_apart_from_missing_values():
    from ui.charts import MISSING_LABEL

    months = [dt.date(2026, m, 1) for m in range(1, 3)]
    spec = kpi_chart(Kpi(id="k", name="Orders"), _series("month", months, [MISSING_LABEL, None])).to_dict()
    (domain,) = {tuple(c["scale"]["domain"]) for c in _colour(spec)}
    assert len(domain) == 2 and MISSING_LABEL in domain


def _texts(spec: object) -> list[str]:
    """Every text value a chart's layers carry in their data."""
    found: list[str] = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "label" and isinstance(value, str):
                found.append(value)
            found += _texts(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _texts(item)
    return found


def _preview(months: int, due: dt.date):
    from kpi_model.whatif import target_preview

    kpi = Kpi(id="k", name="Orders", direction="up", unit_of_measure="count")
    points = [
        Point(period=dt.date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1), value=100.0 + m, rows=1)
        for m in range(1, months + 1)
    ]
    return kpi, target_preview(kpi, points, target=105.0, due=due, today=dt.date(2026, 12, 5))


def test_a_projection_cut_at_the_horizon_is_marked_and_said():
    from ui.charts import target_preview_chart
    from ui.whatif_views import projection_legend

    kpi, preview = _preview(12, dt.date(2032, 12, 31))
    assert preview.verdict == "too-far-to-project" and preview.periods_ahead > preview.max_periods_ahead
    spec = json.loads(target_preview_chart(kpi, preview).to_json())
    assert "projection stops: too far" in _texts(spec)
    legend = projection_legend(preview)
    assert f"cut after {preview.max_periods_ahead} months" in legend and "with its 80% band" in legend

    kpi, near = _preview(12, dt.date(2026, 3, 31))
    assert near.periods_ahead <= near.max_periods_ahead
    assert "projection stops: too far" not in _texts(json.loads(target_preview_chart(kpi, near).to_json()))
    assert "cut after" not in projection_legend(near)


def test_a_projection_without_a_band_says_so():
    from ui.whatif_views import projection_legend

    _, preview = _preview(4, dt.date(2025, 6, 30))
    assert preview.projection and all(point.low is None for point in preview.projection)
    assert "without a band (too few complete periods" in projection_legend(preview)


def test_how_loud_a_verdict_is():
    import dataclasses

    import streamlit as st

    from ui.whatif_views import verdict

    _, preview = _preview(12, dt.date(2026, 3, 31))
    record = dataclasses.replace(preview, verdict="beyond-history", reached_on_projection=True)
    assert verdict(record) is st.warning, "a record the projection reaches is a stretch, not an alarm"
    assert verdict(dataclasses.replace(record, reached_on_projection=False)) is st.error
    assert verdict(dataclasses.replace(preview, verdict="stretch", moving_away=True)) is st.error
    assert verdict(dataclasses.replace(preview, verdict="stretch")) is st.warning


def test_the_target_chart_zones_follow_the_target_being_tried():
    from ui.charts import target_preview_chart

    kpi, preview = _preview(12, dt.date(2026, 3, 31))
    saved = kpi.model_copy(update={"target": Target(value=108.0)})  # saved inside the chart, tried 105
    spec = json.loads(target_preview_chart(saved, preview).to_json())
    zones = [row for rows in spec["datasets"].values() for row in rows if "status" in row and "from" in row]
    green = [row for row in zones if row["status"] == "green"]
    assert green and green[0]["from"] == 105.0, zones


def test_the_line_into_a_partial_period_is_dashed_and_the_solid_line_skips_it():
    kpi = Kpi(id="k", name="Orders")
    points = [Point(period=dt.date(2026, m, 1), value=float(m), rows=1) for m in range(3, 12)]
    series = Series(kpi_id="k", request=SeriesRequest(grain="month"), points=points)
    spec = json.loads(kpi_chart(kpi, series).to_json())
    lines = [layer for layer in spec["layer"] if (layer.get("mark") or {}).get("type") == "line"]
    dashed = [layer for layer in lines if layer["mark"].get("strokeDash")]
    solid = [layer for layer in lines if not layer["mark"].get("strokeDash")]
    assert len(dashed) == 1 and len(solid) == 1
    assert {"filter": "datum.complete"} in solid[0].get("transform", []), "the solid line joins complete periods only"


def _d3_label(value: float, tick_format: str) -> str:
    """A tick's label as d3 writes it for the ``,.Nf`` and ``,.N%`` formats the value axis uses."""
    decimals = int(tick_format.strip(",.%f"))
    return f"{value * 100:,.{decimals}f}%" if tick_format.endswith("%") else f"{value:,.{decimals}f}"


def _y_axes(spec: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(spec, dict):
        y = spec.get("encoding", {}).get("y") if isinstance(spec.get("encoding"), dict) else None
        if isinstance(y, dict) and y.get("type") == "quantitative" and y.get("axis"):
            found.append(y["axis"])
        for value in spec.values():
            found += _y_axes(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _y_axes(item)
    return found


def test_value_axis_labels_never_repeat():
    from ui.charts import value_ticks

    for low, high, percent in [
        (0.038, 0.056, True),
        (0.9, 1.0, True),
        (9_000, 13_000, False),
        (3.2, 4.4, False),
        (100, 100.3, False),
        (-5, 5, False),
        (0.0011, 0.0013, False),
        (2e6, 9e6, False),
    ]:
        ticks, tick_format = value_ticks(low, high, percent=percent)
        labels = [_d3_label(t, tick_format) for t in ticks]
        assert len(ticks) >= 3 and all(low <= t <= high for t in ticks), (low, high, ticks)
        assert len(set(labels)) == len(labels), (low, high, labels)
    ticks, tick_format = value_ticks(0.038, 0.056, percent=True)
    assert [_d3_label(t, tick_format) for t in ticks] == ["4.0%", "4.5%", "5.0%", "5.5%"]


def test_a_percent_kpi_chart_of_small_moves_labels_each_tick_apart():
    months = [dt.date(2026, m, 1) for m in range(1, 7)]
    points = [Point(period=p, value=0.04 + i * 0.003, rows=1) for i, p in enumerate(months)]
    kpi = Kpi(id="k", name="Conversion", unit_of_measure="percent")
    axes = _y_axes(kpi_chart(kpi, Series(kpi_id="k", request=SeriesRequest(grain="month"), points=points)).to_dict())
    assert axes
    for axis in axes:
        labels = [_d3_label(v, axis["format"]) for v in axis["values"]]
        assert len(set(labels)) == len(labels) >= 3, labels


def test_unknown_like_values_are_grey_and_no_breakdown_value_gets_a_status_colour():
    from ui.charts import MISSING_LABEL, STATUS_COLOURS, UNKNOWN_COLOURS

    months = [dt.date(2026, m, 1) for m in range(1, 4)]
    values = ["unknown", None, "N/A", *[f"shop {i}" for i in range(14)]]
    chart = kpi_chart(Kpi(id="k", name="Orders"), _series("month", months, values))
    (colour, *_) = _colour(chart.to_dict())
    by_value = dict(zip(colour["scale"]["domain"], colour["scale"]["range"], strict=True))
    assert by_value["unknown"] in UNKNOWN_COLOURS and by_value["N/A"] in UNKNOWN_COLOURS
    assert by_value["unknown"] != by_value["N/A"] != by_value[MISSING_LABEL] != by_value["unknown"]
    status_like = {STATUS_COLOURS[s] for s in (Status.RED, Status.AMBER, Status.GREEN)}
    status_like |= {"#e45756", "#54a24b", "#2ca02c", "#eeca3b"}  # the red, greens and yellow once in the palette
    assert not status_like & set(by_value.values())
