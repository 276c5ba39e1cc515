"""KPI Wizard: the entry point. Navigation and the shared sidebar; nothing else."""

from pathlib import Path

import streamlit as st

from ui import sidebar, state

# A local file: a Material icon as favicon would be fetched from Google's font servers on every page.
st.set_page_config(page_title="KPI Wizard", page_icon=str(Path(__file__).parent / "ui" / "icon.png"), layout="wide")
state.init()
navigation = st.navigation(
    [
        st.Page("pages/start.py", title="Start", icon=":material/home:", default=True),
        st.Page("pages/goals.py", title="Goals", icon=":material/flag:", url_path="goals"),
        st.Page("pages/kpis.py", title="KPIs", icon=":material/speed:", url_path="kpis"),
        st.Page("pages/data.py", title="Data", icon=":material/database:", url_path="data"),
        st.Page("pages/preview.py", title="Preview", icon=":material/monitoring:", url_path="preview"),
        st.Page("pages/dashboard.py", title="Dashboard", icon=":material/dashboard:", url_path="dashboard"),
        st.Page("pages/whatif.py", title="What-if", icon=":material/query_stats:", url_path="whatif"),
        st.Page("pages/audit.py", title="Audit", icon=":material/rule:", url_path="audit"),
        st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
        st.Page("pages/review.py", title="Review", icon=":material/fact_check:", url_path="review"),
    ]
)
sidebar.render()
navigation.run()
