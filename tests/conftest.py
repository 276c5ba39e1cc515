"""Shared fixtures: a small valid workspace and paths to the repo's own files."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from kpi_model.models import Baseline, Goal, Kpi, Source, Target, Thresholds, Unit, Workspace

# No property test is a timing test: on a loaded 2-core CI machine one example can take 0.4 s.
settings.register_profile("kpi-wizard", deadline=None)
settings.load_profile("kpi-wizard")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_WORKSPACE = REPO / "sample_data" / "workspace.yaml"


def cli(*args: str) -> subprocess.CompletedProcess:
    """``kpi-wizard ARGS`` in a fresh interpreter (exit code, stdout and stderr as the shell sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "kpi_model.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )


@pytest.fixture
def small_workspace() -> Workspace:
    """Two units, two goals, three KPIs with every kind of field set somewhere."""
    return Workspace(
        name="Acme 2027 scorecard",
        units=[Unit(id="sales", name="Sales", owner="Head of Sales"), Unit(id="ops", name="Operations")],
        goals=[
            Goal(id="grow-repeat", unit="sales", statement="Grow repeat revenue", due=dt.date(2027, 12, 31)),
            Goal(id="deliver-on-time", unit="ops", statement="Deliver on time"),
        ],
        sources=[Source(name="orders", path="data/orders.csv", system="ERP")],
        kpis=[
            Kpi(
                id="repeat_rate",
                name="Repeat purchase rate",
                goal="grow-repeat",
                owner="Head of Sales",
                category="customer",
                kind="leading",
                source="orders",
                expression="count(DISTINCT customer_id) FILTER (WHERE order_no > 1) / count(DISTINCT customer_id)",
                filter="status <> 'cancelled'",
                time_column="order_date",
                unit_of_measure="percent",
                direction="up",
                cadence="monthly",
                baseline=Baseline(value=0.25, period="2026-12"),
                target=Target(value=0.3, due=dt.date(2027, 6, 30)),
                thresholds=Thresholds(warning=0.27, critical=0.24),
                pairs_with="repeat_revenue",
                action="Win-back campaign when below warning",
            ),
            Kpi(
                id="repeat_revenue",
                name="Repeat revenue",
                goal="grow-repeat",
                kind="lagging",
                category="financial",
                pairs_with="repeat_rate",
            ),
            Kpi(id="on_time", name="On-time delivery", goal="deliver-on-time"),
        ],
    )
