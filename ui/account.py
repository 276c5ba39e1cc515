"""Who the visitor is on a team server: login (when the operator set it up) and the private link."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.feedback import md_escape


def render_login() -> None:
    """Log in / log out when the operator configured OIDC login; nothing otherwise."""
    if not state.login_configured():
        return
    user = state.current_user()
    text_col, button_col = st.columns([4, 1], vertical_alignment="center")
    if user:
        text_col.caption(f"Logged in as {md_escape(user)}: your workspaces are listed below.")
        if button_col.button("Log out", key="logout"):
            st.logout()
    else:
        text_col.caption("Log in to see the workspaces you own; without login, a workspace opens only with its link.")
        if button_col.button("Log in", key="login"):
            st.login()


def render_private_link() -> None:
    """On a team server, the open workspace's private link, with what it grants."""
    link = state.private_link()
    if link is None:
        return
    with st.expander("Private link to this workspace", icon=":material/key:", expanded=False):
        st.caption(
            "Bookmark this link: it is the way back to this workspace, and anyone you give it to can open "
            "and edit it. It is not listed to other visitors of this server."
        )
        st.code(link, language=None)
