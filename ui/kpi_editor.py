"""One KPI's card on the KPIs page: its form, saving with checks, and a confirmed delete."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from kpi_model import editing, workspace_file
from kpi_model.checks import Finding, Severity, audit
from kpi_model.completeness import completeness
from kpi_model.errors import KpiWizardError
from kpi_model.formula import check_kpi_text
from kpi_model.models import Kpi, Workspace
from kpi_model.validation import parse_part
from ui import state
from ui.feedback import apply_edit, capitalised, md_escape, plural
from ui.forms import KPI_LABELS, kpi_form
from ui.template_picker import loaded_column_types
from ui.values import NUMBER_KEYS

_OPEN_CARD = "kpis_open_card"
_AUDIT_FINDING = "kpis_audit_finding"  # set by Audit → Edit: the finding that brought the user to a card
_SCROLL_TOP = "kpis_scroll_top"  # set by Audit → Edit, used once
_OPEN_BEFORE_SAVE = "kpis_audit_open_before_save"  # KPI id → its open findings (slug, message) before its last save
_BADGE = {
    Severity.ERROR: ":red-badge[error]",
    Severity.WARNING: ":orange-badge[warning]",
    Severity.INFO: ":gray-badge[info]",
}
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
    return editing.upsert_kpi(workspace, kpi, old_id=old_id)


# The audit's rules without data take about ten milliseconds on a register of a few dozen KPIs; kept per
# version of the workspace, since a card redraws on every click. Data rules are left to the Audit page.
@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _findings_by_kpi(fingerprint: str, _workspace: Workspace) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in audit(_workspace).findings:
        if finding.object.kind == "kpi" and finding.scored:
            found.setdefault(finding.object.id, []).append(finding)
    return found


def open_findings(workspace: Workspace, kpi_id: str) -> list[Finding]:
    """The audit's findings (without data) on one KPI of ``workspace`` as it is now, errors first."""
    fingerprint = hashlib.sha256(workspace_file.dumps(workspace).encode()).hexdigest()
    found = _findings_by_kpi(fingerprint, _workspace=workspace).get(kpi_id, [])
    return sorted(found, key=lambda f: -f.severity.rank)


def _fixed_since(before: list[tuple[str, str]], now: list[Finding]) -> list[tuple[str, str]]:
    """Findings of ``before`` gone ``now``: matched word for word, then by rule (a reworded one is not fixed)."""
    left = list(before)
    reworded = []
    for finding in now:
        if (finding.slug, finding.message) in left:
            left.remove((finding.slug, finding.message))
        else:
            reworded.append(finding)
    for finding in reworded:
        same_rule = next((i for i, (slug, _) in enumerate(left) if slug == finding.slug), None)
        if same_rule is not None:
            left.pop(same_rule)
    return left


def _from_audit(kind: str, object_id: str) -> dict[str, Any] | None:
    finding = st.session_state.get(_AUDIT_FINDING)
    if isinstance(finding, dict) and finding.get("object") == {"kind": kind, "id": object_id}:
        return finding
    return None


def audit_callout(kind: str, object_id: str) -> None:
    """The audit finding that brought the user here (Audit → Edit), when it is about this goal."""
    finding = _from_audit(kind, object_id)
    if finding is not None:
        st.warning(
            f"**From the audit** (`{finding['slug']}`): {md_escape(finding['message'])}  \n"
            f"**Fix:** {md_escape(finding['fix'])}",
            icon=":material/fact_check:",
        )


def _about_this_kpi(message: str) -> str:
    """A finding's message without the KPI's name in front (the card names it): "Has no direction: …"."""
    if message.startswith("KPI '") and (end := message.find(") ")) != -1:
        message = message[end + 2 :]
    return capitalised(message)


def _finding_line(finding: Finding, clicked: bool) -> str:
    here = " :small[(the one you clicked)]" if clicked else ""
    return (
        f"- {_BADGE[finding.severity]} `{finding.slug}`{here}: {md_escape(_about_this_kpi(finding.message))}  \n"
        f"  **Fix:** {md_escape(finding.fix)}"
    )


def kpi_audit_callout(workspace: Workspace, kpi: Kpi) -> None:
    """After Audit → Edit: every open finding on this KPI, re-audited from the workspace as it is now.

    After a save it says which findings the save fixed and keeps listing the ones still open.
    """
    clicked = _from_audit("kpi", kpi.id)
    if clicked is None:
        return
    now = open_findings(workspace, kpi.id)
    before = st.session_state.get(_OPEN_BEFORE_SAVE, {}).get(kpi.id)
    if before is not None and (fixed := _fixed_since(before, now)):
        st.success(
            f"**Just fixed** ({plural(len(fixed), 'finding')}):\n\n"
            + "\n".join(f"- `{slug}`: {md_escape(_about_this_kpi(message))}" for slug, message in fixed),
            icon=":material/check_circle:",
        )
    # The one clicked: the same words, else (reworded since) the first of its rule.
    same = [f for f in now if f.slug == clicked.get("slug") and f.message == clicked.get("message")]
    marked = same[0] if same else next((f for f in now if f.slug == clicked.get("slug")), None)
    lines = [_finding_line(f, f is marked) for f in now]
    if marked is None and before is None:
        # A data rule (its findings need the loaded data) is re-checked on the Audit page, not here.
        lines.insert(
            0,
            f"- `{clicked['slug']}` :small[(the one you clicked)]: {md_escape(_about_this_kpi(clicked['message']))}  \n"
            f"  **Fix:** {md_escape(clicked['fix'])}",
        )
    if lines:
        st.warning(
            f"**From the audit**: {plural(len(lines), 'open finding')} on this KPI\n\n" + "\n".join(lines),
            icon=":material/fact_check:",
        )
    else:
        st.success(
            "**From the audit**: no open findings left on this KPI. Go back to the audit to see the score.",
            icon=":material/fact_check:",
        )


def kpi_card(workspace: Workspace, kpi: Kpi, *, only_one: bool) -> None:
    """An expander with every field of ``kpi``; stays open after it was saved."""
    share = completeness(kpi, workspace)
    expanded = only_one or st.session_state.get(_OPEN_CARD) == kpi.id
    with st.expander(f"{md_escape(kpi.name)} — {share:.0%} complete", expanded=expanded):
        kpi_audit_callout(workspace, kpi)
        data = kpi_form(f"kpi_{kpi.id}", workspace, kpi, loaded_column_types())
        if data is not None:
            followed = ""
            if data["id"] == kpi.id and data["name"] and data["name"] != kpi.name:  # renamed, id left alone
                data["id"] = editing.id_after_rename(workspace, kpi, data["name"])
                followed = f" Its id is now {data['id']}." if data["id"] != kpi.id else ""
            st.session_state[_OPEN_CARD] = data["id"]
            moved = data["goal"] != kpi.goal and data["goal"] is not None
            goal = workspace.goal(data["goal"]) if moved else None
            message = f"Moved '{data['name']}' to the goal '{goal.statement}'." if goal else f"Saved '{data['name']}'."
            message += followed
            position = ("kpis", workspace.kpis.index(kpi))
            then: dict[str, Any] = {}
            if (clicked := _from_audit("kpi", kpi.id)) is not None:  # it follows the KPI to its new id
                open_now = [(f.slug, f.message) for f in open_findings(workspace, kpi.id)]
                then[_AUDIT_FINDING] = {**clicked, "object": {"kind": "kpi", "id": data["id"]}}
                then[_OPEN_BEFORE_SAVE] = {data["id"]: open_now}
            apply_edit(
                lambda: _saved(workspace, data, position, kpi.id),
                message,
                labels=KPI_LABELS,
                # The number fields are drawn again from what was stored (a percent typed as 0.05 reads 5%).
                reset=[f"kpi_{kpi.id}_{suffix}" for suffix in NUMBER_KEYS.values()],
                then=then,
            )
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
            f"Show the other {plural(len(others), 'KPI')} without a goal", key="kpis_show_other_orphans", value=False
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
