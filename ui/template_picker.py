"""Browse the KPI template library: search, filter, read the definition, pick one, map its columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import streamlit as st

from kpi_model.conditions import ColumnKind, ConditionError, Operator, column_kind, column_label, condition_sql
from kpi_model.errors import KpiWizardError
from kpi_model.library import Template, get_template, quote_column, search_templates
from kpi_model.models import Category, Kind
from ui import state
from ui.feedback import capitalised, md_escape, plural

_ALL = "all"


def template_picker() -> Template | None:
    """Search and filter controls and the chosen template's card; returns the chosen template."""
    search_col, category_col, kind_col = st.columns([3, 1, 1])
    text = search_col.text_input(
        "Search templates", key="template_search", placeholder="e.g. churn, conversion, on-time, AOV"
    )
    category = category_col.selectbox("Category", [_ALL, *[c.value for c in Category]], key="template_category")
    kind = kind_col.selectbox("Kind", [_ALL, *[k.value for k in Kind]], key="template_kind")
    found = search_templates(
        text or None, category=None if category == _ALL else category, kind=None if kind == _ALL else kind
    )
    if not found:
        st.info("No template matches. Try a shorter word, clear the filters, or add a custom KPI.")
        return None
    by_id = {t.id: t for t in found}
    chosen = st.selectbox(
        f"{plural(len(found), 'matching template')}",
        list(by_id),
        key="template_choice",
        format_func=lambda i: f"{by_id[i].name} · {by_id[i].category.value} · {by_id[i].kind.value}",
    )
    template = by_id[chosen]
    with st.container(border=True):
        st.markdown(f"**{md_escape(template.name)}** — {md_escape(template.definition)}")
        st.caption(
            f"{template.kind.value.capitalize()} · {template.category.value} · better when {template.direction.value}"
            f" · {template.unit_of_measure.value} · reviewed {template.cadence.value}"
        )
        st.code(template.expression, language="sql", wrap_lines=True)
        roles = ", ".join(
            f"{md_escape(name)} ({md_escape(description)})" for name, description in template.roles.items()
        )
        st.caption(f"Columns it needs: {roles}")
        if template.partners:
            partners = ", ".join(get_template(p).name for p in template.partners)
            st.caption(f"Pair it with: {md_escape(partners)}")
        if template.vanity_risk:
            st.warning(f"Vanity risk: {md_escape(template.vanity_risk)}", icon=":material/warning:")
    return template


# Every column of the loaded tables and views with its DuckDB type; fixed text, no visitor input.
_COLUMN_TYPES_SQL = (
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
)
_NONE = "—"
# Not an operator of kpi_model.conditions: the chosen column is itself true/false and used as it is.
_IS_TRUE = "is true"


def loaded_column_types() -> dict[str, list[tuple[str, str]]]:
    """(column, DuckDB type) per loaded table or view of the open workspace; {} when nothing is loaded."""
    data = state.datastore()
    if data is None or not data.db_path.is_file():
        return {}
    try:
        _, rows = data.engine().query(_COLUMN_TYPES_SQL)
    except (KpiWizardError, duckdb.Error):  # a database another process is rewriting: free text still works
        return {}
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, sql_type in rows:
        found.setdefault(str(table), []).append((str(column), str(sql_type)))
    return found


@dataclass(frozen=True)
class ColumnChoice:
    """What the person mapped for a template: a column per role, a condition per true/false role."""

    roles: dict[str, str]
    conditions: dict[str, str]
    source: str | None
    only_rows: str | None
    problems: list[str] = field(default_factory=list)


def _default_operator(kind: ColumnKind | None) -> str:
    if kind is None or kind is ColumnKind.BOOLEAN:
        return _IS_TRUE
    return Operator.IS_SET.value if kind.is_temporal else Operator.EQUALS.value


def _condition_pickers(
    key: str, label: str, help_text: str, columns: dict[str, str] | None, default_column: str
) -> tuple[str | None, str | None]:
    """Column, operator and value pickers in one row → (plain column, condition SQL); raises ConditionError.

    ``columns`` maps the source's column names to their types; None means no loaded data (the
    column is typed). An empty column (``—``) gives (None, None).
    """
    column_box, operator_box, value_box = st.columns([2, 1, 2])
    if columns is None:
        column = column_box.text_input(label, value=default_column, key=f"{key}_column", help=help_text).strip()
        kind = None
    else:
        options = [_NONE, *columns]
        index = options.index(default_column) if default_column in options else 0
        picked = column_box.selectbox(
            label,
            options,
            index=index,
            key=f"{key}_column",
            help=help_text,
            format_func=lambda c: column_label(c, columns.get(c)) if c != _NONE else c,
        )
        column = "" if picked == _NONE else picked
        kind = column_kind(columns.get(column)) if column else None
    operators = [_IS_TRUE, *(o.value for o in Operator)]
    # The column is part of the key, so picking another column offers that column's usual operator.
    operator = operator_box.selectbox(
        "Operator",
        operators,
        index=operators.index(_default_operator(kind)),
        key=f"{key}_operator_{column}",
        help="'is true' uses a true/false column as it is; 'is set' means the cell is not empty.",
    )
    needs_value = operator not in (_IS_TRUE, Operator.IS_SET.value, Operator.IS_NOT_SET.value)
    value = value_box.text_input(
        "Value", key=f"{key}_value", disabled=not needs_value, placeholder="e.g. paid" if needs_value else ""
    )
    if not column:
        return None, None
    if operator == _IS_TRUE:
        if kind not in (None, ColumnKind.BOOLEAN):
            raise ConditionError(
                f"'{column}' holds {kind.value}, not true/false; choose an operator and a value, "
                f"e.g. {column} is set or {column} = …"
            )
        return column, None
    sql_type = columns.get(column) if columns is not None else None
    return None, condition_sql(column, operator, value if needs_value else None, sql_type)


def column_mapping(
    template: Template, sources: list[str], loaded: dict[str, list[tuple[str, str]]] | None = None
) -> ColumnChoice:
    """Which column of the chosen source plays each role, picked from its columns when its data is loaded.

    ``loaded`` maps a loaded table to its (column, type) pairs (:func:`loaded_column_types`). With
    data, each role is a pick-list of the source's columns with their types, the time column lists
    only its date and timestamp columns, and a true/false role is a condition built from a column,
    an operator and a value. Without data the columns are typed, defaulting to the role names.
    """
    loaded = loaded or {}
    problems: list[str] = []
    with st.expander("Your data: source and columns (you can change them later)", expanded=bool(loaded)):
        source = st.selectbox(
            "Data source",
            [_NONE, *sources],
            key="template_source",
            help="Sources are declared in the workspace; the formula runs on this table.",
        )
        chosen = None if source == _NONE else source
        types = dict(loaded[chosen]) if chosen in loaded else None
        if types is None:
            st.caption(
                "Type the column names. Load this source's data on the Data page to pick them from a list, "
                "with their types, and to check conditions against them."
                if chosen
                else "Pick a source to choose from its columns, or type the column names."
            )
        # Picked from a source's columns, the source is part of the key: picking another source offers its own
        # same-name and only-date columns, not the '—' the first source left where it lacked them.
        key = f"template_role_{template.id}" if types is None else f"template_role_{template.id}_{chosen}"
        flags = template.condition_roles()
        roles: dict[str, str] = {}
        conditions: dict[str, str] = {}
        plain = [r for r in template.roles if r not in flags]
        boxes = st.columns(min(len(plain), 3))
        for index, role in enumerate(plain):
            box = boxes[index % len(boxes)]
            help_text = template.roles[role]
            if types is None:
                roles[role] = box.text_input(f"Column for {role}", value=role, key=f"{key}_{role}", help=help_text)
                roles[role] = roles[role].strip() or role
                continue
            options = [c for c, t in types.items() if column_kind(t).is_temporal] if role == "date" else list(types)
            if role == "date" and not options:
                box.warning(
                    f"'{md_escape(chosen)}' has no date or timestamp column. Set a column's type to date on the "
                    "Data page, or pick another source.",
                    icon=":material/event_busy:",
                )
            same_name = next((c for c in options if c.lower() == role.lower()), _NONE)
            if same_name == _NONE and role == "date" and len(options) == 1:
                same_name = options[0]  # the source's only date column: nothing to choose
            picked = box.selectbox(
                "Time column (date or timestamp)" if role == "date" else f"Column for {role}",
                [_NONE, *options],
                index=[_NONE, *options].index(same_name),
                key=f"{key}_{role}",
                help=help_text,
                format_func=lambda c: column_label(c, types.get(c)) if c != _NONE else c,
            )
            if picked != _NONE:
                roles[role] = picked
        for role in flags:
            try:
                column, condition = _condition_pickers(
                    f"{key}_{role}", f"{role}: which rows count", template.roles[role], types, role
                )
            except ConditionError as error:
                problems.append(f"{role}: {error}")
                continue
            if column:
                roles[role] = column
            if condition:
                conditions[role] = condition
        st.markdown("Only rows where (optional)")
        try:
            column, only_rows = _condition_pickers(
                "template_only", "Column", "Leave empty to count every row.", types, ""
            )
        except ConditionError as error:
            problems.append(f"only rows where: {error}")
            column, only_rows = None, None
        if column:  # a true/false column used as it is
            only_rows = quote_column(column)
        for problem in problems:
            st.error(capitalised(md_escape(problem)), icon=":material/error:")
    return ColumnChoice(roles, conditions, chosen, only_rows, problems)
