"""A stand-in for the Preview page, for timing a rerun whose KPI result is already cached.

Run by ``bench_engine.py`` through ``streamlit.testing.v1.AppTest``; the database file comes
from the ``KPIW_BENCH_DB`` environment variable. It does what a preview page does on every
rerun: get the session's locked engine (``st.cache_resource``), get the KPI series
(``st.cache_data``, computed by the engine the first time only), and draw it as an Altair
line chart with the latest value and the points as a table.
"""

from __future__ import annotations

import os

import altair as alt
import pandas as pd
import streamlit as st

from kpi_model.engine import Engine
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Source, Workspace

KPIS = {
    "margin": Kpi(
        id="margin",
        name="Gross margin",
        source="orders",
        expression="(sum(amount) - sum(cost)) / sum(amount)",
        time_column="order_date",
    ),
    "revenue": Kpi(id="revenue", name="Revenue", source="orders", expression="sum(amount)", time_column="order_date"),
}


@st.cache_resource
def engine(path: str) -> Engine:
    """One locked, read-only engine per database file, kept across reruns."""
    return Engine.open_database(path)


@st.cache_data
def series(path: str, kpi_json: str, by: str | None) -> pd.DataFrame:
    """The KPI per month (and per ``by``), as a DataFrame; cached on the definition."""
    kpi = Kpi.model_validate_json(kpi_json)
    workspace = Workspace(name="bench", sources=[Source(name="orders")], kpis=[kpi])
    result = engine(path).compute(workspace, kpi.id, SeriesRequest(grain="month", by=by))
    frame = pd.DataFrame(result.as_records())
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


path = os.environ["KPIW_BENCH_DB"]
st.title("Preview")
choice = st.selectbox("KPI", list(KPIS), format_func=lambda k: KPIS[k].name)
by = st.selectbox("Break down by", [None, "region", "channel"], index=1, format_func=lambda b: b or "nothing")
kpi = KPIS[choice]
frame = series(path, kpi.model_dump_json(), by)

latest = frame[frame["period"] == frame["period"].max()]
st.metric(f"{kpi.name}, {latest['period'].iloc[0]:%B %Y}", f"{latest['value'].mean():,.4g}")
color = alt.Color("dimension:N", title=by) if by else alt.value("#1f6f8b")
chart = (
    alt.Chart(frame)
    .mark_line(point=True)
    .encode(
        x=alt.X("period:T", title="Month"),
        y=alt.Y("value:Q", title=kpi.name),
        color=color,
        tooltip=["period:T", "value:Q", "rows:Q"],
    )
)
st.altair_chart(chart, width="stretch")
st.dataframe(frame, hide_index=True)
