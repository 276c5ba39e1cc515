"""Tree-to-tree rewrites of a checked formula: each takes a sqlglot tree and returns a new one (or facts about it).

The compiler applies them as it builds each KPI's SELECT (bitmaps only where the engine asks for them); the
engine reads ``distinct_count_columns``, and the audit rules ``ratio_parts`` and ``safe_division``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from kpi_model.formula.check import _aggregates
from kpi_model.formula.limits import _bounded


@_bounded
def safe_division(tree: exp.Expr) -> exp.Expr:
    """Every ``a / b`` becomes ``a / NULLIF(b, 0)`` (unless ``b`` is a non-zero number or already guarded).

    >>> from kpi_model.formula.check import parse_tree
    >>> safe_division(parse_tree("sum(a) / count(*)")).sql()
    'SUM(a) / NULLIF(COUNT(*), 0)'
    >>> safe_division(parse_tree("sum(seconds) / 60.0")).sql()  # a unit conversion
    'SUM(seconds) / 60.0'
    """

    def guard(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Div):
            return node
        denominator = node.expression
        inner = denominator.unnest() if isinstance(denominator, exp.Paren) else denominator
        if isinstance(inner, exp.Nullif):
            return node
        number = inner.this if isinstance(inner, exp.Neg) else inner  # -100 parses as a negation of 100
        if isinstance(number, exp.Literal) and number.is_number and float(number.this) != 0:
            return node
        node.set("expression", exp.Nullif(this=denominator.copy(), expression=exp.Literal.number(0)))
        return node

    return tree.copy().transform(guard)


def _distinct_count_column(node: exp.Expr) -> exp.Column | None:
    """The column of a ``count(DISTINCT column)`` node, else None."""
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        counted = node.this.expressions
        if len(counted) == 1 and isinstance(counted[0], exp.Column):
            return counted[0]
    return None


@_bounded
def distinct_count_columns(tree: exp.Expr) -> set[str]:
    """Lower-cased names of the columns a formula counts as ``count(DISTINCT column)``.

    >>> from kpi_model.formula.check import parse_tree
    >>> sorted(distinct_count_columns(parse_tree("count(DISTINCT Customer_ID) - count(DISTINCT a || b)")))
    ['customer_id']
    """
    return {column.name.lower() for node in tree.walk() if (column := _distinct_count_column(node)) is not None}


@_bounded
def bitmap_distinct_counts(tree: exp.Expr, ranges: Mapping[str, tuple[int, int]]) -> exp.Expr:
    """``count(DISTINCT c)`` as the number of bits set in a bitmap of ``c``'s values, for the integer columns in
    ``ranges`` (lower-cased name → lowest and highest value in the data).

    Exact like the hash table DuckDB otherwise builds, and several times faster when the value range is small
    beside the row count (10M orders, 500k customers: 114 ms against 745 ms, see docs/benchmarks.md). DuckDB only.

    >>> from kpi_model.formula.check import parse_tree
    >>> bitmap_distinct_counts(parse_tree("count(DISTINCT customer_id)"), {"customer_id": (1, 500)}).sql()
    'COALESCE(BIT_COUNT(BITSTRING_AGG(customer_id, 1, 500)), 0)'
    >>> bitmap_distinct_counts(parse_tree("count(DISTINCT store_id)"), {"customer_id": (1, 500)}).sql()
    'COUNT(DISTINCT store_id)'
    """

    def bitmap_count(node: exp.Expr) -> exp.Expr:
        counted = node.this if isinstance(node, exp.Filter) else node
        column = _distinct_count_column(counted)
        if column is None or column.name.lower() not in ranges or isinstance(node.parent, exp.Filter):
            return node
        low, high = ranges[column.name.lower()]
        bitmap: exp.Expr = exp.Anonymous(
            this="bitstring_agg",
            expressions=[column.copy(), exp.Literal.number(low), exp.Literal.number(high)],
        )
        if isinstance(node, exp.Filter):
            bitmap = exp.Filter(this=bitmap, expression=node.expression.copy())
        # An empty group has no bitmap (NULL) where count(DISTINCT) says 0.
        return exp.func("coalesce", exp.Anonymous(this="bit_count", expressions=[bitmap]), exp.Literal.number(0))

    return tree.copy().transform(bitmap_count)


@_bounded
def ratio_parts(tree: exp.Expr) -> tuple[exp.Expr, exp.Expr] | None:
    """``(numerator, denominator)`` when the formula is one division of aggregates at the top, else None.

    Dividing by a constant (``… / 60.0`` for hours) is a unit conversion, not a ratio.

    >>> from kpi_model.formula.check import parse_tree
    >>> [part.sql() for part in ratio_parts(parse_tree("sum(margin) / sum(revenue)"))]
    ['SUM(margin)', 'SUM(revenue)']
    >>> ratio_parts(parse_tree("sum(seconds) / 60.0")) is None
    True
    """
    top = tree.unnest() if isinstance(tree, exp.Paren) else tree
    if isinstance(top, exp.Div) and _aggregates(top.expression):
        return top.this, top.expression
    return None
