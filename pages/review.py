"""Review: the whole set per unit → goal → KPI, what is filled in, and the file to keep."""

import streamlit as st

from kpi_model import editing, workspace_file
from kpi_model.completeness import FIELD_CHECKS, completeness, field_status
from kpi_model.models import Kpi, Workspace
from ui.bundle_views import bundle_download
from ui.data_views import open_data
from ui.dbt_download import dbt_download
from ui.feedback import md_escape, show_flashes
from ui.guards import require_workspace
from ui.report_views import report_download

st.title("Review")
st.caption("Every KPI and what it still lacks: a KPI is ready when it has an owner, a formula, a target and a date.")
show_flashes()
workspace = require_workspace()


# In the per-field view the owner has a column of its own and the goal is the table's heading.
_ELSEWHERE = {"owner", "goal"}


def kpi_rows(items: list[Kpi], ws: Workspace, *, every_field: bool) -> list[dict[str, object]]:
    """One table row per KPI: name, owner, completeness, and what is missing (or a mark per field)."""
    rows: list[dict[str, object]] = []
    for k in items:
        status = field_status(k, ws)
        row: dict[str, object] = {"KPI": k.name, "Owner": k.owner or "—", "Complete": round(100 * completeness(k, ws))}
        if every_field:
            row |= {label: "✓" if ok else "✗" for label, ok in status.items() if label not in _ELSEWHERE}
        else:
            row["Missing"] = ", ".join(label for label, ok in status.items() if not ok) or "—"
        rows.append(row)
    return rows


column_config = {
    "KPI": st.column_config.TextColumn("KPI", pinned=True),
    "Complete": st.column_config.ProgressColumn("Complete", format="%d%%", min_value=0, max_value=100),
    "Missing": st.column_config.TextColumn("Missing", width="large"),
    **{label: st.column_config.TextColumn(label) for label in FIELD_CHECKS if label not in _ELSEWHERE},
}
total = len(workspace.kpis)
ready = sum(1 for k in workspace.kpis if completeness(k, workspace) == 1)
left, middle, right = st.columns(3)
left.metric("KPIs", total)
middle.metric("Fully specified", f"{ready} of {total}")
right.metric(
    "Goals within 3–5 KPIs",
    f"{sum(1 for g in workspace.goals if editing.kpi_count_hint(len(workspace.kpis_of(g.id)))[0] == 'ok')}"
    f" of {len(workspace.goals)}",
)
every_field = st.toggle(
    "A mark per field", key="review_every_field", help="One column per field instead of a list of what is missing."
)

for unit in workspace.units:
    st.header(md_escape(unit.name), divider="gray")
    if unit.owner:
        st.caption(f"Head: {md_escape(unit.owner)}")
    goals = workspace.goals_of(unit.id)
    if not goals:
        st.info("No goals yet for this unit.")
    for goal in goals:
        kpis = workspace.kpis_of(goal.id)
        level, hint = editing.kpi_count_hint(len(kpis))
        st.subheader(md_escape(goal.statement))
        st.caption(f"{'Due ' + goal.due.isoformat() if goal.due else 'No due date'} · {hint}")
        if kpis:
            st.dataframe(
                kpi_rows(kpis, workspace, every_field=every_field),
                hide_index=True,
                column_config=column_config,
                key=f"review_{goal.id}",
            )

orphans = [k for k in workspace.kpis if not k.goal or workspace.goal(k.goal) is None]
if orphans:
    st.header("KPIs without a goal", divider="orange")
    st.warning("Each KPI should measure exactly one goal: assign these on the KPIs page or delete them.")
    st.dataframe(
        kpi_rows(orphans, workspace, every_field=every_field),
        hide_index=True,
        column_config=column_config,
        key="review_orphans",
    )

st.header("Keep it", divider="gray")
st.write("Download the workspace to keep it in git, share it, or open it again later with **Upload** on Start.")
stem = editing.slugify(workspace.name)
yaml_col, json_col, dbt_col, bundle_col = st.columns([1, 1, 1.4, 1.2])  # side by side, not half a page apart
yaml_col.download_button(
    "Download YAML",
    workspace_file.dumps(workspace, "yaml"),
    file_name=f"{stem}.yaml",
    mime="application/yaml",
    key="download_yaml",
    type="primary",
)
json_col.download_button(
    "Download JSON",
    workspace_file.dumps(workspace, "json"),
    file_name=f"{stem}.json",
    mime="application/json",
    key="download_json",
)
dbt_download(workspace, dbt_col)
bundle_download(workspace, bundle_col)
st.write("Or the scorecard report to print, project or send: cover, strategy map, a page per unit, KPI sheets.")
report_download(workspace, open_data(), key="review_report")
