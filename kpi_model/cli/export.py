"""``export dbt``: the workspace as dbt Semantic Layer files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kpi_model.cli.options import Deferred, add_output, add_workspace
from kpi_model.errors import EXIT_INVALID, EXIT_OK

# MetricFlow has no SQL Server adapter: every other dialect KPI Wizard writes is one dbt can run.
_DBT_DIALECTS = Deferred("kpi_model.formula.dialects", "DIALECTS", without=("tsql",))


def _cmd_export(args: argparse.Namespace) -> int:
    """Write the workspace as dbt Semantic Layer files; exit 1 when a KPI with a formula could not be expressed."""
    from kpi_model import workspace_file
    from kpi_model.dbt_export import build_export, write_export

    export = build_export(workspace_file.load(args.workspace), dialect=args.dialect)
    written = write_export(export, args.output, force=args.force)
    unexpressed = [o for o in export.not_exported if not o.unfinished]
    for outcome in export.not_exported:
        print(f"{outcome.kpi_id}: not exported, {outcome.reason}", file=sys.stderr)
    kinds = ", ".join(f"{sum(o.metric_type == t for o in export.exported)} {t}" for t in ("simple", "ratio", "derived"))
    print(f"wrote {len(written)} files to {args.output}: {len(export.exported)} KPIs as metrics ({kinds})")
    return EXIT_INVALID if unexpressed else EXIT_OK


def register(commands: Any) -> None:
    """Add ``export`` with its one target, ``dbt``."""
    export = commands.add_parser("export", help="export the workspace to another tool (dbt Semantic Layer)")
    targets = export.add_subparsers(dest="target", required=True, metavar="TARGET")
    dbt = targets.add_parser(
        "dbt",
        help="semantic models and metrics for dbt-core 1.10 with MetricFlow",
        description="Write semantic models, metrics (owner, goal, target, thresholds under config.meta), a dbt "
        "model per view source and a time spine into DIR. KPIs MetricFlow cannot express are listed with the "
        "reason (exit 1); DIR/README.md says which dbt models the project must provide.",
    )
    add_workspace(dbt)
    add_output(dbt, metavar="DIR", help="folder to write (new or empty)", force="write into a folder that is not empty")
    dbt.add_argument(
        "--dialect", choices=_DBT_DIALECTS, default="duckdb", metavar="DIALECT", help="the warehouse: %(choices)s"
    )
    dbt.set_defaults(run=_cmd_export)
