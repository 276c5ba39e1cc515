"""The sidebar every page shares: what is open, whether it is saved, and presentation mode."""

from __future__ import annotations

import streamlit as st

from ui import presentation, state
from ui.feedback import md_escape, plural


def render() -> None:
    """Workspace name, counts and save status, and the presentation-mode switch."""
    presenting = presentation.configure()
    with st.sidebar:
        if _workspace_summary() or presenting:  # without a workspace there is nothing to present
            presentation.toggle()


def _workspace_summary() -> bool:
    """The open workspace in short; False when none is open."""
    workspace = state.workspace()
    if workspace is None:
        st.caption("No workspace open — start one on the Start page.")
        return False
    st.markdown(f"**{md_escape(workspace.name)}**")
    st.caption(
        " · ".join(
            plural(len(items), noun)
            for items, noun in ((workspace.units, "unit"), (workspace.goals, "goal"), (workspace.kpis, "KPI"))
        )
    )
    if state.workspace_id():
        st.caption(":material/cloud_done: Saved automatically after every change.")
    else:
        st.caption(":material/edit_note: Not saved yet: your first change saves a copy you can return to.")
    return True
