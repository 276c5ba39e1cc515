"""Goals: the organisational units and the strategic goals of each."""

from collections.abc import Callable

import streamlit as st

from kpi_model import editing
from kpi_model.models import Goal, Unit
from kpi_model.validation import parse_part
from ui.feedback import apply_edit, md_escape, plural, show_flashes
from ui.forms import GOAL_LABELS, UNIT_LABELS, goal_form, unit_form
from ui.guards import require_workspace
from ui.kpi_editor import audit_callout


def _choice(label: str, ids: list[str], names: Callable[[str], str | None], remembered: str) -> str:
    """A selectbox whose choice is kept in ``remembered`` (so a rename can keep it selected)."""
    wanted = st.session_state.get(remembered)
    chosen = st.selectbox(label, ids, format_func=names, index=ids.index(wanted) if wanted in ids else 0)
    st.session_state[remembered] = chosen
    return chosen


_VIEW = "goals_view"  # the Units/Goals control
_SHOWN = "goals_view_shown"  # the view shown last; Audit → Edit sets it to open Units
_WRITTEN = "goals_view_written"  # what this page last wrote to _SHOWN: a different value was asked for elsewhere
_NEXT_RUN = "goals_next_run"  # widget key → value, set at the start of the next run (after an add)

st.title("Units and strategic goals")
st.caption("Each unit states the few goals it will be judged on; each goal gets 3–5 KPIs on the next page.")
show_flashes()
if st.session_state.get("kpis_from_audit"):  # set by Audit → Edit, cleared when the audit shows again
    st.page_link("pages/audit.py", label="Back to the audit (it re-runs with your changes)", icon=":material/undo:")
workspace = require_workspace()
# An add sets the widgets of the next run here, before they are drawn: a value set through the session
# state is sent to the browser, while a deleted key is not, and the browser would keep showing (and
# send again) what was typed, making a second "Operations" on the next click.
for key, value in st.session_state.pop(_NEXT_RUN, {}).items():
    st.session_state[key] = value
asked = st.session_state.get(_SHOWN)
if asked is not None and asked != st.session_state.get(_WRITTEN):  # set elsewhere (Audit → Edit): show that view
    st.session_state[_VIEW] = asked
elif _VIEW not in st.session_state:  # arriving on the page: the view shown last
    st.session_state[_VIEW] = asked or ("Goals" if workspace.units else "Units")
view = st.segmented_control("Show", ["Units", "Goals"], key=_VIEW, label_visibility="collapsed")
if view is None:  # the chosen option was clicked again: keep showing it, and show it chosen
    st.session_state[_NEXT_RUN] = {_VIEW: st.session_state.get(_SHOWN, "Units")}
    st.rerun()
st.session_state[_SHOWN] = st.session_state[_WRITTEN] = view
unit_fields = {"add_unit_name": "", "add_unit_id": "", "add_unit_owner": "", "add_unit_description": ""}
goal_fields = {"add_goal_statement": "", "add_goal_id": "", "add_goal_due": None, "add_goal_owner": ""}

if view == "Units":
    if workspace.units:
        rows = [
            {"Unit": u.name, "Id": u.id, "Head": u.owner or "—", "Goals": len(workspace.goals_of(u.id))}
            for u in workspace.units
        ]
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.info("No units yet. Add the first one: a team or department that owns strategic goals.")
    st.markdown("##### Add a unit")
    if (data := unit_form("add_unit")) is not None:
        data["id"] = data["id"] or editing.unique_id(editing.slugify(data["name"]), [u.id for u in workspace.units])
        apply_edit(
            lambda: editing.upsert_unit(workspace, parse_part(Unit, data)),
            f"Added unit '{data['name']}'. Next: its strategic goals.",
            labels=UNIT_LABELS,
            then={_NEXT_RUN: {**unit_fields, _VIEW: "Goals", "add_goal_unit": data["id"]}},
        )
    if workspace.units:
        st.markdown("##### Edit a unit")
        names = {u.id: u.name for u in workspace.units}
        chosen = _choice("Unit to edit", list(names), names.get, "edit_unit_chosen")
        audit_callout("unit", chosen)
        if (data := unit_form(f"edit_unit_{chosen}", workspace.unit(chosen))) is not None:
            data["id"] = data["id"] or chosen
            apply_edit(
                lambda: editing.upsert_unit(workspace, parse_part(Unit, data), old_id=chosen),
                f"Saved unit '{data['name']}'.",
                labels=UNIT_LABELS,
                then={"edit_unit_chosen": data["id"]},
            )
        with st.popover("Delete this unit", icon=":material/delete:"):
            st.write(f"Delete the unit '{md_escape(names[chosen])}'? Only a unit without goals can be deleted.")
            if st.button("Yes, delete it", key=f"delete_unit_{chosen}", type="primary"):
                apply_edit(lambda: editing.delete_unit(workspace, chosen), f"Deleted unit '{names[chosen]}'.")
    st.stop()

if not workspace.units:
    st.info("Add a unit first: every goal belongs to one unit.")
    st.stop()
for unit in workspace.units:
    goals = workspace.goals_of(unit.id)
    st.markdown(f"**{md_escape(unit.name)}** — {plural(len(goals), 'goal')}")
    for goal in goals:
        level, hint = editing.kpi_count_hint(len(workspace.kpis_of(goal.id)))
        due = f" · due {goal.due:%Y-%m-%d}" if goal.due else " · no due date"
        marker = {"ok": ":material/check_circle:", "low": ":material/add_circle:", "high": ":material/warning:"}
        st.markdown(f"- {md_escape(goal.statement)}{due} — {marker[level]} {md_escape(hint)}")
st.markdown("##### Add a goal")
if (data := goal_form("add_goal", workspace)) is not None:
    data["id"] = data["id"] or editing.unique_id(editing.slugify(data["statement"]), [g.id for g in workspace.goals])
    apply_edit(
        lambda: editing.upsert_goal(workspace, parse_part(Goal, data)),
        "Added the goal. Next: its KPIs.",
        labels=GOAL_LABELS,
        then={_NEXT_RUN: goal_fields},
    )
if workspace.goals:
    st.markdown("##### Edit a goal")
    statements = {g.id: g.statement for g in workspace.goals}
    chosen = _choice("Goal to edit", list(statements), statements.get, "edit_goal_chosen")
    if (data := goal_form(f"edit_goal_{chosen}", workspace, workspace.goal(chosen))) is not None:
        data["id"] = data["id"] or chosen
        apply_edit(
            lambda: editing.upsert_goal(workspace, parse_part(Goal, data), old_id=chosen),
            "Saved the goal.",
            labels=GOAL_LABELS,
            then={"edit_goal_chosen": data["id"]},
        )
    kpi_count = len(workspace.kpis_of(chosen))
    with st.popover("Delete this goal", icon=":material/delete:"):
        also_kpis = kpi_count > 0 and st.checkbox(
            f"Also delete its {plural(kpi_count, 'KPI')} (otherwise they are kept, without a goal, on the KPIs page)",
            key=f"delete_goal_kpis_{chosen}",
        )
        if kpi_count == 0:
            st.caption("The goal has no KPIs.")
        if st.button("Yes, delete the goal", key=f"delete_goal_{chosen}", type="primary"):
            apply_edit(lambda: editing.delete_goal(workspace, chosen, delete_kpis=also_kpis), "Deleted the goal.")
st.page_link("pages/kpis.py", label="Next: choose KPIs for each goal", icon=":material/arrow_forward:")
