"""Import a KPI register (a spreadsheet, dbt metrics YAML, a zipped dbt project) as a new workspace.

One flow, shown on Start and on Audit: upload → (spreadsheet) pick the sheet, check the column
mapping and a preview of the KPIs as they will be imported → import. The import's notes are kept
with the new workspace in the store, so the Audit page shows them after a reload until dismissed.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from kpi_model.archives import safe_name
from kpi_model.errors import KpiWizardError
from kpi_model.importers import FIELDS, ImportResult, guess_mapping
from kpi_model.importers.common import NumberQuestion
from kpi_model.importers.dbt import DBT_SUFFIXES
from kpi_model.importers.headers import SheetRead
from kpi_model.importers.isolated import (
    import_uploaded_dbt,
    import_uploaded_file,
    import_uploaded_sheet,
    read_uploaded_sheet,
)
from kpi_model.importers.number_format import Reading, Separator
from kpi_model.importers.tables import SPREADSHEET_SUFFIXES
from kpi_model.models import Kpi, UnitOfMeasure, Workspace
from ui import state
from ui.feedback import capitalised, md_escape, plural, show_error

NOT_MAPPED = "—"
PREVIEW_HEIGHT = 420  # pixels: about twelve rows, then the table scrolls
# Each importer field as a person names the column holding it, and what it is for; the order is FIELDS'.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("KPI name", "The column naming each KPI (needed: a row without a name is skipped)."),
    "id": ("Short code", "A short code per KPI, e.g. 'REV-01'; left out, one is made from the name."),
    "description": ("Definition / description", "What the KPI measures, in words (a calculation in words too)."),
    "owner": ("Owner", "The person or role who answers for the KPI."),
    "unit": ("Department / unit", "The part of the organisation the KPI belongs to (department, business unit)."),
    "goal": ("Goal / objective", "The strategic goal or objective the KPI measures."),
    "category": ("Category / perspective", "Financial, customer, process or people (a scorecard perspective)."),
    "kind": ("Leading or lagging", "Whether the KPI moves first (leading) or records the outcome (lagging)."),
    "formula": ("Formula (SQL)", "A SQL aggregate such as sum(amount); a calculation in words goes under Definition."),
    "source": ("Data source / system", "The table, file or system the KPI's data comes from."),
    "filter": ("Row filter (SQL)", "A condition on the rows counted, e.g. status <> 'cancelled'."),
    "time_column": ("Date column of the data", "The column of the data source that dates each row, e.g. order_date."),
    "unit_of_measure": ("Unit of measure (%, €, days)", "What one unit of the number is: %, €, days, a count …"),
    "direction": ("Better when (higher / lower)", "Whether a higher or a lower value is good news."),
    "cadence": ("Review frequency", "How often the KPI is reviewed: weekly, monthly, quarterly …"),
    "baseline": ("Baseline / current value", "Where the KPI stands now or stood at the start (an actual)."),
    "target": ("Target", "The value to reach; '≥ 95%' or a range such as '90–95%' is read too."),
    "due": ("Target date", "When the target is due; without it a year named in the Target column's header is used."),
    "warning": ("Amber line", "The value from which the KPI turns amber: Warning at on the KPI's card."),
    "critical": ("Red line", "The value from which the KPI turns red: Critical at on the KPI's card."),
    "thresholds": (
        "Combined thresholds (Red/Amber/Green)",
        "One column holding several lines, e.g. 'Red < 90%, Amber < 95%'.",
    ),
    "action": ("Action when off track", "What is done when the KPI turns amber or red."),
    "review_date": ("Last review date", "When the KPI itself was last reviewed."),
}
_CLI_FLAG = "--mapping"  # the command line's option: the app's mapping step above does its job
MAX_FILES = 200
MAX_TOTAL_BYTES = 60 * 1024**2
_TYPES = ["csv", "tsv", "xlsx", "xlsm", "yml", "yaml", "json", "zip"]
_SHEET_SUFFIXES = tuple(s for s in SPREADSHEET_SUFFIXES if s != ".txt")


def _digest(*parts: bytes | str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()


# Cached on the file's content hash (``_data`` itself is not hashed): each rerun of the mapping step
# would otherwise read the workbook again. A failed read raises and is not cached.
@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def _read(
    digest: str, suffix: str, shown_as: str, sheet: str | None, _data: bytes, header_row: int | None = None
) -> SheetRead:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"  # never the uploader's name as a path
        path.write_bytes(_data)
        return read_uploaded_sheet(path, sheet, shown_as, header_row)


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def _import_sheet(
    digest: str,
    suffix: str,
    shown_as: str,
    sheet: str | None,
    mapping: tuple[tuple[str, str], ...],
    decimal: Separator | None,
    _data: bytes,
    header_row: int | None = None,
) -> ImportResult:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(_data)
        stem = Path(shown_as).stem
        return import_uploaded_sheet(path, dict(mapping), sheet, stem, shown_as, decimal, header_row)


def _reading(value: Reading) -> str:
    if isinstance(value, tuple):
        return f"{value[0]:,.10g}–{value[1]:,.10g}"
    return f"{value:,.10g}"


def _ask_separator(questions: list[NumberQuestion], key: str) -> Separator | None:
    """Ask how the file writes decimals when some numbers read two ways; None leaves them out."""
    st.warning(
        f"{plural(len(questions), 'number')} in this file can be read two ways, and nothing else in the file "
        "says which is meant. They are left out unless you say how the file writes decimals."
    )
    st.dataframe(
        [
            {
                "row": q.row,
                "KPI": q.kpi,
                "column": q.column,
                "as written": q.text,
                "with a decimal comma": _reading(q.readings[","]) if "," in q.readings else "",
                "with a decimal point": _reading(q.readings["."]) if "." in q.readings else "",
            }
            for q in questions[:50]
        ],
        hide_index=True,
        key=f"{key}_questions",
    )
    options: dict[str, Separator | None] = {
        "Leave them out (they stay in each KPI's description)": None,
        "This file writes a decimal comma (1.850 is one thousand eight hundred and fifty)": ",",
        "This file writes a decimal point (1.850 is one point eight five)": ".",
    }
    answer = st.radio("How does this file write decimals?", list(options), key=f"{key}_decimal")
    return options[answer]


def _import_dbt(files: list[tuple[str, bytes]], shown_as: str) -> ImportResult:
    """Several dbt YAML files and zipped projects, laid out as one project folder under safe names."""
    with tempfile.TemporaryDirectory() as temp:
        stem = Path(files[0][0]).stem if len(files) == 1 else "dbt-project"
        folder = Path(temp) / safe_name(stem, "dbt-project")
        folder.mkdir()
        archives: list[tuple[str, str]] = []
        for index, (name, data) in enumerate(files):
            suffix = Path(name).suffix.lower()
            stored = safe_name(Path(name).stem, "file")
            if (folder / f"{stored}{suffix}").exists() or any(a[0] == f"{stored}{suffix}" for a in archives):
                stored = f"{stored}-{index + 1}"
            (folder / f"{stored}{suffix}").write_bytes(data)
            if suffix == ".zip":
                archives.append((f"{stored}{suffix}", name))
        return import_uploaded_dbt(folder, archives, shown_as)


def _import_single(name: str, data: bytes) -> ImportResult:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{Path(name).suffix.lower()}"
        path.write_bytes(data)
        return import_uploaded_file(path, name)


def _kind(names: list[str]) -> str | None:
    """'sheet', 'file' (one YAML/JSON: dbt or a workspace), 'dbt' (several YAML files or a zip), or None."""
    suffixes = [Path(n).suffix.lower() for n in names]
    if len(names) == 1 and suffixes[0] in _SHEET_SUFFIXES:
        return "sheet"
    if len(names) == 1 and suffixes[0] in (*DBT_SUFFIXES, ".json"):
        return "file"
    if all(s in (*DBT_SUFFIXES, ".zip") for s in suffixes):
        return "dbt"
    return None


def _shown_value(value: float | None, kpi: Kpi) -> str:
    if value is None:
        return ""
    if kpi.unit_of_measure == UnitOfMeasure.PERCENT:
        return f"{value * 100:.4g}%"
    return f"{value:,.10g}"  # 1,200,000 rather than 1.2e+06


def without_cli(text: str) -> str:
    """A library message without its advice for the command line (``--mapping map.yaml``).

    The sentence or bracket holding the flag goes: "… not imported (map them with --mapping if they hold
    one)." reads "… not imported."; "… its columns: 'A', 'B'. Say which column … (--mapping …)." keeps its
    first sentence.
    """
    at = text.find(_CLI_FLAG)
    if at < 0:
        return text
    sentence = max(text.rfind(". ", 0, at) + 1, text.rfind("; ", 0, at), 0)
    bracket = text.rfind(" (", 0, at)
    cut = bracket if bracket > sentence and "mapping" not in text[sentence:bracket] else sentence
    return text[:cut].rstrip(" ;,.") + "."


def preview_rows(workspace: Workspace) -> list[dict[str, str]]:
    """Every KPI of an imported set as a table: what each filled field became (a percent shown as 95%)."""
    rows = []
    for kpi in workspace.kpis:
        unit, goal, target = workspace.unit_of_kpi(kpi), workspace.goal(kpi.goal) if kpi.goal else None, kpi.target
        if target is not None and (target.low is not None or target.high is not None):
            aim = f"{_shown_value(target.low, kpi)}–{_shown_value(target.high, kpi)}"
        else:
            aim = _shown_value(target.value if target else None, kpi)
        thresholds = kpi.thresholds
        rows.append(
            {
                "Name": kpi.name,
                "Unit": unit.name if unit else "",
                "Goal": goal.statement if goal else "",
                "Owner": kpi.owner or "",
                "Target": aim,
                "Due": f"{target.due:%Y-%m-%d}" if target and target.due else "",
                "Baseline": _shown_value(kpi.baseline.value if kpi.baseline else None, kpi),
                "Warning at": _shown_value(thresholds.warning if thresholds else None, kpi),
                "Critical at": _shown_value(thresholds.critical if thresholds else None, kpi),
                "Better when": kpi.direction.value if kpi.direction else "",
                "Unit of measure": kpi.unit_of_measure.value if kpi.unit_of_measure else "",
                "Cadence": kpi.cadence.value if kpi.cadence else "",
                "Formula": kpi.expression or "",
            }
        )
    # Columns no KPI fills are left out, so the ones that matter fit on screen.
    filled = {column for row in rows for column, text in row.items() if text}
    return [{c: t for c, t in row.items() if c == "Name" or c in filled} for row in rows]


def register_import(prefix: str, *, go_to_audit: bool) -> None:
    """The upload and import steps; ``prefix`` keeps widget keys apart per page."""
    uploads = st.file_uploader(
        "A KPI register: one spreadsheet (CSV, XLSX), or dbt semantic-layer YAML (several files, or a zipped project)",
        key=f"{prefix}_upload",
        max_upload_size=20,
        accept_multiple_files=True,
        type=_TYPES,
    )
    if not uploads:
        return
    files = [(u.name, u.getvalue()) for u in uploads]
    if len(files) > MAX_FILES or sum(len(d) for _, d in files) > MAX_TOTAL_BYTES:
        st.error(
            f"That is {plural(len(files), 'file')}: upload at most {MAX_FILES} files and 60 MB at once — "
            "for a dbt project, zip its models folder and upload the zip."
        )
        return
    kind = _kind([n for n, _ in files])
    if kind is None:
        st.error(
            f"{plural(len(files), 'file')} chosen: upload one spreadsheet on its own, or dbt YAML files (several "
            "at once, or a zipped project folder) — not both together. Remove the file you do not want with the ✕ "
            "beside its name above."
        )
        return
    if kind == "sheet":
        _spreadsheet_step(prefix, *files[0], go_to_audit=go_to_audit)
        return
    shown = files[0][0] if len(files) == 1 else f"{len(files)} dbt files"
    if kind == "dbt":
        st.caption(
            f"{plural(len(files), 'file')}: "
            + md_escape(", ".join(n for n, _ in files[:8]) + (" …" if len(files) > 8 else ""))
            + ". They are read as one dbt project: every semantic model becomes a source, every metric a KPI."
        )
    if not st.button("Import and audit", key=f"{prefix}_import", type="primary"):
        return
    try:
        with st.spinner(f"Importing {md_escape(shown)}…"):
            result = _import_dbt(files, shown) if kind == "dbt" else _import_single(*files[0])
    except KpiWizardError as error:
        show_error(error, headline=f"{shown} could not be imported.")
        return
    _open(result, shown, go_to_audit)


def _spreadsheet_step(prefix: str, name: str, data: bytes, *, go_to_audit: bool) -> None:
    suffix = Path(name).suffix.lower()
    digest = _digest(data)
    if st.session_state.get(f"{prefix}_mapped_file") != digest:
        # Another file: its sheet and mapping start from the guesses, not from the last file's choices.
        for key in [k for k in st.session_state if str(k).startswith((f"{prefix}_map", f"{prefix}_sheet"))]:
            del st.session_state[key]
        st.session_state[f"{prefix}_mapped_file"] = digest
    try:
        with st.spinner(f"Reading {md_escape(name)}…"):
            first = _read(digest, suffix, name, None, _data=data)
    except KpiWizardError as error:
        show_error(error, headline=f"{name} could not be imported.")
        return
    read, sheet, key = first, None, f"{prefix}_map"
    if len(first.sheets) > 1:
        picked = first.sheet if first.sheet in first.sheets else first.sheets[0]
        sheet = st.selectbox(
            "Sheet",
            first.sheets,
            index=first.sheets.index(picked),
            key=f"{prefix}_sheet",
            help="Preselected: the first sheet with a column of KPI names, the one the import reads by default.",
        )
        if sheet != picked:
            key = f"{prefix}_map{first.sheets.index(sheet)}"  # the columns differ: a fresh mapping
            try:
                read = _read(digest, suffix, name, sheet, _data=data)
            except KpiWizardError as error:
                show_error(error, headline=f"Sheet '{sheet}' cannot be read.")
                return
    row_col, _ = st.columns([1, 3])
    header_row = row_col.number_input(
        "Header row",
        min_value=1,
        value=read.header_row,
        step=1,
        key=f"{key}_header_row",
        help=f"The row of the sheet holding the column names; found: row {read.header_row} (a title or a note "
        "above it is passed over). Change it when the columns below look wrong.",
    )
    chosen_row = int(header_row) if header_row != read.header_row else None  # None: the importer's own find
    if chosen_row is not None:
        key = f"{key}_row{chosen_row}"  # other columns: a fresh mapping from the guesses
        try:
            read = _read(digest, suffix, name, sheet, _data=data, header_row=chosen_row)
        except KpiWizardError as error:
            show_error(error, headline=f"Row {chosen_row} cannot be read as the header row.")
            return
    st.caption(
        f"{plural(len(read.rows), 'row')}. Which column of the sheet holds what? The guesses are preselected; "
        f"change any of them, or pick {NOT_MAPPED} to leave a field out."
    )
    guessed = guess_mapping(read.headers, read.rows)
    columns = st.columns(4)
    mapping: dict[str, str] = {}
    for index, field in enumerate(FIELDS):
        options = [NOT_MAPPED, *read.headers]
        label, help_text = FIELD_LABELS.get(field, (field.replace("_", " ").capitalize(), ""))
        chosen = columns[index % 4].selectbox(
            label,
            options,
            key=f"{key}_{field}",
            index=options.index(guessed[field]) if guessed.get(field) in options else 0,
            help=help_text or None,
        )
        # An empty header tells the importer "leave this field out", so a guess switched off stays off.
        mapping[field] = "" if chosen == NOT_MAPPED else chosen
    columns_chosen = tuple(sorted(mapping.items()))
    try:
        with st.spinner("Preparing the preview…"):
            result = _import_sheet(digest, suffix, name, sheet, columns_chosen, None, _data=data, header_row=chosen_row)
            if result.questions and (decimal := _ask_separator(result.questions, key)) is not None:
                result = _import_sheet(
                    digest, suffix, name, sheet, columns_chosen, decimal, _data=data, header_row=chosen_row
                )
    except KpiWizardError as error:
        message = str(error)
        if _CLI_FLAG in message:
            st.error(
                f"**{md_escape(name)} cannot be imported with this mapping:** pick the column of KPI names under "
                f"*KPI name* above. {md_escape(without_cli(capitalised(message)))}",
                icon=":material/error:",
            )
        else:
            show_error(error, headline=f"{name} cannot be imported with this mapping.")
        result = None
    if result is not None:
        kpis = result.workspace.kpis
        st.markdown(f"**Preview**: all {plural(len(kpis), 'KPI')} as they will be imported")
        st.dataframe(
            preview_rows(result.workspace),
            hide_index=True,
            key=f"{prefix}_preview",
            width="stretch",  # the container's width; more columns than fit scroll sideways
            column_config={"Name": st.column_config.TextColumn(pinned=True)},  # the name stays while scrolling
            height=min(PREVIEW_HEIGHT, 38 + 35 * len(kpis)),
        )
        if result.notes:
            with st.expander(
                f"Import notes ({len(result.notes)}): what could not be mapped as written — read before importing",
                expanded=False,
            ):
                st.markdown("\n".join(f"- {md_escape(without_cli(note))}" for note in result.notes))
                st.caption("They stay on the Audit page after the import until you dismiss them.")
    if st.button("Import and audit", key=f"{prefix}_import", type="primary") and result is not None:
        _open(result, name, go_to_audit)


def _open(result: ImportResult, shown: str, go_to_audit: bool) -> None:
    try:
        state.commit_as_new(result.workspace, note=f"Imported from {shown}")
    except KpiWizardError as error:
        show_error(error, headline=f"{shown} was read but could not be saved.")
        return
    state.flash("success", f"Imported {plural(len(result.workspace.kpis), 'KPI')} from {shown}.")
    try:
        state.save_import_notes(shown, result.notes)
    except KpiWizardError as error:  # the workspace is saved; only the notes would not survive a reload
        state.flash("warning", f"The import notes could not be kept for later ({error}); read them now.")
    if go_to_audit:
        st.switch_page("pages/audit.py")
    st.rerun()
