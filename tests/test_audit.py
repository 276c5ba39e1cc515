"""The audit framework: registry, crash safety, skipped data rules, scores, reports, docs, CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_model.checks import (
    AuditOptions,
    Finding,
    ObjectRef,
    Rule,
    Severity,
    audit,
    rules,
    rules_reference,
    score_findings,
)
from kpi_model.models import Goal, Kpi, Source, Unit, Workspace
from kpi_model.workspace_file import load

from .conftest import REPO, SAMPLE_WORKSPACE, cli

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
    design = [f for f in full.findings if "was not checked" not in f.message]
    assert full.design_findings == design and full.data_findings == [] and full.data_score is None
    kpi_findings = [f for f in design if f.object.kind == "kpi" and f.object.id == "a"]
    penalty = sum({"error": 20, "warning": 8, "info": 2}[f.severity.value] for f in kpi_findings)
    expected_kpi = 100 * 60 / (60 + penalty)
    assert full.kpi_scores == {"a": round(expected_kpi, 1)}
    set_penalty = sum({"error": 5, "warning": 2, "info": 0}[f.severity.value] for f in design if f.object.kind != "kpi")
    assert full.design_score == round(expected_kpi * 100 / (100 + set_penalty), 2)
    assert full.score == int(full.design_score + 0.5)
    quieter = audit(_tiny(), today=TODAY, ignore={"missing-owner"})
    assert not any(f.slug == "missing-owner" for f in quieter.findings)
    assert quieter.design_score > full.design_score, "a rule ignored is a finding less"
    assert audit(Workspace(name="empty"), today=TODAY).score == 0


def _bare_register(size: int) -> Workspace:
    """An imported register as handed over: names and little else (about ten findings a KPI)."""
    return Workspace(
        name="imported",
        units=[Unit(id="u", name="U")],
        goals=[Goal(id="g", unit="u", statement="G")],
        kpis=[Kpi(id=f"k{i}", name=f"Measure number {i} of the register") for i in range(size)],
    )


def _old_score(report) -> int:
    """The score before issue 11: 100 minus penalties per KPI, floored at 0; the mean minus set penalties."""
    kpis = {k.id: 100 for k in report.workspace.kpis}
    set_penalty = 0
    for f in report.findings:
        if f.object.kind == "kpi" and f.object.id in kpis:
            kpis[f.object.id] = max(0, kpis[f.object.id] - {"error": 20, "warning": 8, "info": 2}[f.severity.value])
        else:
            set_penalty += {"error": 5, "warning": 2, "info": 0}[f.severity.value]
    return max(0, min(100, round(sum(kpis.values()) / len(kpis) - set_penalty)))


def test_the_design_score_moves_on_a_register_where_the_old_score_sat_at_zero():
    ws = _bare_register(25)
    before = audit(ws, today=TODAY)
    assert 0 < before.design_score < 100
    reviewed = ws.model_copy(update={"kpis": [ws.kpis[0].model_copy(update={"cadence": "monthly"}), *ws.kpis[1:]]})
    after = audit(reviewed, today=TODAY)
    assert _old_score(before) == _old_score(after) == 0, "the old score could not show this fix"
    assert len(after.design_findings) == len(before.design_findings) - 1
    assert after.kpi_scores["k0"] > before.kpi_scores["k0"] and after.design_score > before.design_score


def test_information_that_creates_no_finding_leaves_the_design_score_alone():
    sample = load(SAMPLE_WORKSPACE)
    described = sample.model_copy(
        update={"kpis": [k.model_copy(update={"description": f"What {k.name} means"}) for k in sample.kpis]}
    )
    before, after = audit(sample, today=TODAY), audit(described, today=TODAY)
    assert after.design_findings == before.design_findings and after.design_score == before.design_score


def _sample_engine(workspace: Workspace):
    from kpi_model.engine import Engine

    return Engine.for_workspace(workspace, SAMPLE_WORKSPACE.parent)


def test_data_never_moves_the_design_score_and_the_data_score_needs_data():
    sample = load(SAMPLE_WORKSPACE)
    # Time columns taken away: the formulas cannot be split into periods, so nothing runs on the data.
    timeless = sample.model_copy(update={"kpis": [k.model_copy(update={"time_column": None}) for k in sample.kpis]})
    with _sample_engine(sample) as engine:
        with_data = audit(sample, engine=engine, today=TODAY)
        timeless_with_data = audit(timeless, engine=engine, today=TODAY)
    without = audit(sample, today=TODAY)
    assert with_data.design_score == without.design_score and with_data.kpi_scores == without.kpi_scores
    assert with_data.design_findings == without.design_findings
    assert without.data_score is None and with_data.data_score is not None and 0 < with_data.data_score <= 100
    assert audit(timeless, today=TODAY).design_score == timeless_with_data.design_score
    # Setting the time columns back fixes design findings, and whatever the data then shows
    # counts in the data score only.
    assert with_data.design_score > timeless_with_data.design_score
    data_rules = {r.id for r in rules() if r.needs_data}
    assert all(f in with_data.findings for f in with_data.data_findings)
    assert [f for f in with_data.findings if f.rule in data_rules] == [
        f for f in with_data.data_findings if f.rule in data_rules
    ], "every data rule's finding counts in the data score"
    assert not [f for f in with_data.design_findings if f.rule in data_rules]


_SLUGS = ["missing-owner", "missing-target", "not-actionable", "vanity-metric", "goal-kpi-count", "stale-review"]


def _random_finding(rnd: random.Random, kpi_ids: list[str]) -> Finding:
    kind = rnd.choice(["kpi", "kpi", "kpi", "goal", "unit", "workspace"])
    object_id = rnd.choice([*kpi_ids, "gone"]) if kind == "kpi" else f"{kind}-{rnd.randrange(3)}"
    severity = rnd.choice(list(Severity))
    return Finding("KPI999", rnd.choice(_SLUGS), severity, ObjectRef(kind, object_id), f"m{rnd.random()}", "f")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 40), count=st.integers(0, 400))
def test_score_monotonicity(seed, size, count):
    rnd = random.Random(seed)
    kpi_ids = [f"k{i}" for i in range(size)]
    findings = [_random_finding(rnd, kpi_ids) for _ in range(count)]
    base = score_findings(kpi_ids, findings)
    assert 0 < base.total <= 100 and all(0 < s <= 100 for s in base.per_kpi.values())
    for index in rnd.sample(range(count), min(count, 15)):
        fixed = score_findings(kpi_ids, findings[:index] + findings[index + 1 :])
        free = findings[index].severity == Severity.INFO and findings[index].object.id not in kpi_ids
        assert fixed.total > base.total or free, "fixing a finding raises the score (unrounded; set notes are free)"
        assert round(fixed.total, 1) >= round(base.total, 1) and int(fixed.total + 0.5) >= int(base.total + 0.5)
    worse = score_findings(kpi_ids, [*findings, _random_finding(rnd, kpi_ids)])
    assert worse.total <= base.total, "a new finding never raises it (a note about a goal costs nothing)"
    clean = score_findings([*kpi_ids, "clean"], findings)
    assert clean.total >= base.total, "a KPI without findings never lowers it"
    worst = min(kpi_ids, key=lambda k: base.per_kpi[k])
    if size > 1:
        without_worst = score_findings(
            [k for k in kpi_ids if k != worst], [f for f in findings if f.object.id != worst]
        )
        assert without_worst.total >= base.total, "deleting the worst KPI (its findings go with it) never lowers it"


def test_every_fix_counts_however_many_findings_a_kpi_has():
    ids = ["a"]
    findings = [Finding("KPI999", "x", Severity.ERROR, ObjectRef("kpi", "a"), str(i), "f") for i in range(30)]
    totals = [score_findings(ids, findings[:n]).total for n in range(31)]
    assert all(earlier > later for earlier, later in itertools.pairwise(totals)) and totals[-1] > 0


def test_options_change_limits():
    report = audit(_tiny(), today=TODAY, options=AuditOptions(min_kpis_per_goal=1))
    assert not any(f.slug == "goal-kpi-count" for f in report.findings)


def test_reports_render_every_finding():
    report = audit(load(SAMPLE_WORKSPACE), today=TODAY)
    data = json.loads(report.to_json())
    assert data["score"] == report.score and len(data["findings"]) == len(report.findings)
    assert data["design_score"] == report.design_score and data["data_score"] is None
    assert {"rule", "slug", "severity", "object", "message", "fix"} == set(data["findings"][0])
    assert {k["id"] for k in data["kpis"]} == {k.id for k in report.workspace.kpis}
    assert report.to_csv().count("\n") == len(report.findings) + 1
    markdown = report.to_markdown()
    assert markdown.startswith("# KPI audit: Northwind") and "## Sales & Marketing" in markdown
    assert report.to_text().count("fix:") == len(report.findings)


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


def test_grouped_notes_cost_nothing_and_are_listed_apart():
    note = Finding(
        "KPI003", "invalid-formula", Severity.INFO, ObjectRef("kpi", "a"), "in words", "f", "not-yet-computable"
    )
    defect = Finding("KPI001", "missing-owner", Severity.ERROR, ObjectRef("kpi", "a"), "no owner", "f")
    assert score_findings(["a"], [defect, note]) == score_findings(["a"], [defect])
    ws = Workspace(
        name="words",
        units=[Unit(id="u", name="U")],
        goals=[Goal(id="g", unit="u", statement="G")],
        sources=[Source(name="erp", system="ERP")],
        kpis=[Kpi(id="late", name="Late deliveries", goal="g", source="erp", description="late over all deliveries")],
    )
    report = audit(ws, today=TODAY)
    grouped = [f for f in report.findings if f.group == "not-yet-computable"]
    assert len(grouped) == 1 and grouped[0].object.id == "late"
    markdown = report.to_markdown()
    assert markdown.index("## U") < markdown.index("## Not yet computable (1)"), "after the defects, apart"
    assert markdown.split("## Not yet computable (1)")[1].count("| info | invalid-formula") == 1
    text = report.to_text()
    assert text.index("Not yet computable (1):") < text.index("KPI003 invalid-formula")
    assert text.count("fix:") == len(report.findings)
