"""The Review page's dbt download: the workspace as a dbt Semantic Layer folder, zipped."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from kpi_model import editing, workspace_file
from kpi_model.dbt_export import build_export, zip_bytes
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from ui.feedback import md_escape, plural


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def _dbt_zip(document: str, folder: str) -> tuple[bytes | None, list[tuple[str, str]], str | None]:
    """(the zip, (KPI name, reason) per KPI left out, why nothing could be exported), keyed on the document.

    Review reruns on every click; the export parses every formula, so it runs once per version of the workspace.
    """
    try:
        export = build_export(workspace_file.loads(document))
    except KpiWizardError as error:
        return None, [], str(error)
    missing = [(o.name, o.reason or "") for o in export.not_exported]
    return zip_bytes(export, folder), missing, None


def dbt_download(workspace: Workspace, place: DeltaGenerator) -> None:
    """A "Download dbt export" button in ``place``; below the buttons, the KPIs MetricFlow cannot express."""
    stem = editing.slugify(workspace.name)
    archive, missing, problem = _dbt_zip(workspace_file.dumps(workspace, "yaml"), f"{stem}_dbt")
    if archive is None:
        place.button("Download dbt export", disabled=True, key="download_dbt", help=md_escape(problem or ""))
        return
    place.download_button(
        "Download dbt export",
        archive,
        file_name=f"{stem}_dbt.zip",
        mime="application/zip",
        key="download_dbt",
        help="Semantic models and metrics for dbt-core 1.10 with MetricFlow; owners, goals and targets travel "
        "under config.meta. The README inside says which dbt models your project must provide.",
    )
    if missing:
        with st.expander(f"dbt export: {plural(len(missing), 'KPI')} not exported"):
            for name, reason in missing:
                st.markdown(f"- **{md_escape(name)}**: {md_escape(reason)}")
