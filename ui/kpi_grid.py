"""The grid of KPIs on the KPIs page: the common fields of every KPI of a goal or unit in one table.

Cells are read by :func:`kpi_model.grid.apply_grid` (the card's readers and messages) and saved as one
version; nothing is saved while any cell is wrong. Suggestions (:mod:`kpi_model.suggestions`) fill
empty cells on a click, into the grid, for the person to check before saving.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from kpi_model.engine import Series
from kpi_model.errors import KpiWizardError
from kpi_model.formula import SeriesRequest
from kpi_model.grid import (
    CHOICES,
    COLUMNS,
    CellProblem,
    GridError,
    apply_grid,
    cell,
    grid_problems,
    grid_rows,
    partner_labels,
    row_problems,
)
from kpi_model.grid import with_suggestions as filled_with
from kpi_model.models import Kpi, Workspace
from kpi_model.periods import cadence_grain
from kpi_model.suggestions import Suggestion, suggest
from kpi_model.typed_values import HELP as NUMBER_HELP
from ui import state
from ui.feedback import apply_edit, md_escape, plural

_DRAFT = "kpi_grid_draft"  # scope → {"base": rows as stored, "rows": rows with accepted suggestions}
_ROUND = "kpi_grid_round"  # scope → a number in the editor's key: a new number draws the editor afresh
_PROBLEMS = "kpi_grid_problems"  # scope → (editor key, the cells that could not be used when it was drawn)
# The grid's first column: ✓ for a row that can be saved, else its problems. Always there, so a column never
# appears under the cursor: the cell a person selected stays the one they selected.
_PROBLEM = "problem"
_OK = "✓"
_HELP = {
    "owner": "A person or a role.",
    "owner_email": "Optional: e-mail alert channels also send this KPI's alerts here.",
    "unit_of_measure": f"One of: {', '.join(CHOICES['unit_of_measure'])}. What the number is; a percent KPI's "
    "values are typed as 95% or 0.95.",
    "cadence": f"One of: {', '.join(CHOICES['cadence'])}. How often the KPI is reviewed; it sets the period its "
    "data is judged by.",
    "direction": "One of: up (higher is better), down (lower is better), range (stay between low and high, set "
    "on the card).",
    "target_due": "A day: 2027-06-30, 30/06/2027 or 30 Jun 2027. 03/04/2027 reads two ways and is refused.",
    "review_date": "A day: 2027-06-30, 30/06/2027 or 30 Jun 2027. 03/04/2027 reads two ways and is refused.",
    "baseline": NUMBER_HELP,
    "baseline_period": "2026-12, 2026-Q4, 2026-W07, 2026 or a date.",
    "target": NUMBER_HELP,
    "warning": f"Amber from here. {NUMBER_HELP}",
    "critical": f"Red from here. {NUMBER_HELP}",
    "pairs_with": "The leading or lagging KPI this one is read with.",
}


def _column_config(labels: Mapping[str, str], with_goal: bool, any_problem: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        _PROBLEM: st.column_config.TextColumn(
            "Check",
            disabled=True,
            pinned=True,
            width="medium" if any_problem else "small",  # a width change keeps the edits; a new column would not
            help=f"{_OK}: the row can be saved. Otherwise what is wrong in it and the fix, as listed under the grid; "
            "nothing is saved while any row has a problem.",
        ),
        "kpi": None,  # the id travels with the row, unseen
        "name": st.column_config.TextColumn("KPI", disabled=True, pinned=True),
        "goal": st.column_config.TextColumn("Goal", disabled=True) if with_goal else None,
    }
    for column, label in COLUMNS.items():
        help_text = _HELP.get(column)
        if column == "pairs_with":
            config[column] = st.column_config.SelectboxColumn(label, options=list(labels.values()), help=help_text)
        else:
            # Choices, dates and numbers are text: a pick-list drops a pasted 'hours' without a word and a date
            # column reads a pasted 03/04/2026 month first; as text, kpi_model.grid reads them and marks ⚠.
            width = "large" if column == "action" else None
            config[column] = st.column_config.TextColumn(label, help=help_text, width=width)
    return config


def _frame(rows: list[dict[str, Any]], problems: Mapping[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["kpi", "name", "goal", *COLUMNS])
    frame.insert(0, _PROBLEM, [f"⚠ {problems[row['kpi']]}" if row["kpi"] in problems else _OK for row in rows])
    # An empty cell shows empty, not as 'None' (a KPI of no template has no unit, cadence or partner).
    return frame.astype("string").fillna("")


_MARKED = "color: #b42318; background-color: #fef3f2"  # a row that cannot be saved: its check and its name
_FINE = "color: #067647"


def _marked(frame: pd.DataFrame) -> Any:
    """The frame with each problem and the name of its row in red: Streamlit styles only cells that cannot be
    edited, so the bad cell itself stays plain and its row's check says which it is."""
    bad = list(frame[_PROBLEM] != _OK)
    return frame.style.apply(lambda _: [_MARKED if b else _FINE for b in bad], subset=[_PROBLEM]).apply(
        lambda _: [_MARKED if b else "" for b in bad], subset=["name"]
    )


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The editor's table as plain rows: missing cells None."""
    plain = frame.drop(columns=_PROBLEM).astype(object).where(frame.notna(), None)
    return plain.to_dict("records")


def _series(workspace: Workspace, kpi: Kpi, cadence: str | None) -> Series | None:
    """The KPI's data at its cadence's grain, when its data is loaded and it computes; else None."""
    data = state.datastore()
    if data is None or not data.db_path.is_file() or not kpi.expression:
        return None
    try:
        return data.engine().compute(workspace, kpi.id, SeriesRequest(grain=cadence_grain(cadence)))  # type: ignore[arg-type]
    except KpiWizardError:
        return None


def _needs_data(kpi: Kpi) -> bool:
    no_thresholds = kpi.thresholds is None or (kpi.thresholds.warning is None and kpi.thresholds.critical is None)
    return kpi.baseline is None or (no_thresholds and kpi.target is not None)


def open_suggestions(
    workspace: Workspace, kpis: list[Kpi], rows: list[dict[str, Any]], *, readable: bool
) -> dict[str, list[Suggestion]]:
    """Each KPI's suggestions for the cells still empty in the grid as it is now.

    They follow the grid's unsaved cells while those read (``readable``: a target typed in gets thresholds
    suggested); while any cell is wrong, they follow the saved KPIs.
    """
    edited = apply_grid(workspace, rows) if readable else workspace
    by_id = {row["kpi"]: row for row in rows}
    found: dict[str, list[Suggestion]] = {}
    for saved in kpis:
        kpi = edited.kpi(saved.id) or saved
        row = by_id.get(kpi.id, {})
        without_data = suggest(edited, kpi)
        cadence = kpi.cadence or next((s.value for s in without_data if s.column == "cadence"), None)
        series = _series(workspace, kpi, cadence) if _needs_data(kpi) else None
        found[kpi.id] = [s for s in suggest(edited, kpi, series) if row.get(s.column) in (None, "")]
    return {kpi_id: items for kpi_id, items in found.items() if items}


def _suggestion_text(item: Suggestion, unit: str | None, labels: Mapping[str, str]) -> str:
    shown = cell(item.column, item.value, unit, labels)
    return f"{COLUMNS[item.column]} **{md_escape(shown)}** :small[({md_escape(item.reason)})]"


def _unit_after(row: Mapping[str, Any], items: list[Suggestion]) -> str | None:
    """The unit of measure a row's numbers are written in once its suggestions are accepted."""
    unit = row.get("unit_of_measure")
    if unit in CHOICES["unit_of_measure"]:
        return str(unit)
    return next((str(s.value) for s in items if s.column == "unit_of_measure"), None)


def _accept(
    scope: str,
    base: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    chosen: Mapping[str, list[Suggestion]],
    labels: Mapping[str, str],
) -> None:
    """Fill the chosen suggestions into the grid (not saved yet) and draw the editor afresh with them."""
    filled = [filled_with(row, {s.column: s.value for s in chosen.get(row["kpi"], [])}, labels) for row in rows]
    st.session_state.setdefault(_DRAFT, {})[scope] = {"base": base, "rows": filled}
    rounds = st.session_state.setdefault(_ROUND, {})
    rounds[scope] = rounds.get(scope, 0) + 1
    st.rerun()


def _problem_list(cells: list[CellProblem]) -> None:
    lines = "\n".join(
        f"- **{md_escape(c.kpi_name)}** — {md_escape(c.column)}: {md_escape(c.message.rstrip('.'))}. "
        f"**Fix:** {md_escape(c.fix)}"
        for c in cells
    )
    st.error(
        f"{plural(len(cells), 'cell')} cannot be used yet, marked ⚠ in the grid's Check column. "
        f"Nothing is saved until they are fixed:\n\n{lines}",
        icon=":material/error:",
    )


def kpi_grid(workspace: Workspace, kpis: list[Kpi], scope: str, *, with_goal: bool = False) -> None:
    """Every KPI of ``kpis`` in one editable table; Save checks every cell and saves one version."""
    if not kpis:
        st.info("No KPIs here yet. Add one from the library above.")
        return
    labels = partner_labels(workspace)
    base = grid_rows(workspace, kpis)
    draft = st.session_state.get(_DRAFT, {}).get(scope)
    shown = draft["rows"] if draft and draft["base"] == base else base  # a draft of an older version is dropped
    round_number = st.session_state.get(_ROUND, {}).get(scope, 0)
    key = f"kpi_grid_{scope}_{round_number}"
    marked_key, drawn = st.session_state.get(_PROBLEMS, {}).get(scope, (key, []))
    if marked_key != key:  # marked in an editor of an earlier round
        drawn = []
    st.caption(
        "Click a cell to edit it, or paste a block copied from a spreadsheet. Numbers are typed as people write "
        "them (95%, 1,2k, 0,3). Nothing is saved until **Save the grid**, as one version."
    )
    config = _column_config(labels, with_goal, any_problem=bool(drawn))
    edited = st.data_editor(
        _marked(_frame(shown, row_problems(drawn))),
        key=key,
        column_config=config,
        hide_index=True,
        num_rows="fixed",
        width="stretch",
    )
    rows = _rows(edited)
    # The cells are checked as they are edited; the editor is drawn again when what it marks is out of date.
    if (found := grid_problems(workspace, rows)) != drawn:
        st.session_state.setdefault(_PROBLEMS, {})[scope] = (key, found)
        st.rerun()
    if drawn:  # under the grid: a list appearing above it would move the cells away from the cursor
        _problem_list(drawn)
    if shown is not base:
        st.caption(":material/edit_note: Suggestions are filled in but not saved yet: check them and save.")
    save, discard = st.columns([1, 3])
    if save.button("Save the grid", key=f"kpi_grid_save_{scope}", type="primary", icon=":material/save:"):
        try:
            new = apply_grid(workspace, rows)
        except GridError as error:
            st.error(
                f"Nothing was saved: {plural(len(error.cells), 'cell')} cannot be used. Fix the cells marked ⚠ in the "
                "Check column (listed under the grid) and save again.",
                icon=":material/error:",
            )
        else:
            changed = [k.name for k in kpis if new.kpi(k.id) != k]
            if not changed:
                st.info("Nothing changed: the grid holds what is saved.")
            else:
                drafts = {k: v for k, v in st.session_state.get(_DRAFT, {}).items() if k != scope}
                rounds = {**st.session_state.get(_ROUND, {}), scope: round_number + 1}
                apply_edit(
                    lambda: new,
                    f"Saved the grid: {plural(len(changed), 'KPI')} changed ({', '.join(changed[:5])}"
                    f"{' …' if len(changed) > 5 else ''}).",
                    then={_DRAFT: drafts, _ROUND: rounds},
                )
    if shown is not base and discard.button("Discard the suggestions filled in", key=f"kpi_grid_discard_{scope}"):
        st.session_state[_DRAFT].pop(scope, None)
        st.session_state.setdefault(_ROUND, {})[scope] = round_number + 1
        st.rerun()
    _suggestions(workspace, kpis, scope, base, rows, labels, readable=not drawn)


def _suggestions(
    workspace: Workspace,
    kpis: list[Kpi],
    scope: str,
    base: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    labels: Mapping[str, str],
    *,
    readable: bool,
) -> None:
    st.markdown("##### Suggestions for empty cells")
    with st.spinner("Reading the data for baselines and thresholds…", show_time=True):
        found = open_suggestions(workspace, kpis, rows, readable=readable)
    if not readable:
        st.caption(
            ":material/warning: While cells marked ⚠ cannot be read, the suggestions follow the saved KPIs, not "
            "the grid: fix those cells and they follow what you typed (a target typed in gets thresholds)."
        )
    if not found:
        st.caption(
            "No suggestions: the empty cells have no default here (owners come from the goal or unit, cadence, "
            "direction and unit from the template, baselines from loaded data, and thresholds from loaded data "
            "once a KPI has a direction and a target with its due date)."
        )
        return
    total = sum(len(items) for items in found.values())
    label = f"Accept all {total:,} suggestions" if total > 1 else "Accept the suggestion"
    if st.button(label, key=f"kpi_grid_accept_all_{scope}", icon=":material/done_all:"):
        _accept(scope, base, rows, found, labels)
    by_id = {row["kpi"]: row for row in rows}
    for kpi in kpis:
        items = found.get(kpi.id)
        if not items:
            continue
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(
            f"**{md_escape(kpi.name)}**: "
            + " · ".join(_suggestion_text(s, _unit_after(by_id[kpi.id], items), labels) for s in items)
        )
        if button.button(
            "Accept",
            key=f"kpi_grid_accept_{scope}_{kpi.id}",
            help=f"Fill in {plural(len(items), 'suggestion')} for this KPI",
        ):
            _accept(scope, base, rows, {kpi.id: items}, labels)
