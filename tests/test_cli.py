"""The kpi-wizard command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from kpi_model.cli import main

from .conftest import REPO, SAMPLE_WORKSPACE


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kpi_model.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_validate_sample_exits_zero():
    result = cli("validate", str(SAMPLE_WORKSPACE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def _broken(tmp_path, mutate) -> str:
    data = yaml.safe_load(SAMPLE_WORKSPACE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def test_unknown_goal_reference_exits_one_with_path_and_fix(tmp_path):
    def mutate(data):
        data["kpis"][2]["goal"] = data["kpis"][2]["goal"] + "x"

    result = cli("validate", _broken(tmp_path, mutate))
    assert result.returncode == 1
    assert "kpis[2].goal: unknown goal" in result.stdout
    assert "did you mean" in result.stdout


def test_duplicate_kpi_id_exits_one(tmp_path):
    def mutate(data):
        data["kpis"][1]["id"] = data["kpis"][0]["id"]

    result = cli("validate", _broken(tmp_path, mutate))
    assert result.returncode == 1
    assert "kpis[1].id: duplicate KPI id" in result.stdout


def test_bad_enum_exits_one_with_choices(tmp_path):
    def mutate(data):
        data["kpis"][0]["cadence"] = "monthy"

    result = cli("validate", _broken(tmp_path, mutate), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    (problem,) = report["problems"]
    assert problem["path"] == "kpis[0].cadence"
    assert "did you mean 'monthly'" in problem["message"]


def test_validate_missing_file_exits_one(tmp_path):
    result = cli("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "no such file" in result.stdout


def test_schema_prints_json_schema():
    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "KPI Wizard workspace"
    assert {"units", "goals", "sources", "kpis"} <= set(schema["properties"])


def test_templates_json_lists_at_least_sixty_with_fields():
    result = cli("templates", "--format", "json")
    assert result.returncode == 0, result.stderr
    templates = json.loads(result.stdout)
    assert len(templates) >= 60
    required = {
        "id",
        "name",
        "definition",
        "category",
        "kind",
        "direction",
        "unit_of_measure",
        "cadence",
        "expression",
        "roles",
        "partners",
        "vanity_risk",
    }
    for template in templates:
        assert required <= set(template), template["id"]


def test_templates_filters_and_text_output(capsys):
    assert main(["templates", "--category", "people", "--format", "json"]) == 0
    people = json.loads(capsys.readouterr().out)
    assert people and {t["category"] for t in people} == {"people"}
    assert main(["templates", "--search", "churn"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("churn_rate")


def test_serve_refuses_invalid_workspace(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkpis: [{id: a, name: A, goal: nope}]\n")
    assert main(["serve", str(bad), "--headless"]) == 1
    assert "unknown goal 'nope'" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error():
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["templates", "--help"]])
def test_help_works(args):
    result = cli(*args)
    assert result.returncode == 0 and "usage" in result.stdout
