"""Start: create or open a workspace (sample, saved, uploaded), import a KPI register, restore a version."""

import streamlit as st

from kpi_model import workspace_file
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from kpi_model.validation import parse_part
from ui import account, state
from ui.bundle_views import open_bundle_section
from ui.feedback import apply_edit, md_escape, plural, show_error, show_flashes
from ui.register_import import register_import

st.title("KPI Wizard")
st.caption("From a strategic goal to 3–5 KPIs that have an owner, a formula that computes and a target with a date.")
show_flashes()
if error := state.startup_error():
    show_error(KpiWizardError(error), headline="The workspace could not be opened.")
account.render_login()

workspace = state.workspace()
saved = state.listed_workspaces()
if saved and state.workspace_id() is None:
    # A server started on the sample opens it unsaved in every new tab; earlier work is one click away.
    latest = saved[0]
    resume_col, button_col = st.columns([3, 1])
    resume_col.info(
        f"Continue where you left off? **{md_escape(latest.name)}**, {plural(latest.kpi_count, 'KPI')}, "
        f"saved {latest.modified:%Y-%m-%d %H:%M}.",
        icon=":material/history:",
    )
    if button_col.button("Open it", key="resume_latest", type="primary"):
        state.open_stored(latest.id)
        st.rerun()
if workspace is not None:
    counts = f"{plural(len(workspace.goals), 'goal')}, {plural(len(workspace.kpis), 'KPI')}"
    st.success(f"Open: **{md_escape(workspace.name)}** — {counts}.")
    account.render_private_link()
    go_col, rename_col = st.columns([3, 1], vertical_alignment="center")
    go_col.page_link("pages/goals.py", label="Continue with goals", icon=":material/arrow_forward:")
    with rename_col.popover("Rename", icon=":material/edit:"), st.form("rename_workspace", border=False):
        new_name = st.text_input("New name", value=workspace.name, key="rename_workspace_name")
        if st.form_submit_button("Rename"):
            apply_edit(
                lambda: parse_part(Workspace, {**workspace.model_dump(), "name": new_name}),
                f"Renamed the workspace to '{new_name.strip()}'.",
                labels={"name": "New name"},
            )

new_col, sample_col = st.columns(2)
with new_col, st.form("new_workspace", border=True):
    st.subheader("Start a new workspace")
    name = st.text_input("Name", placeholder="e.g. Acme 2027 scorecard", key="new_workspace_name")
    if st.form_submit_button("Create workspace", type="primary"):
        if not name.strip():
            st.error("Give the workspace a name, e.g. 'Acme 2027 scorecard'.")
        else:
            state.commit_as_new(Workspace(name=name.strip()))
            state.flash("success", f"Created '{name.strip()}'. Next: add your units and goals.")
            st.switch_page("pages/goals.py")

with sample_col, st.container(border=True):
    st.subheader("Open the sample")
    st.write(
        "Northwind Outfitters: 3 units, 5 goals and their KPIs on two years of generated data — "
        "with a few deliberate flaws to find."
    )
    if st.button("Open sample workspace", key="open_sample"):
        try:
            state.set_workspace(workspace_file.load(state.SAMPLE_WORKSPACE), origin=state.SAMPLE_WORKSPACE.parent)
        except KpiWizardError as problem:
            show_error(problem)
        else:
            state.flash("success", "Opened the sample workspace. Your edits are saved as your own copy.")
            st.rerun()

with st.container(border=True):
    st.subheader("Import a KPI register")
    st.caption(
        "Audit a KPI set you inherited: a spreadsheet (CSV, XLSX) or dbt metrics YAML. "
        "It opens as a new workspace and the Audit page lists its findings."
    )
    register_import("start_import", go_to_audit=True)

with st.container(border=True):
    st.subheader("Upload a workspace file")
    upload = st.file_uploader(
        "Workspace YAML or JSON", type=["yaml", "yml", "json"], key="upload_workspace", max_upload_size=5
    )
    if upload is not None and st.button("Open uploaded file", key="open_upload"):
        try:
            text = upload.getvalue().decode("utf-8-sig")
            with st.spinner(f"Reading {md_escape(upload.name)}…"):
                opened = workspace_file.loads_uploaded(text, workspace_file.format_for(upload.name), source=upload.name)
        except UnicodeDecodeError:
            st.error("That file is not UTF-8 text. Save it as UTF-8 YAML or JSON and upload it again.")
        except KpiWizardError as problem:
            show_error(problem, headline=f"{upload.name} could not be opened; the open workspace is unchanged.")
        else:
            state.commit_as_new(opened)
            state.flash("success", f"Opened '{opened.name}' from {upload.name}.")
            st.rerun()

with st.container(border=True):
    st.subheader("Open a workspace bundle")
    st.caption("A .zip made with Download bundle on Review: the workspace with its data, checked before it opens.")
    open_bundle_section()

if saved:
    with st.container(border=True):
        st.subheader("Your saved workspaces")
        for item in saved[:10]:
            name_col, info_col, open_col, delete_col = st.columns([3, 2, 1, 1], vertical_alignment="center")
            name_col.write(md_escape(item.name))
            info_col.caption(f"{plural(item.kpi_count, 'KPI')} · {item.modified:%Y-%m-%d %H:%M}")
            is_open = item.id == state.workspace_id()
            if open_col.button("Open" if not is_open else "Open now", key=f"open_saved_{item.id}", disabled=is_open):
                state.open_stored(item.id)
                st.rerun()
            if is_open:
                continue  # the open workspace is not deleted from under its own session
            with delete_col.popover("Delete", icon=":material/delete:"):
                st.write(f"Delete '{md_escape(item.name)}', its version history and its uploaded data? This is final.")
                if st.button("Yes, delete it", key=f"delete_saved_{item.id}", type="primary"):
                    try:
                        state.delete_stored(item.id)
                    except KpiWizardError as problem:
                        show_error(problem)
                    else:
                        state.flash("success", f"Deleted '{item.name}'.")
                        st.rerun()
        if len(saved) > 10:
            st.caption(f"The 10 most recent of {len(saved)} are listed.")

if state.workspace_id():
    versions = state.store().versions(state.workspace_id())
    if len(versions) > 1:
        with st.expander(f"Version history ({len(versions)} kept)"):
            labels = {v.id: f"{v.saved:%Y-%m-%d %H:%M:%S} — {v.note or plural(v.kpi_count, 'KPI')}" for v in versions}
            chosen = st.selectbox("Saved version", list(labels), format_func=labels.get, key="restore_version")
            if st.button("Restore this version", key="restore_button", disabled=chosen == versions[0].id):
                try:
                    state.restore_version(chosen)
                except KpiWizardError as problem:
                    show_error(problem)
                else:
                    state.flash("success", f"Restored the version of {labels[chosen]}; the newer ones are still kept.")
                    st.rerun()
