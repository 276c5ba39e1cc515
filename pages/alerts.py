"""Alerts: where alerts go (with a test), what was sent, when each KPI is next reviewed, a new cycle."""

import streamlit as st

from ui.alert_views import (
    channels_section,
    check_section,
    log_section,
    must_save_first,
    review_section,
    save_first_notice,
)
from ui.feedback import show_flashes
from ui.guards import require_workspace

st.title("Alerts")
st.caption(
    "`kpi-wizard check` (from cron, a timer or CI) judges each KPI on its latest complete period and alerts "
    "when one enters amber or red, with its owner and agreed action. Only changes are news."
)
show_flashes()
workspace = require_workspace()
if must_save_first():
    save_first_notice(workspace)
channels_section(workspace)
check_section(workspace)
log_section()
review_section(workspace)
