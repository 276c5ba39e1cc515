"""KPI011 stale-scenario: a saved scenario that changes a KPI its KPI's driver tree no longer holds."""

from __future__ import annotations

from kpi_model.checks import audit
from kpi_model.checks.scenarios import STALE_SCENARIO
from kpi_model.models import DriverChange, Kpi, Scenario, Source, Workspace

from .rule_builders import TODAY, run


def _web_shop(revenue_formula: str, *changed: str) -> Workspace:
    """web_revenue over sessions, conversion and order value; one scenario per KPI in ``changed``."""
    leaves = [
        Kpi(id=kpi_id, name=name, source="t", expression="count(*)", time_column="d")
        for kpi_id, name in [
            ("sessions", "Sessions"),
            ("conversion_rate", "Conversion"),
            ("average_order_value", "Order value"),
            ("mqls", "MQLs"),
        ]
    ]
    revenue = Kpi(id="web_revenue", name="Web revenue", expression=revenue_formula)
    scenarios = [
        Scenario(
            id=f"move-{kpi_id}", name=f"Move {kpi_id}", kpi="web_revenue", changes=[DriverChange(kpi=kpi_id, add=5)]
        )
        for kpi_id in changed
    ]
    return Workspace(name="w", sources=[Source(name="t")], kpis=[*leaves, revenue], scenarios=scenarios)


def test_a_scenario_changing_a_kpi_outside_the_tree_is_named_with_its_kpi_and_the_fix():
    workspace = _web_shop("sessions * conversion_rate * average_order_value", "sessions", "mqls")
    (finding,) = run(STALE_SCENARIO, workspace)
    assert (finding.rule, finding.slug, finding.severity.value) == ("KPI011", "stale-scenario", "warning")
    assert finding.message == (
        "Scenario 'Move mqls' (move-mqls) of 'Web revenue' (web_revenue) no longer fits its driver tree: it "
        "changes 'mqls', which is not in the driver tree of 'web_revenue' (its KPIs are: web_revenue, sessions, "
        "conversion_rate, average_order_value)"
    )
    assert finding.fix.startswith("in scenario 'move-mqls', change only KPIs of its driver tree, or delete")
    report = audit(workspace, today=TODAY)
    assert [f.message for f in report.findings if f.slug == "stale-scenario"] == [finding.message]


def test_a_kpi_no_longer_derived_makes_its_scenarios_stale():
    workspace = _web_shop("sessions * conversion_rate * average_order_value", "sessions")
    workspace.kpis[-1] = Kpi(id="web_revenue", name="Web revenue", source="t", expression="sum(x)", time_column="d")
    (finding,) = run(STALE_SCENARIO, workspace)
    assert "'web_revenue' is now computed from its source 't', not from other KPIs" in finding.message


def test_scenarios_that_fit_and_broken_formulas_give_no_stale_scenario():
    assert (
        run(
            STALE_SCENARIO, _web_shop("sessions * conversion_rate * average_order_value", "sessions", "conversion_rate")
        )
        == []
    )
    assert run(STALE_SCENARIO, _web_shop("10 * mqls + sessions", "mqls")) == []
    # A formula that does not parse is the formula rules' finding; the scenario is not blamed for it.
    assert run(STALE_SCENARIO, _web_shop("sessions * (", "mqls")) == []
    assert run(STALE_SCENARIO, _web_shop("sessions * visits", "mqls")) == []  # 'visits' is no KPI: a formula finding
    assert run(STALE_SCENARIO, _web_shop("sessions * conversion_rate")) == []
