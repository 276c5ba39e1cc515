"""Browse the KPI template library: search, filter, read the definition, pick one."""

from __future__ import annotations

import streamlit as st

from kpi_model.library import Template, get_template, search_templates
from kpi_model.models import Category, Kind
from ui.feedback import md_escape, plural

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


def column_mapping(template: Template, sources: list[str]) -> tuple[dict[str, str], str | None]:
    """Which column of the user's data plays each role; defaults to the role names themselves."""
    with st.expander("Your data: source and column names (you can change them later)"):
        source = st.selectbox(
            "Data source",
            ["—", *sources],
            key="template_source",
            help="Sources are declared in the workspace; the formula runs on this table.",
        )
        columns = st.columns(min(len(template.roles), 3))
        roles = {
            role: columns[index % len(columns)]
            .text_input(f"Column for {role}", value=role, key=f"template_role_{template.id}_{role}", help=description)
            .strip()
            or role
            for index, (role, description) in enumerate(template.roles.items())
        }
    return roles, None if source == "—" else source
