"""Making a report for the app in a child process, with a time limit.

A report of a large set takes minutes and hundreds of megabytes (WeasyPrint lays out every page);
in the server process that would be one visitor's job slowing every other. In a job
(:func:`kpi_model.isolation.run_job`) it has its own memory, a deadline, and a crash ends only it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kpi_model import workspace_file
from kpi_model.isolation import run_job
from kpi_model.models import Workspace

# Long enough for the largest set a workspace may hold on a busy 2-core server (240 KPIs took 2 min).
REPORT_TIMEOUT_S = 600.0


def _make(document: str, database: str | None, previous: str | None, paper: str, fmt: str, today: str) -> bytes:
    """In the child: the report of ``document`` on the data in ``database``, as PDF or HTML bytes."""
    from kpi_model.engine import Engine
    from kpi_model.report.content import build_report
    from kpi_model.report.render import render_html, render_pdf

    workspace = workspace_file.loads(document)
    earlier = workspace_file.loads(previous) if previous is not None else None
    engine = Engine.open_database(database) if database else None
    try:
        content = build_report(workspace, engine, previous=earlier, as_of=dt.date.fromisoformat(today))
    finally:
        if engine is not None:
            engine.close()
    return render_pdf(content, paper=paper) if fmt == "pdf" else render_html(content, paper=paper).encode("utf-8")


def make_report(
    workspace: Workspace,
    database: Path | None,
    *,
    previous: Workspace | None = None,
    paper: str = "a4",
    fmt: str = "pdf",
    timeout_s: float = REPORT_TIMEOUT_S,
) -> bytes:
    """The report as PDF or HTML bytes, made in a child process that stops after ``timeout_s``."""
    return run_job(  # type: ignore[no-any-return]
        _make,
        (
            workspace_file.dumps(workspace),
            str(database) if database is not None else None,
            workspace_file.dumps(previous) if previous is not None else None,
            paper,
            fmt,
            dt.date.today().isoformat(),
        ),
        what=f"making the {fmt.upper()} report",
        fix="Make it for one unit or a few KPIs with `kpi-wizard report --unit … --kpi …`.",
        timeout_s=timeout_s,
    )
