"""What-if: what a target means against history, what moving a driver does, and whether leading leads."""

import streamlit as st

from ui.data_views import open_data
from ui.driver_views import driver_section
from ui.feedback import show_flashes
from ui.guards import require_workspace
from ui.whatif_views import leadlag_section, target_section

st.title("What-if")
st.caption("Try a target on your own history before the team commits to it.")
show_flashes()
workspace = require_workspace()
data = open_data()
if data is None:
    st.stop()
if not data.has_data():
    st.info("What-if works on data: load your sources on the Data page first.")
    st.page_link("pages/data.py", label="Go to Data", icon=":material/database:")
    st.stop()
engine = data.engine()
tool = st.segmented_control(
    "Tool", ["Target preview", "Driver tree", "Leading vs lagging"], default="Target preview", key="whatif_tool"
)
if tool == "Driver tree":
    driver_section(workspace, engine)
elif tool == "Leading vs lagging":
    leadlag_section(workspace, engine)
else:
    target_section(workspace, engine)
