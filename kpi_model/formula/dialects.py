"""SQL dialects a KPI query is exported to, and the rewrites one of them needs to run where it is used."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.dialects.dialect import map_date_part

from kpi_model.formula.limits import _bounded

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark", "tsql")


# T-SQL before SQL Server 2022 has neither DATETRUNC nor LEAST; the forms below run on 2008 and later.
_TSQL_EPOCH = "1900-01-01"  # a Monday; the same date whatever SET DATEFORMAT says


def _tsql(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _tsql_truncation(node: exp.Expr) -> exp.Expr:
    """``date_trunc``/``timestamp_trunc`` by DATEADD and DATEDIFF from a fixed Monday (DATETRUNC is 2022+)."""
    epoch = exp.Literal.string(_TSQL_EPOCH)
    unit, value = node.text("unit").upper(), node.this
    if unit == "DAY":
        inside_date_cast = isinstance(node.parent, exp.Cast) and node.parent.to.is_type("date")
        return value if inside_date_cast else exp.cast(value, "DATE")
    if unit == "WEEK":  # ISO weeks start on Monday; DATEDIFF(WEEK, …) counts Sundays.
        days = _tsql("DATEDIFF", exp.var("DAY"), epoch, value)
        since_monday = exp.Mod(this=days, expression=exp.Literal.number(7))
        return _tsql("DATEADD", exp.var("DAY"), exp.Neg(this=exp.paren(since_monday)), value)
    if unit in ("MONTH", "QUARTER", "YEAR"):
        return _tsql("DATEADD", exp.var(unit), _tsql("DATEDIFF", exp.var(unit), epoch, value), epoch)
    return node


def _tsql_least(node: exp.Expr) -> exp.Expr:
    """``LEAST(a, b)`` as (SELECT MIN(v) FROM (VALUES (a), (b)) AS row_counts(v)), built as a tree (LEAST is 2022+)."""
    rows = [exp.Tuple(expressions=[value.copy()]) for value in [node.this, *node.expressions]]
    alias = exp.TableAlias(this=exp.to_identifier("row_counts"), columns=[exp.to_identifier("v")])
    values = exp.Values(expressions=rows, alias=alias)
    return exp.Subquery(this=exp.select(exp.Min(this=exp.column("v"))).from_(values))


# Node type → its portable T-SQL form, as sqlglot's generators map types to handlers.
_TSQL_REWRITES: dict[type[exp.Expr], Callable[[exp.Expr], exp.Expr]] = {
    exp.TimestampTrunc: _tsql_truncation,
    exp.DateTrunc: _tsql_truncation,
    exp.Least: _tsql_least,
}


def _tsql_portable(tree: exp.Expr) -> exp.Expr:
    """``tree`` with period truncation and LEAST written for every SQL Server still in use."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        handler = _TSQL_REWRITES.get(type(node))
        return node if handler is None else handler(node)

    return tree.transform(rewrite)


def _bigquery_iso_weeks(tree: exp.Expr) -> exp.Expr:
    """Weeks that start on Monday, as everywhere else here: BigQuery's plain ``WEEK`` starts on Sunday."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and node.text("unit").upper() == "WEEK":
            node.set("unit", exp.WeekStart(this=exp.var("MONDAY")))
        return node

    return tree.transform(rewrite)


# The units Spark's DATEDIFF(unit, …) and DATE_TRUNC know, spelled as Spark spells them (no plurals).
_SPARK_DIFF_UNITS = frozenset(
    {"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
)


def _spark_date_diffs(tree: exp.Expr) -> exp.Expr:
    """``date_diff`` counting on Spark what it counts in DuckDB.

    DuckDB takes a unit in many spellings ('seconds', 'hrs'), Spark's DATEDIFF one per unit. DuckDB counts the
    unit's boundaries crossed (10:00:59 to 10:01:00 is one minute), Spark the whole units elapsed (none): with
    both ends truncated to the unit, Spark counts the boundaries too. A DuckDB week is the days crossed divided
    by 7 (towards zero), so for weeks both ends are truncated to the day.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.DateDiff) or node.args.get("unit") is None:
            return node
        unit = map_date_part(node.args["unit"], "duckdb").name.upper()
        unit = "WEEK" if unit == "WEEKS" else unit  # the one plural sqlglot leaves as it is
        if unit not in _SPARK_DIFF_UNITS:
            return node
        node.set("unit", exp.var(unit))
        for end in ("this", "expression"):
            truncated_to = "DAY" if unit == "WEEK" else unit
            node.set(end, exp.TimestampTrunc(this=node.args[end], unit=exp.var(truncated_to)))
        return node

    return tree.transform(rewrite)


@_bounded
def render_sql(tree: exp.Expr, dialect: str, *, pretty: bool = True) -> str:
    """A compiled KPI query as SQL of ``dialect`` (T-SQL that runs on SQL Server 2008 and later)."""
    if dialect == "tsql":
        tree = _tsql_portable(tree)
    elif dialect == "bigquery":
        tree = _bigquery_iso_weeks(tree)
    elif dialect == "spark":
        tree = _spark_date_diffs(tree)
    return tree.sql(dialect=dialect, pretty=pretty, comments=False)
