"""``report``: the scorecard report as PDF or HTML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kpi_model.cli.common import data_overrides, known_kpi, noted, refuse_to_replace
from kpi_model.cli.options import add_as_of, add_data, add_output, add_workspace
from kpi_model.errors import EXIT_OK, KpiWizardError


def _output(args: argparse.Namespace) -> tuple[Path, str]:
    """The file to write and its format, checked before the work (which takes minutes for a large set)."""
    output = Path(args.output)
    from_suffix = {".pdf": "pdf", ".html": "html", ".htm": "html"}.get(output.suffix.lower())
    chosen = args.format or from_suffix or "pdf"
    if from_suffix and from_suffix != chosen:
        raise KpiWizardError(f"{output} ends in {output.suffix} but --format is {chosen}", f"name the file .{chosen}")
    if output.is_dir():
        raise KpiWizardError(f"{output} is a folder", f"give a file name, e.g. {output / f'report.{chosen}'}")
    refuse_to_replace(output, args.force)
    if not output.parent.resolve().is_dir():
        raise KpiWizardError(f"the folder {output.parent} does not exist", "create it or write elsewhere")
    return output, chosen


def _cmd_report(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.engine import Engine
    from kpi_model.report import build_report, render_html, render_pdf

    output, chosen = _output(args)
    workspace = workspace_file.load(args.workspace)
    for kpi_id in args.kpi:  # before the data loads
        known_kpi(workspace, kpi_id)
    previous = workspace_file.load(args.previous) if args.previous else None
    sections = [s.strip() for part in args.sections for s in part.split(",") if s.strip()] or None
    overrides = data_overrides(args.data)
    folder = Path(args.workspace).parent
    # A missing file costs its own KPIs their values, not the whole report.
    missing = [
        s.name for s in workspace.sources if s.path and s.name not in overrides and not (folder / s.path).is_file()
    ]
    for name in missing:
        print(f"note: source '{name}': its file is missing; its KPIs are shown without values", file=sys.stderr)
    readable = workspace.model_copy(
        update={"sources": [s.model_copy(update={"path": None}) if s.name in missing else s for s in workspace.sources]}
    )
    engine = None
    if overrides or any(s.path for s in readable.sources):
        engine = noted(Engine.for_workspace(readable, folder, overrides))
    else:
        print("note: no data sources with files: the report shows the design without values", file=sys.stderr)
    try:
        content = build_report(
            readable,
            engine,
            as_of=args.as_of,
            units=args.unit,
            kpis=args.kpi,
            previous=previous,
            **({"sections": sections} if sections else {}),
        )
    finally:
        if engine is not None:
            engine.close()
    data = render_pdf(content, paper=args.paper) if chosen == "pdf" else render_html(content, paper=args.paper)
    body = data if isinstance(data, bytes) else data.encode("utf-8")
    output.write_bytes(body)
    shown = []
    if "units" in content.sections:
        shown.append(f"{len(content.units)} unit page(s)")
    if "definitions" in content.sections:
        shown.append(f"{len(content.definitions)} KPI sheet(s)")
    print(f"wrote {output} ({len(body):,} bytes): {', '.join(shown) or ', '.join(content.sections)}")
    return EXIT_OK


def register(commands: Any) -> None:
    """Add ``report``."""
    from kpi_model.report.choices import PAPER, SECTIONS

    report = commands.add_parser(
        "report",
        help="the scorecard report as PDF or HTML (cover, strategy map, a page per unit, KPI sheets, audit)",
        description="Write the scorecard report a workshop takes home: a cover with data as of and the verdicts, "
        "the strategy map, one page per unit with each KPI's latest complete value against target and thresholds, "
        "one definition sheet per KPI and the audit summary for the board. PDF and HTML come from one template; "
        "the HTML file is self-contained.",
    )
    add_workspace(report)
    add_output(report, metavar="FILE", help="the file to write (.pdf or .html)", force="replace it if it exists")
    report.add_argument(
        "--format", choices=["pdf", "html"], help="pdf or html (default: from the file name's suffix, else pdf)"
    )
    report.add_argument("--paper", choices=list(PAPER), default="a4", help="page size, landscape (default a4)")
    report.add_argument("--unit", action="append", default=[], metavar="ID", help="only this unit (repeatable)")
    report.add_argument("--kpi", action="append", default=[], metavar="ID", help="only this KPI (repeatable)")
    report.add_argument(
        "--sections",
        action="append",
        default=[],
        metavar="LIST",
        help=f"only these sections, comma-separated (default all: {','.join(SECTIONS)})",
    )
    add_as_of(report, "judge as on this day: periods not complete by then are shown, not judged (default today)")
    add_data(report)
    report.add_argument(
        "--previous", metavar="FILE", help="an earlier version of the workspace: the audit page says what changed"
    )
    report.set_defaults(run=_cmd_report)
