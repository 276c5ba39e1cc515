"""Audit: the quality findings of the open KPI set, or of one imported from a spreadsheet or dbt."""

import streamlit as st

from kpi_model.checks import Severity, audit, rules
from kpi_model.errors import KpiWizardError
from ui import state
from ui.audit_compare_views import before_after
from ui.audit_views import (
    exports,
    findings_section,
    forget_filters_of_another_workspace,
    import_notes,
    summary,
    verdict_section,
)
from ui.data_views import open_data
from ui.feedback import show_error, show_flashes
from ui.register_import import register_import

st.title("Audit")
st.caption("What would a sceptical reviewer say about these KPIs? Every finding names the problem and the fix.")
show_flashes()
workspace = state.workspace()
st.session_state.pop("kpis_from_audit", None)
st.session_state.pop("kpis_audit_finding", None)  # the finding an Edit carried; the audit below is fresh
forget_filters_of_another_workspace()
with st.expander("Audit an existing KPI set: import a spreadsheet or dbt metrics", expanded=workspace is None):
    st.caption(
        "The imported set opens as a new workspace; the one open now stays saved (Start → Your saved workspaces)."
    )
    register_import("audit", go_to_audit=False)
if workspace is None:
    st.info("Or open a workspace on the Start page (the sample has deliberate flaws to find).")
    st.stop()

import_notes()
if not workspace.kpis:
    st.info(
        "This workspace has no KPIs yet, so there is nothing to audit: add some on the KPIs page, "
        "or import an existing set above."
    )
    st.page_link("pages/kpis.py", label="Go to KPIs", icon=":material/speed:")
    st.stop()
slugs = [rule.slug for rule in rules()]
left, right = st.columns([1, 2])
data = open_data()
loaded = data is not None and data.has_data()
use_data = left.toggle(
    "Use the loaded data",
    value=loaded,
    key="audit_use_data",
    disabled=not loaded,
    help="Data rules (small samples, data quality, formulas that fail on the data) need it.",
)
if not loaded:
    left.caption("No data is loaded, so the data rules do not run: load it on the Data page.")
ignored = right.multiselect("Skip rules", slugs, key="audit_ignore", placeholder="none skipped")
engine = data.engine() if use_data and loaded and data is not None else None
try:
    with st.spinner("Auditing…"):
        report = audit(workspace, engine=engine, ignore=set(ignored))
except KpiWizardError as error:
    show_error(error, headline="The audit could not run.")
    st.stop()
summary(report)
verdict_section(report)
before_after(report, engine=engine, ignored=ignored)

st.subheader("Findings")
severity_col, slug_col = st.columns([1, 2])
severities = severity_col.multiselect(
    "Severity", [s.value for s in Severity], default=["error", "warning"], key="audit_severity"
)
only = slug_col.multiselect(
    "Only these rules", sorted({f.slug for f in report.findings}), key="audit_only", placeholder="all rules"
)
of_rules = [f for f in report.findings if not only or f.slug in only]
shown = [f for f in of_rules if f.severity.value in severities]
hidden = {f.severity.value for f in of_rules if f.severity.value not in severities}
if not shown and hidden:
    counts = ", ".join(f"{sum(f.severity.value == h for f in of_rules)} at '{h}'" for h in sorted(hidden))
    st.info(f"Nothing at the chosen severity; {counts} hidden: add it under Severity to read the findings.")
elif not shown:
    st.success("Nothing to show with these filters.")
findings_section(report, shown)
st.subheader("Export")
exports(report)
