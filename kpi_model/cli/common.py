"""What commands do alike before their own work: read ``--data``, find a KPI, open the data, guard an output."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kpi_model.errors import KpiWizardError, UnknownKpiError

if TYPE_CHECKING:
    from kpi_model.engine import Engine
    from kpi_model.models import Kpi, Workspace


def data_overrides(pairs: Sequence[str]) -> dict[str, Path]:
    """``--data NAME=PATH`` values as source name → file."""
    overrides: dict[str, Path] = {}
    for pair in pairs:
        name, separator, path = pair.partition("=")
        if not separator or not name.strip() or not path.strip():
            raise KpiWizardError(f"--data expects NAME=PATH (e.g. orders=data/orders.csv), got '{pair}'")
        overrides[name.strip()] = Path(path.strip())
    return overrides


def known_kpi(workspace: Workspace, kpi_id: str) -> Kpi:
    """The workspace's KPI with this id; raises :class:`UnknownKpiError` naming the closest one."""
    kpi = workspace.kpi(kpi_id)
    if kpi is None:
        raise UnknownKpiError(kpi_id, [k.id for k in workspace.kpis])
    return kpi


def noted(engine: Engine) -> Engine:
    """The engine, after printing what the user should know about the data it loaded."""
    for note in engine.notes:
        print(f"note: {note}", file=sys.stderr)
    return engine


def workspace_engine(
    workspace: Workspace, workspace_path: str, data: Sequence[str], *, kpi_ids: Sequence[str] = ()
) -> Engine:
    """An engine on the workspace's data (paths relative to its file, ``--data`` files instead), notes printed.

    With ``kpi_ids``, only the sources those KPIs read are opened: one KPI of a workspace with many files
    does not wait for every file to be sniffed.
    """
    from kpi_model.sources import WorkspaceScan, sources_used

    overrides = data_overrides(data)
    used = sources_used(workspace, kpi_ids) if kpi_ids else None
    scan = WorkspaceScan(workspace, Path(workspace_path).parent, overrides, confine=False, only=used)
    # The engine's modules (sqlglot, the compiler) load while DuckDB reads the files: a tenth of a second.
    try:
        from kpi_model.engine import Engine
    except BaseException:  # Ctrl-C included: the scan's thread is stopped before the process exits
        scan.close()
        raise
    return noted(Engine.from_scan(scan))


def refuse_to_replace(output: Path, force: bool) -> None:
    """Stop before any work when ``output`` exists and ``--force`` was not given."""
    if output.exists() and not force:
        raise KpiWizardError(f"{output} exists", "choose another file or add --force to replace it")
