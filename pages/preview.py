"""Preview: compute one KPI on the loaded data, per period, against its target and thresholds."""

from dataclasses import replace

import streamlit as st

from kpi_model import editing
from kpi_model.errors import KpiWizardError
from kpi_model.formula import Compiler
from kpi_model.periods import cadence_grain
from ui import state
from ui.data_views import open_data
from ui.feedback import apply_edit, md_escape, show_error, show_flashes
from ui.guards import require_workspace
from ui.preview_views import (
    data_as_of,
    formula_editor,
    headline,
    request_controls,
    results,
    sql_panel,
    without_targets,
)

st.title("Preview")
st.caption("A KPI computed on your data: does it say what you meant, and what would the target have meant?")
show_flashes()
workspace = require_workspace()
data = open_data()
if data is None:
    st.stop()
engine = data.engine()
columns = engine.columns()
candidates = {k.id: k for k in workspace.kpis if k.expression}
if not candidates:
    st.info("No KPI has a formula yet. Add one on the KPIs page (templates come with formulas).")
    st.stop()
chosen = st.selectbox("KPI", list(candidates), key="preview_kpi", format_func=lambda i: candidates[i].name)
kpi = candidates[chosen]
derived = Compiler(workspace).is_derived(kpi)
source_columns = None if derived else columns.get(kpi.source or "")
if not derived and source_columns is None:
    st.warning(f"'{md_escape(kpi.name)}' has no data yet: give it a source with loaded data (Data page).")
    st.page_link("pages/data.py", label="Go to Data", icon=":material/database:")
    st.stop()
st.caption(
    f"Derived from other KPIs: {md_escape(kpi.expression)}"
    if derived
    else f"Source: {md_escape(kpi.source)} · time column: {md_escape(kpi.time_column or 'not set yet')}"
)

edited, formula_ok = formula_editor(kpi, workspace, source_columns, derived)
if not formula_ok:
    st.stop()
changed = (edited.expression, edited.filter) != (kpi.expression, kpi.filter)
if changed and st.button("Save formula to the KPI", key="preview_save", type="primary"):
    apply_edit(lambda: editing.upsert_kpi(workspace, edited, old_id=kpi.id), f"Saved the formula of '{kpi.name}'.")
request = request_controls(kpi, [] if derived else sorted(source_columns or []))
if request is None:
    st.stop()
trial = workspace.model_copy(update={"kpis": [edited if k.id == kpi.id else k for k in workspace.kpis]})
try:
    with st.spinner("Computing…"):
        series = engine.compute(trial, kpi.id, request)
except KpiWizardError as error:
    show_error(error, headline="This KPI does not compute yet.")
    st.stop()
total = engine.compute(trial, kpi.id, replace(request, by=None)) if request.by else series
at_cadence = request.grain == cadence_grain(kpi.cadence)
# Target, thresholds and baseline are per review period and for the whole KPI: against weekly
# values of a monthly KPI, or one category's line, they would mislead.
judged = edited if at_cadence else without_targets(edited)
if not at_cadence:
    st.caption(f"Target and status are set per {cadence_grain(kpi.cadence)}: choose that period to compare with them.")
if as_of := data_as_of(total):
    st.caption(f":material/event_available: {as_of}")
headline(judged, total)
results(judged if not request.by else without_targets(judged), series)
with st.expander("SQL"):
    sql_panel(trial, edited, request, engine)
if state.workspace_id() is None:
    st.caption("Saving a formula saves your own copy of this workspace.")
