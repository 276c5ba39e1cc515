"""The same mistake gives the same message and the same exit code in every command that can make it."""

from __future__ import annotations

from kpi_model.cli import EXIT_INVALID, EXIT_UNUSABLE, main
from kpi_model.errors import KpiWizardError, UnknownKpiError, WorkspaceError

from .conftest import SAMPLE_WORKSPACE

WS = str(SAMPLE_WORKSPACE)


def outcomes(capsys, commands: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Each command's exit code and the error it printed (from ``error:`` to the end; notes before it left out)."""
    seen = {}
    for name, argv in commands.items():
        code = main(argv)
        err = capsys.readouterr().err
        seen[name] = (code, err[err.find("error:") :].strip() if "error:" in err else "")
    return seen


def test_an_unknown_kpi_id_is_one_message_and_one_exit_code_everywhere(capsys, tmp_path):
    commands = {
        "compute": ["compute", WS, "--kpi", "revenu"],
        "sql": ["sql", WS, "--kpi", "revenu"],
        "whatif": ["whatif", WS, "--kpi", "revenu", "--target", "10", "--by", "2027-12-31"],
        "leadlag leading": ["leadlag", WS, "--leading", "revenu", "--lagging", "deals_won"],
        "leadlag lagging": ["leadlag", WS, "--leading", "mqls", "--lagging", "revenu"],
        "drivers": ["drivers", WS, "--kpi", "revenu"],
        "cycle": ["cycle", WS, "-o", str(tmp_path / "next.yaml"), "--kpi", "revenu"],
        "report": ["report", WS, "-o", str(tmp_path / "r.html"), "--kpi", "revenu"],
    }
    seen = outcomes(capsys, commands)
    expected = (EXIT_UNUSABLE, f"error: {UnknownKpiError('revenu', ['revenue'])}")
    assert expected[1] == "error: unknown KPI 'revenu'; did you mean 'revenue'?"
    assert {name: outcome for name, outcome in seen.items() if outcome != expected} == {}
    assert not (tmp_path / "next.yaml").exists() and not (tmp_path / "r.html").exists()


def test_an_invalid_workspace_file_is_unusable_input_in_every_command_and_validate_s_answer(capsys, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SAMPLE_WORKSPACE.read_text(encoding="utf-8").replace("goal: grow-web-revenue", "goal: grow-web-revenu", 1),
        encoding="utf-8",
    )
    file = str(broken)
    commands = {
        "compute": ["compute", file],
        "sql": ["sql", file],
        "whatif": ["whatif", file, "--kpi", "revenue", "--target", "10", "--by", "2027-12-31"],
        "leadlag": ["leadlag", file, "--leading", "mqls", "--lagging", "deals_won"],
        "drivers": ["drivers", file, "--kpi", "web_revenue"],
        "check": ["check", file, "--dry-run"],
        "cycle": ["cycle", file, "-o", str(tmp_path / "next.yaml")],
        "report": ["report", file, "-o", str(tmp_path / "r.html")],
        "export": ["export", "dbt", file, "-o", str(tmp_path / "dbt")],
        "bundle": ["bundle", file, "-o", str(tmp_path / "b.zip")],
        "audit": ["audit", file],
    }
    seen = outcomes(capsys, commands)
    wrong = {name: code for name, (code, _) in seen.items() if code != EXIT_UNUSABLE}
    assert wrong == {}
    expected = (
        f"error: {broken} is not a valid workspace (1 problem):\n  - kpis[0].goal: unknown goal 'grow-web-revenu'"
    )
    assert {name: message for name, (_, message) in seen.items() if not message.startswith(expected)} == {}
    # validate's answer is the verdict itself: invalid is what it found, not input it could not use
    assert main(["validate", file]) == EXIT_INVALID
    assert WorkspaceError.exit_code == EXIT_UNUSABLE


def test_a_malformed_data_option_is_one_message_and_one_exit_code_everywhere(capsys, tmp_path):
    bad = ["--data", "orders"]
    commands = {
        "compute": ["compute", WS, *bad],
        "sql --run": ["sql", WS, "--run", *bad],
        "whatif": ["whatif", WS, "--kpi", "revenue", "--target", "10", "--by", "2027-12-31", *bad],
        "leadlag": ["leadlag", WS, "--leading", "mqls", "--lagging", "deals_won", *bad],
        "drivers": ["drivers", WS, "--kpi", "web_revenue", *bad],
        "check": ["check", WS, "--dry-run", *bad],
        "cycle": ["cycle", WS, "-o", str(tmp_path / "next.yaml"), *bad],
        "report": ["report", WS, "-o", str(tmp_path / "r.html"), *bad],
        "bundle": ["bundle", WS, "-o", str(tmp_path / "b.zip"), *bad],
        "audit": ["audit", WS, *bad],
    }
    seen = outcomes(capsys, commands)
    expected = (EXIT_UNUSABLE, "error: --data expects NAME=PATH (e.g. orders=data/orders.csv), got 'orders'")
    assert {name: outcome for name, outcome in seen.items() if outcome != expected} == {}


def test_an_output_file_that_exists_is_kept_with_one_message_everywhere(capsys, tmp_path):
    kept = {name: tmp_path / name for name in ("workspace.yaml", "report.html", "bundle.zip")}
    for path in kept.values():
        path.write_text("mine", encoding="utf-8")
    sheet = tmp_path / "register.csv"
    sheet.write_text("KPI,Owner\nRevenue,CFO\n", encoding="utf-8")
    commands = {
        "import": ["import", str(sheet), "-o", str(kept["workspace.yaml"])],
        "cycle": ["cycle", WS, "-o", str(kept["workspace.yaml"])],
        "report": ["report", WS, "-o", str(kept["report.html"])],
        "bundle": ["bundle", WS, "-o", str(kept["bundle.zip"])],
    }
    seen = outcomes(capsys, commands)
    output = {"import": "workspace.yaml", "cycle": "workspace.yaml", "report": "report.html", "bundle": "bundle.zip"}
    wrong = {
        name: outcome
        for name, outcome in seen.items()
        if outcome
        != (EXIT_UNUSABLE, f"error: {kept[output[name]]} exists; choose another file or add --force to replace it")
    }
    assert wrong == {}
    assert all(path.read_text(encoding="utf-8") == "mine" for path in kept.values())


def test_every_error_the_cli_maps_exits_with_its_own_code(capsys, monkeypatch):
    """The CLI reads the exit code from the error: a subclass that declares another one gets it."""

    class Refused(KpiWizardError):
        exit_code = 7

    def refuse(workspace, kpi_id):
        raise Refused("the problem", "the fix")

    monkeypatch.setattr("kpi_model.cli.compute.known_kpi", refuse)
    assert main(["compute", WS, "--kpi", "revenue"]) == 7
    assert capsys.readouterr().err.strip() == "error: the problem; the fix"
