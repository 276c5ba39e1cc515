"""Checking a formula, filter or derived KPI: parse it through the limits, hold every node to the allow-list,
resolve its columns, and report anything refused with its position and a fix.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Collection
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from kpi_model.formula.allowlist import (
    _ALLOWED,
    _ALLOWED_FUNCTION_NAMES,
    _STATEMENTS,
    _UNIT_PARENTS,
    AGGREGATES,
    ANONYMOUS_AGGREGATES,
    ANONYMOUS_FUNCTIONS,
)
from kpi_model.formula.errors import FormulaError
from kpi_model.formula.limits import _FORMULA_LIMITS, _bounded, _parse_limited
from kpi_model.models import Kpi, Workspace


@dataclass(frozen=True)
class Checked:
    """A formula that passed the checks: its tree (comments stripped) and the columns it uses."""

    text: str
    tree: exp.Expr
    columns: frozenset[str]

    @property
    @_bounded
    def sql(self) -> str:
        """The checked formula as DuckDB SQL."""
        return self.tree.sql(dialect="duckdb", comments=False)


def _position(node: exp.Expr, text: str) -> int | None:
    meta_start = node.meta.get("start") if node.meta else None
    if isinstance(meta_start, int):
        return meta_start
    for child in node.walk():
        if child.meta and isinstance(child.meta.get("start"), int):
            return int(child.meta["start"])
    name = node.sql_name() if isinstance(node, exp.Func) else None
    if name:
        found = text.lower().find(name.lower())
        return found if found >= 0 else None
    return None


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


# Nodes refused with a fixed message: (node types, problem, fix), the first match wins. In the text,
# {name} is the node's name and {what} the kind of text checked ("formula", "filter", "view").
_REFUSED: tuple[tuple[tuple[type[exp.Expr], ...], str, str], ...] = (
    (
        (exp.Window,),
        "window functions (OVER …) are not allowed",
        "write a plain aggregate; the {what} is grouped by period",
    ),
    (
        (exp.Subquery, exp.Select, exp.Union, exp.Table, exp.Join, exp.With, exp.From),
        "subqueries and tables are not allowed inside a formula",
        "define the join or subquery once as a SQL view source, then point the KPI at that source",
    ),
    ((exp.Placeholder, exp.Parameter), "parameters ($1, ?) are not allowed", "write the value itself"),
    ((exp.Star,), "'*' is only allowed in count(*)", "name the columns"),
    (
        (exp.Var,),
        "'{name}' is not a column or a value",
        "quote text values with single quotes ('web'), or check the column name",
    ),
)


def _reject_node(node: exp.Expr, text: str, what: str) -> FormulaError:
    position = _position(node, text)
    for types, problem, fix in _REFUSED:
        if isinstance(node, types):
            return FormulaError(problem.format(name=node.name), fix.format(what=what), position=position, text=text)
    if isinstance(node, exp.Func) or isinstance(node, exp.Anonymous):
        name = _function_name(node)
        if not name.isascii():
            ascii_guess = difflib.get_close_matches(
                name.encode("ascii", "replace").decode(), _ALLOWED_FUNCTION_NAMES, 1
            )
            hint = f" (a look-alike of '{ascii_guess[0]}'?)" if ascii_guess else ""
            return FormulaError(
                f"function '{name}' contains non-ASCII characters{hint}",
                "retype the function name with plain letters",
                position=position,
                text=text,
            )
        suggestion = difflib.get_close_matches(name, _ALLOWED_FUNCTION_NAMES, n=1, cutoff=0.75)
        fix = f"did you mean '{suggestion[0]}'? " if suggestion else ""
        return FormulaError(
            f"function '{name}' is not allowed in a KPI {what}",
            f"{fix}use aggregates such as sum, count, avg, min, max, median and plain arithmetic "
            "(the full list is in docs/formulas.md)",
            position=position,
            text=text,
        )
    if isinstance(node, _STATEMENTS):
        keyword = node.sql(dialect="duckdb").split(" ", 1)[0].upper() or type(node).__name__.upper()
        return FormulaError(
            f"{keyword} is a statement, and statements are never run",
            "write one SELECT over the workspace's tables"
            if what == "view"
            else f"a KPI {what} is one expression, e.g. sum(amount)",
            position=position,
            text=text,
        )
    if what == "view":
        return FormulaError(
            f"'{node.sql(dialect='duckdb')[:40]}' ({type(node).__name__}) is not allowed in a view",
            "write a plain SELECT over the workspace's tables: joins, unions, CTEs, subqueries, CASE and the "
            "functions of docs/formulas.md",
            position=position,
            text=text,
        )
    return FormulaError(
        f"'{node.sql(dialect='duckdb')[:40]}' ({type(node).__name__}) is not allowed in a KPI {what}",
        "use columns, numbers, arithmetic, comparisons, CASE and the allowed functions",
        position=position,
        text=text,
    )


@functools.lru_cache(maxsize=4096)
def _statements(text: str, what: str = "formula") -> tuple[exp.Expr, ...]:
    # Parsing is the costly step and an audit reads each formula in several rules: parse once,
    # hand out copies (a copy costs about a quarter of a parse). Errors are not cached.
    return tuple(_parse_limited(text, what, _FORMULA_LIMITS))


@_bounded
def parse_tree(text: str, *, copy: bool = True) -> exp.Expr:
    """The parsed tree of one SQL expression (cached parse; raises sqlglot errors).

    ``copy=False`` hands out the shared cached tree, for callers that only read it. Text over the
    formula limits raises :class:`OverLimitError`, which is also a sqlglot ParseError.
    """
    statements = _statements(text)
    if not statements:
        raise ParseError("nothing to parse")
    return statements[0].copy() if copy else statements[0]


@_bounded
def parse(text: str | None, *, what: str = "formula") -> exp.Expr:
    """Parse one expression and check every node against the allow-list; raise :class:`FormulaError`.

    The text is first held to the formula limits (length, nesting, size),
    see :data:`~kpi_model.formula.limits.MAX_FORMULA_DEPTH`.
    """
    if text is None or not text.strip():
        raise FormulaError(f"the {what} is empty", "write an aggregate such as sum(amount) or count(*)")
    if "\x00" in text:
        raise FormulaError(f"the {what} contains a NUL character", "retype it as plain text")
    try:
        statements = [s.copy() for s in _statements(text, what)]
    except FormulaError:
        raise
    except (ParseError, TokenError) as error:
        details = getattr(error, "errors", None) or []
        first = details[0] if details else {}
        column = first.get("col")
        description = first.get("description") or str(error).splitlines()[0]
        if "Required keyword" in description or "Expected" in description:
            description = "it ends too early or misses an operand"
        return_position = column - 1 if isinstance(column, int) and first.get("line") == 1 else None
        raise FormulaError(
            f"the {what} does not parse: {description}",
            "check brackets and quotes; text values go in single quotes ('web'), column names with spaces in double"
            ' quotes ("Order Value")',
            position=return_position,
            text=text,
        ) from None
    if len(statements) != 1:
        raise FormulaError(
            f"the {what} holds {len(statements)} statements separated by ';'",
            "write exactly one expression; nothing after a ';' is ever run",
        )
    tree = statements[0]
    for node in tree.walk():
        node.comments = None
        if isinstance(node, exp.Var) and isinstance(node.parent, _UNIT_PARENTS):
            continue
        if isinstance(node, exp.Star) and isinstance(node.parent, exp.Count):
            continue
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in ANONYMOUS_FUNCTIONS:
            continue
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            raise _reject_node(node.args["query"], text, what)
        if not isinstance(node, _ALLOWED) or isinstance(node, exp.Anonymous):
            raise _reject_node(node, text, what)
    return tree


def _is_aggregate(node: exp.Expr) -> bool:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower() in ANONYMOUS_AGGREGATES
    return isinstance(node, AGGREGATES)


def _aggregates(tree: exp.Expr) -> list[exp.Expr]:
    return [node for node in tree.walk() if _is_aggregate(node)]


def _inside_aggregate(node: exp.Expr) -> bool:
    child, parent = node, node.parent
    while parent is not None:
        if _is_aggregate(parent):
            return True
        # FILTER (WHERE …) hangs beside its aggregate in the tree, but belongs to it.
        if isinstance(parent, exp.Filter) and child is parent.args.get("expression"):
            return True
        child, parent = parent, parent.parent
    return False


def _check_columns(tree: exp.Expr, text: str, columns: Collection[str] | None, where: str) -> frozenset[str]:
    used: set[str] = set()
    lookup = {c.lower(): c for c in columns} if columns is not None else None
    for column in tree.find_all(exp.Column):
        if column.table:
            raise FormulaError(
                f"'{column.sql()}' names a table",
                f"write the column alone: {column.name}",
                position=_position(column, text),
                text=text,
            )
        name = column.name
        if lookup is not None and name.lower() not in lookup:
            match = difflib.get_close_matches(name.lower(), list(lookup), n=1, cutoff=0.6)
            fix = (
                f"did you mean '{lookup[match[0]]}'?"
                if match
                else f"columns there: {', '.join(sorted(lookup.values())[:15])}"
            )
            raise FormulaError(f"unknown column '{name}' in {where}", fix, position=_position(column, text), text=text)
        used.add(lookup[name.lower()] if lookup is not None else name)
    return frozenset(used)


@_bounded
def check_aggregate(text: str | None, columns: Collection[str] | None = None, *, source: str = "the source") -> Checked:
    """Check a KPI formula: allowed nodes, known columns, aggregated, no nested aggregates."""
    tree = parse(text, what="formula")
    assert text is not None
    used = _check_columns(tree, text, columns, source)
    aggregates = _aggregates(tree)
    if not aggregates:
        raise FormulaError(
            "the formula does not aggregate",
            "a KPI summarises the rows of each period: use sum(…), count(*), avg(…), count(DISTINCT …) …",
        )
    for aggregate in aggregates:
        if _inside_aggregate(aggregate):
            raise FormulaError(
                "aggregates cannot be nested",
                "compute the inner value as its own KPI and combine KPIs in a derived KPI",
                position=_position(aggregate, text),
                text=text,
            )
    for column in tree.find_all(exp.Column):
        if not _inside_aggregate(column):
            raise FormulaError(
                f"column '{column.name}' is used outside an aggregate",
                f"wrap it in one, e.g. sum({column.name}) or max({column.name})",
                position=_position(column, text),
                text=text,
            )
    return Checked(text, tree, used)


@_bounded
def check_filter(text: str | None, columns: Collection[str] | None = None, *, source: str = "the source") -> Checked:
    """Check a row filter: allowed nodes, known columns, and no aggregates (it applies to single rows)."""
    tree = parse(text, what="filter")
    assert text is not None
    used = _check_columns(tree, text, columns, source)
    if _aggregates(tree):
        raise FormulaError(
            "a filter cannot contain aggregates", "filter rows with plain conditions, e.g. status <> 'x'"
        )
    return Checked(text, tree, used)


@_bounded
def check_derived(text: str | None, kpi_ids: Collection[str]) -> Checked:
    """Check a derived KPI: arithmetic over other KPI ids, no aggregates, no columns."""
    tree = parse(text, what="formula")
    assert text is not None
    used = _check_columns(tree, text, kpi_ids, "the workspace's KPIs")
    if _aggregates(tree):
        raise FormulaError(
            "a derived KPI combines other KPIs and cannot aggregate",
            "write arithmetic over KPI ids, e.g. sessions * conversion_rate, or give the KPI a source",
        )
    if not used:
        raise FormulaError("a derived KPI must name at least one other KPI", "e.g. sessions * conversion_rate")
    return Checked(text, tree, used)


@_bounded
def referenced_names(expression: str) -> set[str]:
    """Column (or, in a derived KPI, KPI) names an expression refers to; empty if it does not parse."""
    try:
        statements = _statements(expression)
    except (ParseError, TokenError, ValueError):
        return set()
    if not statements:
        return set()
    return {column.name for column in statements[0].find_all(exp.Column)}


@_bounded
def is_derived(expression: str | None, source: str | None, kpi_ids: set[str]) -> bool:
    """Whether a KPI is derived: no source, and its expression only names other KPIs."""
    if source or not expression:
        return False
    names = referenced_names(expression)
    return bool(names) and names <= kpi_ids


@_bounded
def check_kpi_text(
    workspace: Workspace, kpi: Kpi, columns: Collection[str] | None = None, *, kpi_ids: Collection[str] | None = None
) -> None:
    """Check a KPI's formula, filter and time column; raise :class:`FormulaError`.

    ``columns`` are the source's loaded columns; without them names are not checked. A formula
    without a source that names only other KPIs is checked as a derived KPI.
    """
    other_ids = set(kpi_ids if kpi_ids is not None else (k.id for k in workspace.kpis)) - {kpi.id}
    where = f"source '{kpi.source}'" if kpi.source else "the source"
    if kpi.expression and not kpi.source and is_derived(kpi.expression, None, other_ids):
        check_derived(kpi.expression, other_ids)
    elif kpi.expression:
        check_aggregate(kpi.expression, columns, source=where)
    if kpi.filter:
        check_filter(kpi.filter, columns, source=where)
    if kpi.time_column and kpi.source and columns is not None:
        _check_columns(exp.column(kpi.time_column), kpi.time_column, columns, where)
