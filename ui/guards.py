"""Page preconditions, shown as a friendly pointer instead of an empty page."""

from __future__ import annotations

import streamlit as st

from kpi_model.models import Workspace
from ui import state


def require_workspace() -> Workspace:
    """The open workspace; otherwise explain what to do and stop the page."""
    if withdrawn := state.recheck_access():
        st.error(withdrawn, icon=":material/lock:")
    workspace = state.workspace()
    if workspace is None:
        st.info("No workspace is open yet. Create one, open the sample or upload a file on the Start page.")
        st.page_link("pages/start.py", label="Go to Start", icon=":material/home:")
        st.stop()
    return workspace
