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
