"""``bundle`` makes a .zip of a workspace and its data; ``unbundle`` verifies one and unpacks it into a folder,
where every other command reads it as a workspace file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kpi_model.cli.common import data_overrides, refuse_to_replace
from kpi_model.cli.options import add_data, add_output, add_workspace
from kpi_model.errors import EXIT_OK, KpiWizardError


def _cmd_bundle(args: argparse.Namespace) -> int:
    from kpi_model import bundle, workspace_file

    output = Path(args.output)
    if output.suffix.lower() != ".zip":
        raise KpiWizardError(f"{output} does not end in .zip", f"name the bundle e.g. {output.with_suffix('.zip')}")
    refuse_to_replace(output, args.force)
    workspace = workspace_file.load(args.workspace)
    found = bundle.source_files(workspace, Path(args.workspace).parent, confine=False)
    built = bundle.write_bundle(output, workspace, {**found, **data_overrides(args.data)})
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


def register(commands: Any) -> None:
    """Add ``bundle`` and ``unbundle``."""
    made = commands.add_parser(
        "bundle",
        help="pack a workspace file and its data files into one .zip (with a manifest of sizes and SHA-256)",
    )
    add_workspace(made)
    add_output(made, metavar="FILE.zip", help="the bundle to write", force="replace FILE.zip if it exists")
    add_data(made, help="bundle this file as source NAME (repeatable)")
    made.set_defaults(run=_cmd_bundle)

    opened = commands.add_parser(
        "unbundle",
        help="verify a bundle and unpack it into a new folder (then run compute, report, audit on its workspace.yaml)",
    )
    opened.add_argument("bundle", metavar="FILE.zip", help="the bundle to open")
    opened.add_argument("-o", "--output", required=True, metavar="DIR", help="a new or empty folder")
    opened.set_defaults(run=_cmd_unbundle)
