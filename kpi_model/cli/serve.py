"""``serve`` (the app in the browser) and ``link`` (a saved workspace's private link on a team server)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kpi_model.cli.options import Deferred
from kpi_model.errors import EXIT_OK, KpiWizardError

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _has_display() -> bool:
    # With no screen there is no browser to open; Streamlit would only print a warning.
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform != "linux"


def _cmd_serve(args: argparse.Namespace) -> int:
    from kpi_model.access import MODE_VARIABLE

    if not APP_SCRIPT.is_file():
        raise KpiWizardError(f"app.py not found next to the package ({APP_SCRIPT})", "run serve from a source checkout")
    access = args.access or "local"
    address = args.address or ("127.0.0.1" if access == "local" else None)
    if args.access is None and address is not None and address not in _LOOPBACK:
        raise KpiWizardError(
            f"--address {address} serves other machines, and on a local server every visitor sees and can "
            "delete every workspace",
            "add --access team (private workspaces, opened by link or login), or --access local to share "
            "everything on purpose",
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
            f"no saved workspace '{args.workspace_id}' in {home}", "list the folders there, or give --home"
        )
    key = AccessControl(home, "team").grant(args.workspace_id, owner=args.owner)
    print(f"?ws={args.workspace_id}&key={key}")
    print(
        "Append this to the server's address; any earlier link to this workspace no longer opens it.", file=sys.stderr
    )
    return EXIT_OK


def _add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", metavar="DIR", help="folder where the app keeps workspaces (default: ./workspaces)")


def register(commands: Any) -> None:
    """Add ``serve`` and ``link``."""
    serve = commands.add_parser("serve", help="start the app in the browser")
    serve.add_argument("workspace", nargs="?", help="workspace file to open in new sessions")
    serve.add_argument("--port", type=int, default=8501, help="port to listen on (default: 8501)")
    _add_home(serve)
    serve.add_argument("--headless", action="store_true", help="do not open a browser window")
    serve.add_argument(
        "--address", help="address to listen on (default: this machine only with local access, all with team access)"
    )
    serve.add_argument(
        "--access",
        choices=Deferred("kpi_model.access", "ACCESS_MODES"),
        metavar="MODE",
        help="local (default): one person, every workspace listed; team: private workspaces, opened by link or login",
    )
    serve.set_defaults(run=_cmd_serve)

    link = commands.add_parser("link", help="give a saved workspace a new private link (team servers)")
    link.add_argument("workspace_id", help="the workspace's folder name in the store (e.g. ws-1a2b3c4d5e6f)")
    _add_home(link)
    link.add_argument("--owner", metavar="EMAIL", help="e-mail of the login that owns it (when the server uses login)")
    link.set_defaults(run=_cmd_link)
