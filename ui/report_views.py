"""The "Download report" on Dashboard and Review, and the strategy map shown in the app."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import streamlit as st

from kpi_model import editing, workspace_file
from kpi_model.datastore import DataStore
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from kpi_model.report.job import make_report
from kpi_model.report.strategy_map import layout_map, map_svg
from kpi_model.status import Status
from kpi_model.store import content_hash
from ui import state
from ui.feedback import show_error

_FORMATS = {"PDF": ("pdf", "application/pdf"), "HTML": ("html", "text/html")}


def _previous_version(workspace: Workspace) -> Workspace | None:
    """The version saved before the current one, for the report's "what changed"."""
    workspace_id = state.workspace_id()
    if workspace_id is None:
        return None
    current = workspace_file.dumps(workspace)
    try:
        # Every save writes the current version into the history too: the newest one that differs
        # from what is open is the previous one.
        for version in state.store().versions(workspace_id):
            earlier = state.store().load_version(workspace_id, version.id)
            if workspace_file.dumps(earlier) != current:
                return earlier
    except KpiWizardError:
        return None
    return None


def report_download(workspace: Workspace, data: DataStore | None, *, key: str) -> None:
    """Make the scorecard report (PDF or HTML) on request, then offer it for download.

    Made on a click, not on every rerun: a PDF of a large set takes seconds. The prepared file is
    kept for this workspace version and format only, so an edit never downloads a stale report.
    """
    choice, make, download = st.columns([1, 1, 1.4], vertical_alignment="bottom")
    label = choice.segmented_control("Report format", list(_FORMATS), default="PDF", key=f"{key}_format") or "PDF"
    extension, mime = _FORMATS[label]
    version = content_hash(workspace.model_dump_json())
    slot = f"{key}_prepared"
    prepared = st.session_state.get(slot)
    if make.button("Make report", key=f"{key}_make", help="Cover, strategy map, a page per unit, KPI sheets, audit"):
        database = data.db_path if data is not None and data.has_data() else None
        try:
            with st.spinner(f"Making the {label} report (charts, map and {len(workspace.kpis)} KPI sheets)…"):
                body = make_report(workspace, database, previous=_previous_version(workspace), fmt=extension)
        except KpiWizardError as error:
            show_error(error, headline="The report could not be made.")
            return
        prepared = {"version": version, "extension": extension, "body": body, "made": dt.datetime.now()}
        st.session_state[slot] = prepared
    if prepared and prepared["version"] == version and prepared["extension"] == extension:
        download.download_button(
            f"Download report ({label})",
            prepared["body"],
            file_name=f"{editing.slugify(workspace.name)}_report.{extension}",
            mime=mime,
            key=f"{key}_download",
            type="primary",
            on_click="ignore",
        )
        st.caption(f"Made at {prepared['made']:%H:%M} from the current version; make it again after edits.")


def kpi_page_link(kpi_id: str) -> str:
    """The KPIs page opened on one KPI, in this workspace (the map's boxes link here).

    A link loads the page anew: the workspace id (and a team server's link key) ride along, as in
    the address bar, so the same visitor lands in the same workspace.
    """
    workspace_id = state.workspace_id()
    query = {"kpi": kpi_id}
    if workspace_id:
        query[state.QUERY_KEY] = workspace_id
        if key := state.link_key(workspace_id):
            query[state.LINK_KEY] = key
    return "kpis?" + urlencode(query)


def strategy_map(workspace: Workspace, statuses: dict[str, Status], values: dict[str, str]) -> None:
    """The strategy map as a picture; each KPI box opens that KPI on the KPIs page."""
    if not workspace.kpis:
        st.info("Add KPIs to see the map of units, goals and KPIs.")
        return
    picture = map_svg(layout_map(workspace, workspace.kpis), statuses, values, link=kpi_page_link)
    # st.html sanitises SVG away; Markdown keeps it. Every text in the picture is escaped by map_svg.
    st.markdown(f'<div style="overflow-x:auto">{picture}</div>', unsafe_allow_html=True)
    st.caption(
        "Boxes are KPIs, coloured by status (green on track, amber warning, red critical, grey not judged); solid "
        "arrows run from a leading KPI to the lagging one it should move, dashed ones from the inputs of a "
        "derived KPI. Click a box to open the KPI."
    )
