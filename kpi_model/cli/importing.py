"""``import``: a spreadsheet or dbt YAML as a workspace file; and the spreadsheet options ``audit`` shares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpi_model.cli.common import refuse_to_replace
from kpi_model.cli.options import add_output
from kpi_model.errors import EXIT_OK

if TYPE_CHECKING:
    from kpi_model.importers.common import ImportResult
    from kpi_model.importers.number_format import Separator

_DECIMAL_SEPARATORS: dict[str, Separator] = {"comma": ",", "point": "."}


def add_spreadsheet_options(parser: argparse.ArgumentParser) -> None:
    """How to read a KPI register: the header mapping, the sheet, the header row, the decimal mark."""
    parser.add_argument(
        "--mapping", metavar="FILE", help="YAML/JSON file mapping fields to spreadsheet headers, e.g. {name: Metric}"
    )
    parser.add_argument(
        "--sheet",
        metavar="NAME",
        help="the Excel sheet to read (default: the one holding the KPI list, e.g. after a change log)",
    )
    parser.add_argument(
        "--header-row",
        type=int,
        metavar="N",
        help="the sheet row (1 = first) that holds the column headers (default: found by the import)",
    )
    parser.add_argument(
        "--decimal",
        choices=list(_DECIMAL_SEPARATORS),
        help="how the spreadsheet writes decimals, for numbers that read two ways (1.850: 1850 with 'comma', "
        "1.85 with 'point'); without it they are left out and listed",
    )


def imported_file(args: argparse.Namespace) -> ImportResult:
    """``args.file`` read as a workspace, register or dbt project, with the spreadsheet options."""
    from kpi_model.importers import import_file, load_mapping

    mapping = load_mapping(Path(args.mapping)) if args.mapping else None
    decimal = _DECIMAL_SEPARATORS[args.decimal] if args.decimal else None
    return import_file(
        Path(args.file), mapping=mapping, sheet=args.sheet, decimal_separator=decimal, header_row=args.header_row
    )


def _cmd_import(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file

    output = Path(args.output)
    refuse_to_replace(output, args.force)
    imported = imported_file(args)
    workspace_file.save(imported.workspace, output)
    for note in imported.notes:
        print(f"note: {note}", file=sys.stderr)
    ws = imported.workspace
    print(
        f"wrote {output}: {len(ws.units)} units, {len(ws.goals)} goals, {len(ws.sources)} sources, {len(ws.kpis)} KPIs"
    )
    return EXIT_OK


def register(commands: Any) -> None:
    """Add ``import``."""
    imported = commands.add_parser("import", help="convert a spreadsheet or dbt YAML into a workspace file")
    imported.add_argument("file", help="a spreadsheet (CSV/XLSX) or a dbt semantic-layer YAML file or folder")
    add_output(
        imported, metavar="FILE", help="the workspace file to write (.yaml or .json)", force="replace it if it exists"
    )
    add_spreadsheet_options(imported)
    imported.set_defaults(run=_cmd_import)
