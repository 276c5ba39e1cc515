"""A KPI formula taken apart into MetricFlow pieces: measures, their row filters, and the metric type.

One aggregate is a *simple* metric, one aggregate divided by another a *ratio*, and any other
arithmetic over aggregates a *derived* metric over one simple input per aggregate. Each aggregate
becomes a measure (``sum``, ``count``, ``count_distinct``, ``average``, ``min``, ``max``) whose
``FILTER (WHERE …)`` clause travels as that input's filter. What MetricFlow has no measure for is
raised as :class:`Unexpressible`, with the reason, so the export can list it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp
from sqlglot.errors import SqlglotError

from kpi_model.formula import ANONYMOUS_AGGREGATES, parse_tree, render_sql
from kpi_model.formula.rewrites import safe_division

MetricType = Literal["simple", "ratio", "derived"]

# sqlglot aggregate node → MetricFlow measure aggregation (count(DISTINCT …) is told apart below).
_AGGREGATIONS: dict[type[exp.Expr], str] = {
    exp.Sum: "sum",
    exp.Count: "count",
    exp.Avg: "average",
    exp.Min: "min",
    exp.Max: "max",
    exp.Median: "median",
}
# quantile_cont / quantile_disc (x, p) → MetricFlow's percentile measure, continuous or discrete.
_PERCENTILES: dict[type[exp.Expr], bool] = {exp.PercentileCont: False, exp.PercentileDisc: True}
INPUT_PREFIX = "input_"


class Unexpressible(Exception):
    """A formula (or a part of it) MetricFlow cannot express; the message says what and why."""


@dataclass(frozen=True)
class Measure:
    """One aggregation over a column expression of the KPI's source (SQL in the export dialect).

    ``percentile`` (0–1) and ``discrete`` are set for MetricFlow's ``percentile`` aggregation only.
    """

    agg: str
    expr: str
    percentile: float | None = None
    discrete: bool = False


@dataclass(frozen=True)
class Input:
    """An aggregate of the formula: its measure and the row condition of its ``FILTER (WHERE …)``."""

    measure: Measure
    condition: exp.Expr | None = None


@dataclass
class Decomposed:
    """A formula as MetricFlow sees it: the metric type, its inputs in order, and the derived expression.

    ``expr`` (derived only) names the inputs ``input_1``, ``input_2``, … with every division guarded by
    ``NULLIF(…, 0)``, as the engine computes it.
    """

    type: MetricType
    inputs: list[Input] = field(default_factory=list)
    expr: str | None = None


def _percentile(node: exp.Expr) -> tuple[exp.Expr, float]:
    """The argument and the fraction of ``quantile_cont(x, 0.9)``; the fraction must be one number in (0, 1)."""
    fraction = node.expression
    if not (isinstance(fraction, exp.Literal) and fraction.is_number and 0 < float(fraction.this) < 1):
        raise Unexpressible("a percentile measure needs one fraction between 0 and 1, e.g. quantile_cont(x, 0.9)")
    return node.this, float(fraction.this)


def _aggregation(node: exp.Expr) -> tuple[str, exp.Expr | None]:
    """``(MetricFlow aggregation, argument)``; ``count(*)`` has no argument."""
    kind = _AGGREGATIONS.get(type(node))
    if kind is None:
        name = node.sql(dialect="duckdb").split("(")[0]  # as DuckDB spells it: string_agg, not group_concat
        raise Unexpressible(
            f"the aggregate {name.lower()}() has no MetricFlow measure "
            "(MetricFlow aggregates with sum, count, count_distinct, average, min, max, median and percentile)"
        )
    argument = node.this
    if kind == "count" and isinstance(argument, exp.Distinct):
        if len(argument.expressions) != 1:
            raise Unexpressible("count(DISTINCT …) over several columns has no MetricFlow measure")
        return "count_distinct", argument.expressions[0]
    if kind == "count" and (argument is None or isinstance(argument, exp.Star)):
        return "count", None
    if node.expressions:
        raise Unexpressible(f"{kind}() with more than one argument has no MetricFlow measure")
    return kind, argument


def _input(node: exp.Expr, dialect: str) -> Input:
    condition = None
    if isinstance(node, exp.Filter):
        condition = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
        node = node.this
    percentile, discrete = None, False
    argument: exp.Expr | None
    if type(node) in _PERCENTILES:
        agg, discrete = "percentile", _PERCENTILES[type(node)]
        argument, percentile = _percentile(node)
    else:
        agg, argument = _aggregation(node)
    if argument is not None and any(isinstance(n, exp.AggFunc) for n in argument.walk()):
        raise Unexpressible("an aggregate inside another aggregate has no MetricFlow measure")
    if argument is not None and argument.find(exp.Window):
        raise Unexpressible("a window function (OVER …) has no MetricFlow measure")
    # count(*) counts rows: MetricFlow's count aggregation needs an expression, and 1 is never NULL.
    expr = "1" if argument is None else render_sql(argument, dialect, pretty=False)
    return Input(Measure(agg, expr, percentile, discrete), condition)


def _portable_division(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Safe division, and outside DuckDB a numerator cast to DOUBLE: PostgreSQL, Snowflake and Spark may
    divide integers (two counts) as integers, where the engine's DuckDB ``/`` always divides exactly.
    """
    guarded = safe_division(tree)
    if dialect == "duckdb":
        return guarded

    def cast(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Div) and not isinstance(node.this, exp.Cast):
            node.set("this", exp.cast(node.this.copy(), exp.DataType.build("double")))
        return node

    return guarded.transform(cast)


def _is_aggregate(node: exp.Expr) -> bool:
    inner = node.this if isinstance(node, exp.Filter) else node
    anonymous = isinstance(inner, exp.Anonymous) and inner.name.lower() in ANONYMOUS_AGGREGATES  # product, fsum…
    return isinstance(inner, exp.AggFunc) or anonymous


def decompose(expression: str, dialect: str = "duckdb") -> Decomposed:
    """Take one KPI formula apart; raises :class:`Unexpressible` (or FormulaError for an invalid formula).

    >>> d = decompose("count(*) FILTER (WHERE converted = 1) / count(*)")
    >>> d.type, [i.measure.agg for i in d.inputs], d.inputs[0].condition.sql()
    ('ratio', ['count', 'count'], 'converted = 1')
    >>> decompose("(sum(amount) - sum(cost)) / sum(amount)").expr
    '(input_1 - input_2) / NULLIF(input_3, 0)'
    """
    try:
        tree = parse_tree(expression)
    except SqlglotError as error:  # an invalid formula is left out with its reason, like any other
        reason = str(error).splitlines()[0][:160]
        raise Unexpressible(f"its formula does not parse ({reason}): fix it on the KPIs page") from None
    inputs: list[Input] = []

    def take(node: exp.Expr) -> exp.Expr:
        if not _is_aggregate(node):
            return node
        inputs.append(_input(node, dialect))
        return exp.column(f"{INPUT_PREFIX}{len(inputs)}")

    # Aggregates are replaced outermost first, so an aggregate's own argument is never visited.
    rest = tree.transform(take, copy=True)
    if not inputs:
        raise Unexpressible("the formula has no aggregate, so there is no measure to export")
    stray = sorted({c.name for c in rest.find_all(exp.Column) if not c.name.startswith(INPUT_PREFIX)})
    if stray:
        raise Unexpressible(f"the column(s) {', '.join(stray)} stand outside any aggregate")
    if rest.find(exp.Window):
        raise Unexpressible("a window function (OVER …) has no MetricFlow equivalent")
    top = rest.unnest() if isinstance(rest, exp.Paren) else rest
    if isinstance(top, exp.Column):
        return Decomposed("simple", inputs)
    if (
        isinstance(top, exp.Div)
        and isinstance(top.this.unnest(), exp.Column)
        and isinstance(top.expression.unnest(), exp.Column)
    ):
        return Decomposed("ratio", inputs)
    return Decomposed("derived", inputs, render_sql(_portable_division(rest, dialect), dialect, pretty=False))


def derived_over_kpis(expression: str, dialect: str = "duckdb") -> tuple[list[str], str]:
    """A derived KPI's formula over other KPIs: the KPI ids it names, and the expression with safe division.

    >>> derived_over_kpis("sessions * conversion_rate / visitors")
    (['conversion_rate', 'sessions', 'visitors'], 'sessions * conversion_rate / NULLIF(visitors, 0)')
    """
    tree = parse_tree(expression)
    names = sorted({c.name for c in tree.find_all(exp.Column)})
    return names, render_sql(_portable_division(tree, dialect), dialect, pretty=False)
