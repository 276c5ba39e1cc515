"""Scenario rule (KPI011): does every saved what-if scenario still fit its KPI's driver tree?

Validation checks that a scenario names KPIs that exist; whether they are in the KPI's driver
tree needs the formulas, which may have been edited since the scenario was saved. Such a
scenario cannot be compared any more, so the audit names it before someone opens the What-if.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.wording import kpi_label


def _stale_scenario(ctx: AuditContext) -> Iterator[Finding]:
    from kpi_model.whatif.scenarios import STALE_SCENARIO_FIX, scenario_problem

    for scenario in ctx.workspace.scenarios:
        problem = scenario_problem(ctx.workspace, scenario)
        if problem is None:
            continue
        kpi = ctx.workspace.kpi(scenario.kpi)
        about = kpi_label(kpi) if kpi is not None else f"'{scenario.kpi}'"
        yield STALE_SCENARIO.on_workspace(
            ctx.workspace,
            f"Scenario '{scenario.name}' ({scenario.id}) of {about} no longer fits its driver tree: {problem}",
            f"in scenario '{scenario.id}', {STALE_SCENARIO_FIX}",
        )


STALE_SCENARIO = Rule(
    id="KPI011",
    slug="stale-scenario",
    severity=Severity.WARNING,
    rationale="A saved scenario that changes a KPI no longer in its driver tree cannot be compared any more.",
    example="Scenario 'More leads' of 'Web revenue' changes 'mqls', but web_revenue is now sessions × conversion.",
    fix="Change only KPIs of the driver tree in the scenario, or delete it (What-if → Driver tree).",
    check=_stale_scenario,
)


RULES: list[Rule] = [STALE_SCENARIO]
