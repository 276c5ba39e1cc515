"""A workspace for the warehouse proofs: the sample workspace plus two SQL-view sources and KPIs on them.

The sample workspace has file sources only, but the SQL printed for a warehouse must also define the
view sources it reads (as CTEs or CREATE VIEW statements, in dependency order). So this fixture adds:

- ``completed_orders``, a view over the ``orders`` table (a filter, a computed column and a column
  named ``Sales Region``, which needs quoting in every dialect);
- ``web_conversions``, a view over a table and that view (``web_sessions`` joined to
  ``completed_orders``), so one view depends on another;

three KPIs on them and a derived KPI over a view KPI and a table KPI. The PostgreSQL and Spark proofs both use it::

    path = write_warehouse_workspace(tmp_path)     # workspace.yaml, with data/ copied beside it
    by = breakdown_column(workspace, kpi_id)       # a categorical column to break the KPI down by
    for statement in printed_statements(output):   # what `kpi-wizard sql` printed, statement by statement
        statement.kpi_id, statement.sql            # kpi_id is None for a CREATE VIEW
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kpi_model.models import Workspace

REPO = Path(__file__).resolve().parent.parent
SAMPLE_WORKSPACE = REPO / "sample_data" / "workspace.yaml"

VIEW_SOURCES: list[dict[str, Any]] = [
    {
        "name": "completed_orders",
        "system": "ERP",
        "description": "Completed orders with their margin (a view over orders).",
        "sql": (
            'SELECT order_id, order_date, customer_id, channel, region AS "Sales Region", amount, cost, '
            "amount - cost AS margin FROM orders WHERE status = 'completed'"
        ),
    },
    {
        "name": "web_conversions",
        "system": "web analytics",
        "description": "Converted web sessions with the completed order they led to (a view over a view).",
        "sql": (
            'SELECT s.session_id, s.session_date, s.device, s.channel AS traffic_channel, o."Sales Region", '
            "o.amount, o.margin FROM web_sessions AS s JOIN completed_orders AS o ON o.order_id = s.order_id "
            "WHERE s.converted = 1"
        ),
    },
]

VIEW_KPIS: list[dict[str, Any]] = [
    {
        "id": "completed_margin",
        "name": "Margin on completed orders",
        "goal": "profitable-growth",
        "category": "financial",
        "source": "completed_orders",
        "expression": "sum(margin) / sum(amount)",
        "time_column": "order_date",
        "unit_of_measure": "percent",
        "direction": "up",
        "cadence": "monthly",
    },
    {
        "id": "converted_revenue",
        "name": "Revenue from converted web sessions",
        "goal": "grow-web-revenue",
        "category": "financial",
        "source": "web_conversions",
        "expression": "sum(amount)",
        "time_column": "session_date",
        "unit_of_measure": "currency",
        "direction": "up",
        "cadence": "monthly",
    },
    {
        "id": "revenue_per_conversion",
        "name": "Revenue per converted session (not direct)",
        "goal": "grow-web-revenue",
        "category": "financial",
        "source": "web_conversions",
        "expression": "sum(amount) / count(DISTINCT session_id)",
        "filter": "traffic_channel <> 'direct'",
        "time_column": "session_date",
        "unit_of_measure": "currency",
        "direction": "up",
        "cadence": "monthly",
    },
    {
        "id": "revenue_per_session",
        "name": "Converted revenue per web session",
        "goal": "grow-web-revenue",
        "category": "financial",
        "expression": "converted_revenue / sessions",
        "unit_of_measure": "currency",
        "direction": "up",
        "cadence": "monthly",
    },
]

# A categorical column of each source to break its KPIs down by (some hold NULLs: sales_rep, comment_topic).
BREAKDOWN_BY_SOURCE: dict[str, str] = {
    "orders": "channel",
    "web_sessions": "device",
    "leads": "sales_rep",
    "support_tickets": "channel",
    "survey_responses": "comment_topic",
    "purchases": "supplier",
    "machine_log": "machine_id",
    "completed_orders": "Sales Region",
    "web_conversions": "Sales Region",
}
# A derived KPI is broken down by a column every source under it has.
# (web_revenue's sources share only `channel`, which holds different values in each: its breakdown is
# empty everywhere, and still has to run.)
BREAKDOWN_FOR_DERIVED: dict[str, str] = {"web_revenue": "channel", "revenue_per_session": "device"}


def write_warehouse_workspace(folder: Path) -> Path:
    """Write the sample workspace plus the view sources and their KPIs into ``folder`` (with a copy of
    the sample's ``data/`` beside it, so the source paths stay relative); return the workspace file."""
    folder.mkdir(parents=True, exist_ok=True)
    document = yaml.safe_load(SAMPLE_WORKSPACE.read_text(encoding="utf-8"))
    document["name"] = "Northwind Outfitters with view sources"
    document["sources"] = [*document["sources"], *VIEW_SOURCES]
    document["kpis"] = [*document["kpis"], *VIEW_KPIS]
    shutil.copytree(SAMPLE_WORKSPACE.parent / "data", folder / "data", dirs_exist_ok=True)
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def warehouse_workspace() -> Workspace:
    """The same workspace in memory (for the SQL alone: its data paths point nowhere)."""
    document = yaml.safe_load(SAMPLE_WORKSPACE.read_text(encoding="utf-8"))
    document["sources"] = [*document["sources"], *VIEW_SOURCES]
    document["kpis"] = [*document["kpis"], *VIEW_KPIS]
    return Workspace.model_validate(document)


def breakdown_column(workspace: Workspace, kpi_id: str) -> str:
    """The column to break ``kpi_id`` down by (``--by``): a categorical column of its source."""
    if kpi_id in BREAKDOWN_FOR_DERIVED:
        return BREAKDOWN_FOR_DERIVED[kpi_id]
    kpi = workspace.kpi(kpi_id)
    if kpi is None or not kpi.source:
        raise KeyError(f"KPI '{kpi_id}' has no source of its own: add it to BREAKDOWN_FOR_DERIVED")
    return BREAKDOWN_BY_SOURCE[kpi.source]


def computable_kpis(workspace: Workspace) -> list[str]:
    """Ids of the KPIs that have a formula (the ones ``kpi-wizard sql`` prints)."""
    return [k.id for k in workspace.kpis if k.expression]


# The line `kpi-wizard sql` prints right before each KPI's SELECT: -- <kpi_id>: <name> (<grain>, <dialect>)
_KPI_LINE = re.compile(r"-- (?P<kpi_id>[^:\s]+): .* \((?P<grain>\w+), (?P<dialect>\w+)\)")


@dataclass(frozen=True)
class PrintedStatement:
    """One statement of the printed SQL: the KPI it computes (None for a view) and its text (comments included)."""

    kpi_id: str | None
    sql: str


def printed_statements(output: str) -> list[PrintedStatement]:
    """Split what ``kpi-wizard sql`` printed into statements, by its contract: each ends with ';' at the end
    of a line, and a KPI's SELECT is preceded by its ``-- <kpi_id>: …`` line (T-SQL's GO lines are dropped)."""
    statements: list[PrintedStatement] = []
    lines: list[str] = []
    kpi_id: str | None = None
    for line in output.splitlines():
        if line.strip() == "GO":
            continue
        if not line.strip() and all(kept.startswith("--") for kept in lines):
            lines, kpi_id = [], None  # a comment block of its own (the script's header)
            continue
        match = _KPI_LINE.fullmatch(line)
        if match:
            kpi_id = match["kpi_id"]
        lines.append(line)
        if not line.startswith("--") and line.rstrip().endswith(";"):
            statements.append(PrintedStatement(kpi_id, "\n".join(lines).rstrip().removesuffix(";")))
            lines, kpi_id = [], None
    if any(not line.startswith("--") and line.strip() for line in lines):
        raise ValueError(f"the output ends inside a statement: {lines[-1][:80]!r}")
    return statements
