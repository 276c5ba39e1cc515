"""Forms for units, goals and KPIs. Each returns the submitted values as a dict, or None."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from kpi_model.conditions import column_kind, column_label
from kpi_model.errors import Problem, WorkspaceError
from kpi_model.grid import partner_labels
from kpi_model.models import (
    Cadence,
    Category,
    Direction,
    Goal,
    Kind,
    Kpi,
    Measure,
    Unit,
    UnitOfMeasure,
    Workspace,
)
from ui.feedback import md_escape, show_error
from ui.values import HELP as _NUMBER_HELP
from ui.values import percent_typo, read_value, shown_value

_NONE = "—"

# Form labels by the path a validation problem names, so errors point at what people see.
UNIT_LABELS = {"id": "Id", "name": "Unit name", "owner": "Head of unit", "description": "Description"}
GOAL_LABELS = {"id": "Id", "unit": "Unit", "statement": "Strategic goal", "due": "Achieve by", "owner": "Goal owner"}
KPI_LABELS = {
    "id": "Id",
    "name": "Name",
    "goal": "Goal",
    "unit": "Unit",
    "owner": "Owner",
    "owner_email": "Owner's e-mail",
    "description": "Definition",
    "category": "Category",
    "kind": "Kind",
    "measure": "Measure",
    "source": "Data source",
    "time_column": "Time column",
    "expression": "Formula",
    "filter": "Row filter",
    "unit_of_measure": "Unit of measure",
    "direction": "Better when",
    "cadence": "Review cadence",
    "scale": "Survey scale",
    "baseline.value": "Baseline value",
    "baseline.period": "Baseline period",
    "target": "Target",
    "target.value": "Target value",
    "target.due": "Target due",
    "target.low": "Range low",
    "target.high": "Range high",
    "thresholds.warning": "Warning at",
    "thresholds.critical": "Critical at",
    "pairs_with": "Paired leading/lagging KPI",
    "action": "Action when off track",
    "review_date": "Last reviewed",
}


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


def _choice(label: str, options: list[str], current: str | None, key: str, help: str | None = None) -> str | None:
    """A selectbox whose first option means 'not set'."""
    choices = [_NONE, *options]
    index = choices.index(current) if current in choices else 0
    picked = st.selectbox(label, choices, index=index, key=key, help=help)
    return None if picked == _NONE else picked


def goal_labels(workspace: Workspace) -> dict[str, str]:
    """Each goal's id → "Unit name — statement", with the goal id added where two would read the same.

    Pickers must use the ids as options: Streamlit sends the shown label back, so two goals shown
    alike would be confused on the next save (issue 11: a KPI moved to another unit's goal).
    """
    labels = {}
    for goal in workspace.goals:
        unit = workspace.unit(goal.unit)
        labels[goal.id] = f"{unit.name if unit else goal.unit} — {goal.statement}"
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {goal_id: f"{label} ({goal_id})" if counts[label] > 1 else label for goal_id, label in labels.items()}


def unit_form(key: str, unit: Unit | None = None) -> dict[str, Any] | None:
    """Fields of a unit; ``unit`` pre-fills them for editing."""
    with st.form(key, border=True):
        name = st.text_input(
            "Unit name", value=unit.name if unit else "", key=f"{key}_name", placeholder="e.g. Sales & Marketing"
        )
        unit_id = st.text_input(
            "Id",
            value=unit.id if unit else "",
            key=f"{key}_id",
            help="Short id used in the file; left empty, it is made from the name.",
        )
        owner = st.text_input("Head of unit", value=(unit.owner or "") if unit else "", key=f"{key}_owner")
        description = st.text_area(
            "Description", value=(unit.description or "") if unit else "", key=f"{key}_description", height=68
        )
        if not st.form_submit_button("Save unit" if unit else "Add unit", type="primary"):
            return None
    return {
        "id": unit_id.strip(),
        "name": name.strip(),
        "owner": _blank_to_none(owner),
        "description": _blank_to_none(description),
    }


def goal_form(
    key: str, workspace: Workspace, goal: Goal | None = None, unit_id: str | None = None
) -> dict[str, Any] | None:
    """Fields of a goal; ``goal`` pre-fills them for editing."""
    names = [u.name for u in workspace.units]
    # Ids as options and unique labels: Streamlit sends the shown label back (see goal_labels).
    units = {u.id: f"{u.name} ({u.id})" if names.count(u.name) > 1 else u.name for u in workspace.units}
    current_unit = goal.unit if goal else unit_id
    with st.form(key, border=True):
        unit = st.selectbox(
            "Unit",
            list(units),
            format_func=units.get,
            key=f"{key}_unit",
            index=list(units).index(current_unit) if current_unit in units else 0,
        )
        statement = st.text_area(
            "Strategic goal",
            value=goal.statement if goal else "",
            key=f"{key}_statement",
            height=68,
            placeholder="e.g. Grow repeat revenue from existing customers",
        )
        goal_id = st.text_input(
            "Id",
            value=goal.id if goal else "",
            key=f"{key}_id",
            help="Short id used in the file; left empty, it is made from the statement.",
        )
        due = st.date_input("Achieve by", value=goal.due if goal else None, key=f"{key}_due")
        owner = st.text_input("Goal owner", value=(goal.owner or "") if goal else "", key=f"{key}_owner")
        if not st.form_submit_button("Save goal" if goal else "Add goal", type="primary"):
            return None
    return {
        "id": goal_id.strip(),
        "unit": unit,
        "statement": statement.strip(),
        "due": due,
        "owner": _blank_to_none(owner),
    }


_FROM_GOAL = object()  # the unit picker was read-only: the unit follows the goal


def _unit_picker(column: Any, key: str, workspace: Workspace, kpi: Kpi) -> Any:
    """The KPI's unit: read-only, the goal's, when it has a goal; else a choice among the units.

    Returns the unit id picked (None for none), or ``_FROM_GOAL`` when the goal decides.
    """
    names = [u.name for u in workspace.units]
    labels = {u.id: f"{u.name} ({u.id})" if names.count(u.name) > 1 else u.name for u in workspace.units}
    goal = workspace.goal(kpi.goal) if kpi.goal else None
    if goal is not None:
        column.selectbox(
            "Unit",
            [goal.unit],
            format_func=lambda u: labels.get(u, u),
            disabled=True,
            key=f"{key}_unit_of_goal",
            help="Set by the goal: a KPI belongs to its goal's unit. To choose a unit, set Goal to '—' and save.",
        )
        return _FROM_GOAL
    options = [_NONE, *labels]
    picked = column.selectbox(
        "Unit",
        options,
        index=options.index(kpi.unit) if kpi.unit in labels else 0,
        format_func=lambda u: labels.get(u, u),
        key=f"{key}_unit",
        help="A KPI without a goal can still belong to a unit (picking a goal later sets the goal's unit).",
    )
    return None if picked == _NONE else picked


def _time_column(column: Any, key: str, kpi: Kpi, source: str | None, types: Mapping[str, str]) -> str:
    """The time column: a pick-list of the source's date and timestamp columns when its data is loaded, else typed.

    The saved value stays offered even when it is not one of them, marked, so opening a card changes nothing.
    """
    if not source or not types:
        return str(
            column.text_input(
                "Time column",
                value=kpi.time_column or "",
                key=f"{key}_time_column",
                help="The date column each row is counted on. Load the source's data to pick it from a list.",
            )
        )
    dates = [name for name, sql_type in types.items() if column_kind(sql_type).is_temporal]
    current = kpi.time_column
    options = [*dates, *([current] if current and current not in dates else [])]

    def shown(name: str) -> str:
        if name == _NONE or name in dates:
            return name if name == _NONE else column_label(name, types[name])
        if name in types:
            return f"{name} ({column_kind(types[name]).value}, not a date)"
        return f"{name} (not a column of {source})"

    if not dates:
        column.warning(
            f"'{md_escape(source)}' has no date or timestamp column. Set a column's type to date on the Data page, "
            "or pick another source.",
            icon=":material/event_busy:",
        )
    choices = [_NONE, *options]
    picked = column.selectbox(
        "Time column",
        choices,
        index=choices.index(current) if current in choices else 0,
        key=f"{key}_time_column",
        format_func=shown,
        help=f"A date or timestamp column of '{md_escape(source)}': each row is counted in the period of its date.",
    )
    return "" if picked == _NONE else str(picked)


def kpi_form(
    key: str,
    workspace: Workspace,
    kpi: Kpi,
    column_types: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> dict[str, Any] | None:
    """Every field of a KPI, grouped as a person fills them in.

    ``column_types`` holds the (column, type) pairs of each loaded table: the time column is then picked
    from the chosen source's date columns.
    """
    goals = goal_labels(workspace)
    goal_options = [_NONE, *goals]
    # Outside the form: a form sends nothing until its Save, and picking a source must offer that source's
    # date columns at once, before the KPI is first saved.
    left, right = st.columns(2, vertical_alignment="bottom")
    with left:
        source = _choice(
            "Data source",
            [s.name for s in workspace.sources],
            kpi.source,
            f"{key}_source",
            help="Declared under sources: a file or a SQL view. Derived KPIs have none.",
        )
    right.caption("Picked first: Time column below offers its date columns. Saved with the rest by **Save KPI**.")
    types = dict((column_types or {}).get(source or "", []))
    with st.form(key, border=False):
        st.markdown("**What and who**")
        left, right = st.columns(2)
        name = left.text_input("Name", value=kpi.name, key=f"{key}_name")
        kpi_id = right.text_input(
            "Id",
            value=kpi.id,
            key=f"{key}_id",
            help="Used in formulas of derived KPIs: lower-case letters, digits and '_'.",
        )
        goal = left.selectbox(
            "Goal",
            goal_options,
            index=goal_options.index(kpi.goal) if kpi.goal in goals else 0,
            format_func=lambda g: goals.get(g, g),
            key=f"{key}_goal",
        )
        picked_unit = _unit_picker(right, key, workspace, kpi)
        owner = left.text_input("Owner (a person or role)", value=kpi.owner or "", key=f"{key}_owner")
        owner_email = right.text_input(
            "Owner's e-mail",
            value=kpi.owner_email or "",
            key=f"{key}_owner_email",
            placeholder="name@example.com",
            help="Optional. E-mail alert channels also send this KPI's alerts here (Alerts page).",
        )
        description = st.text_area("Definition", value=kpi.description or "", key=f"{key}_description", height=68)
        c1, c2, c3 = st.columns(3)
        with c1:
            category = _choice("Category", [c.value for c in Category], kpi.category, f"{key}_category")
        with c2:
            kind = _choice(
                "Kind",
                [k.value for k in Kind],
                kpi.kind,
                f"{key}_kind",
                help="Leading indicators move first; lagging ones record the outcome.",
            )
        measures = [m.value for m in Measure]
        measure = c3.selectbox(
            "Measure",
            measures,
            index=measures.index(kpi.measure),
            key=f"{key}_measure",
            help="Qualitative = collected by survey on a scale.",
        )
        st.markdown("**How it is computed**")
        left, right = st.columns(2)
        time_column = _time_column(left, key, kpi, source, types)
        right.caption(
            f"Computed on **{md_escape(source)}**, the data source picked above."
            if source
            else "No data source picked above: a derived KPI's formula uses other KPIs' ids."
        )
        expression = st.text_area(
            "Formula (one SQL aggregate expression)",
            value=kpi.expression or "",
            key=f"{key}_expression",
            height=68,
            placeholder="e.g. sum(amount) / nullif(count(DISTINCT order_id), 0)",
        )
        row_filter = st.text_input(
            "Row filter (optional)",
            value=kpi.filter or "",
            key=f"{key}_filter",
            placeholder="e.g. status <> 'cancelled'",
        )
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            unit_of_measure = _choice(
                "Unit of measure", [u.value for u in UnitOfMeasure], kpi.unit_of_measure, f"{key}_uom"
            )
        with c2:
            direction = _choice(
                "Better when",
                [d.value for d in Direction],
                kpi.direction,
                f"{key}_direction",
                help="up: higher is better; down: lower is better; range: stay between low and high.",
            )
        with c3:
            cadence = _choice("Review cadence", [c.value for c in Cadence], kpi.cadence, f"{key}_cadence")
        scale = c4.text_input(
            "Survey scale",
            value=kpi.scale or "",
            key=f"{key}_scale",
            help="For qualitative KPIs, e.g. '0-10' or '1-5'.",
        )
        st.markdown("**Baseline, target and thresholds**")
        c1, c2, c3, c4 = st.columns(4)
        numbers = {
            "baseline.value": c1.text_input(
                "Baseline value",
                value=shown_value(kpi.baseline.value if kpi.baseline else None, kpi.unit_of_measure),
                key=f"{key}_baseline_value",
                help=_NUMBER_HELP,
            ),
        }
        baseline_period = c2.text_input(
            "Baseline period",
            value=(kpi.baseline.period or "") if kpi.baseline else "",
            key=f"{key}_baseline_period",
            help="2026-12, 2026-Q4, 2026-W07, 2026 or a date.",
        )
        target, thresholds = kpi.target, kpi.thresholds
        numbers["target.value"] = c3.text_input(
            "Target value",
            value=shown_value(target.value if target else None, kpi.unit_of_measure),
            key=f"{key}_target_value",
            help=_NUMBER_HELP,
        )
        target_due = c4.date_input("Target due", value=target.due if target else None, key=f"{key}_target_due")
        c1, c2, c3, c4 = st.columns(4)
        numbers["target.low"] = c1.text_input(
            "Range low",
            value=shown_value(target.low if target else None, kpi.unit_of_measure),
            key=f"{key}_target_low",
            help=f"Only for 'range' KPIs. {_NUMBER_HELP}",
        )
        numbers["target.high"] = c2.text_input(
            "Range high",
            value=shown_value(target.high if target else None, kpi.unit_of_measure),
            key=f"{key}_target_high",
            help=f"Only for 'range' KPIs. {_NUMBER_HELP}",
        )
        numbers["thresholds.warning"] = c3.text_input(
            "Warning at",
            value=shown_value(thresholds.warning if thresholds else None, kpi.unit_of_measure),
            key=f"{key}_warning",
            help=f"Amber from here: below it when higher is better, above it when lower is better. {_NUMBER_HELP}",
        )
        numbers["thresholds.critical"] = c4.text_input(
            "Critical at",
            value=shown_value(thresholds.critical if thresholds else None, kpi.unit_of_measure),
            key=f"{key}_critical",
            help=f"Red from here. {_NUMBER_HELP}",
        )
        st.markdown("**Acting on it**")
        # Partners by name (the id only where two KPIs share a name); the options stay ids.
        names = partner_labels(workspace)
        others = [_NONE, *(k.id for k in workspace.kpis if k.id != kpi.id)]
        left, right = st.columns(2)
        picked_partner = left.selectbox(
            "Paired leading/lagging KPI",
            others,
            index=others.index(kpi.pairs_with) if kpi.pairs_with in others else 0,
            format_func=lambda k: names.get(k, k),
            key=f"{key}_pairs_with",
        )
        pairs_with = None if picked_partner == _NONE else picked_partner
        review_date = right.date_input("Last reviewed", value=kpi.review_date, key=f"{key}_review_date")
        action = st.text_area(
            "Action when off track",
            value=kpi.action or "",
            key=f"{key}_action",
            height=68,
            placeholder="e.g. Sales runs a win-back campaign when below warning",
        )
        if not st.form_submit_button("Save KPI", type="primary"):
            return None
    parsed: dict[str, float | None] = {}
    problems = []
    stored = {
        "baseline.value": kpi.baseline.value if kpi.baseline else None,
        "target.value": target.value if target else None,
        "target.low": target.low if target else None,
        "target.high": target.high if target else None,
        "thresholds.warning": thresholds.warning if thresholds else None,
        "thresholds.critical": thresholds.critical if thresholds else None,
    }
    for path, text in numbers.items():
        try:
            parsed[path] = read_value(text, KPI_LABELS[path], unit_of_measure)
        except ValueError as error:
            problems.append(Problem(path, str(error)))
            continue
        if typo := percent_typo(text, parsed[path], unit_of_measure, shown_value(stored[path], kpi.unit_of_measure)):
            problems.append(Problem(path, typo))
    if parsed.get("baseline.value") is None and baseline_period.strip() and not problems:
        problems.append(Problem("baseline.value", "give the baseline's value too (or clear its period)"))
    if problems:
        show_error(WorkspaceError(problems), labels=KPI_LABELS)
        return None
    target_value, target_low, target_high = parsed["target.value"], parsed["target.low"], parsed["target.high"]
    warning, critical = parsed["thresholds.warning"], parsed["thresholds.critical"]
    has_target = any(v is not None for v in (target_value, target_low, target_high, target_due))
    has_thresholds = warning is not None or critical is not None
    picked_goal = None if goal == _NONE else workspace.goal(goal)
    if picked_goal is not None:  # a goal decides the unit; `unit` is kept only where it agrees
        unit = kpi.unit if kpi.unit == picked_goal.unit else None
    elif picked_unit is not _FROM_GOAL:  # it had no goal: the picker chose its unit
        unit = picked_unit
    else:  # it leaves its goal: it stays in that goal's unit (or the one it named)
        previous = workspace.unit_of_kpi(kpi)
        unit = kpi.unit or (previous.id if previous else None)
    return {
        "id": kpi_id.strip(),
        "name": name.strip(),
        "goal": None if goal == _NONE else goal,
        "unit": unit,
        "description": _blank_to_none(description),
        "owner": _blank_to_none(owner),
        "owner_email": _blank_to_none(owner_email),
        "category": category,
        "kind": kind,
        "measure": measure,
        "source": source,
        "expression": _blank_to_none(expression),
        "filter": _blank_to_none(row_filter),
        "time_column": _blank_to_none(time_column),
        "unit_of_measure": unit_of_measure,
        "direction": direction,
        "cadence": cadence,
        "scale": _blank_to_none(scale),
        "baseline": {"value": parsed["baseline.value"], "period": _blank_to_none(baseline_period)}
        if parsed["baseline.value"] is not None
        else None,
        "target": {"value": target_value, "low": target_low, "high": target_high, "due": target_due}
        if has_target
        else None,
        "thresholds": {"warning": warning, "critical": critical} if has_thresholds else None,
        "pairs_with": pairs_with,
        "action": _blank_to_none(action),
        "review_date": review_date,
        "template": kpi.template,
    }
