"""Target rules KPI020–KPI025: each fires on a small flawed workspace and stays quiet on a clean one."""

from __future__ import annotations

import pytest

from kpi_model.checks import Finding, Rule, Severity
from kpi_model.checks.actionable import NOT_ACTIONABLE
from kpi_model.checks.pairing import UNPAIRED_LEADING_LAGGING
from kpi_model.checks.targets import MISSING_TARGET, TARGET_DIRECTION, TARGET_NOT_TIME_BOUND
from kpi_model.checks.thresholds import THRESHOLD_ORDER
from kpi_model.models import Goal, Unit

from .rule_builders import clean_kpis, kpi, only, rules_between, run, workspace

TARGETS = rules_between("KPI020", "KPI025")


@pytest.mark.parametrize("rule", TARGETS, ids=lambda r: r.slug)
def test_clean_workspace_raises_nothing(rule: Rule) -> None:
    assert run(rule, workspace()) == []


def test_rules_have_their_fixed_ids_and_slugs() -> None:
    assert [(r.id, r.slug, r.severity, r.needs_data) for r in TARGETS] == [
        ("KPI020", "missing-target", Severity.ERROR, False),
        ("KPI021", "target-not-time-bound", Severity.WARNING, False),
        ("KPI022", "target-direction", Severity.ERROR, False),
        ("KPI023", "threshold-order", Severity.WARNING, False),
        ("KPI024", "not-actionable", Severity.WARNING, False),
        ("KPI025", "unpaired-leading-lagging", Severity.WARNING, False),
    ]


def findings_for(rule: Rule, **changes: object) -> list[Finding]:
    """The findings of one rule when the lagging KPI 'revenue' gets ``changes``."""
    return run(rule, workspace(kpi(**changes), *clean_kpis()[1:]))


# ---------------------------------------------------------------- KPI020 missing-target


def test_missing_target_value() -> None:
    finding = only(findings_for(MISSING_TARGET, target=None))
    assert (finding.slug, finding.object.id, finding.severity) == ("missing-target", "revenue", Severity.ERROR)
    assert "'Net revenue' (revenue)" in finding.message and "number to watch, not to manage" in finding.message
    assert "above the baseline 100" in finding.fix


def test_missing_target_for_a_range_needs_low_and_high() -> None:
    finding = only(findings_for(MISSING_TARGET, direction="range", target={"value": 5.0, "low": 3.0}))
    assert finding.severity == Severity.ERROR and "no target high" in finding.message
    assert "low and high" in finding.fix
    assert findings_for(MISSING_TARGET, direction="range", target={"low": 3.0, "high": 5.0}) == []


def test_missing_baseline_is_a_warning() -> None:
    finding = only(findings_for(MISSING_TARGET, baseline=None))
    assert finding.severity == Severity.WARNING and "no baseline" in finding.message
    assert "(120)" in finding.message and "period" in finding.fix


# ---------------------------------------------------------------- KPI021 target-not-time-bound


def test_target_without_due_date() -> None:
    finding = only(findings_for(TARGET_NOT_TIME_BOUND, target={"value": 0.9}))
    assert (finding.slug, finding.object.id, finding.severity) == ("target-not-time-bound", "revenue", Severity.WARNING)
    assert "target 0.9 but no due date" in finding.message and "2027-12-31" in finding.fix


def test_target_due_in_the_past_is_a_note() -> None:
    finding = only(findings_for(TARGET_NOT_TIME_BOUND, target={"value": 120.0, "due": "2026-06-30"}))
    assert finding.severity == Severity.INFO and "due on 2026-06-30, 146 days ago" in finding.message
    assert "next target" in finding.fix


def test_no_target_is_not_this_rules_business() -> None:
    assert findings_for(TARGET_NOT_TIME_BOUND, target=None) == []
    assert findings_for(TARGET_NOT_TIME_BOUND, target={"due": "2027-01-01"}) == []


# ---------------------------------------------------------------- KPI022 target-direction


def test_target_below_baseline_for_an_up_kpi() -> None:
    finding = only(findings_for(TARGET_DIRECTION, target={"value": 80.0, "due": "2027-12-31"}, thresholds=None))
    assert (finding.slug, finding.object.id, finding.severity) == ("target-direction", "revenue", Severity.ERROR)
    assert "target 80 is below its baseline 100" in finding.message and "getting worse" in finding.message
    assert "above 100" in finding.fix and "direction: down" in finding.fix


def test_target_above_baseline_for_a_down_kpi() -> None:
    finding = only(findings_for(TARGET_DIRECTION, direction="down", baseline={"value": 0.078}, target={"value": 0.09}))
    assert "target 0.09 is above its baseline 0.078" in finding.message and "below 0.078" in finding.fix


def test_target_equal_to_baseline_asks_for_no_change() -> None:
    finding = only(findings_for(TARGET_DIRECTION, target={"value": 100.0, "due": "2027-12-31"}))
    assert finding.severity == Severity.WARNING and "asks for no change" in finding.message


def test_range_baseline_outside_the_band_is_fine() -> None:
    assert findings_for(TARGET_DIRECTION, direction="range", target={"low": 1.0, "high": 2.0}) == []


# ---------------------------------------------------------------- KPI023 threshold-order


def test_thresholds_swapped_for_an_up_kpi() -> None:
    finding = only(findings_for(THRESHOLD_ORDER, thresholds={"warning": 90.0, "critical": 100.0}))
    assert (finding.slug, finding.object.id, finding.severity) == ("threshold-order", "revenue", Severity.WARNING)
    assert "swapped: critical 100 is above warning 90" in finding.message
    assert finding.fix.startswith("swap them: warning 100, critical 90")
    assert finding.patch == {"thresholds": {"warning": 100.0, "critical": 90.0}}


def test_thresholds_equal_leave_no_amber_zone() -> None:
    finding = only(findings_for(THRESHOLD_ORDER, thresholds={"warning": 95.0, "critical": 95.0}))
    assert "both 95" in finding.message and "no amber zone" in finding.message


def test_warning_beyond_the_target_for_an_up_kpi() -> None:
    finding = only(findings_for(THRESHOLD_ORDER, thresholds={"warning": 130.0, "critical": 90.0}))
    assert "warning 130 is above the target 120" in finding.message and "amber" in finding.message
    assert "below the target 120" in finding.fix and "set warning 90, critical 60" in finding.fix


def test_thresholds_mirrored_for_a_down_kpi() -> None:
    down = {"direction": "down", "baseline": {"value": 0.08}, "target": {"value": 0.06, "due": "2027-12-31"}}
    assert findings_for(THRESHOLD_ORDER, thresholds={"warning": 0.07, "critical": 0.09}, **down) == []
    swapped = only(findings_for(THRESHOLD_ORDER, thresholds={"warning": 0.09, "critical": 0.07}, **down))
    assert "critical 0.07 is below warning 0.09" in swapped.message
    beyond = only(findings_for(THRESHOLD_ORDER, thresholds={"warning": 0.05, "critical": 0.055}, **down))
    assert "warning 0.05 and critical 0.055 are below the target 0.06" in beyond.message
    assert "red" in beyond.message


def test_range_thresholds_without_a_band_are_a_note() -> None:
    finding = only(findings_for(THRESHOLD_ORDER, direction="range", target=None))
    assert finding.severity == Severity.INFO and "low and high" in finding.message
    assert findings_for(THRESHOLD_ORDER, direction="range", target={"low": 1.0, "high": 2.0}) == []


# ---------------------------------------------------------------- KPI024 not-actionable


def test_not_actionable_without_direction_or_action() -> None:
    findings = findings_for(NOT_ACTIONABLE, direction=None, action=None)
    assert len(findings) == 2 and {f.object.id for f in findings} == {"revenue"}
    direction, action = findings
    assert "no direction" in direction.message and "up (higher is better)" in direction.fix
    assert "no action" in action.message and "Head of Sales" in action.message


def test_not_actionable_owner_heads_another_unit() -> None:
    units = [
        Unit(id="sales", name="Sales", owner="Head of Sales"),
        Unit(id="ops", name="Operations", owner="Chief Operating Officer"),
    ]
    owned_elsewhere = kpi(owner="  chief operating officer ")
    ws = workspace(owned_elsewhere, *clean_kpis()[1:], units=units)
    finding = only(run(NOT_ACTIONABLE, ws))
    assert (finding.slug, finding.object.id) == ("not-actionable", "revenue")
    assert "unit 'Sales'" in finding.message and "head of 'Operations'" in finding.message
    assert "Head of Sales" in finding.fix and "goal of 'Operations'" in finding.fix
    # The head of the KPI's own unit is a fine owner.
    assert run(NOT_ACTIONABLE, workspace(kpi(owner="HEAD OF SALES"), *clean_kpis()[1:], units=units)) == []


# ---------------------------------------------------------------- KPI025 unpaired-leading-lagging


def test_goal_with_only_lagging_kpis() -> None:
    lagging = [kpi(k.id, k.name, kind="lagging", expression="count(*)") for k in clean_kpis()]
    finding = only(run(UNPAIRED_LEADING_LAGGING, workspace(*lagging)))
    assert (finding.slug, finding.object.kind, finding.object.id) == ("unpaired-leading-lagging", "goal", "grow")
    assert "'Grow revenue' (grow) has only lagging KPIs (3)" in finding.message and "leading" in finding.fix


def test_leading_kpi_without_a_lagging_outcome() -> None:
    ws = workspace(
        *clean_kpis(),
        kpi("visits", "Visits", goal="reach", kind="leading", expression="count(*)"),
        goals=[Goal(id="grow", unit="sales", statement="Grow revenue"), Goal(id="reach", unit="sales", statement="R")],
    )
    finding = only(run(UNPAIRED_LEADING_LAGGING, ws))
    assert (finding.object.kind, finding.object.id) == ("kpi", "visits")
    assert "'Visits' (visits) is leading but drives no lagging outcome" in finding.message
    assert "pairs_with" in finding.fix


def test_a_leading_kpi_is_fine_next_to_a_lagging_one_in_its_goal() -> None:
    unpaired = kpi("visits", "Visits", kind="leading", expression="count(*)")
    assert run(UNPAIRED_LEADING_LAGGING, workspace(*clean_kpis(), unpaired)) == []


def test_pair_of_the_same_kind() -> None:
    margin = kpi("margin", "Gross margin", expression="sum(amount) / count(*)", pairs_with="revenue")
    finding = only(run(UNPAIRED_LEADING_LAGGING, workspace(*clean_kpis(), margin)))
    assert (finding.object.kind, finding.object.id) == ("kpi", "margin")
    assert "'Gross margin' (margin) is lagging and pairs with 'Net revenue' (revenue), which is lagging too" in (
        finding.message
    )
    assert "pair it with a leading KPI" in finding.fix
