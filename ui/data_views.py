"""The Data page's sections: upload, the loaded tables, type fixes and SQL view sources."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from kpi_model import editing, sources
from kpi_model.datastore import DataStore
from kpi_model.errors import KpiWizardError
from kpi_model.models import SOURCE_NAME_PATTERN, Source, Workspace
from kpi_model.sources import EXACT_DISTINCT_ROWS, EXACT_DISTINCT_VALUES, TableProfile
from kpi_model.validation import parse_part
from ui import state
from ui.feedback import apply_edit, capitalised, md_escape, plural, show_error

_NEW_TABLE = "A new source named after the file"
_MAX_NAME = 63  # as a source name may be


def open_data() -> DataStore | None:
    """The open workspace's data, loaded on first use; a loading problem is shown, not raised."""
    try:
        return state.ensure_data_loaded()
    except KpiWizardError as error:
        show_error(error, headline="The workspace's data files could not be loaded.")
        return None


def loaded_tables(data: DataStore) -> dict[str, TableProfile]:
    """The loaded tables with their profiles; profiling what changed shows progress, a failure a message."""
    try:
        if data.profiles_current():
            return data.tables()
        with st.spinner("Profiling the loaded tables…"):
            return data.tables()
    except KpiWizardError as error:
        show_error(error, headline="The loaded tables could not be read.")
        return {}


def missing_sources(workspace: Workspace, tables: dict[str, TableProfile]) -> list[Source]:
    """Sources the KPIs name that have no table loaded yet."""
    return [s for s in workspace.sources if s.name not in tables]


_QUOTED = 60  # characters of a value quoted back in a message (docs/security.md)
# Cyrillic and Greek letters drawn like Latin ones: 'оrders' with a Cyrillic о is suggested as 'orders', not 'rders'.
_LOOK_ALIKES = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХУІЈЅαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXYIJSabeiknoptuxABEZHIKMNOPTYX",
)


def _quoted(value: str) -> str:
    """``value`` in quotes, cut short: a 10,000-character name never becomes a 10,000-character message."""
    return f"'{value}'" if len(value) <= _QUOTED else f"'{value[:_QUOTED]}…' ({len(value):,} characters)"


def _usable_name(name: str, index: int) -> str:
    """A source name to suggest for ``name``: look-alike letters read as Latin, else ``table_<index>``."""
    latin = name.translate(_LOOK_ALIKES)
    if any(ch.isalpha() and not unicodedata.normalize("NFKD", ch).encode("ascii", "ignore") for ch in latin):
        return f"table_{index}"  # 'данные' has letters of its own: dropping them would leave a fragment
    suggested = sources.table_name_for(f"{latin}.csv")
    return f"table_{index}" if suggested == "data" else suggested


def upload_names_problems(names: Sequence[str]) -> list[str]:
    """What is wrong with the source names chosen for the files of one upload (each valid, none twice)."""
    problems: list[str] = []
    for index, name in enumerate(names, start=1):
        if not name:
            problems.append("A file has no source name: give each file one, e.g. orders.")
        elif not re.fullmatch(SOURCE_NAME_PATTERN, name) or len(name) > _MAX_NAME:
            not_latin = " (it has letters outside a–z)" if not name.isascii() else ""
            problems.append(
                f"{_quoted(name)} is not a usable source name{not_latin}: use letters, digits and '_', starting "
                f"with a letter, at most {_MAX_NAME} long; e.g. '{_usable_name(name, index)}'."
            )
    counts = Counter(name.lower() for name in names if name)  # DuckDB's names ignore case
    for name, count in counts.items():
        if count > 1:
            problems.append(f"{_quoted(name)} is given to {count} files: give each file its own source name.")
    return problems


def upload_section(workspace: Workspace, data: DataStore, tables: dict[str, TableProfile]) -> None:
    """Upload one file or several; each is named (editable, from its file name) before anything is loaded."""
    uploads = st.file_uploader(
        "CSV, TSV, Parquet, JSON/NDJSON or Excel (.xlsx): one file or several",
        key=f"data_upload_{st.session_state.get('data_upload_round', 0)}",
        type=[s.lstrip(".") for s in sources.SUPPORTED_SUFFIXES],
        accept_multiple_files=True,
    )
    files = list(uploads or [])
    target, sheet = _NEW_TABLE, ""
    if len(files) <= 1:  # one file may also give a declared source its data
        left, right = st.columns([2, 1])
        target = left.selectbox(
            "Load it as",
            [_NEW_TABLE, *[s.name for s in workspace.sources]],
            key="data_upload_target",
            help="Pick a declared source to give it data, or load the file as a new source.",
        )
        sheet = right.text_input("Sheet (Excel only)", key="data_upload_sheet", placeholder="first sheet")
    chosen = _chosen_names(files, tables, named=target == _NEW_TABLE)
    if len(files) == 1:
        chosen = [
            (upload, name if target == _NEW_TABLE else target, sheet.strip() or None) for upload, name, _ in chosen
        ]
    label = "Load file" if len(files) <= 1 else f"Load {len(files)} files"
    if not files or not st.button(label, key="data_upload_button", type="primary"):
        return
    problems = upload_names_problems([name for _, name, _ in chosen])
    if problems:
        st.error("Nothing was loaded. " + " ".join(md_escape(p) for p in problems), icon=":material/error:")
        return
    if state.workspace_id() is None:
        state.commit(workspace)  # an opened sample gets its own folder before its data changes
        data = state.datastore() or data
    loaded: list[str] = []
    for upload, name, file_sheet in chosen:
        try:
            profile = _load_upload(state.workspace() or workspace, data, upload, name, file_sheet)
        except KpiWizardError as error:
            done = f"; loaded before it: {'; '.join(loaded)}." if loaded else "; your data is unchanged."
            if loaded:
                state.flash("success", f"Loaded {'; '.join(loaded)}.")
            state.flash("error", f"{upload.name} was not loaded{done} {capitalised(str(error))}")
            # An empty uploader after the rerun: a refused file must not ride along with the next one picked.
            st.session_state["data_upload_round"] = st.session_state.get("data_upload_round", 0) + 1
            st.rerun()
        loaded.append(f"{plural(profile.rows, 'row')} from {upload.name} as '{profile.name}'")
    state.flash("success", f"Loaded {'; '.join(loaded)}.")
    st.session_state["data_upload_round"] = st.session_state.get("data_upload_round", 0) + 1  # an empty uploader
    st.rerun()


def _chosen_names(
    files: Sequence[UploadedFile], tables: dict[str, TableProfile], *, named: bool
) -> list[tuple[UploadedFile, str, str | None]]:
    """(file, source name, sheet) per uploaded file: a name field each, filled from the file name."""
    chosen: list[tuple[UploadedFile, str, str | None]] = []
    taken = list(tables)
    for upload in files:
        default = sources.table_name_for(upload.name, taken)
        taken.append(default)
        if not named:
            chosen.append((upload, default, None))
            continue
        name_col, sheet_col = st.columns([2, 1]) if len(files) > 1 else (st.container(), None)
        name = name_col.text_input(
            f"Source name for {md_escape(upload.name)}",
            value=default,
            key=f"data_upload_name_{upload.file_id}",
            help="Letters, digits and '_'. The name of a declared source gives that source this file's data.",
        )
        if name.strip().lower() in {t.lower() for t in tables}:
            name_col.caption(f"Replaces the loaded table '{md_escape(name.strip())}' with this file's data.")
        sheet = None
        if sheet_col is not None and upload.name.lower().endswith(".xlsx"):
            sheet = sheet_col.text_input("Sheet", key=f"data_upload_sheet_{upload.file_id}", placeholder="first sheet")
        chosen.append((upload, name.strip(), (sheet or "").strip() or None))
    return chosen


def _load_upload(
    workspace: Workspace, data: DataStore, upload: UploadedFile, table: str, sheet: str | None
) -> TableProfile:
    """Load one uploaded file as ``table`` (in the isolation child process) and declare it as a source."""
    editing.refuse_case_twin(workspace, table)
    target = workspace.source(table)
    declared_format = target.date_format if target is not None else None
    with st.status(f"Loading {md_escape(upload.name)}…", expanded=False) as progress:
        try:
            profile = data.upload(upload.name, upload, table=table, sheet=sheet, date_format=declared_format)
        except KpiWizardError:
            progress.update(label=f"{md_escape(upload.name)} was not loaded", state="error")
            raise
        progress.update(
            label=f"Loaded {plural(profile.rows, 'row')} into '{md_escape(profile.name)}'", state="complete"
        )
    stored_as = f"files/{profile.name}{Path(upload.name).suffix.lower()}"
    declared = workspace.source(profile.name)
    if declared is None:
        state.commit(editing.upsert_source(workspace, Source(name=profile.name, path=stored_as)))
    elif not declared.path and not declared.sql:
        with_path = declared.model_copy(update={"path": stored_as})
        state.commit(editing.upsert_source(workspace, with_path, old_name=declared.name))
    return profile


def distinct_heading(profile: TableProfile) -> str:
    """The heading of the distinct counts: ``'Distinct (about)'`` when they are estimates."""
    return "Distinct" if profile.distinct_exact else "Distinct (about)"


def profile_frame(profile: TableProfile) -> pd.DataFrame:
    """One row per column: type, null share, distinct values, range."""
    return pd.DataFrame(
        [
            {
                "Column": c.name,
                "Type": c.type,
                "Empty": c.null_share,
                distinct_heading(profile): c.distinct,
                "Min": c.min or "",  # a column without a range (text) shows blank, not "None"
                "Max": c.max or "",
            }
            for c in profile.columns
        ]
    )


def tables_section(data: DataStore, tables: dict[str, TableProfile]) -> None:
    """Each loaded table: its schema profile and first rows, and a button that removes it."""
    for name, profile in tables.items():
        if profile.error:
            with st.expander(f"{md_escape(name)} — could not be profiled", expanded=True):
                st.warning(md_escape(profile.error), icon=":material/warning:")
                _drop_button(data, name)
            continue
        label = f"{md_escape(name)} — {plural(profile.rows, 'row')}, {plural(len(profile.columns), 'column')}"
        with st.expander(label):
            st.dataframe(
                profile_frame(profile),
                hide_index=True,
                width="stretch",
                key=f"profile_{name}",
                column_config={
                    "Empty": st.column_config.ProgressColumn("Empty", format="percent", min_value=0, max_value=1),
                    # 9,885 as the row count beside it is written, not 9885
                    distinct_heading(profile): st.column_config.NumberColumn(format="localized"),
                },
            )
            if not profile.distinct_exact:
                st.caption(
                    "Distinct counts are estimates, within a few percent: a table over "
                    f"{EXACT_DISTINCT_ROWS:,} rows or {EXACT_DISTINCT_VALUES:,} values (rows × columns) would "
                    "take too long to count exactly."
                )
            try:
                columns, rows = data.engine().preview_table(name, limit=10)
            except KpiWizardError as error:
                show_error(error, headline="Its first rows could not be shown.")
            else:
                st.caption("First rows")
                st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, key=f"preview_{name}")
            _drop_button(data, name)


def _drop_button(data: DataStore, name: str) -> None:
    """Remove a table or view from the data (its source stays declared, waiting for data)."""
    with st.popover(f"Remove {md_escape(name)}", icon=":material/delete:"):
        st.write(
            f"Remove **{md_escape(name)}** from the data? KPIs and views that read it stop computing until "
            "its data is loaded again."
        )
        if not st.button("Yes, remove it", key=f"drop_{name}", type="primary"):
            return
    opened = state.workspace()
    if state.workspace_id() is None and opened is not None:
        state.commit(opened)  # an opened sample gets its own copy before its data changes
        data = state.datastore() or data
    try:
        with st.spinner(f"Removing {md_escape(name)}…"):
            data.drop(name)
    except KpiWizardError as error:
        show_error(error, headline=f"'{name}' was not removed.")
        return
    state.flash("success", f"Removed '{name}'. Its source stays declared: upload its data again when you have it.")
    st.rerun()


def date_order_section(workspace: Workspace, data: DataStore, tables: dict[str, TableProfile]) -> None:
    """Ask which comes first, day or month, in a table whose dates read both ways (03/04/2025)."""
    for name, profile in tables.items():
        ambiguous = profile.ambiguous_dates
        read_as = ambiguous[0].ambiguous_date_format if ambiguous else None
        if read_as is None:
            continue
        example = _example_date(ambiguous[0].min, ambiguous[0].max)
        text = example.strftime(read_as.split(" ")[0])
        meanings = {
            read_as: example,
            sources.day_month_swapped(read_as): dt.date(example.year, example.day, example.month),
        }
        one, other = (f"{meant:%-d %B %Y}" for meant in meanings.values())
        columns = ", ".join(f"**{md_escape(c.name)}**" for c in ambiguous)
        with st.container(border=True):
            st.warning(
                f"**{md_escape(name)}**: does {text} mean {one} or {other}? Every date in {columns} reads both "
                f"ways, so the file cannot tell. Until you choose, they are read {_order_name(read_as).lower()}.",
                icon=":material/event:",
            )
            for column, (date_format, meant) in zip(st.columns(2), meanings.items(), strict=True):
                label = f"{_order_name(date_format)}: {text} is {meant:%-d %B %Y}"
                if column.button(label, key=f"date_order_{name}_{_order_name(date_format)}", width="stretch"):
                    _settle_date_order(workspace, data, name, date_format, label)


def _example_date(*candidates: str | None) -> dt.date:
    """A date of the column that reads differently with day and month swapped (its earliest or latest),
    or a stand-in when both read the same both ways (01/01/2025 cannot show which order is meant)."""
    for candidate in candidates:
        try:
            found = dt.date.fromisoformat((candidate or "")[:10])
        except ValueError:
            continue
        if found.day != found.month:
            return found
    return dt.date(2025, 2, 1)


def _order_name(date_format: str) -> str:
    return "Day first" if sources.is_day_first(date_format) else "Month first"


def _settle_date_order(workspace: Workspace, data: DataStore, table: str, date_format: str, choice: str) -> None:
    if state.workspace_id() is None:
        state.commit(workspace)  # an opened sample gets its own copy before its data changes
        data = state.datastore() or data
    try:
        data.settle_date_order(table, date_format)
        declared = workspace.source(table)
        if declared is not None and declared.path:  # the next load of the file reads it the same way
            remembered = declared.model_copy(update={"date_format": date_format})
            state.commit(editing.upsert_source(workspace, remembered, old_name=table))
    except KpiWizardError as error:
        show_error(error, headline="The dates were not changed.")
        return
    state.flash("success", f"The dates in '{table}' are read {choice[0].lower()}{choice[1:]}.")
    st.rerun()


def type_fix_section(data: DataStore, tables: dict[str, TableProfile]) -> None:
    """Change a column's type, e.g. text that holds dates."""
    names = [n for n, profile in tables.items() if n in _base_tables(data) and not profile.error]
    if not names:
        return
    left, middle, right, last = st.columns(4)
    table = left.selectbox("Table", names, key="fix_table")
    profile = tables[table]
    text_columns = [i for i, c in enumerate(profile.columns) if c.type == "VARCHAR"]
    column = middle.selectbox(
        "Column",
        profile.column_names,
        index=text_columns[0] if text_columns else 0,  # text is what usually needs a type
        key="fix_column",
    )
    new_type = right.selectbox("New type", sources.COLUMN_TYPES, key="fix_type")
    date_format = last.text_input("Date format (for text dates)", key="fix_format", placeholder="%d/%m/%Y")
    if st.button("Change type", key="fix_button"):
        if state.workspace_id() is None:
            state.commit(state.workspace())  # an opened sample gets its own copy before its data changes
            data = state.datastore() or data
        try:
            with st.spinner(f"Converting {md_escape(column)}…"):
                data.set_column_type(table, column, new_type, date_format=date_format.strip() or None)
        except KpiWizardError as error:
            show_error(error, headline="The type was not changed.")
            return
        state.flash("success", f"'{column}' in '{table}' is now {new_type}.")
        st.rerun()


def _base_tables(data: DataStore) -> set[str]:
    views = {name for name, _ in data.engine().query("SELECT view_name, 1 FROM duckdb_views() WHERE NOT internal")[1]}
    return set(data.engine().columns()) - views


def view_section(workspace: Workspace, data: DataStore) -> None:
    """Define a SQL view (joins, unions, filters) over loaded tables as a new source."""
    with st.form("view_form"):
        name = st.text_input("Source name", key="view_name", placeholder="e.g. won_deals")
        sql = st.text_area(
            "SELECT …",
            key="view_sql",
            height=120,
            placeholder="SELECT l.*, d.deal_value FROM leads l LEFT JOIN deals d USING (lead_id)",
        )
        if not st.form_submit_button("Create view source"):
            return
    if state.workspace_id() is None:
        state.commit(workspace)
        data = state.datastore() or data
    try:
        editing.refuse_case_twin(workspace, name.strip())
        with st.spinner("Creating the view and running it once…"):
            profile = data.create_view(name.strip(), sql)
        existing = workspace.source(profile.name)
        updated = Source(name=profile.name, sql=sql.strip(), system=existing.system if existing else None)
        state.commit(editing.upsert_source(workspace, updated, old_name=profile.name if existing else None))
    except KpiWizardError as error:
        show_error(error, headline="The view was not created.")
        return
    state.flash("success", f"Created the view source '{profile.name}' ({profile.rows:,} rows).")
    st.rerun()


def declare_section(workspace: Workspace) -> None:
    """Name a source and its system before its data is at hand (the audit asks where data comes from)."""
    with st.form("declare_source"):
        left, right = st.columns(2)
        name = left.text_input("Source name", key="declare_name", placeholder="e.g. crm_deals")
        system = right.text_input("System it comes from", key="declare_system", placeholder="e.g. Salesforce")
        description = st.text_input("What it holds", key="declare_description", placeholder="one row per deal")
        if not st.form_submit_button("Declare source"):
            return
    apply_edit(
        lambda: editing.upsert_source(
            workspace,
            parse_part(
                Source,
                {"name": name.strip(), "system": system.strip() or None, "description": description.strip() or None},
            ),
        ),
        f"Declared the source '{name.strip()}'. KPIs can name it now; upload its data when you have it.",
        labels={"name": "Source name", "system": "System it comes from", "description": "What it holds"},
        reset=["declare_name", "declare_system", "declare_description"],
    )
