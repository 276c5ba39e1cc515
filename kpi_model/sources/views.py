"""Views defined by SQL over the loaded tables: checked, tried within a time limit, then created."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from kpi_model import formula
from kpi_model.identifiers import quote
from kpi_model.sources.catalog import _VIEW_FIX, TableProfile, _relation_kind, list_tables, profile_select, time_limit
from kpi_model.sources.errors import ProfileTimeout, SourceError, UnreadableRelation, _reason
from kpi_model.sources.limits import VIEW_TIMEOUT_S
from kpi_model.sources.names import _check_table_name


def create_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    *,
    tables: set[str] | None = None,
    timeout_s: float | None = VIEW_TIMEOUT_S,
) -> TableProfile:
    """Create (or replace) a SELECT-only view over ``tables`` (default: every loaded table) and profile it.

    The view is kept only if it runs (its profile finishes) within ``timeout_s``: see :func:`try_view`
    and :func:`define_view`, which the app runs as two jobs.
    """
    profile, _ = try_view(con, name, sql, tables=tables, timeout_s=timeout_s)
    define_view(con, name, sql, tables=tables)
    return profile


def try_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    *,
    tables: set[str] | None = None,
    timeout_s: float | None = VIEW_TIMEOUT_S,
) -> tuple[TableProfile, str]:
    """Check a view's SQL with :func:`formula.validate_view` and run it once (its profile) within
    ``timeout_s``, changing nothing; return the profile and the checked SQL. A view that runs away (a
    recursion without end, a cross join of big tables) is refused here, on a read-only connection."""
    _check_table_name(name)
    if _relation_kind(con, name) == "TABLE":
        raise SourceError(
            f"'{name}' is a loaded table, so a view cannot take its name: pick another name, or drop the table first."
        )
    known = set(list_tables(con)) if tables is None else set(tables)
    checked = formula.validate_view(sql, known - {name})
    try:
        profile = profile_select(con, name, checked, timeout_s=timeout_s)
    except ProfileTimeout:
        raise SourceError(
            f"the view '{name}' ran longer than {timeout_s:g} s and was not kept: narrow it (filter the rows, "
            "join on key columns, give a recursion an end) or simplify it, then try again"
        ) from None
    except UnreadableRelation as error:
        raise SourceError(
            f"the view '{name}' does not run ({error.reason}) and was not kept: fix its SQL (check the columns "
            "it names and that the columns it joins or compares hold the same kind of values)"
        ) from None
    except SourceError as error:
        text = str(error)
        if not text.startswith(f"the view '{name}' does not run"):
            text = f"the view '{name}' does not run and was not kept: {text}"
        raise SourceError(text) from None
    return profile, checked


def define_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    *,
    tables: set[str] | None = None,
    timeout_s: float = VIEW_TIMEOUT_S,
) -> None:
    """Create (or replace) the view, after checking its SQL again; it is not run here (see :func:`try_view`).

    Binding it is stopped after ``timeout_s``: views that each select from the one before twice over
    (``UNION ALL`` of it with itself) take twice as long to bind at every level.
    """
    _check_table_name(name)
    known = set(list_tables(con)) if tables is None else set(tables)
    checked = formula.validate_view(sql, known - {name})
    try:
        with time_limit(con, max(timeout_s, 0.001), f"defining the view '{name}'"):
            con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {checked}")
    except ProfileTimeout:
        raise SourceError(
            f"the view '{name}' took too long to define and was stopped: it selects from other views so many "
            "times over that binding it never ends; "
            "select from the tables once (a view joined or unioned with itself again and again grows "
            "twice as big at each level)"
        ) from None
    except duckdb.Error as error:
        raise SourceError(f"the view '{name}' does not run: {_reason(str(error))}; {_VIEW_FIX}") from None


def _view_order(views: Mapping[str, str]) -> list[str]:
    """View names ordered so that a view comes after the views it selects from."""
    graph: dict[str, set[str]] = {}
    for name, sql in views.items():
        try:
            tree = sqlglot.parse_one(sql, read="duckdb")
        except (SqlglotError, RecursionError):
            graph[name] = set()  # validate_view reports the syntax error (or the nesting) with its position
            continue
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        used = {t.name.lower() for t in tree.find_all(exp.Table)} - ctes
        graph[name] = {v for v in views if v.lower() in used and v != name}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        cycle = " -> ".join(err.args[1])
        raise SourceError(f"SQL sources select from each other in a circle ({cycle}): break the loop.") from None
