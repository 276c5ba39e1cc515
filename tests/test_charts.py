"""Charts name the year on every time tick (a few months' chart, or its right end, must not leave it open)."""

from __future__ import annotations

import datetime as dt
import json

from kpi_model.engine import Point, Series
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Target
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


def test_a_kpi_chart_labels_every_month_with_its_year():
    kpi = Kpi(id="k", name="Orders", target=Target(value=12, due=dt.date(2027, 6, 30)))
    points = [Point(period=dt.date(2026, m, 1), value=float(m), rows=1) for m in range(3, 9)]
    series = Series(kpi_id="k", request=SeriesRequest(grain="month"), points=points)
    formats = _x_formats(json.loads(kpi_chart(kpi, series).to_json()))
    assert formats and all(f == "%b %Y" for f in formats), formats


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
