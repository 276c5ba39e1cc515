"""Builders shared by every rule test: KPIs, workspaces and one rule's findings.

A test starts from a KPI that is clean for the rules it is about and changes one field (``None``
clears a field), so a finding can only come from that change. Three starting points:

- :func:`kpi`: complete and computable (owner, source, formula, target, thresholds …), in goal
  ``grow`` of the :func:`workspace` scorecard, where every design rule stays quiet;
- :func:`kpi_in_words`: complete in design but defined in words (no formula), in goal ``deliver``
  of the :func:`register` (what a spreadsheet import gives);
- :func:`bare_kpi`: only a name, goal ``deliver``, a target and an action, for the rules that read
  names, formulas or data and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kpi_model.checks import AuditContext, Finding, Rule, audit, rules
from kpi_model.models import Goal, Kpi, Source, Unit, Workspace

TODAY = dt.date(2026, 11, 23)
DUE = dt.date(2027, 12, 31)

COMPUTABLE: Mapping[str, Any] = {
    "goal": "grow",
    "owner": "Head of Sales",
    "category": "financial",
    "kind": "lagging",
    "source": "orders",
    "expression": "sum(amount)",
    "filter": "status = 'completed'",
    "time_column": "order_date",
    "unit_of_measure": "currency",
    "direction": "up",
    "cadence": "monthly",
    "baseline": {"value": 100.0, "period": "2026-10"},
    "target": {"value": 120.0, "due": "2027-12-31"},
    "thresholds": {"warning": 100.0, "critical": 90.0},
    "action": "Sales reviews the pipeline when below warning.",
    "review_date": "2026-11-01",
}
IN_WORDS: Mapping[str, Any] = {
    "goal": "deliver",
    "owner": "Plant manager",
    "kind": "lagging",
    "source": "erp",
    "direction": "up",
    "cadence": "monthly",
    "baseline": {"value": 0.9, "period": "2026-10"},
    "target": {"value": 0.95, "due": "2027-12-31"},
    "thresholds": {"warning": 0.92, "critical": 0.88},
    "action": "The owner reviews the causes with the team and agrees one countermeasure.",
    "review_date": "2026-11-01",
    "unit_of_measure": "percent",
}
BARE: Mapping[str, Any] = {
    "goal": "deliver",
    "target": {"value": 1, "due": "2027-12-31"},
    "action": "The owner reviews it monthly",
}


def _build(preset: Mapping[str, Any], kpi_id: str, name: str | None, changes: Mapping[str, Any]) -> Kpi:
    fields = {**preset, "id": kpi_id, "name": name or kpi_id.replace("_", " ").title(), **changes}
    return Kpi.model_validate({key: value for key, value in fields.items() if value is not None})


def kpi(kpi_id: str = "revenue", name: str = "Net revenue", /, **changes: Any) -> Kpi:
    """A complete, computable KPI of goal 'grow' that every design rule accepts, with ``changes``."""
    return _build(COMPUTABLE, kpi_id, name, changes)


def kpi_in_words(kpi_id: str, name: str, /, **changes: Any) -> Kpi:
    """A register KPI of goal 'deliver', complete in design but with no formula, with ``changes``."""
    return _build(
        {**IN_WORDS, "description": f"{name}, as defined in the controlling handbook."}, kpi_id, name, changes
    )


def bare_kpi(kpi_id: str, name: str | None = None, /, **changes: Any) -> Kpi:
    """A KPI of goal 'deliver' with a target and an action only (named after its id unless given)."""
    return _build(BARE, kpi_id, name, changes)


def clean_kpis() -> list[Kpi]:
    """Three clean KPIs of goal 'grow': one lagging outcome, two leading drivers paired with it."""
    return [
        kpi(),
        kpi("orders_count", "Orders placed", kind="leading", expression="count(*)", pairs_with="revenue"),
        kpi("aov", "Average order value", kind="leading", expression="avg(amount)", pairs_with="revenue"),
    ]


def workspace(*kpis: Kpi, **changes: Any) -> Workspace:
    """A scorecard: unit 'sales', goal 'grow', source 'orders' and the KPIs (the clean three if none)."""
    fields: dict[str, Any] = {
        "name": "Test scorecard",
        "units": [Unit(id="sales", name="Sales", owner="Head of Sales")],
        "goals": [Goal(id="grow", unit="sales", statement="Grow revenue", due=DUE)],
        "sources": [Source(name="orders", path="data/orders.csv", system="ERP")],
        "kpis": list(kpis) or clean_kpis(),
    }
    return Workspace(**(fields | changes))


def register(*kpis: Kpi, **changes: Any) -> Workspace:
    """A register of three units with one goal each (deliver, grow, money), source 'erp', and the KPIs."""
    fields: dict[str, Any] = {
        "name": "register",
        "units": [
            Unit(id="ops", name="Operations", owner="COO"),
            Unit(id="sales", name="Sales", owner="CCO"),
            Unit(id="finance", name="Finance", owner="CFO"),
        ],
        "goals": [
            Goal(id="deliver", unit="ops", statement="Deliver reliably", due=DUE),
            Goal(id="grow", unit="sales", statement="Grow profitably", due=DUE),
            Goal(id="money", unit="finance", statement="Protect the margin", due=DUE),
        ],
        "sources": [Source(name="erp", system="SAP ERP")],
        "kpis": list(kpis),
    }
    return Workspace(**(fields | changes))


def run(rule: Rule, ws: Workspace, **context: Any) -> list[Finding]:
    """The findings of one rule's check alone, on :data:`TODAY`, with ``context`` (e.g. ``columns``)."""
    return list(rule.check(AuditContext(ws, TODAY, **context)))


def audited(rule: Rule, ws: Workspace, **options: Any) -> list[Finding]:
    """One rule's findings as the audit reports them (with ``engine=…`` its data first), on :data:`TODAY`."""
    return [f for f in audit(ws, registry=[rule], today=TODAY, **options).findings if f.slug == rule.slug]


def audit_kpi(ws: Workspace, kpi_id: str, **options: Any) -> list[Finding]:
    """What the whole audit (every rule) says about one KPI, on :data:`TODAY`."""
    return [f for f in audit(ws, today=TODAY, **options).findings if f.object.kind == "kpi" and f.object.id == kpi_id]


def only(findings: list[Finding]) -> Finding:
    """The one finding of a list that must hold exactly one."""
    assert len(findings) == 1, findings
    return findings[0]


def about(findings: list[Finding], object_id: str) -> list[Finding]:
    """The findings about one object."""
    return [f for f in findings if f.object.id == object_id]


def rules_between(first: str, last: str) -> list[Rule]:
    """The registered rules with ids from ``first`` to ``last``, in id order (a family, as the docs group them)."""
    return [r for r in rules() if first <= r.id <= last]
