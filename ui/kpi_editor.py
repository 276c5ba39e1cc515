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
_SCROLL_TOP = "kpis_scroll_top"  # set by Audit → Edit, used once
# A fixed script, no user text in it: the browser keeps the Audit page's scroll position across the page switch.
_TO_TOP = """<script>
for (const selector of ['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]']) {
  document.querySelector(selector)?.scrollTo(0, 0);
}
window.scrollTo(0, 0);
</script>"""


def open_at_top() -> None:
    """After Audit → Edit, show the page from its top, where the card the audit pointed to is."""
    if st.session_state.pop(_SCROLL_TOP, False):
        st.html(_TO_TOP, unsafe_allow_javascript=True)


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


def orphan_cards(workspace: Workspace, orphans: list[Kpi]) -> None:
    """The KPIs without a goal; the one Audit → Edit pointed to comes first and alone, the rest on request."""
    if workspace.goals:
        st.warning("These KPIs measure no goal: pick one for each in its Goal field, or delete it.")
    else:
        st.warning(
            "This workspace has no goals yet: add them on the Goals page, then pick one in each KPI's Goal field."
        )
        st.page_link("pages/goals.py", label="Go to Goals", icon=":material/flag:")
    pointed = next((k for k in orphans if k.id == st.session_state.get("kpis_from_audit")), None)
    others = [k for k in orphans if k is not pointed]
    if pointed is not None:
        st.subheader("The KPI the audit pointed to")
        kpi_card(workspace, pointed, only_one=True)
        if others and not st.toggle(
            f"Show the other {len(others)} KPIs without a goal", key="kpis_show_other_orphans", value=False
        ):
            return
        st.subheader("The other KPIs without a goal")
    if len(others) > 8:
        wanted = st.text_input("Find a KPI", key="kpis_orphan_filter", placeholder="part of its name or id")
        needle = wanted.strip().casefold()
        if needle:
            others = [k for k in others if needle in k.name.casefold() or needle in k.id]
            st.caption(f"{len(others)} match.")
    for kpi in others:
        kpi_card(workspace, kpi, only_one=len(orphans) == 1)
