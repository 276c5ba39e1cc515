"""``whatif`` (a target against history), ``leadlag`` (does one KPI lead another) and ``drivers`` (driver trees)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kpi_model.cli.common import known_kpi, workspace_engine
from kpi_model.cli.options import add_data, add_format, add_grain, add_workspace, count_up_to, iso_date
from kpi_model.errors import EXIT_OK, KpiWizardError
from kpi_model.validation import did_you_mean


def _kpi_grain(kpi, override: str | None) -> str:
    from kpi_model.periods import cadence_grain, normalise_grain

    return normalise_grain(override) if override else cadence_grain(kpi.cadence)


def _series(engine, workspace, kpi_id: str, grain: str):
    from kpi_model.formula import SeriesRequest

    return engine.compute(workspace, kpi_id, SeriesRequest(grain=grain))  # type: ignore[arg-type]


def _whatif_target(text: str, kpi) -> tuple[float, str | None]:
    """The ``--target`` value as typed: ``15%`` is 0.15; for a percent KPI a bare 15 is 15 % too (with a note)."""
    from kpi_model.importers.values import read_amount

    try:
        amount = read_amount(text.strip(), "--target", money=kpi.unit_of_measure == "currency")
    except ValueError as error:
        raise KpiWizardError(str(error), "write e.g. --target 1800, --target 15% or --target 0.15") from None
    if amount.value is None or amount.dropped:
        raise KpiWizardError(f"--target '{text}' is not one number", "write e.g. --target 1800 or --target 15%")
    value = amount.value
    if amount.percent and kpi.unit_of_measure not in (None, "percent", "ratio"):
        raise KpiWizardError(
            f"--target '{text}' is a percent but KPI '{kpi.id}' is measured as a {kpi.unit_of_measure}",
            "give the number itself (e.g. --target 12000), or set its unit_of_measure to percent",
        )
    if kpi.unit_of_measure == "percent" and not amount.percent and abs(value) > 1:
        return value / 100, f"--target {text} read as {value:g}% ({value / 100:g}) for a percent KPI"
    return value, None


def _cmd_whatif(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.errors import WhatIfError
    from kpi_model.status import format_value
    from kpi_model.whatif import target_concerns, target_preview
    from kpi_model.whatif.target_result import format_change

    workspace = workspace_file.load(args.workspace)
    kpi = known_kpi(workspace, args.kpi)
    target, typed_note = _whatif_target(str(args.target), kpi)
    grain = _kpi_grain(kpi, args.grain)
    with workspace_engine(workspace, args.workspace, args.data) as engine:
        series = _series(engine, workspace, kpi.id, grain)
    notes = [typed_note] if typed_note else []

    def preview_from(baseline_period):
        return target_preview(
            kpi,
            series.points,
            target=target,
            due=args.by,
            baseline_period=baseline_period,
            grain=grain,
            coverage=series.coverage,
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
    from kpi_model.whatif import lead_lag
    from kpi_model.whatif.leadlag import empty_means_zero, formula_link

    workspace = workspace_file.load(args.workspace)
    leading, lagging = known_kpi(workspace, args.leading), known_kpi(workspace, args.lagging)
    if leading.id == lagging.id:
        raise KpiWizardError("give two different KPIs: a KPI always 'leads' itself at lag 0")
    grain = _kpi_grain(lagging, args.grain)
    with workspace_engine(workspace, args.workspace, args.data) as engine:
        lead_series = _series(engine, workspace, leading.id, grain)
        lag_series = _series(engine, workspace, lagging.id, grain)
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
        arithmetic=formula_link(workspace, leading.id, lagging.id),
    )
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
        return EXIT_OK
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


def _scenario_changes(workspace, args: argparse.Namespace) -> tuple[list, str | None]:
    """The changes of ``--scenario`` (checked against its KPI's current tree) and its period, if one is given."""
    from kpi_model.whatif.scenarios import STALE_SCENARIO_FIX, scenario_problem

    if not args.scenario:
        return [], None
    scenario = next((s for s in workspace.scenarios if s.id == args.scenario), None)
    if scenario is None:
        known = [s.id for s in workspace.scenarios]
        raise KpiWizardError(
            f"unknown scenario '{args.scenario}'"
            + (did_you_mean(args.scenario, known) or f"; the workspace has: {', '.join(known) or 'none'}")
        )
    if scenario.kpi != args.kpi:
        raise KpiWizardError(f"scenario '{scenario.id}' is about '{scenario.kpi}'", f"run it with --kpi {scenario.kpi}")
    problem = scenario_problem(workspace, scenario)
    if problem is not None:  # a formula edited since: say which scenario, not only which KPI
        raise KpiWizardError(f"scenario '{scenario.id}' ({scenario.name}) is stale: {problem}", STALE_SCENARIO_FIX)
    return list(scenario.changes), scenario.period


def _cmd_drivers(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file
    from kpi_model.whatif.scenarios import base_from_engine, derived_tree, driver_report, parse_change

    workspace = workspace_file.load(args.workspace)
    derived_tree(workspace, args.kpi)  # an unknown KPI, or one without drivers, is refused before the data loads
    changes, scenario_period = _scenario_changes(workspace, args)
    typed = [parse_change(text, workspace) for text in args.set]
    changes = [c for c in changes if c.kpi not in {t.kpi for t in typed}] + typed  # --set wins over the scenario
    period = args.period or scenario_period
    with workspace_engine(workspace, args.workspace, args.data) as engine:
        base = base_from_engine(workspace, engine, args.kpi, grain=args.grain, period=period, average_of=args.average)
    report = driver_report(workspace, args.kpi, base, changes=changes, seek=args.seek, target=args.target)
    for warning in report.warnings:  # a partial base, a driver moved outside its domain: beside any format
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        sys.stdout.write(report.to_text(workspace))
    return EXIT_OK


def _add_kpi_history_options(parser: argparse.ArgumentParser) -> None:
    add_grain(parser)
    add_data(parser)
    add_format(parser, "text", "json")


def register(commands: Any) -> None:
    """Add ``whatif``, ``leadlag`` and ``drivers``."""
    whatif = commands.add_parser("whatif", help="what a target means against the KPI's history")
    add_workspace(whatif)
    whatif.add_argument("--kpi", required=True, metavar="ID", help="the KPI the target is for")
    whatif.add_argument("--target", required=True, metavar="VALUE", help="e.g. 1800, 15%% or 0.15 for a rate")
    whatif.add_argument("--by", required=True, type=iso_date, metavar="DATE", help="due date")
    whatif.add_argument(
        "--baseline-period", metavar="P", help="e.g. 2026-10, 2026-Q3 (default: the KPI's own, else latest complete)"
    )
    _add_kpi_history_options(whatif)
    whatif.set_defaults(run=_cmd_whatif)

    leadlag = commands.add_parser("leadlag", help="does a leading KPI really lead its lagging outcome?")
    add_workspace(leadlag)
    leadlag.add_argument("--leading", required=True, metavar="ID", help="the KPI expected to move first")
    leadlag.add_argument("--lagging", required=True, metavar="ID", help="the outcome it should lead")
    leadlag.add_argument(
        "--max-lag", type=count_up_to(60), metavar="N", help="periods to try, 0 to 60 (default by cadence)"
    )
    leadlag.add_argument(
        "--levels", action="store_true", help="test levels, not period-to-period changes (KPIs with no trend)"
    )
    leadlag.add_argument("--differenced", action="store_true", help=argparse.SUPPRESS)  # changes: now the default
    _add_kpi_history_options(leadlag)
    leadlag.set_defaults(run=_cmd_leadlag)

    drivers = commands.add_parser(
        "drivers",
        help="a derived KPI's driver tree on one base period: values, changes, sensitivities, goal-seek",
        description="Evaluate a derived KPI's driver tree with every driver taken from the same period (default: "
        "the latest complete period all drivers have), move drivers, rank them by sensitivity and find the value "
        "of a driver that reaches the KPI's target.",
    )
    add_workspace(drivers)
    drivers.add_argument("--kpi", required=True, metavar="ID", help="the derived KPI at the top of the tree")
    drivers.add_argument("--period", metavar="P", help="base period, e.g. 2018-05 or 2018-Q2 (default: latest shared)")
    drivers.add_argument(
        "--average",
        type=count_up_to(120, least=1),
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
    _add_kpi_history_options(drivers)
    drivers.set_defaults(run=_cmd_drivers)
