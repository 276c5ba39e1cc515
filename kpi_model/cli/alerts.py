"""``check`` (judge every KPI, alert on what changed) and ``cycle`` (start a new review cycle)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kpi_model.cli.common import known_kpi, refuse_to_replace, workspace_engine
from kpi_model.cli.options import add_as_of, add_data, add_format, add_kpi_filter, add_output, add_workspace
from kpi_model.cli.output import aligned
from kpi_model.errors import EXIT_INVALID, EXIT_OK, EXIT_UNUSABLE
from kpi_model.models import Workspace
from kpi_model.status import Status


def _readings(args: argparse.Namespace, workspace, today: dt.date):
    """Every KPI of the workspace judged on its data (the notes about the data go to stderr)."""
    from kpi_model.alerts import evaluate

    with workspace_engine(workspace, args.workspace, args.data) as engine:
        return evaluate(workspace, engine, today)


def _print_check_table(readings, changes: dict[str, str]) -> None:
    rows = [
        [r.kpi_id, r.period or "—", r.value_text, r.status.value if r.status else "—", changes.get(r.kpi_id, "—")]
        for r in readings
    ]
    for line in aligned([["KPI", "period", "value", "status", "change since last check"], *rows]):
        print(line)
    for r in readings:
        if r.note:
            print(f"  {r.kpi_id}: {r.note}")


def _kpis_named(workspace: Workspace, kpi_ids: Sequence[str]) -> str:
    """``revenue (Web order revenue), b2b_deals (B2B deals won)``: a KPI no longer in the workspace by its id."""
    names = {kpi.id: kpi.name for kpi in workspace.kpis}
    return ", ".join(f"{kpi_id} ({names[kpi_id]})" if kpi_id in names else kpi_id for kpi_id in kpi_ids)


def _check_document(workspace, args: argparse.Namespace, today: dt.date, readings, run, due) -> dict[str, Any]:
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
    return {
        "workspace": workspace.name,
        "as_of": today.isoformat(),
        "dry_run": args.dry_run,
        "kpis": [{**r.as_dict(), "change": run.changes.get(r.kpi_id)} for r in readings],
        "due_for_review": [{"kpi": d.kpi_id, "next_review": d.next.isoformat() if d.next else None} for d in due],
        "messages": outcomes,
        "problems": run.problems,
    }


def _cmd_check(args: argparse.Namespace) -> int:
    """Judge every KPI, alert on what changed since the last check; exit 1 at or above --fail-on."""
    from kpi_model import workspace_file
    from kpi_model.alerts import due_for_review, run_check, state_path_for
    from kpi_model.alerts.run import MAX_ATTEMPTS

    workspace = workspace_file.load(args.workspace)
    today = args.as_of or dt.date.today()
    readings = _readings(args, workspace, today)
    state_path = Path(args.state) if args.state else state_path_for(args.workspace)
    run = run_check(workspace, readings, state_path, digest=args.digest, dry_run=args.dry_run)
    due = due_for_review(workspace, today)
    for problem in run.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(_check_document(workspace, args, today, readings, run, due), indent=2, ensure_ascii=False))
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
                done = f"{verb} (retry)" if outcome.retry else verb
                print(f"  {done}: {outcome.channel}: {_kpis_named(workspace, outcome.kpis) or outcome.subject}")
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
    failing = {Status.RED} if args.fail_on == Status.RED else {Status.RED, Status.AMBER}
    return EXIT_INVALID if any(r.status in failing for r in readings) else EXIT_OK


def _cmd_cycle(args: argparse.Namespace) -> int:
    """Start a new review cycle: latest complete values become baselines; write the workspace to -o."""
    from kpi_model import workspace_file
    from kpi_model.alerts import due_for_review, start_cycle, state_path_for
    from kpi_model.alerts.state import carry_state

    output = Path(args.output)
    refuse_to_replace(output, args.force)
    workspace = workspace_file.load(args.workspace)
    for kpi_id in args.kpi:
        known_kpi(workspace, kpi_id)
    today = args.as_of or dt.date.today()
    due = due_for_review(workspace, today)
    cycle = start_cycle(workspace, _readings(args, workspace, today), today, args.kpi or None)
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


def register(commands: Any) -> None:
    """Add ``check`` and ``cycle``."""
    check = commands.add_parser(
        "check",
        help="judge every KPI on its latest complete period and send alerts when one goes off track",
        description="Judge every KPI on its latest complete period against thresholds and target, print the "
        "statuses and what changed since the last check, and send the workspace's alerts (e-mail, webhook) for "
        "KPIs that entered amber or red (or recovered). A state file beside the workspace remembers the last "
        "statuses and retries failed messages. Exit 1 when a status at or above --fail-on exists, 2 when the "
        "input cannot be used. Schedule it with cron, a systemd timer or CI (docs/alerts.md).",
    )
    add_workspace(check)
    add_data(check)
    check.add_argument(
        "--fail-on",
        choices=[Status.RED.value, Status.AMBER.value, "never"],
        default=Status.RED.value,
        help="exit 1 when a KPI is red (default), amber or red, or never",
    )
    check.add_argument("--dry-run", action="store_true", help="say what would be sent; send and remember nothing")
    check.add_argument("--digest", action="store_true", help="send one summary of every KPI per channel instead")
    add_format(check, "text", "json")
    add_as_of(check, "judge as on this day: periods not complete by then are not judged (default today)")
    check.add_argument(
        "--state", metavar="FILE", help="the state file (default: .kpi-wizard-alerts.<name>.json beside WORKSPACE)"
    )
    check.add_argument(
        "--fail-on-delivery",
        action="store_true",
        help="exit 2 when a message could not be delivered (it is kept and retried on the next run either way)",
    )
    check.set_defaults(run=_cmd_check)

    cycle = commands.add_parser(
        "cycle",
        help="start a new review cycle: latest complete values become the baselines",
        description="Record each KPI's latest complete value as its new baseline and today as its review date, "
        "write the workspace to -o (the input file is left as it was, so the old baselines stay in history), and "
        "list the targets to set anew.",
    )
    add_workspace(cycle)
    add_output(
        cycle,
        metavar="FILE",
        help="the workspace file to write",
        force="replace the output file if it exists (even WORKSPACE)",
    )
    add_kpi_filter(cycle)
    add_data(cycle)
    add_as_of(cycle, "the review day (default today)")
    cycle.set_defaults(run=_cmd_cycle)
