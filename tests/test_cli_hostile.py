"""Hostile workspaces through the command line, run as a user runs it (a real subprocess).

Each case is a workspace someone could hand over: views that aim at files or another workspace's
database, formulas and filters nested hundreds deep, a path of 5,000 characters. Expected of
every case, written before it was run: the command ends within its time limit with exit code 1 or 2,
no Python traceback, a message that names a fix, and a canary beside the workspace that is
neither changed nor shown.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO
from .hostile_support import Canary, names_a_fix

Mutation = Callable[[dict[str, Any], Canary], None]


def _base(folder: Path) -> dict[str, Any]:
    (folder / "orders.csv").write_text("order_date,amount,customer_id\n2025-01-05,10,1\n2025-02-07,20,2\n")
    return {
        "name": "Hostile",
        "units": [{"id": "sales", "name": "Sales"}],
        "goals": [{"id": "grow", "unit": "sales", "statement": "Grow"}],
        "sources": [{"name": "orders", "path": "orders.csv"}],
        "kpis": [
            {
                "id": "revenue",
                "name": "Revenue",
                "goal": "grow",
                "source": "orders",
                "expression": "sum(amount)",
                "time_column": "order_date",
            }
        ],
    }


def _view(sql_for: Callable[[Canary], str]) -> Mutation:
    def mutate(data: dict[str, Any], canary: Canary) -> None:
        data["sources"].append({"name": "peek", "sql": sql_for(canary)})
        data["kpis"].append(
            {"id": "peeked", "name": "Peeked", "goal": "grow", "source": "peek", "expression": "count(*)"}
        )

    return mutate


def _kpi_field(field: str, value: str) -> Mutation:
    def mutate(data: dict[str, Any], canary: Canary) -> None:
        data["kpis"][0][field] = value

    return mutate


def _path(value: str) -> Mutation:
    def mutate(data: dict[str, Any], canary: Canary) -> None:
        data["sources"][0]["path"] = value

    return mutate


CASES: list[tuple[str, Mutation]] = [
    ("view reads the secret file by quoted path", _view(lambda c: f'SELECT * FROM "{c.secret_file}"')),
    ("view reads the secret file by string", _view(lambda c: f"SELECT * FROM '{c.secret_file}'")),
    ("view reads it through read_csv", _view(lambda c: f"SELECT * FROM read_csv('{c.secret_file}')")),
    (
        "CTE scope trick",
        _view(
            lambda c: (
                f'SELECT CAST(s.password AS INTEGER) FROM (WITH "{c.secret_file}" AS (SELECT 1 AS a) '
                f'SELECT a FROM "{c.secret_file}") x, "{c.secret_file}" s'
            )
        ),
    ),
    (
        "another workspace's database",
        _view(lambda c: f"SELECT * FROM '{c.other_workspace / 'data.duckdb'}'"),
    ),
    ("attached catalog name", _view(lambda c: "SELECT * FROM other.main.secret_table")),
    ("http path", _view(lambda c: "SELECT * FROM 'http://127.0.0.1:9/x.csv'")),
    ("glob of the outside folder", _view(lambda c: f"SELECT * FROM glob('{c.root}/*')")),
    ("stacked statement", _view(lambda c: f"SELECT 1 AS n; COPY orders TO '{c.root}/copy.csv'")),
    ("view nested 500 deep", _view(lambda c: "SELECT " + "(" * 500 + "1" + ")" * 500 + " AS n FROM orders")),
    ("formula nested 500 deep", _kpi_field("expression", "sum(" + "(" * 500 + "amount" + ")" * 500 + ")")),
    ("filter nested 500 deep", _kpi_field("filter", "(" * 500 + "amount > 1" + ")" * 500)),
    ("formula of 5,000 terms", _kpi_field("expression", "+".join(["sum(amount)"] * 5_000))),
    ("a 5,000-character path", _path("x" * 5_000 + ".csv")),
    ("path to the secret file", _path("../outside/secret.csv")),  # the CLI may read it; it must not print it
]


@pytest.mark.parametrize(("label", "mutate"), CASES, ids=[label for label, _ in CASES])
def test_hostile_workspace_through_the_cli(tmp_path, label, mutate):
    canary = Canary(tmp_path / "outside")
    folder = tmp_path / "ws"
    folder.mkdir()
    data = _base(folder)
    mutate(data, canary)
    workspace = folder / "workspace.yaml"
    workspace.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    outputs = []
    for command in (["compute", str(workspace), "--format", "json"], ["audit", str(workspace)]):
        result = subprocess.run(
            [sys.executable, "-m", "kpi_model.cli", *command],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=90,
            check=False,
        )
        outputs += [result.stdout, result.stderr]
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        if command[0] == "compute" and label != "path to the secret file":
            assert result.returncode in (1, 2), (label, result.returncode, result.stdout[-500:])
            message = result.stderr + result.stdout
            assert names_a_fix(message), message[-1500:]
    canary.assert_untouched(*outputs)
