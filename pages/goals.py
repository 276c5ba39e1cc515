"""Goals: the organisational units and the strategic goals of each."""

import streamlit as st

from kpi_model import editing
from kpi_model.models import Goal, Unit
from kpi_model.validation import parse_part
from ui.feedback import apply_edit, md_escape, show_flashes
from ui.forms import goal_form, unit_form
from ui.guards import require_workspace

st.title("Units and strategic goals")
st.caption("Each unit states the few goals it will be judged on; each goal gets 3–5 KPIs on the next page.")
show_flashes()
workspace = require_workspace()

units_tab, goals_tab = st.tabs(["Units", "Goals"])

with units_tab:
    if workspace.units:
        st.dataframe(
            [
                {"Unit": u.name, "Id": u.id, "Head": u.owner or "—", "Goals": len(workspace.goals_of(u.id))}
                for u in workspace.units
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.info("No units yet. Add the first one: a team or department that owns strategic goals.")
    st.markdown("##### Add a unit")
    if (data := unit_form("add_unit")) is not None:
        data["id"] = data["id"] or editing.unique_id(editing.slugify(data["name"]), [u.id for u in workspace.units])
        apply_edit(lambda: editing.upsert_unit(workspace, parse_part(Unit, data)), f"Added unit '{data['name']}'.")
    if workspace.units:
        st.markdown("##### Edit a unit")
        names = {u.id: u.name for u in workspace.units}
        chosen = st.selectbox("Unit to edit", list(names), format_func=names.get, key="edit_unit_choice")
        unit = workspace.unit(chosen)
        if (data := unit_form(f"edit_unit_{chosen}", unit)) is not None:
            data["id"] = data["id"] or chosen
            apply_edit(
                lambda: editing.upsert_unit(workspace, parse_part(Unit, data), old_id=chosen),
                f"Saved unit '{data['name']}'.",
            )
        if st.button("Delete this unit", key=f"delete_unit_{chosen}"):
            apply_edit(lambda: editing.delete_unit(workspace, chosen), f"Deleted unit '{names[chosen]}'.")

with goals_tab:
    if not workspace.units:
        st.info("Add a unit first: every goal belongs to one unit.")
        st.stop()
    for unit in workspace.units:
        goals = workspace.goals_of(unit.id)
        st.markdown(f"**{md_escape(unit.name)}** — {len(goals)} goal{'s' if len(goals) != 1 else ''}")
        for goal in goals:
            level, hint = editing.kpi_count_hint(len(workspace.kpis_of(goal.id)))
            due = f" · due {goal.due:%Y-%m-%d}" if goal.due else " · no due date"
            marker = {"ok": ":material/check_circle:", "low": ":material/add_circle:", "high": ":material/warning:"}
            st.markdown(f"- {md_escape(goal.statement)}{due} — {marker[level]} {md_escape(hint)}")
    st.markdown("##### Add a goal")
    if (data := goal_form("add_goal", workspace)) is not None:
        data["id"] = data["id"] or editing.unique_id(
            editing.slugify(data["statement"]), [g.id for g in workspace.goals]
        )
        apply_edit(lambda: editing.upsert_goal(workspace, parse_part(Goal, data)), "Added the goal. Next: its KPIs.")
    if workspace.goals:
        st.markdown("##### Edit a goal")
        statements = {g.id: g.statement for g in workspace.goals}
        chosen = st.selectbox("Goal to edit", list(statements), format_func=statements.get, key="edit_goal_choice")
        if (data := goal_form(f"edit_goal_{chosen}", workspace, workspace.goal(chosen))) is not None:
            data["id"] = data["id"] or chosen
            apply_edit(lambda: editing.upsert_goal(workspace, parse_part(Goal, data), old_id=chosen), "Saved the goal.")
        kpi_count = len(workspace.kpis_of(chosen))
        also_kpis = st.checkbox(
            f"Also delete its {kpi_count} KPIs (otherwise they are kept without a goal)",
            key=f"delete_goal_kpis_{chosen}",
            disabled=kpi_count == 0,
        )
        if st.button("Delete this goal", key=f"delete_goal_{chosen}"):
            apply_edit(lambda: editing.delete_goal(workspace, chosen, delete_kpis=also_kpis), "Deleted the goal.")
    st.page_link("pages/kpis.py", label="Next: choose KPIs for each goal", icon=":material/arrow_forward:")
