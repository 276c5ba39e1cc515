"""The ``kpi-wizard`` command line: a thin layer over the library.

Heavy modules (streamlit, duckdb, sqlglot) are imported inside the commands that need
them, so ``kpi-wizard --help`` and ``validate`` start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from kpi_model import __version__
from kpi_model.errors import KpiWizardError, WorkspaceError

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
APP_SCRIPT = Path(__file__).resolve().parent.parent / "app.py"


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


def _cmd_serve(args: argparse.Namespace) -> int:
    if not APP_SCRIPT.is_file():
        raise KpiWizardError(f"app.py not found next to the package ({APP_SCRIPT}); run serve from a source checkout")
    env = dict(os.environ)
    if args.workspace:
        from kpi_model import workspace_file

        workspace_file.load(args.workspace)  # fail here, with the problems, not in the browser
        env["KPI_WIZARD_OPEN"] = str(Path(args.workspace).resolve())
    # The server runs from the repo root (for .streamlit/config.toml); keep the store where the user is.
    env["KPI_WIZARD_HOME"] = str(Path(args.home or env.get("KPI_WIZARD_HOME") or "workspaces").resolve())
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.port",
        str(args.port),
        "--server.headless",
        "true" if args.headless or not _has_display() else "false",
        "--browser.gatherUsageStats",
        "false",
    ]
    print(f"KPI Wizard on http://localhost:{args.port}  (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(command, env=env, cwd=APP_SCRIPT.parent)
    except KeyboardInterrupt:
        return EXIT_OK


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
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--home", help="folder where the app keeps workspaces (default: ./workspaces)")
    serve.add_argument("--headless", action="store_true", help="do not open a browser window")
    serve.set_defaults(run=_cmd_serve)

    validate = commands.add_parser("validate", help="check a workspace file (exit 1 if invalid)")
    validate.add_argument("file")
    validate.add_argument("--format", choices=["text", "json"], default="text")
    validate.set_defaults(run=_cmd_validate)

    schema = commands.add_parser("schema", help="print the workspace JSON Schema")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.set_defaults(run=_cmd_schema)

    templates = commands.add_parser("templates", help="list KPI templates")
    templates.add_argument("--category", choices=["financial", "customer", "process", "marketing", "people"])
    templates.add_argument("--kind", choices=["leading", "lagging"])
    templates.add_argument("--search", help="words that must all match (name, keywords, definition)")
    templates.add_argument("--format", choices=["text", "json"], default="text")
    templates.set_defaults(run=_cmd_templates)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KpiWizardError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE if not isinstance(error, WorkspaceError) else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
