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
"""

from __future__ import annotations

import shutil
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
