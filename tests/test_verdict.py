"""Verdicts per KPI (keep, fix, vanity, drop) on constructed workspaces, and how reports show them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kpi_model.checks import Finding, ObjectRef, Severity, Verdict, audit
from kpi_model.checks.verdict import Reason, kpi_verdict
from kpi_model.models import Baseline, Goal, Kpi, Source, Target, Thresholds, Unit, Workspace
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE

TODAY = dt.date(2026, 11, 23)


def sound(kpi_id: str, name: str, **changes) -> Kpi:
    """A KPI the audit has nothing against (error or warning) on its own."""
    fields = {
        "id": kpi_id,
        "name": name,
        "goal": "g",
        "owner": "Shop Lead",
        "kind": "lagging",
        "category": "customer",
        "source": "orders",
        "expression": "count(*) FILTER (WHERE status = 'returned') / count(*)",
        "time_column": "order_date",
        "unit_of_measure": "percent",
        "direction": "down",
        "cadence": "monthly",
        "baseline": Baseline(value=0.1, period="2026-06"),
        "target": Target(value=0.08, due=dt.date(2027, 6, 30)),
        "thresholds": Thresholds(warning=0.09, critical=0.11),
        "action": "Review the three most returned products",
        "review_date": dt.date(2026, 11, 1),
    }
    fields.update(changes)
    return Kpi(**fields)


def shop(*kpis: Kpi, goals: bool = True) -> Workspace:
    return Workspace(
        name="shop",
        units=[Unit(id="u", name="Shop", owner="Head of Shop")],
        goals=[Goal(id="g", unit="u", statement="Fewer returns")] if goals else [],
        sources=[Source(name="orders", system="ERP")],
        kpis=list(kpis),
    )


def judged(ws: Workspace) -> dict[str, Verdict]:
    return {kpi_id: v.verdict for kpi_id, v in audit(ws, today=TODAY).verdicts().items()}


def test_a_sound_kpi_is_kept_and_its_exact_copy_is_dropped_with_the_reason():
    original = sound("return_rate", "Return rate")
    copy = sound("return_rate_2", "Share of orders sent back")  # a different name, the same formula
    report = audit(shop(original, copy), today=TODAY)
    verdicts = report.verdicts()
    assert verdicts["return_rate"].verdict == Verdict.KEEP, verdicts["return_rate"].why
    assert verdicts["return_rate"].why == "no errors or warnings"
    dropped = verdicts["return_rate_2"]
    assert dropped.verdict == Verdict.DROP
    assert [r.slug for r in dropped.reasons] == ["duplicate-kpi"]
    assert "computes the same formula" in dropped.reasons[0].message and "return_rate" in dropped.why


def test_a_name_close_to_another_is_fix_not_drop():
    ws = shop(sound("time_to_hire", "Time to hire"), sound("time_to_hire_days", "Time to hire (days)"))
    by_name = Finding(
        "KPI043", "duplicate-kpi", Severity.WARNING, ObjectRef("kpi", "time_to_hire_days"),
        "KPI 'Time to hire (days)' (time_to_hire_days) has nearly the same name as 'Time to hire' (time_to_hire); "
        "two numbers for one thing invite arguing about which is right.",
        "Rename one so that the names say how they differ",
    )  # fmt: skip
    verdict = kpi_verdict(ws, "time_to_hire_days", [by_name])
    assert verdict.verdict == Verdict.FIX and [r.slug for r in verdict.reasons] == ["duplicate-kpi"]
    assert verdict.why == "duplicate-kpi: has nearly the same name as 'Time to hire' (time_to_hire)"


def test_a_kpi_without_a_goal_is_fix_whatever_other_units_have():
    # One unit's first goal must not turn every goal-less KPI of an inherited register into "drop".
    idle = sound("idle", "Idle metric", goal=None, action=None, expression="avg(days_late)")
    for ws in (shop(sound("return_rate", "Return rate"), idle), shop(idle), shop(idle, goals=False)):
        verdict = audit(ws, today=TODAY).verdicts()["idle"]
        assert verdict.verdict == Verdict.FIX, verdict.why
    assert judged(shop(sound("idle", "Idle metric", goal="gg", action=None)))["idle"] == Verdict.FIX


def test_a_bare_repeat_of_another_kpi_by_name_is_dropped_one_with_content_is_fixed():
    original = sound("aht", "Average handle time")
    bare = Kpi(id="aht_2", name="Average handle time", goal=original.goal)
    verdicts = audit(shop(original, bare), today=TODAY).verdicts()
    assert verdicts["aht_2"].verdict == Verdict.DROP and verdicts["aht_2"].reasons[0].slug == "duplicate-kpi"
    assert verdicts["aht"].verdict != Verdict.DROP
    with_content = sound("aht_days", "Average handle time (min)", expression="avg(handle_minutes)")
    assert judged(shop(original, with_content))["aht_days"] == Verdict.FIX


def test_vanity_and_fix_on_the_sample():
    verdicts = audit(load(SAMPLE_WORKSPACE), today=TODAY).verdicts()
    assert verdicts["page_views"].verdict == Verdict.VANITY
    assert [r.slug for r in verdicts["page_views"].reasons] == ["vanity-metric"]
    assert verdicts["defect_ticket_share"].verdict == Verdict.FIX
    assert [r.slug for r in verdicts["defect_ticket_share"].reasons] == ["missing-owner"]
    assert verdicts["sessions"].verdict == Verdict.KEEP
    assert list(verdicts) == [k.id for k in load(SAMPLE_WORKSPACE).kpis], "in the workspace's order"


def _finding(slug: str, severity: Severity, kpi_id: str = "k", message: str = "m") -> Finding:
    return Finding("KPI999", slug, severity, ObjectRef("kpi", kpi_id), message, "do it")


@pytest.mark.parametrize(
    ("findings", "expected", "deciding"),
    [
        ([], Verdict.KEEP, []),
        ([_finding("stale-review", Severity.INFO)], Verdict.KEEP, []),
        ([_finding("missing-owner", Severity.ERROR), _finding("stale-review", Severity.INFO)], Verdict.FIX,
         ["missing-owner"]),
        ([_finding("vanity-metric", Severity.WARNING), _finding("missing-owner", Severity.ERROR)], Verdict.VANITY,
         ["vanity-metric"]),
        ([_finding("vanity-metric", Severity.WARNING),
          _finding("duplicate-kpi", Severity.WARNING, message="KPI x computes the same formula as y")],
         Verdict.DROP, ["duplicate-kpi"]),
        # a finding about another KPI, or about the goal, does not count
        ([_finding("missing-owner", Severity.ERROR, kpi_id="other"),
          Finding("KPI006", "goal-kpi-count", Severity.WARNING, ObjectRef("goal", "g"), "m", "f")],
         Verdict.KEEP, []),
    ],
)  # fmt: skip
def test_the_first_rule_that_applies_wins(findings, expected, deciding):
    ws = shop(sound("k", "K"))
    verdict = kpi_verdict(ws, "k", findings)
    assert verdict.verdict == expected
    assert [r.slug for r in verdict.reasons] == deciding
    others = [f for f in findings if f.object.id == "k" and f.severity != Severity.INFO and f.slug not in deciding]
    assert len(verdict.also) == len(others), "the KPI's other errors and warnings are listed too"


def test_short_reason_drops_the_kpi_label_and_cuts_at_a_word():
    reason = Reason.of(_finding("missing-owner", Severity.ERROR, message="KPI 'Net revenue' (revenue) has no owner"))
    assert reason.short == "has no owner"
    long = Reason.of(_finding("x", Severity.ERROR, message=" ".join(f"w{i}" for i in range(80)) + " as 'B' (b)"))
    assert " … " in long.short and len(long.short) <= 163 and long.short.endswith("as 'B' (b)")
    assert all(word.startswith("w") or word in {"…", "as", "'B'", "(b)"} for word in long.short.split())
    clause = Reason.of(_finding("x", Severity.ERROR, message="KPI 'A' (a) repeats 'B' (b); two numbers for one thing"))
    assert clause.short == "repeats 'B' (b)", "the first clause says what; the rest is the rationale"


def test_reports_show_scores_and_verdicts():
    report = audit(load(SAMPLE_WORKSPACE), today=TODAY)
    data = json.loads(report.to_json())
    assert data["design_score"] == report.design_score and data["data_score"] is None
    assert data["score"] == int(report.design + 0.5)
    items = {k["id"]: k for k in data["kpis"]}
    assert items["page_views"]["verdict"] == "vanity" and items["page_views"]["reasons"][0]["slug"] == "vanity-metric"
    assert sum(data["verdicts"].values()) == len(report.workspace.kpis)
    markdown = report.to_markdown()
    assert f"Design score **{report.design:.1f}/100** · data checks not run" in markdown
    assert "## Verdicts" in markdown and "| Total page views (`page_views`) | **vanity** |" in markdown
    page_views = next(line for line in markdown.splitlines() if "(`page_views`)" in line)
    assert f"| {report.kpi_scores['page_views']:.1f} | — | vanity-metric: " in page_views, "no data score without data"
    text = report.to_text()
    assert "data score data checks not run" not in text and "data checks not run" in text.splitlines()[0]
    assert any(line.startswith("VANITY  page_views: vanity-metric:") for line in text.splitlines())
    rows = report.verdicts_csv().splitlines()
    assert rows[0] == "kpi_id,name,unit,verdict,design_score,data_score,why" and len(rows) == len(items) + 1
    assert any(row.startswith("page_views,Total page views,sales,vanity,") for row in rows)
