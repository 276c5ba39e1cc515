"""The audit framework: registry, crash safety, skipped data rules, scores, reports, docs, CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import pytest

from kpi_model.checks import AuditOptions, Rule, Severity, audit, rules, rules_reference
from kpi_model.models import Goal, Kpi, Unit, Workspace
from kpi_model.workspace_file import load

from .conftest import REPO, SAMPLE_WORKSPACE

REQUIRED_SLUGS = {
    "missing-owner",
    "missing-source",
    "invalid-formula",
    "unknown-column",
    "orphan-kpi",
    "goal-kpi-count",
    "unit-kpi-count",
    "vanity-metric",
    "not-actionable",
    "missing-target",
    "target-not-time-bound",
    "target-direction",
    "threshold-order",
    "unpaired-leading-lagging",
    "financial-only",
    "cross-unit-conflict",
    "duplicate-kpi",
    "missing-cadence",
    "small-sample",
    "data-quality",
    "qualitative-without-scale",
    "stale-review",
    "unvalidated-leading",
}
TODAY = dt.date(2026, 11, 23)


def test_registry_has_every_required_rule_with_stable_ids():
    registry = rules()
    assert REQUIRED_SLUGS <= {r.slug for r in registry}
    assert len({r.id for r in registry}) == len(registry) and len({r.slug for r in registry}) == len(registry)
    for rule in registry:
        assert re.fullmatch(r"KPI\d{3}", rule.id) and re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.slug)
        assert rule.rationale and rule.example and rule.fix, rule.slug


def test_docs_list_every_rule_as_the_registry_says():
    docs = (REPO / "docs" / "quality_rules.md").read_text(encoding="utf-8")
    generated = docs.split("<!-- rules:start -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert generated == rules_reference(), "run: kpi-wizard rules --format markdown, paste between the markers"


def _tiny() -> Workspace:
    return Workspace(
        name="tiny",
        units=[Unit(id="u", name="U", owner="Head")],
        goals=[Goal(id="g", unit="u", statement="G")],
        kpis=[Kpi(id="a", name="A", goal="g")],
    )


def test_a_crashing_rule_becomes_a_finding_and_the_others_still_run():
    def boom(ctx):
        raise ZeroDivisionError("oops")
        yield  # pragma: no cover

    crashing = Rule("KPI999", "always-crashes", Severity.ERROR, "r", "e", "f", boom)
    report = audit(_tiny(), registry=[crashing, *rules()], today=TODAY)
    crash = [f for f in report.findings if f.slug == "always-crashes"]
    assert len(crash) == 1 and "ZeroDivisionError: oops" in crash[0].message
    assert crash[0].severity == Severity.WARNING
    assert any(f.slug == "missing-owner" for f in report.findings), "the other rules ran"


def test_data_rules_are_skipped_with_an_info_finding_without_data():
    report = audit(_tiny(), today=TODAY)
    data_rules = [r.slug for r in rules() if r.needs_data]
    assert data_rules, "some rules need data"
    skipped = {f.slug for f in report.findings if "was not checked" in f.message}
    assert skipped == set(data_rules)
    assert all(f.severity == Severity.INFO for f in report.findings if "was not checked" in f.message)


def test_ignore_and_score_formula():
    full = audit(_tiny(), today=TODAY)
    kpi_findings = [f for f in full.findings if f.object.kind == "kpi" and f.object.id == "a"]
    expected_kpi = max(0, 100 - sum({"error": 20, "warning": 8, "info": 2}[f.severity.value] for f in kpi_findings))
    assert full.kpi_scores == {"a": expected_kpi}
    set_penalty = sum(
        {"error": 5, "warning": 2, "info": 0}[f.severity.value] for f in full.findings if f.object.kind != "kpi"
    )
    assert full.score == max(0, min(100, round(expected_kpi - set_penalty)))
    quieter = audit(_tiny(), today=TODAY, ignore={"missing-owner"})
    assert not any(f.slug == "missing-owner" for f in quieter.findings)
    assert audit(Workspace(name="empty"), today=TODAY).score == 0


def test_options_change_limits():
    report = audit(_tiny(), today=TODAY, options=AuditOptions(min_kpis_per_goal=1))
    assert not any(f.slug == "goal-kpi-count" for f in report.findings)


def test_reports_render_every_finding():
    report = audit(load(SAMPLE_WORKSPACE), today=TODAY)
    data = json.loads(report.to_json())
    assert data["score"] == report.score and len(data["findings"]) == len(report.findings)
    assert {"rule", "slug", "severity", "object", "message", "fix"} == set(data["findings"][0])
    assert {k["id"] for k in data["kpis"]} == {k.id for k in report.workspace.kpis}
    assert report.to_csv().count("\n") == len(report.findings) + 1
    markdown = report.to_markdown()
    assert markdown.startswith("# KPI audit: Northwind") and "## Sales & Marketing" in markdown
    assert report.to_text().count("fix:") == len(report.findings)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kpi_model.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def test_cli_audit_json_and_exit_codes(tmp_path):
    result = cli("audit", str(SAMPLE_WORKSPACE), "--format", "json")
    assert result.returncode == 1, "the sample has errors"
    report = json.loads(result.stdout)
    assert report["with_data"] is True, "the sample's files are found beside it"
    assert 0 <= report["score"] <= 100 and report["findings"]
    assert cli("audit", str(SAMPLE_WORKSPACE), "--fail-on", "never").returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    unusable = cli("audit", str(broken))
    assert unusable.returncode == 2 and "not valid YAML" in unusable.stderr


def test_cli_audit_markdown_with_ignore():
    result = cli(
        "audit", str(SAMPLE_WORKSPACE), "--format", "markdown", "--ignore", "vanity-metric", "--fail-on", "never"
    )
    assert result.returncode == 0 and "vanity-metric" not in result.stdout and "# KPI audit" in result.stdout


@pytest.mark.parametrize(
    ("ignored", "message"),
    [
        ("vanity-metrics", "unknown rule 'vanity-metrics' — did you mean 'vanity-metric'?"),
        ("nonsense", "unknown rule 'nonsense' — `kpi-wizard rules` lists them"),
    ],
)
def test_cli_audit_refuses_an_unknown_ignored_rule(ignored, message):
    result = cli("audit", str(SAMPLE_WORKSPACE), "--ignore", "missing-owner", "--ignore", ignored)
    assert result.returncode == 2 and message in result.stderr and not result.stdout, result.stderr


def test_cli_audit_ignores_a_rule_by_id():
    rule = next(r for r in rules() if r.slug == "vanity-metric")
    result = cli("audit", str(SAMPLE_WORKSPACE), "--format", "json", "--ignore", rule.id, "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    assert "vanity-metric" not in {f["slug"] for f in json.loads(result.stdout)["findings"]}


def test_cli_rules_lists_the_registry():
    result = cli("rules", "--format", "json")
    assert {r["slug"] for r in json.loads(result.stdout)} == {r.slug for r in rules()}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_cli_import_writes_a_workspace(tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = cli("import", str(SAMPLE_WORKSPACE), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert load(out) == load(SAMPLE_WORKSPACE)
    again = cli("import", str(SAMPLE_WORKSPACE), "-o", str(out))
    assert again.returncode == 2 and "--force" in again.stderr
