"""KPIs: per goal, add KPIs from the template library or from scratch, and fill in every field."""

import streamlit as st

from kpi_model import editing
from kpi_model.models import Kpi
from ui.feedback import apply_edit, md_escape, show_flashes
from ui.forms import goal_labels
from ui.guards import require_workspace
from ui.kpi_editor import audit_callout, kpi_card, open_at_top, orphan_cards
from ui.kpi_grid import kpi_grid
from ui.template_picker import column_mapping, loaded_column_types, template_picker

st.title("KPIs per goal")
st.caption("Three to five KPIs per goal: each with an owner, a formula on real data and a target with a date.")
show_flashes()
open_at_top()
if st.session_state.get("kpis_from_audit"):  # set by Audit → Edit, cleared when the audit shows again
    st.page_link("pages/audit.py", label="Back to the audit (it re-runs with your changes)", icon=":material/undo:")
workspace = require_workspace()
_NO_GOAL = "__no_goal__"
_NEXT_RUN = "kpis_next_run"  # widget key → value, set before the widgets are drawn (an add clears its form)
for key, value in st.session_state.pop(_NEXT_RUN, {}).items():
    st.session_state[key] = value  # sent to the browser, unlike a deleted key (the browser would keep the text)
orphans = [k for k in workspace.kpis if k.goal is None or workspace.goal(k.goal) is None]
if not workspace.goals and not orphans:
    st.info("Add a strategic goal first: every KPI measures one goal.")
    st.page_link("pages/goals.py", label="Go to Goals", icon=":material/flag:")
    st.stop()

# The strategy map's boxes link here with ?kpi=ID: open that KPI's goal with its card open.
if (linked := workspace.kpi(st.query_params.get("kpi") or "")) is not None:
    st.session_state["kpi_goal_choice"] = linked.goal if workspace.goal(linked.goal or "") else _NO_GOAL
    st.session_state["kpis_open_card"] = linked.id
st.query_params.pop("kpi", None)
labels = goal_labels(workspace)
if orphans:
    labels[_NO_GOAL] = f"KPIs without a goal ({len(orphans)})"
goal_id = st.selectbox("Goal", list(labels), format_func=labels.get, key="kpi_goal_choice")
if goal_id == _NO_GOAL:
    orphan_cards(workspace, orphans)
    st.stop()
kpis = workspace.kpis_of(goal_id)
level, hint = editing.kpi_count_hint(len(kpis))
{"ok": st.success, "low": st.warning, "high": st.warning}[level](hint, icon=":material/speed:")
# Audit → Edit: the KPI it pointed to comes first, open, above the fold; a goal's finding heads the page.
audit_callout("goal", goal_id)
audit_kpi = next((k for k in kpis if k.id == st.session_state.get("kpis_from_audit")), None)
if audit_kpi is not None:
    st.subheader("The KPI the audit pointed to")
    kpi_card(workspace, audit_kpi, only_one=True)

st.subheader("Add a KPI")
library_tab, custom_tab = st.tabs(["From the template library", "Custom KPI"])
taken = [k.id for k in workspace.kpis]
with library_tab:
    template = template_picker()
    if template is not None:
        mapped = column_mapping(template, [s.name for s in workspace.sources], loaded_column_types())
        if st.button(
            f"Add “{md_escape(template.name)}” to this goal",
            key="add_template",
            type="primary",
            disabled=bool(mapped.problems),
            help="Fix the conditions marked above first." if mapped.problems else None,
        ):
            new_id = editing.unique_id(template.id, taken, separator="_")
            draft = template  # bound where it is known not to be None; mypy does not narrow inside a lambda
            st.session_state["kpis_open_card"] = new_id
            apply_edit(
                lambda: editing.upsert_kpi(
                    workspace,
                    draft.to_kpi(
                        new_id,
                        goal=goal_id,
                        roles=mapped.roles,
                        source=mapped.source,
                        conditions=mapped.conditions,
                        only_rows=mapped.only_rows,
                    ),
                ),
                f"Added '{template.name}'. Fill in its owner, source, formula and target below.",
            )
with custom_tab, st.form("add_custom_kpi"):
    name = st.text_input("KPI name", key="custom_kpi_name", placeholder="e.g. Share of orders delivered complete")
    if st.form_submit_button("Add KPI", type="primary"):
        if not name.strip():
            st.error("Give the KPI a name.")
        else:
            new_id = editing.unique_id(editing.kpi_id_from(name), taken, separator="_")
            st.session_state["kpis_open_card"] = new_id
            apply_edit(
                lambda: editing.upsert_kpi(workspace, Kpi(id=new_id, name=name.strip(), goal=goal_id)),
                f"Added '{name.strip()}'. Fill in its fields below.",
                then={_NEXT_RUN: {"custom_kpi_name": ""}},
            )

st.subheader("KPIs of this goal")
view = (
    st.segmented_control(
        "Edit",
        ["One card per KPI", "All in a grid"],
        default="One card per KPI",
        key="kpis_view",
        label_visibility="collapsed",
    )
    or "One card per KPI"
)
if view == "All in a grid":
    grid_section = st.container(key="kpi_grid_section")  # the README's screenshot frames this
    goal = workspace.goal(goal_id)
    unit = workspace.unit(goal.unit) if goal else None
    scopes = {"goal": "This goal", **({"unit": f"Every goal of {md_escape(unit.name)}"} if unit else {})}
    with grid_section:
        scope = st.radio("Show", list(scopes), format_func=scopes.get, key="kpis_grid_scope", horizontal=True)
        if scope == "unit" and unit is not None:
            unit_kpis = [k for g in workspace.goals_of(unit.id) for k in workspace.kpis_of(g.id)]
            kpi_grid(workspace, unit_kpis, f"unit_{unit.id}", with_goal=True)
        else:
            kpi_grid(workspace, kpis, f"goal_{goal_id}")
else:
    if not kpis:
        st.info("No KPIs yet for this goal. Add one from the library above.")
    for kpi in kpis:
        if kpi is not audit_kpi:
            kpi_card(workspace, kpi, only_one=len(kpis) == 1)
st.page_link("pages/data.py", label="Next: load the data your KPIs compute on", icon=":material/arrow_forward:")
