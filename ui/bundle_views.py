"""Workspace bundles in the app: download one on Review, open one on Start.

An opened bundle is verified and unpacked into a scratch folder by :func:`kpi_model.bundle.open_uploaded`, in
an isolated job; only then is it saved as a new workspace, and its data files go through the Data page's own
path (``DataStore.upload``, in the isolation child process), so every limit on uploaded data applies to them.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from kpi_model import bundle, editing, sources
from kpi_model.datastore import UPLOADS
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from ui import state
from ui.feedback import md_escape, plural, show_error

_OPENED = "bundles_opened"  # uploaded bundle file id → the name it was opened as, in this session


def bundled_files(workspace: Workspace) -> dict[str, Path]:
    """The data file of each file source: the latest upload of its table (``files/<name>.*`` in the workspace's
    data folder), else its path in the folder it came from (confined: a path out is never bundled)."""
    found: dict[str, Path] = {}
    origin = state.origin()
    if origin is not None:
        found |= bundle.source_files(workspace, origin, confine=True)
    data = state.datastore()
    if data is not None:
        found |= bundle.source_files(workspace, data.folder, confine=True)
        for source in workspace.sources:
            uploads = [
                f for f in (data.folder / UPLOADS).glob(f"{source.name}.*") if f.suffix.lower() in bundle.DATA_SUFFIXES
            ]
            if source.path and len(uploads) == 1:  # an upload into a source keeps the path it was declared with
                found[source.name] = uploads[0]
    return found


def _loaded_tables() -> set[str]:
    """The tables loaded in the open workspace's database (from the profile cache; empty when none)."""
    data = state.datastore()
    if data is None or not data.db_path.is_file():
        return set()
    try:
        return set(data.tables())
    except KpiWizardError:
        return set()


def bundle_download(workspace: Workspace, place: DeltaGenerator) -> None:
    """A "Download bundle" button in ``place`` (made on click), and which sources travel how."""
    files = bundled_files(workspace)
    without = [s.name for s in workspace.sources if s.path and s.name not in files]
    loaded = _loaded_tables()
    exported = [name for name in without if name in loaded]
    data = state.datastore()
    stem = editing.slugify(workspace.name)

    def make() -> bytes:
        tables: dict[str, Path] = {}
        with tempfile.TemporaryDirectory(prefix="kpiw-bundle-") as scratch:
            if exported and data is not None:
                with contextlib.suppress(KpiWizardError):  # the caption below told what may be missing
                    tables = bundle.export_loaded_tables(data.db_path, exported, Path(scratch))
            return bundle.bundle_bytes(workspace, {**files, **tables})[0]

    place.download_button(
        "Download bundle",
        make,
        file_name=f"{stem}_bundle.zip",
        mime="application/zip",
        key="download_bundle",
        help="One .zip with the workspace, its data files and a manifest (sizes, SHA-256): open it with "
        "'Open a workspace bundle' on Start, or `kpi-wizard unbundle`.",
    )
    if exported:
        st.caption(
            f"{', '.join(f'**{md_escape(n)}**' for n in exported)}: the file is not on this server, so the bundle "
            "carries the loaded table as Parquet (with any type fixes)."
        )
    missing = [name for name in without if name not in loaded]
    if missing:
        st.caption(
            f"The bundle carries no data for {', '.join(f'**{md_escape(n)}**' for n in missing)}: "
            "its file is not on this server; upload it on the Data page to include it."
        )


def open_bundle_section() -> None:
    """Upload a bundle and open it as a new workspace with its data loaded."""
    upload = st.file_uploader("Workspace bundle (.zip)", type=["zip"], key="upload_bundle")
    if upload is None or not st.button("Open bundle", key="open_bundle", type="primary"):
        return
    if (opened_before := st.session_state.get(_OPENED, {}).get(upload.file_id)) is not None:
        # The uploader keeps the file after it was opened; a second click must not make a second copy.
        st.info(
            f"{md_escape(upload.name)} is open already as '{md_escape(opened_before)}' (listed above). To open "
            "another copy, upload the file again.",
            icon=":material/info:",
        )
        return
    with tempfile.TemporaryDirectory(prefix="kpiw-bundle-") as scratch:
        received = Path(scratch) / "bundle.zip"
        with received.open("wb") as sink:
            sink.write(upload.getbuffer())
        try:
            with st.spinner(f"Checking {md_escape(upload.name)}…"):
                opened = bundle.open_uploaded(received, Path(scratch) / "opened", upload.name)
        except KpiWizardError as problem:
            show_error(problem, headline=f"{upload.name} was not opened; nothing was changed.")
            return
        loaded = _save_and_load(opened, upload.name)
    if loaded is not None:
        st.session_state.setdefault(_OPENED, {})[upload.file_id] = opened.workspace.name
        state.flash("success", f"Opened '{opened.workspace.name}' from {upload.name} with {plural(loaded, 'table')}.")
        st.rerun()


def _save_and_load(opened: bundle.OpenedBundle, shown: str) -> int | None:
    """Save the verified workspace as a new one and load its files and views like uploads; how many were
    loaded (None after a failure, which is shown)."""
    stored = {
        s.name: f"{UPLOADS}/{s.name}{opened.data_files[s.name].suffix}"
        for s in opened.workspace.sources
        if s.name in opened.data_files
    }
    workspace = opened.workspace.model_copy(
        update={"sources": [s.model_copy(update={"path": stored.get(s.name)}) for s in opened.workspace.sources]}
    )
    try:
        _, views = sources.plan_workspace_sources(opened.workspace, opened.folder, confine=True)  # views in order
    except KpiWizardError as problem:
        show_error(problem, headline=f"{shown} was not opened; nothing was changed.")
        return None
    state.commit_as_new(workspace, note=f"opened from {shown}")
    data = state.datastore()
    if data is None:
        return None
    current = ""
    try:
        with st.status(f"Loading the data of {md_escape(shown)}…", expanded=False) as progress:
            for source in opened.workspace.sources:
                file = opened.data_files.get(source.name)
                if file is None:
                    continue
                current = source.name
                progress.update(label=f"Loading {md_escape(source.name)}…")
                with file.open("rb") as stream:
                    data.upload(file.name, stream, table=source.name, date_format=source.date_format)
            for name, sql in views:
                current = name
                progress.update(label=f"Creating the view {md_escape(name)}…")
                data.create_view(name, sql)
            progress.update(label=f"Loaded {plural(len(stored) + len(views), 'table')}", state="complete")
    except KpiWizardError as problem:
        show_error(
            problem,
            headline=f"'{workspace.name}' was opened, but the data of '{current}' was not loaded: "
            "fix or replace its file and upload it on the Data page.",
        )
        return None
    return len(stored) + len(views)
