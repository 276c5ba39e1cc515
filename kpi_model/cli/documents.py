"""``validate``, ``schema`` and ``templates``: the workspace file and the template library, no data."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kpi_model.cli.options import add_format
from kpi_model.errors import EXIT_INVALID, EXIT_OK, WorkspaceError
from kpi_model.models import Category, Kind


def _cmd_validate(args: argparse.Namespace) -> int:
    from kpi_model import workspace_file

    try:
        workspace = workspace_file.load(args.file)
    except WorkspaceError as error:  # the problems are this command's answer, not a failure to run
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


def register(commands: Any) -> None:
    """Add ``validate``, ``schema`` and ``templates``."""
    validate = commands.add_parser("validate", help="check a workspace file (exit 1 if invalid)")
    validate.add_argument("file", help="the workspace file (YAML or JSON)")
    add_format(validate, "text", "json")
    validate.set_defaults(run=_cmd_validate)

    schema = commands.add_parser("schema", help="print the workspace JSON Schema")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to this file instead of stdout")
    schema.set_defaults(run=_cmd_schema)

    templates = commands.add_parser(
        "templates",
        help="list KPI templates",
        description="List the KPI template library, optionally filtered; JSON gives every field of each template.",
    )
    templates.add_argument("--category", choices=[c.value for c in Category], help="only this category")
    templates.add_argument("--kind", choices=[k.value for k in Kind], help="only leading or only lagging KPIs")
    templates.add_argument("--search", metavar="TEXT", help="words that must all match (name, keywords, definition)")
    add_format(templates, "text", "json")
    templates.set_defaults(run=_cmd_templates)
