"""View sources: one SELECT over the workspace's tables, checked node by node, with every table it reads
resolved by scope (a name is a CTE only where DuckDB would take it for one).
"""

from __future__ import annotations

import dataclasses
import difflib

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from kpi_model.formula.allowlist import _VIEW_ALLOWED, _VIEW_QUERIES, ANONYMOUS_FUNCTIONS
from kpi_model.formula.check import _reject_node
from kpi_model.formula.compile import quote
from kpi_model.formula.errors import FormulaError, FormulaLimitError, OverLimitError
from kpi_model.formula.limits import (
    _VIEW_LIMITS,
    MAX_VIEW_DEPTH,
    MAX_VIEW_LENGTH,
    MAX_VIEW_TABLES,
    _bounded,
    _Limits,
    _parse_limited,
)
from kpi_model.identifiers import fold_name

_PATH_CHARACTERS = frozenset("/\\.:")


def _view_tree(sql: str, *, limits: _Limits = _VIEW_LIMITS) -> exp.Expr:
    """The one SELECT of a view's SQL, parsed under the view limits; raise :class:`FormulaError`."""
    if not sql or not sql.strip():
        raise FormulaError("the view's SQL is empty", "write a SELECT over your tables")
    if "\x00" in sql:
        raise FormulaError("the view's SQL contains a NUL character", "retype it as plain text")
    try:
        statements = _parse_limited(sql, "view", limits)
    except FormulaError:
        raise
    except (ParseError, TokenError) as error:
        reason = str(error).splitlines()[0].rstrip(".")
        raise FormulaError(f"the view does not parse: {reason}", "check the SQL syntax") from None
    if len(statements) != 1:
        raise FormulaError(f"the view holds {len(statements)} statements", "write exactly one SELECT")
    tree = statements[0]
    if not isinstance(tree, _VIEW_QUERIES):
        raise FormulaError(f"a view must be a SELECT, not {type(tree).__name__.upper()}", "write one SELECT … FROM …")
    return tree


@_bounded
def validate_view(sql: str, tables: set[str]) -> str:
    """Check a source view: one SELECT (joins, unions, CTEs allowed) over known tables only.

    Returns the view's SQL normalised for DuckDB. Every node is checked against an allow-list and
    every table it reads must be one of ``tables`` or a CTE in scope where it is read; table
    functions (read_csv …), files, URLs, other databases and anything but SELECT are refused, so a
    view can never reach outside the workspace's database. The normalised SQL is parsed and checked
    again, so what DuckDB runs is what was checked.
    """
    known = {fold_name(t) for t in tables}
    tree = _view_tree(sql)
    _check_view(tree, sql, known)
    normalised = tree.sql(dialect="duckdb", comments=False)
    # Written out, DATE '…' becomes CAST('…' AS DATE): a level deeper, and a little longer.
    limits = dataclasses.replace(_VIEW_LIMITS, length=2 * MAX_VIEW_LENGTH, depth=MAX_VIEW_DEPTH + 2)
    again = _view_tree(normalised, limits=limits)
    _check_view(again, normalised, known)
    return normalised


@_bounded
def view_tables(sql: str) -> set[str]:
    """Names of the tables a view reads (CTEs resolved by scope); empty if it does not parse or is over the limits."""
    try:
        tree = _view_tree(sql)
    except OverLimitError:
        return set()
    except FormulaLimitError:
        raise
    except FormulaError:
        return set()
    names: set[str] = set()
    for node, ctes in _scoped_nodes(tree):
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and fold_name(node.name) not in ctes:
            names.add(node.name)
    return names


def _scoped_nodes(tree: exp.Expr) -> list[tuple[exp.Expr, frozenset[str]]]:
    """Every node of a query with the CTE names visible where it stands (folded), without recursion.

    As in DuckDB, a CTE is visible in the query that defines it (its main SELECT, every subquery in
    it, and the CTEs that come after it in the same WITH) and, under WITH RECURSIVE, in its own body;
    not in its own body otherwise (there the name is the table), not before it, not outside the
    query (nor in sibling subqueries).
    """
    found: list[tuple[exp.Expr, frozenset[str]]] = []
    stack: list[tuple[exp.Expr, frozenset[str]]] = [(tree, frozenset())]
    while stack:
        node, ctes = stack.pop()
        found.append((node, ctes))
        with_ = node.args.get("with_")
        inside = ctes
        if isinstance(with_, exp.With):
            found.append((with_, ctes))
            stack.extend((child, ctes) for child in with_.iter_expressions() if not isinstance(child, exp.CTE))
            names = [fold_name(cte.alias_or_name) for cte in with_.expressions]
            recursive = bool(with_.args.get("recursive"))
            for index, cte in enumerate(with_.expressions):
                own = {names[index]} if recursive else set()
                stack.append((cte, ctes | set(names[:index]) | own))
            inside = ctes | set(names)
        for key, value in node.args.items():
            if key == "with_" and isinstance(value, exp.With):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, exp.Expr):
                    stack.append((child, inside))
    return found


def _check_view(tree: exp.Expr, sql: str, known: set[str]) -> None:
    relations = 0
    for node, ctes in _scoped_nodes(tree):
        node.comments = None
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            raise FormulaError("parameters are not allowed in a view", "write the values themselves")
        if isinstance(node, exp.Anonymous):
            if str(node.name).lower() not in ANONYMOUS_FUNCTIONS:
                raise _reject_node(node, sql, "view")
        elif isinstance(node, exp.Table):
            _check_view_table(node, ctes, known)
        elif not isinstance(node, _VIEW_ALLOWED):
            raise _reject_node(node, sql, "view")
        if isinstance(node, exp.CTE):
            _check_cte_name(node)
        if isinstance(node, (exp.From, exp.Join)):
            relations += 1
            if relations > MAX_VIEW_TABLES:
                raise OverLimitError(
                    f"the view reads more than {MAX_VIEW_TABLES} tables and subqueries",
                    f"simplify it: {_VIEW_LIMITS.split}",
                )


def _check_cte_name(node: exp.CTE) -> None:
    name = node.alias_or_name
    if not name.strip() or _PATH_CHARACTERS & set(name):
        raise FormulaError(
            f"the CTE name '{name}' looks like a file path or URL",
            "name it with letters, digits and _, e.g. recent_orders",
        )


def _check_view_table(node: exp.Table, ctes: frozenset[str], known: set[str]) -> None:
    if not isinstance(node.this, exp.Identifier):
        raise FormulaError(
            f"'{node.sql(dialect='duckdb')[:60]}' is not a table of this workspace",
            "read only from uploaded tables and other sources, by name (no files, no table functions)",
        )
    if node.args.get("db") or node.args.get("catalog"):
        raise FormulaError(
            f"'{node.sql(dialect='duckdb')[:60]}' is not a table of this workspace: it names another database "
            "or schema",
            f"write the table name alone, e.g. {quote(node.name)}, and only tables of this workspace",
        )
    name = fold_name(node.name)
    if name in ctes or name in known:
        return
    if _PATH_CHARACTERS & set(name):
        raise FormulaError(
            f"unknown table '{node.name}' in the view: a view reads the workspace's tables, never files or URLs",
            "upload the file on the Data page, then use its table name",
        )
    match = difflib.get_close_matches(name, sorted(known), n=1)
    fix = f"did you mean '{match[0]}'?" if match else f"use one of the tables: {', '.join(sorted(known)) or 'none yet'}"
    raise FormulaError(f"unknown table '{node.name}' in the view", fix)
