"""The ``kpi-wizard`` command line: a thin layer over the library.

Heavy modules (duckdb, sqlglot) are imported inside the commands that need
them, so ``kpi-wizard --help`` and ``validate`` start fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kpi_model import __version__
from kpi_model.errors import KpiWizardError, Problem, WorkspaceError
from kpi_model.periods import GRAINS
from kpi_model.validation import did_you_mean

if TYPE_CHECKING:
    from kpi_model.checks import AuditReport
    from kpi_model.checks.compare import AuditComparison
    from kpi_model.engine import Engine
    from kpi_model.importers.number_format import Separator

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

# What a terminal acts on instead of showing: C0 controls but newline and tab (ESC starts the
# clear-screen, window-title and hyperlink sequences, BEL rings, CR overwrites the line), DEL, C1
# controls (0x9b is a one-byte CSI) and the bidi controls that show text in another order than it
# is stored (U+202E makes "gnp.exe" read "exe.png").
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    r"""``text`` safe to print: each character a terminal would act on written as ``\uXXXX``.

    The same escape JSON uses, so a JSON document stays valid and means the same:
    ``inert("a\x1b[2Jb")`` is ``'a\\u001b[2Jb'``.
    """
    return _TERMINAL_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class _InertStream:
    """A text stream that writes everything through ``inert``; all else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(inert(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _cmd_validate(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file

    try:
        workspace = workspace_file.load(args.file)
    except WorkspaceError as error:
        if args.format == "json":
            problems = [{"path": p.path, "message": p.message} for p in error.problems]
            print(json.dumps({"file": args.file, "valid": False, "problems": problems}, indent=2))
        else:
            print(error)
        return EXIT_INVALID
    summary = {
        "units": len(workspace.units),
        "goals": len(workspace.goals),
        "sources": len(workspace.sources),
        "kpis": len(workspace.kpis),
    }
    if args.format == "json":
        print(json.dumps({"file": args.file, "valid": True, "name": workspace.name, **summary}, indent=2))
    else:
        counts = ", ".join(f"{n} {label}" for label, n in summary.items())
        print(f"{args.file}: valid — '{workspace.name}': {counts}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from kpi_model.models import workspace_json_schema

    text = json.dumps(workspace_json_schema(), indent=2) + "\n"
    if args.output:
        from kpi_model.workspace_file import atomic_write_text

        atomic_write_text(args.output, text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


_DECIMAL_SEPARATORS: dict[str, Separator] = {"comma": ",", "point": "."}


def _load_for_audit(args: argparse.Namespace):
    from kpi_model.importers import import_file, load_mapping

    mapping = load_mapping(Path(args.mapping)) if args.mapping else None
    decimal = _DECIMAL_SEPARATORS[args.decimal] if args.decimal else None
    return import_file(
        Path(args.file), mapping=mapping, sheet=args.sheet, decimal_separator=decimal, header_row=args.header_row
    )


def _noted(engine: Engine) -> Engine:
    """The engine, after printing what the user should know about the data it loaded."""
    for note in engine.notes:
        print(f"note: {note}", file=sys.stderr)
    return engine


def _audit_engine(args: argparse.Namespace, workspace):
    """An engine on the workspace's data, or None (with a note) when there is none to load."""
    from kpi_model.engine import Engine

    overrides = _data_overrides(args.data)
    base = Path(args.file).parent if Path(args.file).is_file() else Path(args.file)
    if not overrides and not any(s.path for s in workspace.sources):
        return None
    try:
        return _noted(Engine.for_workspace(workspace, base, overrides))
    except KpiWizardError as error:
        if overrides:
            raise
        print(f"note: auditing without data — {error}", file=sys.stderr)
        return None


def _unknown_rule(names: Sequence[str]) -> str | None:
    """The first ``--ignore`` value that names no rule (by slug or id), as an error message; None if all do."""
    from kpi_model.checks import rules

    known = {rule.slug for rule in rules()} | {rule.id for rule in rules()}
    for name in names:
        if name not in known:
            slugs = sorted(rule.slug for rule in rules())
            hint = did_you_mean(name, slugs) or did_you_mean(name, sorted(known - set(slugs)))
            return f"unknown rule '{name}'{hint or ' — `kpi-wizard rules` lists them'}"
    return None


# An audit shows the findings; the import's notes (often dozens) are summed up, all of them are one
# `kpi-wizard import` away. The file compared against shows none.
_AUDIT_NOTES_SHOWN = 5


def _print_import_notes(notes: Sequence[str], path: str, *, shown: int) -> None:
    """The first ``shown`` notes of an import on stderr, and how to read the rest."""
    if not notes:
        return
    for note in notes[:shown]:
        print(f"note: {note}", file=sys.stderr)
    rest = len(notes) - min(shown, len(notes))
    if rest:
        more = f"{rest} more import note{'s' if rest != 1 else ''}" if shown else f"{rest} import notes"
        print(f"note: {path}: {more}; read them all with: kpi-wizard import {path} -o workspace.yaml", file=sys.stderr)


def _audited(args: argparse.Namespace, path: str, today: dt.date, *, notes_shown: int) -> AuditReport:
    """The audit of one file, with its data when found (the notes go to stderr, prefixed with the file)."""
    from kpi_model.checks import audit

    file_args = argparse.Namespace(**{**vars(args), "file": path})
    imported = _load_for_audit(file_args)
    engine = _audit_engine(file_args, imported.workspace)
    _print_import_notes(imported.notes, path, shown=notes_shown)
    try:
        return audit(imported.workspace, engine=engine, ignore=set(args.ignore), today=today)
    finally:
        if engine is not None:
            engine.close()


def _cmd_audit(args: argparse.Namespace) -> int:
    from kpi_model.checks import Severity

    unknown = _unknown_rule(args.ignore)
    if unknown:  # a typo must not silently keep the rule running
        print(f"error: {unknown}", file=sys.stderr)
        return EXIT_UNUSABLE
    today = dt.date.today()
    reports: list[AuditReport] = []
    for path, notes_shown in [(args.file, _AUDIT_NOTES_SHOWN), *([(args.compare, 0)] if args.compare else [])]:
        try:
            reports.append(_audited(args, path, today, notes_shown=notes_shown))
        except KpiWizardError as error:
            print(f"error: {f'{path}: ' if args.compare else ''}{error}", file=sys.stderr)
            return EXIT_UNUSABLE
    report = reports[0]
    shown: AuditReport | AuditComparison = report
    if args.compare:
        from kpi_model.checks.compare import compare

        shown = compare(reports[1], report)
    sys.stdout.write({"json": shown.to_json, "markdown": shown.to_markdown, "text": shown.to_text}[args.format]())
    if args.fail_on == "never":
        return EXIT_OK
    threshold = Severity(args.fail_on).rank
    return EXIT_INVALID if any(f.severity.rank >= threshold for f in report.findings) else EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file

    output = Path(args.output)
    if output.exists() and not args.force:
        raise KpiWizardError(f"{output} exists; choose another file or add --force to replace it")
    try:
        imported = _load_for_audit(args)
    except KpiWizardError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    workspace_file.save(imported.workspace, output)
    for note in imported.notes:
        print(f"note: {note}", file=sys.stderr)
    ws = imported.workspace
    print(
        f"wrote {output}: {len(ws.units)} units, {len(ws.goals)} goals, {len(ws.sources)} sources, {len(ws.kpis)} KPIs"
    )
    return EXIT_OK


def _cmd_rules(args: argparse.Namespace) -> int:
    from kpi_model.checks import rules, rules_reference

    if args.format == "markdown":
        sys.stdout.write(rules_reference())
    elif args.format == "json":
        rows = [
            {
                "id": r.id,
                "slug": r.slug,
                "severity": r.severity.value,
                "needs_data": r.needs_data,
                "rationale": r.rationale,
                "example": r.example,
                "fix": r.fix,
            }
            for r in rules()
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for rule in rules():
            print(f"{rule.id}  {rule.slug:28} {rule.severity.value:8} {rule.rationale}")
    return EXIT_OK


def _kpi_grain(kpi, override: str | None) -> str:
    from kpi_model.periods import normalise_grain

    return normalise_grain(override or (kpi.cadence.value if kpi.cadence else "monthly"))


def _series_for(workspace, engine, kpi_id: str, grain: str):
    from kpi_model.formula import SeriesRequest

    if workspace.kpi(kpi_id) is None:
        raise KpiWizardError(f"unknown KPI '{kpi_id}'{did_you_mean(kpi_id, [k.id for k in workspace.kpis])}")
    return engine.compute(workspace, kpi_id, SeriesRequest(grain=grain))  # type: ignore[arg-type]


def _whatif_target(text: str, kpi) -> tuple[float, str | None]:
    """The ``--target`` value as typed: ``15%`` is 0.15; for a percent KPI a bare 15 is 15 % too (with a note)."""
    from kpi_model.importers.values import read_amount

    try:
        amount = read_amount(text.strip(), "--target", money=kpi.unit_of_measure == "currency")
    except ValueError as error:
        raise KpiWizardError(f"{error}; write e.g. --target 1800, --target 15% or --target 0.15") from None
    if amount.value is None or amount.dropped:
        raise KpiWizardError(f"--target '{text}' is not one number; write e.g. --target 1800 or --target 15%")
    value = amount.value
    if amount.percent and kpi.unit_of_measure not in (None, "percent", "ratio"):
        raise KpiWizardError(
            f"--target '{text}' is a percent but KPI '{kpi.id}' is measured as a {kpi.unit_of_measure}: give the "
            "number itself (e.g. --target 12000), or set its unit_of_measure to percent"
        )
    if kpi.unit_of_measure == "percent" and not amount.percent and abs(value) > 1:
        return value / 100, f"--target {text} read as {value:g}% ({value / 100:g}) for a percent KPI"
    return value, None


def _cmd_whatif(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.engine import Engine
    from kpi_model.errors import WhatIfError
    from kpi_model.status import format_value
    from kpi_model.whatif import target_concerns, target_preview
    from kpi_model.whatif.target_result import format_change

    workspace = workspace_file.load(args.workspace)
    kpi = workspace.kpi(args.kpi)
    if kpi is None:
        raise KpiWizardError(f"unknown KPI '{args.kpi}'{did_you_mean(args.kpi, [k.id for k in workspace.kpis])}")
    target, typed_note = _whatif_target(str(args.target), kpi)
    grain = _kpi_grain(kpi, args.grain)
    with _noted(Engine.for_workspace(workspace, Path(args.workspace).parent, _data_overrides(args.data))) as engine:
        series = _series_for(workspace, engine, kpi.id, grain)
    notes = [typed_note] if typed_note else []
    coverage = series.coverage

    def preview_from(baseline_period):
        return target_preview(
            kpi,
            series.points,
            target=target,
            due=args.by,
            baseline_period=baseline_period,
            grain=grain,
            coverage=coverage,
        )

    # The KPI's own baseline period unless one is given; if it cannot be used, the latest complete one.
    own = kpi.baseline.period if kpi.baseline and kpi.baseline.period else None
    if args.baseline_period is None and own is not None:
        try:
            preview = preview_from(own)
        except WhatIfError as error:
            preview = preview_from(None)
            notes.append(f"the KPI's baseline period {own} was not used ({error}); the latest complete period was")
    else:
        preview = preview_from(args.baseline_period)
    result = preview.as_dict()
    result["notes"] = [*notes, *result["notes"]]
    if args.format == "json":
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return EXIT_OK
    change = result["required_change_per_period"]
    relative = "relative" if kpi.unit_of_measure == "percent" else "compound"
    compound = "n/a" if change["compound"] is None else f"{change['compound']:+.2%}"
    unit = kpi.unit_of_measure
    baseline = result["baseline"]
    window = result["change_window"]
    within = result["historical_change_attainment"]
    windows = (
        f"moved that far in {within:.0%} of {window['windows']} past {window['periods']}-{grain} windows"
        if within is not None
        else f"no past {window['periods']}-{grain} window to compare"
    )
    thresholds = result["suggested_thresholds"]
    lines = [
        f"{kpi.name}: {format_value(baseline['value'], unit)} in {baseline['label']} → "
        f"{format_value(target, unit)} by {args.by}",
        f"  {result['periods_remaining']} {grain}s to go: {format_change(change['linear'], unit)} per {grain} "
        f"(linear), {compound} ({relative})",
        f"  met in {result['historical_attainment']:.0%} of past periods; {windows}",
        f"  history: {len(preview.history)} complete {grain}s to {result['last_complete_period']['label']}; "
        f"data as of {result['data_as_of']}",
        f"  verdict: {result['verdict']} — {result['verdict_text']}",
        f"  method: {result['method']}",
        f"  suggested thresholds: {thresholds['explanation']}",
        *[f"  {level}: {message}" for level, message in target_concerns(kpi, baseline["value"], target)],
        *[f"  note: {note}" for note in result["notes"]],
    ]
    print("\n".join(lines))
    return EXIT_OK


def _cmd_leadlag(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.engine import Engine
    from kpi_model.whatif import lead_lag
    from kpi_model.whatif.leadlag import empty_means_zero, formula_link

    workspace = workspace_file.load(args.workspace)
    known = [k.id for k in workspace.kpis]
    leading, lagging = workspace.kpi(args.leading), workspace.kpi(args.lagging)
    if leading is None or lagging is None:
        given = args.leading if leading is None else args.lagging
        raise KpiWizardError(f"unknown KPI '{given}'{did_you_mean(given, known)}")
    if args.leading == args.lagging:
        raise KpiWizardError("give two different KPIs: a KPI always 'leads' itself at lag 0")
    grain = _kpi_grain(lagging, args.grain)
    with _noted(Engine.for_workspace(workspace, Path(args.workspace).parent, _data_overrides(args.data))) as engine:
        lead_series = _series_for(workspace, engine, args.leading, grain)
        lag_series = _series_for(workspace, engine, args.lagging, grain)
    result = lead_lag(
        lead_series,  # a Series: complete periods only; a count's covered empty periods are zeros
        lag_series,
        max_lag=args.max_lag,
        cadence=grain,
        levels=args.levels,
        leading_empty_is_zero=empty_means_zero(leading),
        lagging_empty_is_zero=empty_means_zero(lagging),
        leading_name=leading.name,
        lagging_name=lagging.name,
        arithmetic=formula_link(workspace, args.leading, args.lagging),
    )
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(result.message)
        data = result.as_dict()
        for row in [*reversed(data["reverse_by_lag"]), *data["by_lag"]]:
            if not row["periods"]:
                continue  # lags longer than the overlapping history say nothing
            r = "—" if row["correlation"] is None else f"{row['correlation']:+.2f}"
            p = "left out: too few pairs" if not row["counted"] else f"p = {row['p_value']:.3f} at this lag alone"
            p = p.replace("p = 0.000", "p < 0.001")
            print(f"  lag {row['lag']:+d}: r = {r} over {row['periods']} pairs, {p}")
    return EXIT_OK


def _cmd_drivers(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.engine import Engine
    from kpi_model.whatif.scenarios import (
        STALE_SCENARIO_FIX,
        base_from_engine,
        derived_tree,
        driver_report,
        parse_change,
        scenario_problem,
    )

    workspace = workspace_file.load(args.workspace)
    derived_tree(workspace, args.kpi)  # an unknown KPI, or one without drivers, is refused before the data loads
    changes, period = [], args.period
    if args.scenario:
        scenario = next((s for s in workspace.scenarios if s.id == args.scenario), None)
        if scenario is None:
            known = [s.id for s in workspace.scenarios]
            raise KpiWizardError(
                f"unknown scenario '{args.scenario}'"
                + (did_you_mean(args.scenario, known) or f"; the workspace has: {', '.join(known) or 'none'}")
            )
        if scenario.kpi != args.kpi:
            raise KpiWizardError(
                f"scenario '{scenario.id}' is about '{scenario.kpi}'; run it with --kpi {scenario.kpi}"
            )
        problem = scenario_problem(workspace, scenario)
        if problem is not None:  # a formula edited since: say which scenario, not only which KPI
            raise KpiWizardError(
                f"scenario '{scenario.id}' ({scenario.name}) is stale: {problem}; {STALE_SCENARIO_FIX}"
            )
        changes, period = list(scenario.changes), period or scenario.period
    typed = [parse_change(text, workspace) for text in args.set]
    changes = [c for c in changes if c.kpi not in {t.kpi for t in typed}] + typed  # --set wins over the scenario
    with _noted(Engine.for_workspace(workspace, Path(args.workspace).parent, _data_overrides(args.data))) as engine:
        base = base_from_engine(workspace, engine, args.kpi, grain=args.grain, period=period, average_of=args.average)
    report = driver_report(workspace, args.kpi, base, changes=changes, seek=args.seek, target=args.target)
    for warning in report.warnings:  # a partial base, a driver moved outside its domain: beside any format
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        sys.stdout.write(report.to_text(workspace))
    return EXIT_OK


def _cmd_templates(args: argparse.Namespace) -> int:
    from kpi_model.library import search_templates

    templates = search_templates(args.search, category=args.category, kind=args.kind)
    if args.format == "json":
        rows = [t.model_dump(mode="json") for t in templates]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not templates:
        print("no template matches; try a shorter search or drop --category/--kind", file=sys.stderr)
        return EXIT_OK
    width = max(len(t.id) for t in templates)
    for template in templates:
        print(f"{template.id:<{width}}  {template.category.value:<9}  {template.kind.value:<7}  {template.name}")
    print(f"\n{len(templates)} template{'s' if len(templates) != 1 else ''}")
    return EXIT_OK


def _data_overrides(pairs: Sequence[str]) -> dict[str, Path]:
    overrides: dict[str, Path] = {}
    for pair in pairs:
        name, separator, path = pair.partition("=")
        if not separator or not name.strip() or not path.strip():
            raise KpiWizardError(f"--data expects NAME=PATH (e.g. orders=data/orders.csv), got '{pair}'")
        overrides[name.strip()] = Path(path.strip())
    return overrides


def _request(args: argparse.Namespace):
    from kpi_model.formula import SeriesRequest

    return SeriesRequest(grain=args.grain, by=args.by, start=args.start, end=args.end)


def _has_formula(kpi) -> bool:
    return bool(kpi.expression)


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


def _cmd_compute(args: argparse.Namespace) -> int:
    from kpi_model import csv_export, workspace_file
    from kpi_model.engine import Engine

    workspace = workspace_file.load(args.workspace)
    request = _request(args)
    unknown = [k for k in args.kpi if workspace.kpi(k) is None]
    if unknown:
        raise WorkspaceError(
            [Problem("--kpi", f"unknown KPI '{k}'{did_you_mean(k, [x.id for x in workspace.kpis])}") for k in unknown]
        )
    wanted = args.kpi or [k.id for k in workspace.kpis if _has_formula(k)]
    skipped = [k.id for k in workspace.kpis if not args.kpi and not _has_formula(k)]
    with _noted(Engine.for_workspace(workspace, Path(args.workspace).parent, _data_overrides(args.data))) as engine:
        results = engine.compute_many(workspace, wanted, request)
    failed = {kpi_id: str(r) for kpi_id, r in results.items() if isinstance(r, Exception)}
    today = dt.date.today()
    if args.format == "json":
        out: list[dict[str, object]] = []
        for kpi_id, result in results.items():
            if isinstance(result, Exception):
                out.append({"id": kpi_id, "error": str(result)})
            else:
                coverage = result.coverage
                out.append(
                    {
                        "id": kpi_id,
                        "grain": request.grain,
                        "data_as_of": coverage.as_of.isoformat() if coverage else None,
                        "coverage": coverage.as_dict() if coverage else None,
                        "series": result.as_records(today),
                    }
                )
        out += [{"id": kpi_id, "skipped": "no formula yet"} for kpi_id in skipped]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
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
    for kpi_id, message in failed.items():
        print(f"{kpi_id}: {message}", file=sys.stderr)
    for kpi_id in skipped:
        print(f"{kpi_id}: skipped, no formula yet", file=sys.stderr)
    return EXIT_INVALID if failed else EXIT_OK


def _cmd_sql(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.formula.warehouse import warehouse_script

    workspace = workspace_file.load(args.workspace)
    if args.execute and (args.dialect != "duckdb" or args.views != "cte"):
        raise KpiWizardError(
            "--run runs the DuckDB SQL on the workspace's data: use it with --dialect duckdb and without --views create"
        )
    ids = args.kpi or None
    options = {"dialect": args.dialect, "views": args.views, "quote": args.quote_names}
    if not args.execute:
        script = warehouse_script(workspace, ids, _request(args), **options)
        print(script.text(), end="")
    else:
        from kpi_model.engine import Engine

        base = Path(args.workspace).parent
        with _noted(Engine.for_workspace(workspace, base, _data_overrides(args.data))) as engine:
            script = warehouse_script(workspace, ids, _request(args), columns=engine.columns(), **options)
            print("\n".join(f"-- {line}" for line in script.header), end="\n\n")
            for statement in script.statements:
                names, rows = engine.query(statement.sql)
                print(statement.text())
                print(_result_comment(names, rows), end="\n\n")
    for kpi_id, error in script.failures.items():
        print(f"{kpi_id}: {error}", file=sys.stderr)
    return EXIT_INVALID if script.failures else EXIT_OK


def _result_comment(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A query's result as an aligned table in SQL comment lines (the printed script stays runnable)."""
    cells = [names, *[["NULL" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(f"-- {line}" for line in [f"result: {len(rows)} rows", *lines])


def _cmd_serve(args: argparse.Namespace) -> int:
    from kpi_model.access import MODE_VARIABLE

    if not APP_SCRIPT.is_file():
        raise KpiWizardError(f"app.py not found next to the package ({APP_SCRIPT}); run serve from a source checkout")
    access = args.access or "local"
    address = args.address or ("127.0.0.1" if access == "local" else None)
    if args.access is None and address is not None and address not in _LOOPBACK:
        raise KpiWizardError(
            f"--address {address} serves other machines, and on a local server every visitor sees and can "
            "delete every workspace; add --access team (private workspaces, opened by link or login), "
            "or --access local to share everything on purpose"
        )
    env = dict(os.environ)
    env[MODE_VARIABLE] = access
    if args.workspace:
        from kpi_model import workspace_file

        workspace_file.load(args.workspace)  # fail here, with the problems, not in the browser
        env["KPI_WIZARD_OPEN"] = str(Path(args.workspace).resolve())
    # The server runs from the repo root (for .streamlit/config.toml); keep the store where the user is.
    env["KPI_WIZARD_HOME"] = str(Path(args.home or env.get("KPI_WIZARD_HOME") or "workspaces").resolve())
    arguments = [
        "run",
        str(APP_SCRIPT),
        "--server.port",
        str(args.port),
        "--server.headless",
        "true" if args.headless or not _has_display() else "false",
        "--browser.gatherUsageStats",
        "false",
        # A served app does not reload its own code: a `git pull` under a running server would mix
        # old and new classes in one process (sessions saw every KPI as "not computed").
        "--server.fileWatcherType",
        "none",
    ]
    if address:
        arguments += ["--server.address", address]
    if access == "team":  # visitors of a shared server see no tracebacks: they name server paths
        arguments += ["--client.showErrorDetails", "type"]
    shown = "localhost" if address in (None, *_LOOPBACK) else address
    print(f"KPI Wizard on http://{shown}:{args.port}  ({access} access; Ctrl+C to stop)", flush=True)
    # Become the server process (stopping kpi-wizard stops Streamlit; no orphan child). The
    # launcher lives in ui/, beside app.py: the library itself never imports streamlit.
    os.chdir(APP_SCRIPT.parent)
    os.execve(sys.executable, [sys.executable, "-m", "ui.serve", *arguments], env)


def _cmd_link(args: argparse.Namespace) -> int:
    from kpi_model.access import AccessControl
    from kpi_model.store import WorkspaceStore

    home = Path(args.home or os.environ.get("KPI_WIZARD_HOME") or "workspaces")
    if not WorkspaceStore(home).exists(args.workspace_id):
        raise KpiWizardError(
            f"no saved workspace '{args.workspace_id}' in {home}; list the folders there, or give --home"
        )
    key = AccessControl(home, "team").grant(args.workspace_id, owner=args.owner)
    print(f"?ws={args.workspace_id}&key={key}")
    print(
        "Append this to the server's address; any earlier link to this workspace no longer opens it.", file=sys.stderr
    )
    return EXIT_OK


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


def _add_export(commands: Any) -> None:
    export = commands.add_parser("export", help="export the workspace to another tool (dbt Semantic Layer)")
    targets = export.add_subparsers(dest="target", required=True, metavar="TARGET")
    dbt = targets.add_parser(
        "dbt",
        help="semantic models and metrics for dbt-core 1.10 with MetricFlow",
        description="Write semantic models, metrics (owner, goal, target, thresholds under config.meta), a dbt "
        "model per view source and a time spine into DIR. KPIs MetricFlow cannot express are listed with the "
        "reason (exit 1); DIR/README.md says which dbt models the project must provide.",
    )
    dbt.add_argument("workspace")
    dbt.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write (new or empty)")
    dbt.add_argument("--dialect", choices=["duckdb", "postgres", "snowflake", "bigquery", "spark"], default="duckdb")
    dbt.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    dbt.set_defaults(run=_cmd_export)


def _cmd_report(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.engine import Engine
    from kpi_model.report import build_report, render_html, render_pdf

    output = Path(args.output)
    from_suffix = {".pdf": "pdf", ".html": "html", ".htm": "html"}.get(output.suffix.lower())
    chosen = args.format or from_suffix or "pdf"
    if from_suffix and from_suffix != chosen:
        raise KpiWizardError(f"{output} ends in {output.suffix} but --format is {chosen}: name the file .{chosen}")
    # Checked before the work, which takes minutes for a large set.
    if output.is_dir():
        raise KpiWizardError(f"{output} is a folder; give a file name, e.g. {output / f'report.{chosen}'}")
    if output.exists() and not args.force:
        raise KpiWizardError(f"{output} exists; choose another file or add --force to replace it")
    if not output.parent.resolve().is_dir():
        raise KpiWizardError(f"the folder {output.parent} does not exist; create it or write elsewhere")
    workspace = workspace_file.load(args.workspace)
    previous = workspace_file.load(args.previous) if args.previous else None
    sections = [s.strip() for part in args.sections for s in part.split(",") if s.strip()] or None
    overrides = _data_overrides(args.data)
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
        engine = _noted(Engine.for_workspace(readable, folder, overrides))
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


def _add_report(commands: Any) -> None:
    from kpi_model.report import PAPER, SECTIONS

    report = commands.add_parser(
        "report",
        help="the scorecard report as PDF or HTML (cover, strategy map, a page per unit, KPI sheets, audit)",
        description="Write the scorecard report a workshop takes home: a cover with data as of and the verdicts, "
        "the strategy map, one page per unit with each KPI's latest complete value against target and thresholds, "
        "one definition sheet per KPI and the audit summary for the board. PDF and HTML come from one template; "
        "the HTML file is self-contained.",
    )
    report.add_argument("workspace")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write (.pdf or .html)")
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
    report.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="judge as on this day: periods not complete by then are shown, not judged (default today)",
    )
    report.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="load this file as source NAME (repeatable)"
    )
    report.add_argument(
        "--previous", metavar="FILE", help="an earlier version of the workspace: the audit page says what changed"
    )
    report.add_argument("--force", action="store_true", help="replace the output file if it exists")
    report.set_defaults(run=_cmd_report)


def _check_readings(args: argparse.Namespace, workspace, today: dt.date):
    """Every KPI of the workspace judged on its data (the notes about the data go to stderr)."""
    from kpi_model.alerts import evaluate
    from kpi_model.engine import Engine

    with _noted(Engine.for_workspace(workspace, Path(args.workspace).parent, _data_overrides(args.data))) as engine:
        return evaluate(workspace, engine, today)


def _cmd_check(args: argparse.Namespace) -> int:
    """Judge every KPI, alert on what changed since the last check; exit 1 at or above --fail-on."""
    from kpi_model import workspace_file
    from kpi_model.alerts import due_for_review, run_check, state_path_for
    from kpi_model.alerts.run import MAX_ATTEMPTS

    try:
        workspace = workspace_file.load(args.workspace)
    except WorkspaceError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE  # for cron and CI, a workspace that cannot be read is unusable input
    today = args.as_of or dt.date.today()
    readings = _check_readings(args, workspace, today)
    state_path = Path(args.state) if args.state else state_path_for(args.workspace)
    run = run_check(workspace, readings, state_path, digest=args.digest, dry_run=args.dry_run)
    due = due_for_review(workspace, today)
    for problem in run.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.format == "json":
        rows = [{**r.as_dict(), "change": run.changes.get(r.kpi_id)} for r in readings]
        outcomes = [
            {
                "channel": o.channel,
                "kind": o.kind,
                "kpis": list(o.kpis),
                "subject": o.subject,
                "error": o.error,
                "retry": o.retry,
                "given_up": o.given_up,
            }
            for o in run.outcomes
        ]
        document = {
            "workspace": workspace.name,
            "as_of": today.isoformat(),
            "dry_run": args.dry_run,
            "kpis": rows,
            "due_for_review": [{"kpi": d.kpi_id, "next_review": d.next.isoformat() if d.next else None} for d in due],
            "messages": outcomes,
            "problems": run.problems,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _print_check_table(readings, run.changes)
        if due:
            print(f"\ndue for review ({len(due)}): " + "; ".join(f"{d.kpi_id} ({d.text})" for d in due))
            print("  after the review: kpi-wizard cycle WORKSPACE -o FILE records new baselines")
        verb = "would send" if args.dry_run else "sent"
        if run.outcomes or workspace.alerts:
            sent = [o for o in run.outcomes if o.error is None]
            print(f"\nalerts: {len(sent)} {verb}, {len(run.failed)} failed")
            for outcome in sent:
                print(f"  {verb}: {outcome.channel}: {outcome.subject}")
        else:
            print("\nno alert channels: add `alerts:` to the workspace (see docs/alerts.md)")
    for outcome in run.failed:
        fate = (
            f"given up after {MAX_ATTEMPTS} runs (see the log in the state file)"
            if outcome.given_up
            else "kept, it is tried again on the next run"
        )
        print(f"error: not delivered: {outcome.error}; {fate}", file=sys.stderr)
    if run.failed and args.fail_on_delivery:
        return EXIT_UNUSABLE
    if args.fail_on == "never":
        return EXIT_OK
    from kpi_model.status import Status

    failing = {Status.RED} if args.fail_on == "red" else {Status.RED, Status.AMBER}
    return EXIT_INVALID if any(r.status in failing for r in readings) else EXIT_OK


def _print_check_table(readings, changes: dict[str, str]) -> None:
    rows = [
        [r.kpi_id, r.period or "—", r.value_text, r.status.value if r.status else "—", changes.get(r.kpi_id, "—")]
        for r in readings
    ]
    header = ["KPI", "period", "value", "status", "change since last check"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for r in readings:
        if r.note:
            print(f"  {r.kpi_id}: {r.note}")


def _add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="judge every KPI on its latest complete period and send alerts when one goes off track",
        description="Judge every KPI on its latest complete period against thresholds and target, print the "
        "statuses and what changed since the last check, and send the workspace's alerts (e-mail, webhook) for "
        "KPIs that entered amber or red (or recovered). A state file beside the workspace remembers the last "
        "statuses and retries failed messages. Exit 1 when a status at or above --fail-on exists, 2 when the "
        "input cannot be used. Schedule it with cron, a systemd timer or CI (docs/alerts.md).",
    )
    check.add_argument("workspace")
    check.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="load this file as source NAME (repeatable)"
    )
    check.add_argument(
        "--fail-on",
        choices=["red", "amber", "never"],
        default="red",
        help="exit 1 when a KPI is red (default), amber or red, or never",
    )
    check.add_argument("--dry-run", action="store_true", help="say what would be sent; send and remember nothing")
    check.add_argument("--digest", action="store_true", help="send one summary of every KPI per channel instead")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="judge as on this day: periods not complete by then are not judged (default today)",
    )
    check.add_argument(
        "--state", metavar="FILE", help="the state file (default: .kpi-wizard-alerts.<name>.json beside WORKSPACE)"
    )
    check.add_argument(
        "--fail-on-delivery",
        action="store_true",
        help="exit 2 when a message could not be delivered (it is kept and retried on the next run either way)",
    )
    check.set_defaults(run=_cmd_check)


def _cmd_cycle(args: argparse.Namespace) -> int:
    """Start a new review cycle: latest complete values become baselines; write the workspace to -o."""
    from kpi_model import workspace_file
    from kpi_model.alerts import due_for_review, start_cycle, state_path_for
    from kpi_model.alerts.state import carry_state

    output = Path(args.output)
    if output.exists() and not args.force:
        raise KpiWizardError(f"{output} exists; choose another file or add --force to replace it")
    workspace = workspace_file.load(args.workspace)
    unknown = [k for k in args.kpi if workspace.kpi(k) is None]
    if unknown:
        raise KpiWizardError(f"unknown KPI '{unknown[0]}'{did_you_mean(unknown[0], [k.id for k in workspace.kpis])}")
    today = args.as_of or dt.date.today()
    due = due_for_review(workspace, today)
    cycle = start_cycle(workspace, _check_readings(args, workspace, today), today, args.kpi or None)
    workspace_file.save(cycle.workspace, output)
    if due:
        print(f"were due for review: {', '.join(d.kpi_id for d in due)}")
    print(f"wrote {output}: {len(cycle.rebased)} new baselines, review date {today.isoformat()}")
    kept, carried = state_path_for(args.workspace), state_path_for(output)
    if carry_state(kept, carried):
        print(f"alert state carried over to {carried}: `check {output}` alerts only on what changes from here")
    elif kept.is_file() and carried.exists() and kept.absolute() != carried.absolute():
        print(f"alert state {carried} left as it was (it is {output}'s own); delete it to start from {kept}")
    for moved in cycle.rebased:
        old = f"{moved.old.value:g} ({moved.old.period or 'no period'})" if moved.old else "none"
        print(f"  {moved.kpi_id}: baseline {old} → {moved.new.value:g} ({moved.new.period}); target {moved.target}")
    for kpi_id, why in cycle.skipped.items():
        print(f"  {kpi_id}: kept, {why}")
    if cycle.rebased:
        print(
            "set new targets for this cycle: try one with `kpi-wizard whatif FILE --kpi ID --target VALUE --by DATE`, "
            f"then edit target: in {output}; the old baselines stay in {args.workspace} (and in git)"
        )
    return EXIT_OK


def _add_cycle(commands: Any) -> None:
    cycle = commands.add_parser(
        "cycle",
        help="start a new review cycle: latest complete values become the baselines",
        description="Record each KPI's latest complete value as its new baseline and today as its review date, "
        "write the workspace to -o (the input file is left as it was, so the old baselines stay in history), and "
        "list the targets to set anew.",
    )
    cycle.add_argument("workspace")
    cycle.add_argument("-o", "--output", required=True, metavar="FILE", help="the workspace file to write")
    cycle.add_argument("--force", action="store_true", help="replace the output file if it exists (even WORKSPACE)")
    cycle.add_argument("--kpi", action="append", default=[], metavar="ID", help="only this KPI (repeatable)")
    cycle.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="load this file as source NAME (repeatable)"
    )
    cycle.add_argument("--as-of", type=dt.date.fromisoformat, metavar="DATE", help="the review day (default today)")
    cycle.set_defaults(run=_cmd_cycle)


def _cmd_bundle(args: argparse.Namespace) -> int:
    from kpi_model import bundle, workspace_file

    output = Path(args.output)
    if output.suffix.lower() != ".zip":
        raise KpiWizardError(f"{output} does not end in .zip: name the bundle e.g. {output.with_suffix('.zip')}")
    if output.exists() and not args.force:
        raise KpiWizardError(f"{output} exists; choose another file or add --force to replace it")
    workspace = workspace_file.load(args.workspace)
    found = bundle.source_files(workspace, Path(args.workspace).parent, confine=False)
    built = bundle.write_bundle(output, workspace, {**found, **_data_overrides(args.data)})
    for note in built.notes:
        print(f"note: {note}", file=sys.stderr)
    data_files = len(built.manifest.files) - 1
    print(f"wrote {output} ({output.stat().st_size:,} bytes): the workspace and {data_files} data file(s)")
    return EXIT_OK


def _cmd_unbundle(args: argparse.Namespace) -> int:
    from kpi_model import bundle

    opened = bundle.open_bundle(Path(args.bundle), Path(args.output))
    workspace_path = opened.folder / bundle.WORKSPACE
    print(f"opened {args.bundle} into {opened.folder}: {len(opened.data_files)} data file(s), verified")
    print(f"next: kpi-wizard compute {workspace_path}")
    return EXIT_OK


def _add_bundle(commands: Any) -> None:
    """``bundle`` makes a .zip of a workspace and its data; ``unbundle`` verifies one and unpacks it into a folder,
    where every other command reads it as a workspace file."""
    made = commands.add_parser(
        "bundle",
        help="pack a workspace file and its data files into one .zip (with a manifest of sizes and SHA-256)",
    )
    made.add_argument("workspace")
    made.add_argument("-o", "--output", required=True, metavar="FILE.zip", help="the bundle to write")
    made.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="bundle this file as source NAME (repeatable)"
    )
    made.add_argument("--force", action="store_true", help="replace FILE.zip if it exists")
    made.set_defaults(run=_cmd_bundle)
    opened = commands.add_parser(
        "unbundle",
        help="verify a bundle and unpack it into a new folder (then run compute, report, audit on its workspace.yaml)",
    )
    opened.add_argument("bundle", metavar="FILE.zip")
    opened.add_argument("-o", "--output", required=True, metavar="DIR", help="a new or empty folder")
    opened.set_defaults(run=_cmd_unbundle)


def _count_up_to(most: int, *, least: int = 0) -> Callable[[str], int]:
    """An argparse type: a whole number from ``least`` to ``most``, else a message saying the range."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a whole number") from None
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {least} to {most}")
        return value

    return read


def _has_display() -> bool:
    # With no screen there is no browser to open; Streamlit would only print a warning.
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform != "linux"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="kpi-wizard", description="Design, check and keep KPIs.")
    parser.add_argument("--version", action="version", version=f"kpi-wizard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the app in the browser")
    serve.add_argument("workspace", nargs="?", help="workspace file to open in new sessions")
    serve.add_argument("--port", type=int, default=8501, help="port to listen on (default: 8501)")
    serve.add_argument("--home", help="folder where the app keeps workspaces (default: ./workspaces)")
    serve.add_argument("--headless", action="store_true", help="do not open a browser window")
    serve.add_argument(
        "--address", help="address to listen on (default: this machine only with local access, all with team access)"
    )
    serve.add_argument(
        "--access",
        choices=["local", "team"],
        help="local (default): one person, every workspace listed; team: private workspaces, opened by link or login",
    )
    serve.set_defaults(run=_cmd_serve)

    link = commands.add_parser("link", help="give a saved workspace a new private link (team servers)")
    link.add_argument("workspace_id", help="the workspace's folder name in the store (e.g. ws-1a2b3c4d5e6f)")
    link.add_argument("--home", help="folder where the app keeps workspaces (default: ./workspaces)")
    link.add_argument("--owner", help="e-mail of the login that owns it (when the server uses login)")
    link.set_defaults(run=_cmd_link)

    validate = commands.add_parser("validate", help="check a workspace file (exit 1 if invalid)")
    validate.add_argument("file")
    validate.add_argument("--format", choices=["text", "json"], default="text")
    validate.set_defaults(run=_cmd_validate)

    schema = commands.add_parser("schema", help="print the workspace JSON Schema")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.set_defaults(run=_cmd_schema)

    compute = commands.add_parser("compute", help="compute KPIs per period on the workspace's data")
    compute.add_argument("workspace")
    compute.add_argument("--format", choices=["csv", "json"], default="csv")
    sql = commands.add_parser("sql", help="print the SQL that computes KPIs, for your warehouse")
    sql.add_argument("workspace")
    sql.add_argument(
        "--dialect", choices=["duckdb", "postgres", "snowflake", "bigquery", "spark", "tsql"], default="duckdb"
    )
    sql.add_argument(
        "--views",
        choices=["cte", "create"],
        default="cte",
        help="define view sources as CTEs in front of each KPI (default), or as CREATE VIEW statements first",
    )
    sql.add_argument(
        "--quote-names",
        choices=["auto", "always"],
        default="auto",
        help="auto (default): quote only names that are not plain lower-case identifiers, so the warehouse's "
        "case rule applies (Snowflake reads them as UPPER case); always: quote every name exactly as written",
    )
    sql.add_argument(
        "--run",
        dest="execute",
        action="store_true",
        help="run the DuckDB SQL on the workspace's data and print each result",
    )
    sql.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="with --run: load this file as source NAME"
    )
    for sub in (compute, sql):
        sub.add_argument("--kpi", action="append", default=[], metavar="ID", help="only this KPI (repeatable)")
        sub.add_argument("--grain", choices=list(GRAINS), default="month")
        sub.add_argument("--by", metavar="COLUMN", help="break down by this column")
        sub.add_argument("--from", dest="start", type=dt.date.fromisoformat, metavar="DATE", help="first day")
        sub.add_argument("--to", dest="end", type=dt.date.fromisoformat, metavar="DATE", help="last day")
    compute.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="load this file as source NAME (repeatable)"
    )
    compute.set_defaults(run=_cmd_compute)
    sql.set_defaults(run=_cmd_sql)

    audit = commands.add_parser(
        "audit",
        help="check a KPI set for quality problems (workspace, spreadsheet or dbt YAML)",
        description="Audit a KPI set. FILE is a workspace (YAML/JSON), a spreadsheet (CSV/XLSX, with --mapping "
        "if its headers are not recognised) or a dbt semantic-layer YAML file or folder. Exit 1 when a "
        "finding at or above --fail-on exists, 2 when the input cannot be used.",
    )
    audit.add_argument("file")
    audit.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="load this file as source NAME (repeatable); data rules run only with data",
    )
    audit.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    audit.add_argument("--fail-on", choices=["error", "warning", "info", "never"], default="error")
    audit.add_argument(
        "--ignore", action="append", default=[], metavar="SLUG", help="skip a rule, by slug or id (repeatable)"
    )
    audit.add_argument(
        "--compare",
        metavar="OLD",
        help="also audit OLD (an earlier version, same kinds of file) and show what was fixed, what is new and "
        "how the scores and verdicts changed; the exit code still follows FILE's findings",
    )
    imported = commands.add_parser("import", help="convert a spreadsheet or dbt YAML into a workspace file")
    imported.add_argument("file")
    imported.add_argument("-o", "--output", required=True, help="the workspace file to write (.yaml or .json)")
    imported.add_argument("--force", action="store_true", help="replace the output file if it exists")
    for sub in (audit, imported):
        sub.add_argument("--mapping", help="YAML/JSON file mapping fields to spreadsheet headers, e.g. {name: Metric}")
        sub.add_argument(
            "--sheet", help="the Excel sheet to read (default: the one holding the KPI list, e.g. after a change log)"
        )
        sub.add_argument(
            "--header-row",
            type=int,
            metavar="N",
            help="the sheet row (1 = first) that holds the column headers (default: found by the import)",
        )
        sub.add_argument(
            "--decimal",
            choices=list(_DECIMAL_SEPARATORS),
            help="how the spreadsheet writes decimals, for numbers that read two ways (1.850: 1850 with 'comma', "
            "1.85 with 'point'); without it they are left out and listed",
        )
    audit.set_defaults(run=_cmd_audit)
    imported.set_defaults(run=_cmd_import)
    rule_list = commands.add_parser("rules", help="list the quality rules")
    rule_list.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    rule_list.set_defaults(run=_cmd_rules)

    whatif = commands.add_parser("whatif", help="what a target means against the KPI's history")
    whatif.add_argument("workspace")
    whatif.add_argument("--kpi", required=True, metavar="ID")
    whatif.add_argument("--target", required=True, metavar="VALUE", help="e.g. 1800, 15%% or 0.15 for a rate")
    whatif.add_argument("--by", required=True, type=dt.date.fromisoformat, metavar="DATE", help="due date")
    whatif.add_argument(
        "--baseline-period", metavar="P", help="e.g. 2026-10, 2026-Q3 (default: the KPI's own, else latest complete)"
    )
    leadlag = commands.add_parser("leadlag", help="does a leading KPI really lead its lagging outcome?")
    leadlag.add_argument("workspace")
    leadlag.add_argument("--leading", required=True, metavar="ID")
    leadlag.add_argument("--lagging", required=True, metavar="ID")
    leadlag.add_argument(
        "--max-lag", type=_count_up_to(60), metavar="N", help="periods to try, 0 to 60 (default by cadence)"
    )
    leadlag.add_argument(
        "--levels", action="store_true", help="test levels, not period-to-period changes (KPIs with no trend)"
    )
    leadlag.add_argument("--differenced", action="store_true", help=argparse.SUPPRESS)  # changes: now the default
    for sub in (whatif, leadlag):
        sub.add_argument("--grain", choices=list(GRAINS))
        sub.add_argument("--data", action="append", default=[], metavar="NAME=PATH")
        sub.add_argument("--format", choices=["text", "json"], default="text")
    whatif.set_defaults(run=_cmd_whatif)
    leadlag.set_defaults(run=_cmd_leadlag)

    _add_export(commands)
    _add_report(commands)
    _add_check(commands)
    _add_cycle(commands)

    drivers = commands.add_parser(
        "drivers",
        help="a derived KPI's driver tree on one base period: values, changes, sensitivities, goal-seek",
        description="Evaluate a derived KPI's driver tree with every driver taken from the same period (default: "
        "the latest complete period all drivers have), move drivers, rank them by sensitivity and find the value "
        "of a driver that reaches the KPI's target.",
    )
    drivers.add_argument("workspace")
    drivers.add_argument("--kpi", required=True, metavar="ID", help="the derived KPI at the top of the tree")
    drivers.add_argument("--period", metavar="P", help="base period, e.g. 2018-05 or 2018-Q2 (default: latest shared)")
    drivers.add_argument(
        "--average",
        type=_count_up_to(120, least=1),
        default=1,
        metavar="N",
        help="average each driver over the N periods ending there (1 to 120)",
    )
    drivers.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="DRIVER=VALUE",
        help="move a driver (repeatable): mqls=+10%% (by a percentage), deals=+20 (add), deals=150 (set), "
        "win_rate=12%% (set a percent or ratio KPI; on a count write +12%% for a change)",
    )
    drivers.add_argument("--scenario", metavar="ID", help="apply a saved scenario's changes first (--set wins)")
    drivers.add_argument(
        "--seek", action="append", default=[], metavar="DRIVER", help="which value of DRIVER reaches the target"
    )
    drivers.add_argument("--target", type=float, metavar="VALUE", help="target to seek (default: the KPI's own)")
    drivers.add_argument("--grain", choices=list(GRAINS))
    drivers.add_argument("--data", action="append", default=[], metavar="NAME=PATH")
    drivers.add_argument("--format", choices=["text", "json"], default="text")
    drivers.set_defaults(run=_cmd_drivers)

    templates = commands.add_parser(
        "templates",
        help="list KPI templates",
        description="List the KPI template library, optionally filtered; JSON gives every field of each template.",
    )
    templates.add_argument("--category", choices=["financial", "customer", "process", "marketing", "people"])
    templates.add_argument("--kind", choices=["leading", "lagging"])
    templates.add_argument("--search", help="words that must all match (name, keywords, definition)")
    templates.add_argument("--format", choices=["text", "json"], default="text")
    templates.set_defaults(run=_cmd_templates)
    _add_bundle(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    Everything printed goes through ``inert``: names, notes and messages quote files the user was
    handed, and a KPI named with ESC sequences must not clear the screen or retitle the window. The
    one exception is CSV (``compute``) written to a file or pipe: that is data, kept as it is.
    """
    stdout, stderr = sys.stdout, sys.stderr
    sys.stderr = _InertStream(stderr)  # type: ignore[assignment]
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "format", None) != "csv" or stdout.isatty():
            sys.stdout = _InertStream(stdout)  # type: ignore[assignment]
        return _run(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except KpiWizardError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE if not isinstance(error, WorkspaceError) else EXIT_INVALID
    except BrokenPipeError:
        # The reader (head, less) stopped early: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
