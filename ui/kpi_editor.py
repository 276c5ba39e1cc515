"""One KPI's card on the KPIs page: its form, saving with checks, and a confirmed delete."""

from __future__ import annotations

import streamlit as st

from kpi_model import editing
from kpi_model.completeness import completeness
from kpi_model.errors import KpiWizardError
from kpi_model.formula import check_kpi_text
from kpi_model.models import Kpi, Workspace
from kpi_model.validation import parse_part
from ui import state
from ui.feedback import apply_edit, md_escape
from ui.forms import KPI_LABELS, kpi_form

_OPEN_CARD = "kpis_open_card"
_AUDIT_FINDING = "kpis_audit_finding"  # set by Audit → Edit: the finding that brought the user to a card


def loaded_columns() -> dict[str, list[str]]:
    """Columns of the open workspace's loaded tables, without loading anything."""
    data = state.datastore()
    if data is None or not data.db_path.is_file():
        return {}
    try:
        return data.engine().columns()
    except KpiWizardError:
        return {}


def _saved(workspace: Workspace, data: dict, position: tuple[str, int], old_id: str) -> Workspace:
    kpi = parse_part(Kpi, data, position)
    # Checked against the source's columns when its data is loaded: a typo is caught here, not on Preview.
    columns = loaded_columns().get(kpi.source) if kpi.source else None
    check_kpi_text(workspace, kpi, columns)
    if (st.session_state.get(_AUDIT_FINDING) or {}).get("object") == {"kind": "kpi", "id": old_id}:
        st.session_state.pop(_AUDIT_FINDING)  # the finding may be fixed now; the audit re-runs on return
    return editing.upsert_kpi(workspace, kpi, old_id=old_id)


def audit_callout(kind: str, object_id: str) -> None:
    """The audit finding that brought the user here (Audit → Edit), when it is about this KPI or goal."""
    finding = st.session_state.get(_AUDIT_FINDING)
    if isinstance(finding, dict) and finding.get("object") == {"kind": kind, "id": object_id}:
        st.warning(
            f"**From the audit** (`{finding['slug']}`): {md_escape(finding['message'])}  \n"
            f"**Fix:** {md_escape(finding['fix'])}",
            icon=":material/fact_check:",
        )


def kpi_card(workspace: Workspace, kpi: Kpi, *, only_one: bool) -> None:
    """An expander with every field of ``kpi``; stays open after it was saved."""
    share = completeness(kpi, workspace)
    expanded = only_one or st.session_state.get(_OPEN_CARD) == kpi.id
    with st.expander(f"{md_escape(kpi.name)} — {share:.0%} complete", expanded=expanded):
        audit_callout("kpi", kpi.id)
        data = kpi_form(f"kpi_{kpi.id}", workspace, kpi, loaded_columns())
        if data is not None:
            st.session_state[_OPEN_CARD] = data["id"]
            moved = data["goal"] != kpi.goal and data["goal"] is not None
            goal = workspace.goal(data["goal"]) if moved else None
            message = f"Moved '{data['name']}' to the goal '{goal.statement}'." if goal else f"Saved '{data['name']}'."
            position = ("kpis", workspace.kpis.index(kpi))
            apply_edit(lambda: _saved(workspace, data, position, kpi.id), message, labels=KPI_LABELS)
        with st.popover("Delete this KPI", icon=":material/delete:"):
            partner = f" Its pairing with '{md_escape(kpi.pairs_with)}' is removed too." if kpi.pairs_with else ""
            st.write(
                f"Delete '{md_escape(kpi.name)}'? You can bring it back from the version history on Start.{partner}"
            )
            if st.button("Yes, delete it", key=f"delete_kpi_{kpi.id}", type="primary"):
                apply_edit(lambda: editing.delete_kpi(workspace, kpi.id), f"Deleted '{kpi.name}' ({kpi.id}).")
