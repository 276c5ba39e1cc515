"""One scan for several KPIs: KPIs whose queries read the same rows share one GROUP BY, each with its own columns.

A source-based KPI's query is one GROUP BY over its source (:meth:`Compiler.base_select
<kpi_model.formula.Compiler.base_select>`). Two such queries that differ only in their aggregates read
the same rows; on a file read in place, one pass over the file serves them all (docs/benchmarks.md).
These functions only rewrite and read SQL trees; :meth:`Engine.compute_together
<kpi_model.engine.Engine.compute_together>` runs the queries.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

_MEASURES = ("value", "numerator", "denominator")


def rows_read(select: exp.Select) -> str:
    """The query without its select list (source, filter, grouping): equal for KPIs that can share a scan."""
    select_list = select.expressions
    select.set("expressions", [])  # for the printing only, instead of a copy of the whole tree
    try:
        return select.sql(dialect="duckdb")
    finally:
        select.set("expressions", select_list)


def shared_query(selects: list[exp.Select], extra: list[exp.Expr], *, by: bool) -> str:
    """One query for KPIs that read the same rows: their keys and row count once, measure ``m`` of KPI ``i`` as ``m_i``.

    ``extra`` are further aggregates over the same rows (a source's coverage, say).
    """
    shared = selects[0].copy()
    keys = [e for e in shared.expressions if e.alias in ("period", "dimension")]
    measures = [
        exp.alias_(e.this.copy(), f"{e.alias}_{i}")
        for i, select in enumerate(selects)
        for e in select.expressions
        if e.alias in _MEASURES
    ]
    row_count = next(e for e in shared.expressions if e.alias == "row_count")
    shared.set("expressions", [*keys, *measures, row_count, *extra])
    return shared.order_by(*(["period", "dimension"] if by else ["period"]), copy=False).sql(dialect="duckdb")


def member_row(record: dict[str, Any], index: int) -> dict[str, Any]:
    """A row of :func:`shared_query` as KPI ``index``'s own query would have given it (``value_2`` → ``value``)."""
    own = {f"{part}_{index}": part for part in _MEASURES}
    return {own.get(name, name): value for name, value in record.items()}
