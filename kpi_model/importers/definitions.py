"""A formula cell of a register: SQL over columns, arithmetic over the sheet's KPIs, or a definition in words.

Only the first two become a KPI's ``expression``; words ("EBIT / Net sales", "Anzahl Störungen je
1.000 Kunden") are a definition, kept as the KPI's description.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kpi_model.formula import FormulaError, check_derived
from kpi_model.importers.common import norm

# SQL over columns: a function call, a snake_case column, or SQL words; prose has none of these.
_SQL = re.compile(r"\b[A-Za-z_]\w*\(|\b[a-z][a-z0-9]*_[a-z0-9_]+\b|\b(?:select|filter|case when|distinct)\b", re.I)


def looks_like_sql(formula: str) -> bool:
    """Whether a formula cell is meant as SQL (``sum(amount)``, ``net_sales / orders``) rather than words."""
    return bool(_SQL.search(formula))


def as_derived(formula: str, lookup: Mapping[str, str | None], own_id: str) -> str | None:
    """``'Revenue / Orders'`` → ``revenue / orders`` when every name in it is another KPI of the sheet."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(formula, read="duckdb")
    except Exception:  # sqlglot raises several error types for text that is not SQL
        return None
    names = {c.name for c in tree.find_all(exp.Column)}
    found = {n: lookup.get(norm(n).replace(" ", "_")) for n in names}
    resolved = {n: v for n, v in found.items() if v is not None and v != own_id}
    if not names or len(resolved) != len(names):
        return None
    renamed = tree.transform(
        lambda node: exp.column(resolved[node.name]) if isinstance(node, exp.Column) else node
    ).sql(dialect="duckdb")
    try:
        check_derived(renamed, set(resolved.values()))
    except FormulaError:
        return None
    return renamed
