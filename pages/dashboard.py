"""Dashboard: one page per unit, each KPI as a tile with its latest value, target gap and status."""

import streamlit as st

from ui.dashboard_views import compute_unit, tile
from ui.data_views import open_data
from ui.feedback import md_escape, show_flashes
from ui.guards import require_workspace

st.title("Dashboard")
st.caption(
    "One page per unit: each KPI's last complete period, how far it is from its target, and its status by "
    "the KPI's thresholds (on track, warning, critical)."
)
show_flashes()
workspace = require_workspace()
if not workspace.units:
    st.info("Add units and goals first: the dashboard has one page per unit.")
    st.stop()
data = open_data()
if data is None:
    st.stop()
names = {u.id: u.name for u in workspace.units}
unit_id = (
    st.segmented_control(
        "Unit",
        list(names),
        format_func=lambda i: md_escape(names[i]),  # segmented-control options are Markdown
        default=workspace.units[0].id,
        key="dashboard_unit",
    )
    or workspace.units[0].id
)
unit = workspace.unit(unit_id)
st.caption(f"Head: {md_escape(unit.owner)}" if unit and unit.owner else "Each KPI at its review cadence.")
engine = data.engine()
for goal in workspace.goals_of(unit_id):
    st.subheader(md_escape(goal.statement))
    kpis = workspace.kpis_of(goal.id)
    if not kpis:
        st.caption("No KPIs for this goal yet.")
        continue
    with st.spinner("Computing…"):
        results = compute_unit(engine, workspace, kpis)
    for start in range(0, len(kpis), 3):
        for column, kpi in zip(st.columns(3), kpis[start : start + 3], strict=False):
            with column:
                tile(kpi, results.get(kpi.id))
