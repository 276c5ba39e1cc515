"""The kpi-wizard command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json

import pytest
import yaml

from kpi_model.cli import main
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE, cli


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
    assert main(["serve", str(bad), "--headless"]) == 2, "an invalid workspace is unusable input, as in every command"
    assert "unknown goal 'nope'" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error():
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["templates", "--help"]])
def test_help_works(args):
    result = cli(*args)
    assert result.returncode == 0 and "usage" in result.stdout


def test_os_errors_are_messages_not_tracebacks(tmp_path):
    result = cli("schema", "-o", str(tmp_path))
    assert result.returncode == 2
    assert "is a folder" in result.stderr and "Traceback" not in result.stderr


def test_compute_json_on_the_sample():
    result = cli("compute", str(SAMPLE_WORKSPACE), "--kpi", "web_revenue", "--kpi", "csat", "--format", "json")
    assert result.returncode == 0, result.stderr
    out = {item["id"]: item for item in json.loads(result.stdout)}
    assert set(out) == {"web_revenue", "csat"}
    series = out["web_revenue"]["series"]
    assert len(series) >= 20
    assert series[0]["period"] == "2024-11-01" and series[0]["rows"] > 0
    assert all(1 <= point["value"] <= 5 for point in out["csat"]["series"])


def test_compute_csv_all_kpis_reports_skipped(tmp_path):
    result = cli("compute", str(SAMPLE_WORKSPACE), "--grain", "quarter")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "kpi_id,period,value,rows,complete"
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"true", "false"}, "2024-Q4 starts before the data"
    assert "data as of 2026-10-31" in result.stderr and "data as of 2027" not in result.stderr, (
        "three orders typed in 2027 do not stretch the data past today"
    )
    assert {line.split(",")[0] for line in lines[1:]} >= {"revenue", "web_revenue", "nps"}
    assert "cart_abandonment_rate: skipped" in result.stderr


def test_compute_with_data_override(tmp_path):
    orders = tmp_path / "mini.csv"
    orders.write_text(
        "order_id,order_date,amount,status,cost,discount,channel\n"
        "a,2026-01-05,10,completed,4,0,web\nb,2026-01-20,5,completed,2,0,web\n"
        "c,2026-02-02,7,cancelled,3,0,web\n"
    )
    result = cli("compute", str(SAMPLE_WORKSPACE), "--kpi", "revenue", "--data", f"orders={orders}",
                 "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)
    # The file runs from 2026-01-05 to 2026-02-02: January is not covered from its first day.
    assert item["series"] == [{"period": "2026-01-01", "value": 15.0, "rows": 2, "complete": False}]
    assert item["data_as_of"] == "2026-02-02" and item["coverage"]["first"] == "2026-01-05"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kpi", "revenu"], "did you mean 'revenue'"),
        (["--data", "orders"], "NAME=PATH"),
        (["--data", "nosuch=x.csv"], "No source named 'nosuch'"),
    ],
)
def test_compute_input_errors(args, message):
    result = cli("compute", str(SAMPLE_WORKSPACE), *args)
    assert result.returncode in (1, 2)
    assert message in result.stderr + result.stdout


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery", "spark", "tsql"])
def test_sql_for_every_dialect_parses_back(dialect):
    import sqlglot

    result = cli("sql", str(SAMPLE_WORKSPACE), "--dialect", dialect)
    assert result.returncode == 0, result.stderr
    statements = [s for s in result.stdout.split(";\n") if s.strip()]
    assert len(statements) == 19, "every KPI with a formula"
    for statement in statements:
        sqlglot.parse_one(statement, read=dialect)


def test_compute_notes_dates_that_read_both_ways_and_follows_a_declared_format(tmp_path):
    (tmp_path / "sales.csv").write_text("day,amount\n01/02/2025,10\n03/04/2025,20\n01/04/2025,5\n")
    workspace = {
        "name": "US sales",
        "sources": [{"name": "sales", "path": "sales.csv"}],
        "kpis": [
            {"id": "revenue", "name": "Revenue", "source": "sales", "expression": "sum(amount)", "time_column": "day"}
        ],
    }
    path = tmp_path / "workspace.yaml"
    path.write_text(yaml.safe_dump(workspace), encoding="utf-8")
    result = cli("compute", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "note: source 'sales': every date in day reads both day-first and month-first" in result.stderr
    assert "set date_format: '%m/%d/%Y' on the source" in result.stderr
    periods = {p["period"]: p["value"] for p in json.loads(result.stdout)[0]["series"]}
    assert periods == {"2025-02-01": 10, "2025-04-01": 25}

    workspace["sources"][0]["date_format"] = "%m/%d/%Y"
    path.write_text(yaml.safe_dump(workspace), encoding="utf-8")
    result = cli("compute", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr
    periods = {p["period"]: p["value"] for p in json.loads(result.stdout)[0]["series"]}
    assert periods == {"2025-01-01": 15, "2025-03-01": 20}


def test_import_asks_about_numbers_that_read_two_ways_and_decimal_answers(tmp_path, capsys):
    sheet = tmp_path / "register.csv"
    sheet.write_text("KPI,Owner,Target\nAverage basket,CRM lead,1.850\n", encoding="utf-8")
    out = tmp_path / "ws.yaml"
    assert main(["import", str(sheet), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    note = captured.err + captured.out
    assert "Row 2" in note and "1850 (decimal comma) or 1.85 (decimal point)" in note and "--decimal comma" in note
    assert load(out).kpis[0].target is None, "never guessed"
    for answer, value in (("comma", 1850), ("point", 1.85)):
        assert main(["import", str(sheet), "-o", str(out), "--force", "--decimal", answer]) == 0
        target = load(out).kpis[0].target
        assert target is not None and target.value == value


def test_audit_sums_up_a_register_s_many_import_notes_and_header_row_picks_the_header(tmp_path):
    sheet = tmp_path / "register.csv"
    rows = ["DRAFT - from the offsite, ask Jen,,", "Metric title,Owner,Target"]
    rows += [f"KPI {i},Lead {i},{i}%" for i in range(12)]  # each percent target is a note
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = cli("audit", str(sheet), "--header-row", "2", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) <= 6 and "more import notes; read them all with: kpi-wizard import" in notes[-1], notes
    assert "KPI 0" in done.stdout and "Metric title" not in done.stdout
    compared = cli("audit", str(sheet), "--header-row", "2", "--compare", str(sheet), "--fail-on", "never")
    assert compared.returncode == 0, compared.stderr
    assert len([line for line in compared.stderr.splitlines() if line.startswith("note:")]) <= 7


def test_serve_on_a_team_server_shows_visitors_no_tracebacks(monkeypatch, tmp_path):
    import os as os_module

    launched: list[list[str]] = []

    def become_the_server(path, argv, env):  # execve never returns: the process becomes Streamlit
        launched.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(os_module, "execve", become_the_server)
    monkeypatch.setattr(os_module, "chdir", lambda path: None)
    for access in ("team", "local"):
        with pytest.raises(SystemExit):
            main(["serve", "--access", access, "--home", str(tmp_path), "--port", "8599", "--headless"])
    team, local = launched
    assert team[team.index("--client.showErrorDetails") + 1] == "type"
    assert "--client.showErrorDetails" not in local
    assert all(argv[argv.index("--server.fileWatcherType") + 1] == "none" for argv in launched)


def test_compute_of_one_kpi_opens_only_the_sources_it_reads(tmp_path):
    # web_revenue = sessions * conversion_rate * average_order_value: web_sessions and orders only.
    missing = tmp_path / "gone.csv"
    result = cli("compute", str(SAMPLE_WORKSPACE), "--kpi", "web_revenue", "--data",
                 f"survey_responses={missing}", "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)
    assert item["id"] == "web_revenue" and item["series"], item
    everything = cli("compute", str(SAMPLE_WORKSPACE), "--data", f"survey_responses={missing}", "--format", "json")
    assert everything.returncode != 0 and "survey_responses" in everything.stderr, "the unread file is the problem"


def _typed_workspace(tmp_path, kpis: dict[str, str]) -> str:
    """A workspace on a two-row CSV of a number, a text and a name column; ``kpis`` maps id to formula."""
    (tmp_path / "t.csv").write_text("day,amount,code,name\n2025-01-05,1,a,x\n2025-02-03,2,b,y\n")
    workspace = {
        "name": "Types",
        "sources": [{"name": "t", "path": "t.csv"}],
        "kpis": [
            {"id": kpi_id, "name": kpi_id, "source": "t", "expression": formula, "time_column": "day"}
            for kpi_id, formula in kpis.items()
        ],
    }
    path = tmp_path / "workspace.yaml"
    path.write_text(yaml.safe_dump(workspace), encoding="utf-8")
    return str(path)


def test_sql_run_names_the_kpi_duckdb_refuses_and_runs_the_others(tmp_path, capsys):
    ws = _typed_workspace(tmp_path, {"total": "sum(amount)", "coded": "sum(code)"})
    assert main(["sql", ws, "--run"]) == 1
    out, err = capsys.readouterr()
    assert "-- result: 2 rows" in out, "total ran"
    assert "-- KPI 'coded' did not compute: Binder Error" in out, "the printed script says why coded has no result"
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    # The same failure in the same words as compute's
    assert main(["compute", ws, "--kpi", "coded"]) == 1
    computed = capsys.readouterr().err.strip()
    assert computed.startswith("coded: KPI 'coded' did not compute: Binder Error") and "sum(VARCHAR)" in computed
    assert err.strip() == f"error: {computed.removeprefix('coded: ')}"


def test_compute_fails_only_the_kpi_whose_formula_gives_text(tmp_path, capsys):
    ws = _typed_workspace(
        tmp_path, {"total": "sum(amount)", "suffixed": "sum(amount)::text || 'x'", "last": "max(name)"}
    )
    assert main(["compute", ws]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[1:] == ["total,2025-01-01,1.0,1,false", "total,2025-02-01,2.0,1,false"]
    fix = "not a number. Fix: aggregate a numeric column or cast it"
    assert f"suffixed: KPI 'suffixed': the formula gives text ('1x'), {fix}" in err
    assert f"last: KPI 'last': the formula gives text ('x'), {fix}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["compute", str(SAMPLE_WORKSPACE), "--from"], "--from"),
        (["compute", str(SAMPLE_WORKSPACE), "--to"], "--to"),
        (["whatif", str(SAMPLE_WORKSPACE), "web_revenue", "--target", "5", "--by"], "--by"),
        (["check", str(SAMPLE_WORKSPACE), "--as-of"], "--as-of"),
    ],
)
def test_a_date_option_says_how_to_write_a_date(argv, option, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*argv, "31/12/2025"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: '31/12/2025' is not a date: write it as YYYY-MM-DD, e.g. 2025-12-31" in err


def test_compute_notes_a_date_range_the_data_has_no_rows_in(tmp_path, capsys):
    ws = _typed_workspace(tmp_path, {"total": "sum(amount)"})
    assert main(["compute", ws, "--from", "2030-01-01"]) == 0
    out, err = capsys.readouterr()
    assert out == "kpi_id,period,value,rows,complete\n"
    assert err == "note: no rows of any KPI fall on or after 2030-01-01; the data covers 2025-01-05–2025-02-03\n"

    # A second source with rows in range: the note names only the KPI without rows
    (tmp_path / "later.csv").write_text("day,amount\n2030-03-01,5\n")
    workspace = yaml.safe_load((tmp_path / "workspace.yaml").read_text(encoding="utf-8"))
    workspace["sources"].append({"name": "later", "path": "later.csv"})
    later = {"id": "later_total", "name": "Later", "source": "later", "expression": "sum(amount)", "time_column": "day"}
    workspace["kpis"].append(later)
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")
    assert main(["compute", ws, "--from", "2030-01-01", "--to", "2030-12-31", "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert "note: no rows of total fall between 2030-01-01 and 2030-12-31; the data covers 2025-01-05–2025-02-03" in err
    assert main(["compute", ws, "--kpi", "total", "--to", "2025-02-03"]) == 0
    assert "note:" not in capsys.readouterr().err, "rows in range: nothing to note"
