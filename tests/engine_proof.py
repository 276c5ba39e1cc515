"""The fixtures both warehouse proofs share (tests/test_sql_postgres.py, tests/test_sql_spark.py).

The warehouse workspace written once per test module, loaded, and computed by KPI Wizard's own DuckDB
engine: the values the SQL printed for PostgreSQL or Spark must reproduce there. A module uses them by
importing the three fixtures by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kpi_model import workspace_file
from kpi_model.engine import Engine
from kpi_model.models import Workspace
from tests.warehouse_fixture import write_warehouse_workspace

__all__ = ["engine", "workspace", "workspace_path"]


@pytest.fixture(scope="module")
def workspace_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse workspace's file, with its data beside it, in a folder of this module's own."""
    return write_warehouse_workspace(tmp_path_factory.mktemp("warehouse"))


@pytest.fixture(scope="module")
def workspace(workspace_path: Path) -> Workspace:
    return workspace_file.load(workspace_path)


@pytest.fixture(scope="module")
def engine(workspace: Workspace, workspace_path: Path) -> Iterator[Engine]:
    """The engine whose values the warehouse must match: the workspace's files, loaded once per module."""
    with Engine.for_workspace(workspace, workspace_path.parent) as loaded:
        yield loaded
