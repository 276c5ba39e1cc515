"""Facts about a KPI's formula that several rules share: its tree, its inputs, its columns, its template.

Each helper tolerates a draft: an empty or broken formula gives "nothing known", never an error
(invalid-formula is the rule that says why a formula is broken).
"""

from __future__ import annotations

from functools import cache

from sqlglot import exp
from sqlglot.errors import SqlglotError

from kpi_model.checks.base import AuditContext
from kpi_model.formula import is_derived, parse_tree, referenced_names
from kpi_model.library import Template, load_templates
from kpi_model.models import Kpi, Workspace


def tree(text: str | None) -> exp.Expr | None:
    """The sqlglot tree of a formula, or None when it is empty or does not parse (other rules say why)."""
    if not text or not text.strip():
        return None
    try:
        return parse_tree(text, copy=False)
    except (SqlglotError, ValueError):
        return None


def kpi_ids(workspace: Workspace) -> set[str]:
    """Every KPI id of the workspace."""
    return {k.id for k in workspace.kpis}


def derived(kpi: Kpi, ids: set[str]) -> bool:
    """Whether the KPI is computed from other KPIs (``ids``) rather than from a source's rows."""
    return is_derived(kpi.expression, kpi.source, ids - {kpi.id})


def drivers(kpi: Kpi, ids: set[str]) -> set[str]:
    """KPI ids a derived KPI is computed from (empty for a KPI with its own source)."""
    return referenced_names(kpi.expression or "") & (ids - {kpi.id}) if derived(kpi, ids) else set()


def named_kpis(kpi: Kpi, ids: set[str]) -> set[str]:
    """KPI ids a source-less formula names: such a KPI is meant to be derived, even if broken."""
    if kpi.source or not kpi.expression:
        return set()
    return referenced_names(kpi.expression) & (ids - {kpi.id})


def loaded_columns(ctx: AuditContext, kpi: Kpi) -> list[str] | None:
    """The columns of the KPI's source as loaded, or None without data (or without a source)."""
    if ctx.columns is None or not kpi.source:
        return None
    columns = ctx.columns.get(kpi.source)
    return list(columns) if columns is not None else None


def columns(kpi: Kpi, ids: set[str]) -> set[str]:
    """Lower-cased column names in a KPI's expression and filter (none for a derived KPI)."""
    if derived(kpi, ids):
        return set()
    names = referenced_names(kpi.expression or "") | referenced_names(kpi.filter or "")
    return {name.lower() for name in names}


@cache
def library() -> dict[str, Template]:
    """The KPI library's templates by id (loaded once)."""
    return {t.id: t for t in load_templates()}


def template_of(kpi: Kpi) -> Template | None:
    """The library template a KPI came from: its ``template``, else a template with its id."""
    templates = library()
    return templates.get(kpi.template or "") or templates.get(kpi.id)


def kpi_text(kpi: Kpi) -> str:
    """A KPI's name and description, the words its meaning is read from."""
    return " ".join(filter(None, [kpi.name, kpi.description]))
