"""SQL for a team's warehouse that runs as printed: view sources defined in the script, names quoted by rule.

A KPI on a SQL-view source reads a relation the warehouse does not have, so the script defines every
view a KPI needs, in dependency order (a view over another view comes after it): as CTEs in front of
each KPI's SELECT (the default) or as ``CREATE OR REPLACE VIEW`` statements before all of them.

Names follow one rule per script (:data:`QUOTE_MODES`):

- ``auto``: a *plain* name (lower-case ASCII letters, digits and ``_``, not a reserved word) is written
  unquoted, so the warehouse applies its own case rule to it: PostgreSQL reads ``order_date`` as
  ``order_date``, Snowflake as ``ORDER_DATE``; one table then serves every KPI. A reserved plain name is
  quoted in the case the warehouse would fold it to (``"ORDER"`` in Snowflake); any other name (``Sales
  Region``, ``Amount``) is quoted exactly, so the table must have been created with that name quoted.
- ``always``: every name is quoted exactly as written, for tables created with quoted lower-case names.

The script's header names the tables it reads and the columns it uses from each.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.scope import traverse_scope

from kpi_model.errors import KpiWizardError
from kpi_model.formula.compile import Compiler, SeriesRequest
from kpi_model.formula.dialects import DIALECTS, render_sql, untranslatable
from kpi_model.formula.errors import FormulaError
from kpi_model.formula.limits import _bounded
from kpi_model.formula.views import validate_view, view_tables
from kpi_model.identifiers import fold_name
from kpi_model.models import Workspace

ViewMode = Literal["cte", "create"]
QuoteMode = Literal["auto", "always"]
VIEW_MODES: tuple[ViewMode, ...] = ("cte", "create")
QUOTE_MODES: tuple[QuoteMode, ...] = ("auto", "always")

DIALECT_NAMES = {
    "duckdb": "DuckDB",
    "postgres": "PostgreSQL",
    "snowflake": "Snowflake",
    "bigquery": "BigQuery",
    "spark": "Spark SQL",
    "tsql": "T-SQL",
}

_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")

# Words reserved in at least one target dialect (PostgreSQL, Snowflake, T-SQL, Spark in ANSI mode; sqlglot
# adds its lists for BigQuery and DuckDB). Quoting one in the warehouse's folded case means the same name
# as leaving it unquoted, so a word reserved only elsewhere costs two quote marks, never a wrong column.
_RESERVED_WORDS = frozenset(
    """
    account add all alter analyse analyze and any array as asc asymmetric authorization backup begin between
    binary both break browse bulk by cascade case cast check checkpoint close clustered coalesce collate
    collation column commit compute concurrently connect connection constraint contains containstable continue
    convert create cross current current_catalog current_date current_role current_schema current_time
    current_timestamp current_user cursor database dbcc deallocate declare default deferrable delete deny desc
    disk distinct distributed do double drop dump else end errlvl escape except exec execute exists exit external
    false fetch file fillfactor filter following for foreign freetext freetexttable freeze from full function goto
    grant group gscluster having holdlock identity identity_insert identitycol if ilike in increment index
    initially inner insert intersect into is isnull issue join key kill lateral leading left like limit lineno
    load localtime localtimestamp merge minus national natural nocheck nonclustered not notnull null nullif of
    off offset offsets on only open opendatasource openquery openrowset openxml option or order organization
    outer over overlaps percent pivot placing plan precision primary print proc procedure public qualify
    raiserror read readtext reconfigure references regexp replication restore restrict return returning revert
    revoke right rlike rollback row rowcount rowguidcol rows rule sample save schema securityaudit select
    session_user set setuser shutdown similar some start statistics symmetric system_user table tablesample
    textsize then time to top tran transaction trailing trigger true truncate try_cast try_convert tsequal union
    unique unknown unpivot update updatetext use user using values variadic varying verbose view waitfor when
    whenever where while window with within writetext
    """.split()
)


def is_plain_name(name: str, dialect: str) -> bool:
    """Whether ``name`` can go unquoted into ``dialect`` and mean the same column in any warehouse case rule."""
    generator = Dialect.get_or_raise(dialect).generator_class
    reserved = _RESERVED_WORDS | {word.lower() for word in getattr(generator, "RESERVED_KEYWORDS", ())}
    return bool(_PLAIN_NAME.match(name)) and name not in reserved


def quote_names(tree: exp.Expr, dialect: str, mode: QuoteMode = "auto") -> exp.Expr:
    """``tree`` with every identifier quoted or not by ``mode`` (module docstring); changes ``tree`` in place.

    >>> tree = sqlglot.parse_one('SELECT "order_date", "Sales Region", "order" FROM t', read="duckdb")
    >>> quote_names(tree, "snowflake").sql("snowflake")
    'SELECT order_date, "Sales Region", "ORDER" FROM t'
    """
    upper_case = Dialect.get_or_raise(dialect).normalization_strategy.value == "UPPERCASE"
    for identifier in tree.find_all(exp.Identifier):
        name = identifier.this
        if mode == "always":
            identifier.set("quoted", True)
        elif is_plain_name(name, dialect):
            identifier.set("quoted", False)
        else:
            identifier.set("quoted", True)
            if _PLAIN_NAME.match(name) and upper_case:
                identifier.set("this", name.upper())  # a reserved word, quoted as the warehouse folds it
    return tree


def _comment(text: str) -> str:
    """``text`` as one SQL comment line: a line break in a name (a quoted column may hold one) would end it."""
    return "-- " + " ".join(text.splitlines())


@dataclass(frozen=True)
class Statement:
    """One statement of a warehouse script: a view's CREATE VIEW or a KPI's SELECT, with comment lines before it."""

    kind: Literal["view", "kpi"]
    name: str
    sql: str
    comments: tuple[str, ...] = ()
    batch_end: bool = False  # T-SQL: CREATE VIEW must stand alone in its batch, so GO follows it

    def text(self) -> str:
        """The statement as printed: its comments, then the SQL ending with ';' at the end of a line."""
        lines = [_comment(line) for line in self.comments]
        lines.append(f"{self.sql};")
        if self.batch_end:
            lines.append("GO")
        return "\n".join(lines)


@dataclass(frozen=True)
class WarehouseScript:
    """The SQL for some KPIs in one dialect: a header, then the statements; KPIs that failed, with why."""

    dialect: str
    header: tuple[str, ...]
    statements: tuple[Statement, ...]
    tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # tables read → columns used
    failures: Mapping[str, KpiWizardError] = field(default_factory=dict)

    def text(self) -> str:
        """The script as printed: header comment lines, then each statement, a blank line between them."""
        head = "\n".join(_comment(line) for line in self.header)
        return "\n\n".join([head, *(s.text() for s in self.statements)]) + "\n"

    def kpi_sql(self, kpi_id: str) -> str:
        """The SQL of one KPI's SELECT (without its ';')."""
        for statement in self.statements:
            if statement.kind == "kpi" and statement.name == kpi_id:
                return statement.sql
        raise KeyError(kpi_id)


class _Views:
    """The workspace's view sources, checked and parsed, with the order they depend on each other in."""

    def __init__(self, workspace: Workspace) -> None:
        self.sql = {s.name: s.sql for s in workspace.sources if s.sql and not s.path}
        self._names = {fold_name(name): name for name in self.sql}
        self.sources = {s.name for s in workspace.sources}
        self._trees: dict[str, exp.Query] = {}

    def needed(self, sources: Iterable[str]) -> list[str]:
        """The views that ``sources`` are or read, directly or through other views; each after those it reads."""
        graph: dict[str, set[str]] = {}
        pending = [name for name in sources if name in self.sql]
        while pending:
            name = pending.pop()
            if name in graph:
                continue
            reads = {self._names[fold_name(t)] for t in view_tables(self.sql[name]) if fold_name(t) in self._names}
            graph[name] = reads - {name}
            pending.extend(graph[name])
        try:
            return list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as error:
            cycle = " → ".join(error.args[1])
            raise FormulaError(f"view sources read each other in a circle ({cycle})", "break the loop") from None

    def tree(self, name: str) -> exp.Query:
        """The view's SELECT, checked as the engine checks it (a fresh copy each time)."""
        if name not in self._trees:
            try:
                checked = validate_view(self.sql[name], self.sources - {name})
            except FormulaError as error:
                raise FormulaError(f"view source '{name}': {error.problem}", error.fix) from None
            parsed = sqlglot.parse_one(checked, read="duckdb")
            assert isinstance(parsed, exp.Query)  # validate_view admits only queries
            self._trees[name] = parsed
        return self._trees[name].copy()


def _with_views(select: exp.Query, views: list[tuple[str, exp.Query]]) -> exp.Query:
    """``select`` with ``views`` as its first CTEs (before the CTEs of derived KPIs)."""
    existing = select.args.get("with_")
    taken = {fold_name(cte.alias_or_name) for cte in existing.expressions} if isinstance(existing, exp.With) else set()
    clash = [name for name, _ in views if fold_name(name) in taken]
    if clash:
        raise FormulaError(
            f"the view source '{clash[0]}' has the name of a KPI step in the SQL (k_<kpi id>)",
            "rename the view source",
        )
    ctes = [exp.CTE(this=tree, alias=exp.TableAlias(this=exp.to_identifier(name))) for name, tree in views]
    if isinstance(existing, exp.With):
        ctes.extend(existing.expressions)
    recursive = any(
        isinstance(tree.args.get("with_"), exp.With) and tree.args["with_"].args.get("recursive") for _, tree in views
    )
    select.set("with_", exp.With(expressions=ctes, recursive=recursive or None))
    return select


def _canonical_columns(tree: exp.Expr, columns: Mapping[str, Collection[str]]) -> None:
    """Column names written in another case than the data's (DuckDB matches them anyway) take the data's spelling."""
    spelled: dict[str, set[str]] = {}
    for names in columns.values():
        for name in names:
            spelled.setdefault(fold_name(name), set()).add(name)
    for column in tree.find_all(exp.Column):
        identifier = column.this
        if not isinstance(identifier, exp.Identifier):
            continue
        matches = spelled.get(fold_name(identifier.this), set())
        if identifier.this not in matches and len(matches) == 1:
            identifier.set("this", next(iter(matches)))


def _canonical_tables(tree: exp.Expr, sources: Collection[str]) -> None:
    """Tables named in another case than their source (``FROM Orders`` for ``orders``) take the source's spelling."""
    spelled = {fold_name(name): name for name in sources}
    for table in tree.find_all(exp.Table):
        identifier = table.this
        if isinstance(identifier, exp.Identifier) and fold_name(identifier.this) in spelled:
            identifier.set("this", spelled[fold_name(identifier.this)])


def _tables_read(tree: exp.Expr, relations: set[str]) -> dict[str, set[str]]:
    """The tables ``tree`` reads (not CTEs) → the columns it uses from each ('*' for all), by scope."""
    used: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        selected = scope.selected_sources  # what FROM and JOIN name here (scope.sources also holds earlier CTEs)
        tables = {alias: source for alias, (_, source) in selected.items() if isinstance(source, exp.Table)}
        tables = {alias: table for alias, table in tables.items() if fold_name(table.name) in relations}
        for table in tables.values():
            used.setdefault(table.name, set())
        only = next(iter(tables.values())) if len(selected) == 1 and len(tables) == 1 else None
        for column in scope.columns:
            owner = tables.get(column.table) if column.table else only
            if owner is not None:
                used[owner.name].add(column.name)
        if only is not None and isinstance(scope.expression, exp.Select) and scope.expression.is_star:
            used[only.name].add("*")
    return used


def _name(name: str, dialect: str, mode: QuoteMode) -> str:
    """A table or column name as the script writes it."""
    return quote_names(exp.to_identifier(name), dialect, mode).sql(dialect=dialect)


def _names(columns: Iterable[str], dialect: str, mode: QuoteMode) -> str:
    """The columns as the script writes them; a table read with SELECT * needs all of its columns."""
    names = set(columns)
    if "*" in names:
        return "every column (a view selects *)"
    return ", ".join(_name(column, dialect, mode) for column in sorted(names))


def _refuse_untranslatable(select: exp.Query, views: list[tuple[str, exp.Query]], dialect: str) -> None:
    """Raise when the KPI or a view it reads uses what ``dialect`` cannot compute with DuckDB's meaning."""
    reasons = untranslatable(select, dialect)
    for name, tree in views:
        reasons += [f"view source '{name}': {reason}" for reason in untranslatable(tree, dialect)]
    if reasons:
        raise FormulaError(
            f"left out of the {DIALECT_NAMES[dialect]} SQL: {'; '.join(reasons)}",
            "compute it in DuckDB (kpi-wizard compute), or write the formula without it",
        )


@_bounded
def warehouse_script(
    workspace: Workspace,
    kpi_ids: Iterable[str] | None = None,
    request: SeriesRequest | None = None,
    *,
    dialect: str = "duckdb",
    views: ViewMode = "cte",
    quote: QuoteMode = "auto",
    columns: Mapping[str, Collection[str]] | None = None,
    pretty: bool = True,
) -> WarehouseScript:
    """The SQL that computes ``kpi_ids`` (default: every KPI with a formula) on a warehouse of ``dialect``.

    Each KPI's SELECT is preceded by ``-- <id>: <name> (<grain>, <dialect>)``; every statement ends with
    ``;`` at the end of a line; with ``views="create"`` the CREATE VIEW statements come first. ``columns``
    (source → column names, from the loaded data) spells names as the data does. An unknown KPI id raises
    :class:`UnknownKpiError`; a KPI that does not compile is left out and named in ``failures``.
    """
    if dialect not in DIALECTS:
        raise FormulaError(f"'{dialect}' is not a supported dialect", f"use one of: {', '.join(DIALECTS)}")
    if views not in VIEW_MODES:
        raise FormulaError(f"'{views}' is not a way to write views", f"use one of: {', '.join(VIEW_MODES)}")
    if quote not in QUOTE_MODES:
        raise FormulaError(f"'{quote}' is not a quoting rule", f"use one of: {', '.join(QUOTE_MODES)}")
    request = request or SeriesRequest()
    compiler = Compiler(workspace, columns, portable=dialect != "duckdb")
    ids = list(kpi_ids) if kpi_ids is not None else [k.id for k in workspace.kpis if k.expression]
    for kpi_id in ids:
        compiler.kpi(kpi_id)  # an unknown id is the caller's mistake: say so before anything is printed
    view_sources = _Views(workspace)
    file_tables = {fold_name(s.name) for s in workspace.sources if s.name not in view_sources.sql}

    selects: dict[str, exp.Query] = {}
    failures: dict[str, KpiWizardError] = {}
    needed_views: dict[str, list[str]] = {}
    for kpi_id in ids:
        try:
            select: exp.Query = compiler.select(kpi_id, request)
            sources = [k.source for k in map(compiler.kpi, compiler.dependencies(kpi_id)) if k.source]
            needed_views[kpi_id] = view_sources.needed(sources)
            view_trees = [(name, view_sources.tree(name)) for name in needed_views[kpi_id]]  # broken: fails here
            _refuse_untranslatable(select, view_trees, dialect)
            if views == "cte":
                select = _with_views(select, view_trees)
            selects[kpi_id] = select
        except KpiWizardError as error:
            failures[kpi_id] = error

    defined = view_sources.needed({v for kpi_id in selects for v in needed_views[kpi_id]})
    created = defined if views == "create" else []
    trees: list[tuple[Literal["view", "kpi"], str, exp.Expr]] = [
        (
            "view",
            name,
            exp.Create(this=exp.to_table(name), kind="VIEW", replace=True, expression=view_sources.tree(name)),
        )
        for name in created
    ]
    trees += [("kpi", kpi_id, select) for kpi_id, select in selects.items()]

    # A view's own column names count as known spellings even without the data (`AS Total` read as `total`).
    spellings: dict[str, Collection[str]] = {name: view_sources.tree(name).named_selects for name in defined}
    spellings.update(columns or {})
    tables: dict[str, set[str]] = {}
    statements: list[Statement] = []
    for kind, name, tree in trees:
        _canonical_tables(tree, view_sources.sources)
        _canonical_columns(tree, spellings)
        read = _tables_read(tree, file_tables)
        for table, used in read.items():
            tables.setdefault(table, set()).update(used)
        quote_names(tree, dialect, quote)
        sql = render_sql(tree, dialect, pretty=pretty)
        reads = "; ".join(f"{_name(t, dialect, quote)}({_names(read[t], dialect, quote)})" for t in sorted(read))
        if kind == "view":
            comments: tuple[str, ...] = (f"view {name}" + (f": reads {reads}" if reads else ""),)
            statements.append(Statement("view", name, sql, comments, batch_end=dialect == "tsql"))
        else:
            kpi = compiler.kpi(name)
            label = " ".join(kpi.name.split())  # on one line: a line break in a name would end the comment
            reading = (f"reads {reads}",) if reads else ()
            comments = (
                *reading,
                f"{kpi.id}: {label} ({request.grain}, {dialect})",
            )
            statements.append(Statement("kpi", name, sql, comments))

    header = _header(dialect, views, quote, request, tables, len(selects), defined, failures)
    ordered = {t: tuple(sorted(c)) for t, c in sorted(tables.items())}
    return WarehouseScript(dialect, header, tuple(statements), ordered, failures)


def _header(
    dialect: str,
    views: ViewMode,
    quote: QuoteMode,
    request: SeriesRequest,
    tables: Mapping[str, set[str]],
    kpi_count: int,
    defined: list[str],
    failures: Mapping[str, KpiWizardError],
) -> tuple[str, ...]:
    kpis = f"{kpi_count} KPI{'s' if kpi_count != 1 else ''}"
    by = f" and {request.by}" if request.by else ""
    lines = [f"KPI Wizard: {kpis} for {DIALECT_NAMES[dialect]}, by {request.grain}{by}."]
    if tables:
        lines.append("Tables it reads, with the columns it uses (create them with these names):")
        for table in sorted(tables):
            lines.append(f"  {_name(table, dialect, quote)}: {_names(tables[table], dialect, quote)}")
    if defined and views == "create":
        lines.append(f"It creates the view sources first (CREATE OR REPLACE VIEW): {', '.join(defined)}.")
    elif defined:
        lines.append(f"View sources, as CTEs in front of each KPI that reads them: {', '.join(defined)}.")
    if quote == "auto":
        folded = {"snowflake": "UPPER case", "postgres": "lower case"}.get(dialect)
        rule = f"; {DIALECT_NAMES[dialect]} reads them in {folded}" if folded else ""
        lines.append(f"Plain names (a-z, 0-9, _) are unquoted{rule}; other names are quoted exactly.")
    else:
        lines.append("Every name is quoted exactly as written (lower case stays lower case).")
    if failures:
        lines.append("Left out (the command also says so on stderr and exits 1):")
        lines += [f"  {kpi_id}: {error}" for kpi_id, error in failures.items()]
    return tuple(lines)
