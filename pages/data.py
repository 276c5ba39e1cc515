"""Data: upload the tables KPIs compute on, check their columns, fix types, define SQL views."""

import streamlit as st

from ui.data_views import (
    date_order_section,
    declare_section,
    loaded_tables,
    missing_sources,
    open_data,
    tables_section,
    type_fix_section,
    upload_section,
    view_section,
)
from ui.feedback import md_escape, show_flashes
from ui.guards import require_workspace

st.title("Data")
st.caption("The tables your KPIs compute on. Data stays on this server, in a DuckDB file beside the workspace.")
show_flashes()
workspace = require_workspace()
data = open_data()
if data is None:
    st.stop()
tables = loaded_tables(data)

for source in missing_sources(workspace, tables):
    expects = f" (expects {md_escape(source.path)})" if source.path else ""
    system = f" from {md_escape(source.system)}" if source.system else ""
    st.warning(
        f"Source **{md_escape(source.name)}**{system} has no data yet{expects}: upload it below.",
        icon=":material/database:",
    )

date_order_section(workspace, data, tables)

st.subheader("Upload a file")
upload_section(workspace, data, tables)

st.subheader(f"Loaded tables ({len(tables)})")
if tables:
    tables_section(data, tables)
    st.subheader("Fix a column's type")
    st.caption("A date stored as text, a number with a thousands separator…: convert it once, here.")
    type_fix_section(data, tables)
else:
    st.info("Nothing loaded yet. Upload CSV, Parquet, JSON or Excel files above (several at once, each named).")

st.subheader("SQL view sources")
st.caption("Join or filter loaded tables into a new source (one SELECT; no files, no table functions).")
view_section(workspace, data)
with st.expander("Declare a source without data yet"):
    st.caption("Say where a KPI's data will come from (system and table) before you have the file.")
    declare_section(workspace)
st.page_link("pages/preview.py", label="Next: preview your KPIs on this data", icon=":material/arrow_forward:")
