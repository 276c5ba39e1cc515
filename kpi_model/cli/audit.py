"""``audit`` (a KPI set's quality, optionally against an earlier version) and ``rules`` (the rules it checks)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpi_model.cli.common import data_overrides, noted
from kpi_model.cli.importing import add_spreadsheet_options, imported_file
from kpi_model.cli.options import Deferred, add_data, add_format
from kpi_model.errors import EXIT_INVALID, EXIT_OK, KpiWizardError

if TYPE_CHECKING:
    from kpi_model.checks import AuditReport
    from kpi_model.checks.compare import AuditComparison
    from kpi_model.engine import Engine
    from kpi_model.models import Workspace

# An audit shows the findings; the import's notes (often dozens) are summed up, all of them are one
# `kpi-wizard import` away. The file compared against shows none.
_AUDIT_NOTES_SHOWN = 5


def _audit_engine(args: argparse.Namespace, workspace: Workspace) -> Engine | None:
    """An engine on the workspace's data, or None (with a note) when there is none to load."""
    from kpi_model.engine import Engine

    overrides = data_overrides(args.data)
    base = Path(args.file).parent if Path(args.file).is_file() else Path(args.file)
    if not overrides and not any(s.path for s in workspace.sources):
        return None
    try:
        return noted(Engine.for_workspace(workspace, base, overrides))
    except KpiWizardError as error:
        if overrides:
            raise
        print(f"note: auditing without data — {error}", file=sys.stderr)
        return None


def _check_rule_names(names: Sequence[str]) -> None:
    """Refuse an ``--ignore`` value that names no rule (by slug or id): a typo must not keep the rule running."""
    from kpi_model.checks import rules
    from kpi_model.validation import did_you_mean

    known = {rule.slug for rule in rules()} | {rule.id for rule in rules()}
    for name in names:
        if name not in known:
            slugs = sorted(rule.slug for rule in rules())
            hint = did_you_mean(name, slugs) or did_you_mean(name, sorted(known - set(slugs)))
            raise KpiWizardError(f"unknown rule '{name}'{hint or ' — `kpi-wizard rules` lists them'}")


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
    imported = imported_file(file_args)
    engine = _audit_engine(file_args, imported.workspace)
    _print_import_notes(imported.notes, path, shown=notes_shown)
    try:
        return audit(imported.workspace, engine=engine, ignore=set(args.ignore), today=today)
    finally:
        if engine is not None:
            engine.close()


def _cmd_audit(args: argparse.Namespace) -> int:
    from kpi_model.checks import Severity

    _check_rule_names(args.ignore)
    today = dt.date.today()
    reports: list[AuditReport] = []
    for path, notes_shown in [(args.file, _AUDIT_NOTES_SHOWN), *([(args.compare, 0)] if args.compare else [])]:
        try:
            reports.append(_audited(args, path, today, notes_shown=notes_shown))
        except KpiWizardError as error:
            if not args.compare:
                raise
            raise KpiWizardError(f"{path}: {error}") from error  # which of the two files it is
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


def register(commands: Any) -> None:
    """Add ``audit`` and ``rules``."""
    audit = commands.add_parser(
        "audit",
        help="check a KPI set for quality problems (workspace, spreadsheet or dbt YAML)",
        description="Audit a KPI set. FILE is a workspace (YAML/JSON), a spreadsheet (CSV/XLSX, with --mapping "
        "if its headers are not recognised) or a dbt semantic-layer YAML file or folder. Exit 1 when a "
        "finding at or above --fail-on exists, 2 when the input cannot be used.",
    )
    audit.add_argument("file", help="a workspace, a spreadsheet (CSV/XLSX) or dbt YAML (a file or a folder)")
    add_data(audit, help="load this file as source NAME (repeatable); data rules run only with data")
    add_format(audit, "text", "json", "markdown")
    audit.add_argument(
        "--fail-on",
        choices=Deferred("kpi_model.checks", "Severity", also=("never",)),
        default="error",
        metavar="LEVEL",
        help="exit 1 when a finding is this severe or more: %(choices)s (default error)",
    )
    audit.add_argument(
        "--ignore", action="append", default=[], metavar="SLUG", help="skip a rule, by slug or id (repeatable)"
    )
    audit.add_argument(
        "--compare",
        metavar="OLD",
        help="also audit OLD (an earlier version, same kinds of file) and show what was fixed, what is new and "
        "how the scores and verdicts changed; the exit code still follows FILE's findings",
    )
    add_spreadsheet_options(audit)
    audit.set_defaults(run=_cmd_audit)

    rule_list = commands.add_parser("rules", help="list the quality rules")
    add_format(rule_list, "text", "markdown", "json")
    rule_list.set_defaults(run=_cmd_rules)
