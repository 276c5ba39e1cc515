"""Dashboard: one page per unit, each KPI as a tile with its latest value, target gap and status."""

import streamlit as st

from kpi_model.status import kpi_value, latest_of, status
from ui.dashboard_views import compute_unit, data_as_of, tile
from ui.data_views import open_data
from ui.feedback import md_escape, show_flashes
from ui.guards import require_workspace
from ui.report_views import report_download, strategy_map

st.title("Dashboard")
st.caption(
    "One page per unit: each KPI's last complete period, how far it is from its target, and its status by "
    "the KPI's thresholds (on track, warning, critical). A period the data does not cover to its end is "
    "partial: named on the tile, never judged."
)
show_flashes()
workspace = require_workspace()
if not workspace.units:
    st.info("Add units and goals first: the dashboard has one page per unit.")
    st.stop()
data = open_data()
if data is None:
    st.stop()
MAP = "__strategy_map__"
names = {u.id: u.name for u in workspace.units} | {MAP: ":material/account_tree: Strategy map"}
unit_id = (
    st.segmented_control(
        "Unit",
        list(names),
        format_func=lambda i: names[i] if i == MAP else md_escape(names[i]),  # options are Markdown
        default=workspace.units[0].id,
        key="dashboard_unit",
    )
    or workspace.units[0].id
)
engine = data.engine()
if unit_id == MAP:
    with st.spinner("Computing every KPI for the map…"):
        everything = compute_unit(engine, workspace, workspace.kpis)
    latest = {k: latest_of(r) for k, r in everything.items() if not isinstance(r, Exception)}
    by_id = {k.id: k for k in workspace.kpis}
    statuses = {k: status(by_id[k], p.value) for k, p in latest.items() if p is not None}
    values = {k: kpi_value(by_id[k], p.value) for k, p in latest.items() if p is not None}
    strategy_map(workspace, statuses, values)
else:
    unit = workspace.unit(unit_id)
    st.caption(f"Head: {md_escape(unit.owner)}" if unit and unit.owner else "Each KPI at its review cadence.")
    goals = [(goal.statement, workspace.kpis_of(goal.id)) for goal in workspace.goals_of(unit_id)]
    # A KPI of this unit that measures no goal (yet) still belongs on its page.
    goalless = [k for k in workspace.kpis if k.unit == unit_id and workspace.goal(k.goal or "") is None]
    if goalless:
        goals.append(("KPIs of this unit without a goal", goalless))
    with st.spinner("Computing…"):
        computed = {heading: compute_unit(engine, workspace, kpis) for heading, kpis in goals}
    if as_of := data_as_of({k: r for results in computed.values() for k, r in results.items()}):
        st.caption(f":material/event_available: {as_of}")
    for heading, kpis in goals:
        st.subheader(md_escape(heading))
        if not kpis:
            st.caption("No KPIs for this goal yet.")
            continue
        results = computed[heading]
        for start in range(0, len(kpis), 3):
            for column, kpi in zip(st.columns(3), kpis[start : start + 3], strict=False):
                with column:
                    tile(kpi, results.get(kpi.id))
st.divider()
st.subheader("Take it home")
st.caption(
    "The scorecard report: a cover with data as of and the verdicts, the strategy map, one page per unit, a "
    "definition sheet per KPI and the audit summary for the board. The PDF and the HTML file hold the same."
)
report_download(workspace, data, key="dashboard_report")
