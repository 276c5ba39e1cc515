"""Before/after between two versions of a KPI set: findings fixed, new, remaining; scores; verdicts; CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kpi_model import workspace_file
from kpi_model.checks import AuditReport, Finding, ObjectRef, Severity, audit
from kpi_model.checks.compare import compare, compare_workspaces
from kpi_model.checks.verdict import Verdict
from kpi_model.models import Kpi, Workspace
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE, cli

TODAY = dt.date(2026, 11, 23)


def edited(ws: Workspace, *, changes: dict[str, dict] | None = None, drop=(), add=(), **top) -> Workspace:
    """A later version: KPI fields changed by id, KPIs removed and added, top-level fields replaced."""
    kpis = [k.model_copy(update=(changes or {}).get(k.id, {})) for k in ws.kpis if k.id not in drop]
    return ws.model_copy(update={"kpis": [*kpis, *add], **top})


@pytest.fixture(scope="module")
def sample() -> Workspace:
    return load(SAMPLE_WORKSPACE)


def keys(findings) -> set[tuple[str, str, str]]:
    return {(f.slug, f.object.kind, f.object.id) for f in findings}


def test_fixed_new_remaining_gone_and_verdict_changes(sample):
    revenue = sample.kpi("revenue")
    assert revenue is not None
    later = edited(
        sample,
        changes={"defect_ticket_share": {"owner": "Quality Lead"}, "sessions": {"owner": None}},
        drop=["page_views"],
        add=[revenue.model_copy(update={"id": "revenue_copy", "name": "Revenue again"})],
    )
    result = compare_workspaces(sample, later, today=TODAY)
    assert keys(result.fixed) == {("missing-owner", "kpi", "defect_ticket_share")}
    assert ("unit-kpi-count", "unit", "sales") in keys(result.remaining), "one KPI out, one in: still 13"
    assert keys(result.new_findings) == {("missing-owner", "kpi", "sessions"), ("duplicate-kpi", "kpi", "revenue_copy")}
    assert keys(result.gone_with_removed) == {("vanity-metric", "kpi", "page_views")}, "removed, not fixed"
    assert result.kpis_added == ["revenue_copy"] and result.kpis_removed == ["page_views"]
    # grow-web-revenue had 7 KPIs and now 6: still too many, reworded, so it remains.
    assert ("goal-kpi-count", "goal", "grow-web-revenue") in keys(result.remaining)
    assert ("goal-kpi-count", "goal", "grow-web-revenue") not in keys(result.fixed) | keys(result.new_findings)
    changes = {c.kpi_id: (c.before, c.after) for c in result.verdict_changes}
    assert changes == {"defect_ticket_share": (Verdict.FIX, Verdict.KEEP), "sessions": (Verdict.KEEP, Verdict.FIX)}
    assert result.new.verdicts()["revenue_copy"].verdict == Verdict.DROP
    assert result.design_change == round(result.new.design - result.old.design, 2)
    assert result.data_change is None and not result.data_compared
    # Every finding of each side is accounted for exactly once.
    before, after = result.old.design_findings, result.new.design_findings
    assert len(result.fixed) + len(result.gone_with_removed) + len(result.remaining) == len(before)
    assert len(result.new_findings) + len(result.remaining) == len(after)


def test_only_a_fix_raises_the_design_score_and_shows_as_fixed(sample):
    result = compare_workspaces(sample, edited(sample, changes={"defect_ticket_share": {"owner": "Ann"}}), today=TODAY)
    assert len(result.fixed) == 1 and not result.new_findings and result.design_change > 0


def test_the_same_version_twice_changes_nothing(sample):
    report = audit(sample, today=TODAY)
    result = compare(report, report)
    assert not (result.fixed or result.new_findings or result.gone_with_removed or result.verdict_changes)
    assert len(result.remaining) == len(report.design_findings) and result.design_change == 0


def test_a_renamed_workspace_keeps_its_workspace_findings():
    def report(name: str, *findings: Finding) -> AuditReport:
        ws = Workspace(name=name, kpis=[Kpi(id="a", name="A")])
        return AuditReport(ws, list(findings), 50, {}, False, design_findings=list(findings))

    def about_set(name: str, message: str) -> Finding:
        return Finding("KPI999", "set-wide", Severity.WARNING, ObjectRef("workspace", name), message, "f")

    def about_a(slug: str, message: str = "m") -> Finding:
        return Finding("KPI998", slug, Severity.ERROR, ObjectRef("kpi", "a"), message, "f")

    old = report("old name", about_set("old name", "x"), about_a("one"), about_a("two", "first"), about_a("two"))
    new = report("new name", about_set("new name", "x"), about_a("two", "second"), about_a("three"))
    result = compare(old, new)
    assert keys(result.remaining) == {("set-wide", "workspace", "new name"), ("two", "kpi", "a")}
    assert [f.message for f in result.remaining if f.slug == "two"] == ["second"], "reworded, matched once"
    assert keys(result.fixed) == {("one", "kpi", "a"), ("two", "kpi", "a")}, "one of the two 'two' findings"
    assert keys(result.new_findings) == {("three", "kpi", "a")}


def test_data_findings_are_compared_only_when_both_audits_had_data(sample):
    from kpi_model.engine import Engine

    with Engine.for_workspace(sample, SAMPLE_WORKSPACE.parent) as engine:
        with_data = audit(sample, engine=engine, today=TODAY)
        both = compare_workspaces(sample, sample, engine=engine, today=TODAY)
    without = audit(sample, today=TODAY)
    one_sided = compare(without, with_data)
    assert not one_sided.data_compared and one_sided.data_change is None
    assert not one_sided.fixed and not one_sided.new_findings, "loading data is not progress nor regress"
    assert "only the new audit ran with data" in one_sided.to_text()
    assert both.data_compared and both.data_change == 0.0
    assert len(both.remaining) == len(with_data.design_findings) + len(with_data.data_findings)


def test_renderers(sample):
    later = edited(sample, changes={"defect_ticket_share": {"owner": "Ann"}}, drop=["page_views"])
    result = compare_workspaces(sample, later, today=TODAY)
    data = json.loads(result.to_json())
    assert data["counts"] == {"fixed": 2, "new": 0, "remaining": len(result.remaining), "gone_with_removed": 1}
    assert [f["slug"] for f in data["fixed"]] == ["missing-owner", "unit-kpi-count"]
    assert data["kpis_removed"] == ["page_views"]
    assert data["verdict_changes"] == [
        {"id": "defect_ticket_share", "name": "Share of defect tickets", "before": "fix", "after": "keep",
         "why": "no errors or warnings"}
    ]  # fmt: skip
    assert data["before"]["design_score"] == result.old.design and data["after"]["verdicts"]["vanity"] == 0
    markdown = result.to_markdown()
    assert markdown.startswith("# KPI audit: Northwind") and "## Fixed (2)" in markdown
    assert "## Gone with removed objects (1)" in markdown and "- removed `page_views`" in markdown
    assert "| Share of defect tickets (`defect_ticket_share`) | fix | **keep** |" in markdown
    text = result.to_text()
    assert "2 fixed, 0 new" in text and "FIXED   missing-owner" in text and f"({result.design_change:+.2f})" in text


def test_cli_audit_compare(tmp_path: Path, sample):
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text(workspace_file.dumps(sample), encoding="utf-8")
    new.write_text(workspace_file.dumps(edited(sample, changes={"defect_ticket_share": {"owner": "Ann"}})))
    result = cli("audit", str(new), "--compare", str(old), "--format", "json", "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [f["slug"] for f in data["fixed"]] == ["missing-owner"] and data["design_change"] > 0
    assert data["data_compared"] is False, "no data files beside the copies"
    text = cli("audit", str(new), "--compare", str(old))
    assert text.returncode == 1, "the exit code follows the new version's findings"
    assert "1 fixed, 0 new" in text.stdout
    markdown = cli("audit", str(new), "--compare", str(old), "--format", "markdown", "--fail-on", "never")
    assert "## Fixed (1)" in markdown.stdout
    missing = cli("audit", str(new), "--compare", str(tmp_path / "nowhere.yaml"))
    assert missing.returncode == 2 and "nowhere.yaml" in missing.stderr and not missing.stdout
