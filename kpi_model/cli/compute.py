"""``compute``: KPIs per period on the workspace's data, as CSV or JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

from kpi_model.cli.common import known_kpi, workspace_engine
from kpi_model.cli.options import add_data, add_format, add_grain, add_kpi_filter, add_workspace, iso_date
from kpi_model.errors import EXIT_INVALID, EXIT_OK

if TYPE_CHECKING:
    from kpi_model.engine import Engine
    from kpi_model.formula import SeriesRequest
    from kpi_model.models import Workspace


def add_series_request(parser: argparse.ArgumentParser) -> None:
    """The options of a series request: which KPIs, by which period and column, between which days."""
    add_kpi_filter(parser)
    add_grain(parser, default="month")
    parser.add_argument("--by", metavar="COLUMN", help="break down by this column")
    parser.add_argument("--from", dest="start", type=iso_date, metavar="DATE", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=iso_date, metavar="DATE", help="last day, YYYY-MM-DD")


def series_request(args: argparse.Namespace):
    """The series request the options of :func:`add_series_request` ask for."""
    from kpi_model.formula import SeriesRequest

    return SeriesRequest(grain=args.grain, by=args.by, start=args.start, end=args.end)


def _print_data_as_of(results: dict[str, Any], today: dt.date) -> None:
    """On stderr: ``data as of 2018-11-14`` (a line per day, naming the KPIs if they differ), then partial periods."""
    from kpi_model.engine import Series
    from kpi_model.periods import partial_points, period_label

    by_day: dict[str, list[str]] = {}
    partial: list[str] = []
    for kpi_id, result in results.items():
        if not isinstance(result, Series) or result.coverage is None:
            continue
        by_day.setdefault(result.coverage.as_of.isoformat(), []).append(kpi_id)
        labels = sorted({period_label(p.period, result.request.grain) for p in partial_points(result, today=today)})
        if labels:
            partial.append(f"{kpi_id} {', '.join(labels)}")
    for day, kpi_ids in sorted(by_day.items()):
        which = "" if len(by_day) == 1 else f" ({', '.join(kpi_ids)})"
        print(f"data as of {day}{which}", file=sys.stderr)
    if partial:
        print(f"partial periods (complete=false, never judged): {'; '.join(partial)}", file=sys.stderr)


def _empty_range_note(
    engine: Engine, workspace: Workspace, results: dict[str, Any], request: SeriesRequest
) -> str | None:
    """``note: no rows of … fall between …`` when a date range leaves computed KPIs without a row, else None."""
    from kpi_model.engine import Series

    computed = {kpi_id: r for kpi_id, r in results.items() if isinstance(r, Series)}
    empty = [kpi_id for kpi_id, series in computed.items() if not series.points]
    if not empty or (request.start is None and request.end is None):
        return None
    which = "any KPI" if len(empty) == len(computed) else ", ".join(empty)
    if request.start and request.end:
        days = f"between {request.start} and {request.end}"
    else:
        days = f"on or after {request.start}" if request.start else f"on or before {request.end}"
    # The series' own coverage is narrowed to the range (nothing left): the data's is asked for unnarrowed.
    covered = [c for c in (engine.coverage(workspace, kpi_id) for kpi_id in empty) if c is not None]
    span = f"; the data covers {min(c.first for c in covered)}–{max(c.last for c in covered)}" if covered else ""
    return f"note: no rows of {which} fall {days}{span}"


def _json_rows(results: dict[str, Any], grain: str, skipped: list[str], today: dt.date) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for kpi_id, result in results.items():
        if isinstance(result, Exception):
            rows.append({"id": kpi_id, "error": str(result)})
            continue
        coverage = result.coverage
        rows.append(
            {
                "id": kpi_id,
                "grain": grain,
                "data_as_of": coverage.as_of.isoformat() if coverage else None,
                "coverage": coverage.as_dict() if coverage else None,
                "series": result.as_records(today),
            }
        )
    return rows + [{"id": kpi_id, "skipped": "no formula yet"} for kpi_id in skipped]


def _cmd_compute(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file

    workspace = workspace_file.load(args.workspace)
    for kpi_id in args.kpi:
        known_kpi(workspace, kpi_id)
    wanted = args.kpi or [k.id for k in workspace.kpis if k.expression]
    skipped = [k.id for k in workspace.kpis if not args.kpi and not k.expression]
    with workspace_engine(workspace, args.workspace, args.data, kpi_ids=args.kpi) as engine:
        request = series_request(args)  # after the files are opening: it loads the compiler (workspace_engine)
        results = engine.compute_many(workspace, wanted, request)
        empty_range = _empty_range_note(engine, workspace, results, request)
    failed = {kpi_id: str(r) for kpi_id, r in results.items() if isinstance(r, Exception)}
    today = dt.date.today()
    if args.format == "json":
        print(json.dumps(_json_rows(results, request.grain, skipped, today), indent=2, ensure_ascii=False))
    else:
        from kpi_model import csv_export

        writer = csv_export.writer(sys.stdout)  # breakdown values from the data can start a formula
        by = ["dimension"] if request.by else []
        writer.writerow(["kpi_id", "period", *by, "value", "rows", "complete"])
        for kpi_id, result in results.items():
            if isinstance(result, Exception):
                continue
            for record in result.as_records(today):
                dimension = [record.get("dimension")] if request.by else []
                complete = "true" if record["complete"] else "false"  # as JSON writes it
                writer.writerow([kpi_id, record["period"], *dimension, record["value"], record["rows"], complete])
    _print_data_as_of(results, today)
    if empty_range:
        print(empty_range, file=sys.stderr)
    for kpi_id, message in failed.items():
        print(f"{kpi_id}: {message}", file=sys.stderr)
    for kpi_id in skipped:
        print(f"{kpi_id}: skipped, no formula yet", file=sys.stderr)
    return EXIT_INVALID if failed else EXIT_OK


def register(commands: Any) -> None:
    """Add ``compute``."""
    compute = commands.add_parser("compute", help="compute KPIs per period on the workspace's data")
    add_workspace(compute)
    add_format(compute, "csv", "json")
    add_series_request(compute)
    add_data(compute)
    compute.set_defaults(run=_cmd_compute)
