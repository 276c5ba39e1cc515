"""KPI expressions: DuckDB SQL aggregate expressions, parsed with sqlglot."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError


def referenced_names(expression: str) -> set[str]:
    """Column (or, in a derived KPI, KPI) names an expression refers to; empty if it does not parse."""
    try:
        tree = sqlglot.parse_one(expression, read="duckdb")
    except (ParseError, ValueError):
        return set()
    return {column.name for column in tree.find_all(exp.Column)}


def is_derived(expression: str | None, source: str | None, kpi_ids: set[str]) -> bool:
    """Whether a KPI is derived: no source, and its expression only names other KPIs."""
    if source or not expression:
        return False
    names = referenced_names(expression)
    return bool(names) and names <= kpi_ids
