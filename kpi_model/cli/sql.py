"""``sql``: the SQL that computes KPIs, for a warehouse; with ``--run``, run on the workspace's data."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from kpi_model.cli.common import workspace_engine
from kpi_model.cli.compute import add_series_request, series_request
from kpi_model.cli.options import DIALECTS, Deferred, add_data, add_workspace
from kpi_model.cli.output import aligned
from kpi_model.errors import EXIT_INVALID, EXIT_OK, KpiWizardError

if TYPE_CHECKING:
    from kpi_model.formula import FormulaError


def _result_comment(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A query's result as an aligned table in SQL comment lines (the printed script stays runnable)."""
    cells = [names, *[["NULL" if v is None else str(v) for v in row] for row in rows]]
    return "\n".join(f"-- {line}" for line in [f"result: {len(rows)} rows", *aligned(cells, rule=True)])


def _cmd_sql(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.formula.warehouse import warehouse_script

    workspace = workspace_file.load(args.workspace)
    if args.execute and (args.dialect != "duckdb" or args.views != "cte"):
        raise KpiWizardError(
            "--run runs the DuckDB SQL on the workspace's data: use it with --dialect duckdb and without --views create"
        )
    ids = args.kpi or None
    failed: dict[str, FormulaError] = {}
    options = {"dialect": args.dialect, "views": args.views, "quote": args.quote_names}
    if not args.execute:
        script = warehouse_script(workspace, ids, series_request(args), **options)
        print(script.text(), end="")
    else:
        import duckdb

        with workspace_engine(workspace, args.workspace, args.data) as engine:
            script = warehouse_script(workspace, ids, series_request(args), columns=engine.columns(), **options)
            print("\n".join(f"-- {line}" for line in script.header), end="\n\n")
            for statement in script.statements:
                print(statement.text())
                try:
                    names, rows = engine.query(statement.sql)
                except duckdb.Error as refused:  # the data's types, known only when it runs: the next KPI may run
                    failure = failed[statement.name] = engine.failure(statement.name, refused, workspace)
                    print(f"-- {failure.problem}", end="\n\n")
                    continue
                print(_result_comment(names, rows), end="\n\n")
    for kpi_id, error in script.failures.items():
        print(f"{kpi_id}: {error}", file=sys.stderr)
    for failure in failed.values():
        print(f"error: {failure}", file=sys.stderr)
    return EXIT_INVALID if script.failures or failed else EXIT_OK


def register(commands: Any) -> None:
    """Add ``sql``."""
    sql = commands.add_parser("sql", help="print the SQL that computes KPIs, for your warehouse")
    add_workspace(sql)
    sql.add_argument(
        "--dialect", choices=DIALECTS, default="duckdb", metavar="DIALECT", help="the warehouse: %(choices)s"
    )
    sql.add_argument(
        "--views",
        choices=Deferred("kpi_model.formula.warehouse", "VIEW_MODES"),
        default="cte",
        metavar="MODE",
        help="cte (default): define view sources as CTEs in front of each KPI; create: as CREATE VIEW statements first",
    )
    sql.add_argument(
        "--quote-names",
        choices=Deferred("kpi_model.formula.warehouse", "QUOTE_MODES"),
        default="auto",
        metavar="RULE",
        help="auto (default): quote only names that are not plain lower-case identifiers, so the warehouse's "
        "case rule applies (Snowflake reads them as UPPER case); always: quote every name exactly as written",
    )
    sql.add_argument(
        "--run",
        dest="execute",
        action="store_true",
        help="run the DuckDB SQL on the workspace's data and print each result",
    )
    add_data(sql, help="with --run: load this file as source NAME (repeatable)")
    add_series_request(sql)
    sql.set_defaults(run=_cmd_sql)
