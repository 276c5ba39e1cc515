"""Hostile workspaces through the command line, run as a user runs it (a real subprocess).

Each case is a workspace someone could hand over: views that aim at files or another workspace's
database, formulas and filters nested hundreds deep, a path of 5,000 characters. Expected of
every case, written before it was run: the command ends within its time limit with exit code 1 or 2,
no Python traceback, a message that names a fix, and a canary beside the workspace that is
neither changed nor shown.
"""

from __future__ import annotations

import json
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


# ----------------------------------------------------------------------------- terminal escapes

# Clear the screen, retitle the window (ended by BEL), a one-byte C1 CSI, and a right-to-left override
# that makes "gnp.exe" read "exe.png": a terminal acts on each instead of showing it.
TERMINAL = "\x1b[2J\x1b]0;PWNED\x07 \x9b31m RTL \u202egnp.exe"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _raw_in(text: str) -> list[str]:
    return [repr(char) for char in RAW if char in text]


def test_the_cli_prints_no_terminal_escapes_from_a_file(tmp_path):
    """Names, notes and messages that quote a handed-over file reach the terminal as visible escapes."""
    from .conftest import cli

    data = _base(tmp_path)
    data["name"] = f"Plan {TERMINAL}"
    data["units"][0]["owner"] = TERMINAL
    data["kpis"][0].update(name=f"Revenue {TERMINAL}", description=TERMINAL, owner=TERMINAL)
    data["kpis"].append({**data["kpis"][0], "id": "orders", "name": f"Orders {TERMINAL}\nDROP TABLE orders; --"})
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    register = tmp_path / "register.csv"
    register.write_text(f'KPI,Owner,Target\n"Churn {TERMINAL}",Ann,5\n"Bell\x07",Bob,6\n', encoding="utf-8")

    runs = {
        "audit text": cli("audit", str(workspace)),
        "audit markdown": cli("audit", str(workspace), "--format", "markdown"),
        "audit json": cli("audit", str(workspace), "--format", "json"),
        "audit compare": cli("audit", str(workspace), "--compare", str(workspace)),
        "audit a register": cli("audit", str(register)),
        "validate": cli("validate", str(workspace)),
        "sql": cli("sql", str(workspace)),
        "unknown rule": cli("audit", str(workspace), "--ignore", f"KPI{TERMINAL}"),
        "missing file": cli("audit", str(tmp_path / f"gone{TERMINAL}.yaml")),
        "bad choice": cli("audit", str(workspace), "--format", TERMINAL),
    }
    problems = {
        f"{label} {stream}": _raw_in(text)
        for label, run in runs.items()
        for stream, text in (("stdout", run.stdout), ("stderr", run.stderr))
        if _raw_in(text)
    }
    assert problems == {}, problems
    assert all("Traceback" not in run.stderr for run in runs.values())
    # Escapes stay visible; the bidi override is gone from the name itself (names drop them on validation).
    assert "Revenue \\u001b[2J\\u001b]0;PWNED\\u0007 \\u009b31m RTL gnp.exe" in runs["audit text"].stdout, (
        "the name reads as written, its escapes visible"
    )
    assert "\\u001b" in runs["unknown rule"].stderr and "\\u001b" in runs["missing file"].stderr
    report = json.loads(runs["audit json"].stdout)
    shown = "Plan " + TERMINAL.replace("\u202e", "")  # the name as validated: no bidi override
    assert report["workspace"] == shown, "JSON escapes mean the same characters"
    comment_lines = [line for line in runs["sql"].stdout.splitlines() if "DROP TABLE" in line]
    assert comment_lines and all(line.startswith("-- ") for line in comment_lines), "a name stays inside its comment"


def test_inert_keeps_structure_and_json():
    from kpi_model.cli import inert

    assert inert("a\tb\nc") == "a\tb\nc"
    assert inert("a\rb\x1b[2J\x00\x7f\u202e\u2066") == "a\\u000db\\u001b[2J\\u0000\\u007f\\u202e\\u2066"
    assert json.loads(inert(json.dumps({"n": TERMINAL}, ensure_ascii=False))) == {"n": TERMINAL}
