"""The Review page's dbt download: the workspace as a dbt Semantic Layer folder, zipped."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from kpi_model import editing
from kpi_model.dbt_export import build_export, zip_bytes
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from ui.feedback import md_escape, plural


def dbt_download(workspace: Workspace, place: DeltaGenerator) -> None:
    """A "Download dbt export" button in ``place``; below the buttons, the KPIs MetricFlow cannot express."""
    try:
        export = build_export(workspace)
    except KpiWizardError as error:
        place.button("Download dbt export", disabled=True, key="download_dbt", help=md_escape(str(error)))
        return
    stem = editing.slugify(workspace.name)
    place.download_button(
        "Download dbt export",
        zip_bytes(export, f"{stem}_dbt"),
        file_name=f"{stem}_dbt.zip",
        mime="application/zip",
        key="download_dbt",
        help="Semantic models and metrics for dbt-core 1.10 with MetricFlow; owners, goals and targets travel "
        "under config.meta. The README inside says which dbt models your project must provide.",
    )
    missing = export.not_exported
    if missing:
        with st.expander(f"dbt export: {plural(len(missing), 'KPI')} not exported"):
            for outcome in missing:
                st.markdown(f"- **{md_escape(outcome.name)}**: {md_escape(outcome.reason)}")
